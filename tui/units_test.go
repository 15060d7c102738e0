package tui

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestFormats covers the terminal's own text helpers; values and metrics
// print with pkg/runs' vocabulary, tested there.
func TestFormats(t *testing.T) {
	if got := shortenName("optimizers-compare/adam", 21); got != "optimizers-comp…/adam" {
		t.Errorf("shortenName: %q", got)
	}
	if got := shortenName("quickstart", 6); got != "quick…" {
		t.Errorf("shortenName: %q", got)
	}
	if got := fit("abc\ndefgh", 4, 3); got != "abc \ndef…\n    " {
		t.Errorf("fit: %q", got)
	}
}

func TestSmoothing(t *testing.T) {
	// Debiased EMA: the first value is kept, a constant stays constant,
	// and a step is approached geometrically (tolerance 1e-12).
	pts := []xy{{1, 2}, {2, 2}, {3, 2}, {4, 10}, {5, 10}}
	got := smooth(pts, 0.5)
	want := []float64{2, 2, 2, 2 + 8*(0.5/(1-math.Pow(0.5, 4))), 0}
	// the fifth by the recurrence itself
	avg, norm := 0.0, 0.0
	for i, p := range pts {
		avg = 0.5*avg + 0.5*p.y
		norm = 0.5*norm + 0.5
		if i == 4 {
			want[4] = avg / norm
		}
	}
	for i := range got {
		if math.Abs(got[i].y-want[i]) > 1e-12 || got[i].x != pts[i].x {
			t.Errorf("smooth[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if same := smooth(pts, 0); &same[0] != &pts[0] {
		t.Error("weight 0 should return the points unchanged")
	}
	withNaN := smooth([]xy{{1, 1}, {2, math.NaN()}, {3, 1}}, 0.9)
	if !math.IsNaN(withNaN[1].y) || math.Abs(withNaN[2].y-1) > 1e-12 {
		t.Errorf("NaN must pass through without poisoning the average: %v", withNaN)
	}
	logged := logScale([]xy{{1, 100}, {2, 0}, {3, -1}, {4, 0.01}})
	if len(logged) != 2 || logged[0].y != 2 || logged[1].y != -2 {
		t.Errorf("log scale: %v", logged)
	}
	if nextSmoothing(0) != 0.6 || nextSmoothing(0.6) != 0.9 || nextSmoothing(0.9) != 0 {
		t.Error("smoothing cycle")
	}
}

func TestSeriesSetDropsRacingDeltas(t *testing.T) {
	s := newSeriesSet()
	p := func(step int) runs.Point { return runs.Point{Step: step, Name: "loss", Value: 1} }
	at := func(row int64) runs.Cursor { return runs.Cursor{Row: row} }
	if !s.add(at(0), at(10), []runs.Point{p(1), p(2)}) {
		t.Fatal("first delta refused")
	}
	if s.add(at(0), at(10), []runs.Point{p(1), p(2)}) {
		t.Error("a second delta read from row 0 was applied twice")
	}
	s.add(at(10), at(12), []runs.Point{p(3), {Step: 3, Name: "accuracy", Value: 0.5}})
	if len(s.byName["loss"]) != 3 || strings.Join(s.names, ",") != "accuracy,loss" {
		t.Errorf("series %v names %v", s.byName, s.names)
	}
	// The run was truncated: the read started over and replaces all held.
	if !s.add(at(12), runs.Cursor{Row: 14, Truncations: 1}, []runs.Point{p(1), {Step: 2, Name: "loss", Value: 7}}) {
		t.Fatal("a delta that starts over was refused")
	}
	if l := s.byName["loss"]; len(l) != 2 || l[1].Value != 7 || strings.Join(s.names, ",") != "loss" {
		t.Errorf("after a restart: series %v names %v", s.byName, s.names)
	}
}

func TestPanelsGroupEverySeries(t *testing.T) {
	names := []string{"epoch_s", "grad_norm/fc1", "grad_norm/fc2", "learning_rate", "loss", "loss_scale",
		"nonzero_prunable_params", "prunable_params", "quant_range/fc1", "quant_range/fc2", "samples_per_s",
		"skipped_steps", "sparsity", "sparsity/fc1", "sparsity/fc2", "test_accuracy", "test_loss", "train_accuracy",
		"train_loss", "validation_accuracy", "validation_loss", "weird_metric"}
	describe := func(p panel) string {
		s := p.title + "=" + strings.Join(p.series, "+")
		if p.decl != nil && p.decl.Bars != nil {
			s += " bars=" + strings.Join(p.layers, "+") + " counts=" + strings.Join(p.counts, "+")
		}
		return s
	}
	var got []string
	seen := map[string]bool{}
	for _, p := range panelsFor(names, nil) {
		got = append(got, describe(p))
		for _, s := range append(append(append([]string{}, p.series...), p.layers...), p.counts...) {
			if seen[s] {
				t.Errorf("%s drawn twice", s)
			}
			seen[s] = true
		}
	}
	want := []string{
		"loss=train_loss+validation_loss+test_loss",
		"accuracy=train_accuracy+validation_accuracy+test_accuracy",
		"learning rate=learning_rate",
		"throughput (samples/s)=samples_per_s",
		// The global curve above a bar per layer, and the weights left in its title.
		"sparsity=sparsity bars=sparsity/fc1+sparsity/fc2 counts=nonzero_prunable_params+prunable_params",
		"loss scale=loss_scale",
		"skipped steps=skipped_steps",
		"epoch time (s)=epoch_s",
		// Families no kind declares a panel for: a chart each.
		"grad_norm=grad_norm/fc1+grad_norm/fc2",
		"quant_range=quant_range/fc1+quant_range/fc2",
		"weird metric=weird_metric",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("panels:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, n := range names {
		if !seen[n] && n != "loss" {
			t.Errorf("%s is not drawn", n)
		}
	}
	// Layers without the global series stay curves on one chart, and
	// counts without it charts of their own.
	got = nil
	for _, p := range panelsFor([]string{"nonzero_prunable_params", "sparsity/fc1", "sparsity/fc2"}, nil) {
		got = append(got, describe(p))
	}
	if want := "sparsity=sparsity/fc1+sparsity/fc2|nonzero prunable params=nonzero_prunable_params"; strings.Join(got, "|") != want {
		t.Errorf("layers alone: %q, want %q", strings.Join(got, "|"), want)
	}
	// Without train_loss the batch loss is the loss chart.
	if p := panelsFor([]string{"loss"}, nil); len(p) != 1 || p[0].series[0] != "loss" {
		t.Errorf("batch loss alone: %v", p)
	}
}

func TestPlanAndEstimate(t *testing.T) {
	r := &runs.Run{ID: "r", Status: runs.Running,
		Plan: &runs.Plan{Stages: []runs.PlannedStage{{Index: 0, Kind: "train", HasSteps: true, Steps: 840},
			{Index: 1, Kind: "evaluate"}}},
		Stages: []runs.StageResult{{Index: 0, Kind: "train", Status: runs.Running}}}
	pl := planOf(r)
	if !pl.recorded || len(pl.stages) != 2 || !pl.stages[0].hasSteps || pl.stages[0].steps != 840 || pl.stages[1].hasSteps {
		t.Fatalf("plan %+v", pl)
	}
	now := time.Unix(1000, 0)
	prog := &runs.Progress{Step: 400, Stages: []runs.StageProgress{{Stage: 0, FirstStep: 8, LastStep: 400,
		FirstTime: now.Add(-20 * time.Second), LastTime: now.Add(-600 * time.Millisecond)}}}
	e := estimateRun(r, prog, pl, now)
	if e.total != 840 || e.step != 400 || e.stageTotal != 840 || e.stageStep != 400 || e.stages != 2 || e.stageKind != "train" {
		t.Errorf("estimate %+v", e)
	}
	// 392 steps in 19.4 s: 20.2 steps/s; 440 left take 21.8 s, less the 0.6 s since the last point.
	if math.Abs(e.rate-392/19.4) > 1e-9 || !e.etaOK || math.Abs(e.eta.Seconds()-(440/(392/19.4)-0.6)) > 1e-6 {
		t.Errorf("rate %v eta %v", e.rate, e.eta)
	}
	// The steps the stage recorded when it started are exact: they win.
	exact := *r
	exact.Stages = []runs.StageResult{{Index: 0, Kind: "train", Status: runs.Running, PlannedSteps: 900}}
	if e := estimateRun(&exact, prog, planOf(&exact), now); e.total != 900 || e.stageTotal != 900 {
		t.Errorf("recorded planned steps: total %d stage %d, want 900", e.total, e.stageTotal)
	}
	// A stage is known to train by HasSteps, whatever its kind is called.
	renamed := *r
	renamed.Plan = &runs.Plan{Stages: []runs.PlannedStage{{Index: 0, Kind: "fit", HasSteps: true, Steps: 840}, {Index: 1, Kind: "train"}}}
	renamed.Stages = []runs.StageResult{{Index: 0, Kind: "fit", Status: runs.Running}}
	if e := estimateRun(&renamed, prog, planOf(&renamed), now); e.total != 840 || e.stageTotal != 840 || !e.etaOK {
		t.Errorf("a stage of another name with steps: %+v", e)
	}
	// A planned stage whose steps are not known yet: no total, no ETA.
	unknown := *r
	unknown.Plan = &runs.Plan{Stages: []runs.PlannedStage{{Index: 0, Kind: "train", HasSteps: true}, {Index: 1, Kind: "prune", HasSteps: true, Steps: 10}}}
	if e := estimateRun(&unknown, prog, planOf(&unknown), now); e.total != 0 || e.etaOK || e.stageTotal != 0 || e.step != 400 {
		t.Errorf("unknown steps: %+v", e)
	}

	// A run recorded before plans: only what its stages recorded.
	old := &runs.Run{ID: "old", Status: runs.Running, Stages: []runs.StageResult{{Index: 0, Kind: "train", Status: runs.Running, PlannedSteps: 840}}}
	e = estimateRun(old, prog, planOf(old), now)
	if e.stages != 1 || e.stageTotal != 840 || e.stageStep != 400 || e.total != 0 || e.etaOK || e.rate == 0 {
		t.Errorf("old run: %+v (the stage's steps are known, the run's total is not)", e)
	}
	older := &runs.Run{ID: "older", Status: runs.Running, Stages: []runs.StageResult{{Index: 0, Kind: "train", Status: runs.Running}}}
	if e := estimateRun(older, prog, planOf(older), now); e.total != 0 || e.stageTotal != 0 || e.etaOK || e.step != 400 || e.stages != 1 {
		t.Errorf("run without planned steps: %+v", e)
	}
	// Once such a run finished, every stage is recorded: the total is known.
	done := &runs.Run{ID: "done", Status: runs.Finished, Stages: []runs.StageResult{
		{Index: 0, Kind: "train", Status: runs.Finished, PlannedSteps: 400}, {Index: 1, Kind: "evaluate", Status: runs.Finished}}}
	if e := estimateRun(done, prog, planOf(done), now); e.total != 400 || e.stage != 1 || e.stages != 2 {
		t.Errorf("finished old run: %+v", e)
	}
}

func TestColumnsFitTheWidth(t *testing.T) {
	for _, w := range []int{40, 60, 80, 100, 120, 160, 240} {
		cols := layoutColumns(tableColumns(), w)
		total := 2
		for _, c := range cols {
			total += c.width + 1
		}
		if total-1 > w && len(cols) > 2 {
			t.Errorf("width %d: columns take %d", w, total-1)
		}
		if cols[0].title != "NAME" || cols[1].title != "STATUS" {
			t.Errorf("width %d: name and status must stay, got %s %s", w, cols[0].title, cols[1].title)
		}
	}
	if cols := layoutColumns(tableColumns(), 80); len(cols) < 6 {
		t.Errorf("80 columns show only %d columns", len(cols))
	}
	if cols := layoutColumns(tableColumns(), 200); len(cols) != len(tableColumns()) {
		t.Errorf("200 columns show %d of %d columns", len(cols), len(tableColumns()))
	}
}

func TestChartDrawsPointsInItsBox(t *testing.T) {
	st := newStyles()
	var dense, sparse []xy
	for i := 1; i <= 200; i++ {
		dense = append(dense, xy{float64(i), 1 / float64(i)})
	}
	for i := 1; i <= 4; i++ {
		sparse = append(sparse, xy{float64(50 * i), 0.5 / float64(i)})
	}
	spec := chartSpec{title: "loss", legend: true, lines: []chartLine{
		{label: "train", points: dense, last: "0.005", style: seriesStyle(0), marker: seriesMarker(0)},
		{label: "validation", points: sparse, last: "0.125", style: seriesStyle(1), marker: seriesMarker(1)},
	}}
	out := renderChart(spec, 50, 16, st)
	lines := strings.Split(out, "\n")
	if len(lines) != 16 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != 50 {
			t.Errorf("line %d is %d wide", i, w)
		}
	}
	if !strings.Contains(lines[1], "● train 0.005") || !strings.Contains(lines[1], "◆ validation 0.125") {
		t.Errorf("legend: %q", lines[1])
	}
	if braille(out) < 30 {
		t.Errorf("%d braille cells:\n%s", braille(out), out)
	}
	// Every sparse point carries its marker; without colours the dense line carries some too.
	if n := strings.Count(out, "◆"); n < 1+4 {
		t.Errorf("%d ◆ markers, want the legend's and 4 points':\n%s", n, out)
	}
	if n := strings.Count(out, "●"); n < 3 {
		t.Errorf("%d ● markers on the dense line without colours:\n%s", n, out)
	}
	if xLabels := strings.Fields(lines[len(lines)-1]); !strings.Contains(out, "└") || len(xLabels) < 4 || xLabels[0] != "1" {
		t.Errorf("axes and step labels missing:\n%s", out)
	}
	empty := renderChart(chartSpec{title: "loss"}, 30, 8, st)
	if !strings.Contains(empty, "no points yet") || len(strings.Split(empty, "\n")) != 8 {
		t.Errorf("empty chart:\n%s", empty)
	}
	// The cache returns the same drawing for the same spec, a new one when points grow.
	c := newChartCache()
	a := c.render(spec, 50, 16, st)
	if b := c.render(spec, 50, 16, st); a != b || len(c.entries) != 1 {
		t.Error("cache missed an unchanged chart")
	}
	spec.lines[0].points = append(dense, xy{201, 0.001})
	if c.render(spec, 50, 16, st); len(c.entries) != 2 {
		t.Error("cache served a stale chart after points were added")
	}
}

func TestBoundsKeepFractionsAndLossesInRange(t *testing.T) {
	lines := []chartLine{{points: []xy{{1, 0.2}, {2, 1}}}}
	_, _, lo, hi, _ := bounds(lines, false, true)
	if lo < 0 || hi > 1 || lo >= 0.2 {
		t.Errorf("fraction bounds %v..%v", lo, hi)
	}
	_, _, lo, _, _ = bounds([]chartLine{{points: []xy{{1, 0}, {2, 3}}}}, false, false)
	if lo != 0 {
		t.Errorf("a loss axis went below zero: %v", lo)
	}
	_, _, lo, hi, _ = bounds([]chartLine{{points: []xy{{1, 5}, {2, 5}}}}, false, false)
	if !(lo < 5 && hi > 5) {
		t.Errorf("flat line bounds %v..%v", lo, hi)
	}
}

func TestGPUReadings(t *testing.T) {
	gpus, err := parseGPUs("0, NVIDIA H100 80GB HBM3, 37, 10240, 81559\n1, NVIDIA H100 80GB HBM3, [N/A], 5, 81559\n")
	if err != nil || len(gpus) != 2 || gpus[0].util != 37 || gpus[0].memUsed != 10240 || gpus[1].util != -1 {
		t.Fatalf("gpus %+v, %v", gpus, err)
	}
	if _, err := parseGPUs("garbage"); err == nil {
		t.Error("garbage accepted")
	}
	apps := parseGPUApps("4242, 2048\n4242, 1024\n99, [N/A]\n")
	if apps[4242] != 3072 || len(apps) != 1 {
		t.Errorf("apps %v", apps)
	}
	if got := gpuText(gpuReading{available: true, gpus: gpus}); got != "0: 37% 10.0 GiB/79.6 GiB, 1: n/a 5 MiB/79.6 GiB" {
		t.Errorf("gpu text %q", got)
	}

	defer func(f func(...string) (string, error)) { nvidiaSMI = f }(nvidiaSMI)
	nvidiaSMI = func(args ...string) (string, error) {
		if strings.Contains(args[0], "compute-apps") {
			return "1, 512\n", nil
		}
		return "0, NVIDIA H200, 80, 40000, 143771\n", nil
	}
	r := readGPUs()
	if !r.available || len(r.gpus) != 1 || r.procMiB[1] != 512 {
		t.Errorf("reading %+v", r)
	}
	p := systemPanel{names: map[int]string{1: "spirals"}}.withSample(systemSample{at: time.Now(), gpu: r,
		procs: map[int]procStat{1: {cpuPercent: 99, cpuOK: true, rss: 1 << 30}}})
	if got := p.procLine([]int{1}, newStyles()); !strings.Contains(got, "gpu 512 MiB") || !strings.Contains(got, "cpu 99%") {
		t.Errorf("process line %q", got)
	}
	nvidiaSMI = func(...string) (string, error) { return "", errNoSMI }
	if r := readGPUs(); r.available || gpuText(r) != "none visible" {
		t.Errorf("no nvidia-smi: %+v", r)
	}
}

// TestSampleSystemReadsThisMachine: the real sampler sees this process and
// computes rates from the previous sample.
func TestSampleSystemReadsThisMachine(t *testing.T) {
	me := []int{1}
	first := sampleSystem(systemSample{}, me)
	if !first.memOK || first.memTotal == 0 || first.cores == 0 {
		t.Fatalf("first sample %+v", first)
	}
	time.Sleep(50 * time.Millisecond)
	second := sampleSystem(first, me)
	if !second.cpuOK || second.cpuPercent < 0 || second.cpuPercent > 100 {
		t.Errorf("cpu %v (%v)", second.cpuPercent, second.cpuOK)
	}
	if _, ok := second.procs[1]; !ok {
		t.Errorf("process 1 not sampled: %+v", second.procs)
	}
}

// BenchmarkFrame is one refresh of an idle dashboard showing a run: a poll
// that finds nothing new, then a redraw (charts come from the cache).
func BenchmarkFrame(b *testing.B) {
	dir := newFixtureStore(b)
	m := New(fixtureOptions(dir))
	nm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	nm, _ = nm.Update(nm.(Model).startPoll()())
	nm, cmd := nm.Update(keyMsg("enter"))
	nm, _ = nm.Update(cmd())
	m = nm.(Model)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		nm, _ := m.Update(m.startPoll()())
		_ = nm.View()
	}
}

func TestTableScrollsAndKeepsTheCursorInView(t *testing.T) {
	var rows []runRow
	for i := 0; i < 40; i++ {
		rows = append(rows, runRow{run: &runs.Run{ID: fmt.Sprintf("run-%02d", i), Name: fmt.Sprintf("r%02d", i),
			Status: runs.Finished, Started: t0.Add(time.Duration(i) * time.Minute)}, est: estimate{stage: -1}})
	}
	tb := newRunsTable().resize(80, 12).setRows(rows)
	k := newKeyMap()
	out := tb.view(newStyles(), "runs")
	if !strings.Contains(out, "↕ 1–10 of 40") || !strings.Contains(out, "› r39") {
		t.Errorf("first page:\n%s", out)
	}
	for i := 0; i < 15; i++ {
		tb, _, _ = tb.update(keyMsg("down"), k)
	}
	out = tb.view(newStyles(), "runs")
	if !strings.Contains(out, "› r24") || !strings.Contains(out, "↕ 7–16 of 40") {
		t.Errorf("after 15 downs:\n%s", out)
	}
	tb, _, _ = tb.update(keyMsg("G"), k)
	if out = tb.view(newStyles(), "runs"); !strings.Contains(out, "› r00") || !strings.Contains(out, "↕ 31–40 of 40") {
		t.Errorf("after G:\n%s", out)
	}
	if n := len(strings.Split(out, "\n")); n != 12 {
		t.Errorf("%d lines, want 12", n)
	}
}

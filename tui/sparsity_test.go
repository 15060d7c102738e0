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

// The pruned fixture: LeNet-5's weight counts and the zeros a global
// magnitude pruning left in each layer. Every expected percentage below is
// worked out by hand from these counts.
var prunedLayers = []struct {
	name          string
	params, zeros float64
	want          string // zeros/params as the dashboard prints fractions
}{
	{"conv1", 150, 93, "62.00%"},
	{"conv2", 2400, 2040, "85.00%"},
	{"fc1", 48000, 45120, "94.00%"},
	{"fc2", 10080, 8870, "88.00%"}, // 0.879960…
	{"logits", 840, 596, "70.95%"}, // 0.709523…
}

const (
	idPruned = "20261126-091300-pppp"
	idDense  = "20261126-091200-dddd"
	// 56719 zeros of 61470 weights: 92.27%, 4751 left, 61.5k in all.
	prunedZeros, prunedParams = 56719.0, 61470.0
)

func pruneRecipe(variant, target string) string {
	return "name: mnist-prune-gradual\nseed: 42\nbackend: auto\ndata: {dataset: mnist, batch_size: 128, validation: 5000}\n" +
		"model: {arch: lenet5}\nstages:\n  - train: {epochs: 1}\n" +
		"  - prune: {target_sparsity: " + target + ", scope: global, end_step: 800, frequency: 50}\n" +
		"  - train: {epochs: 3}\n  - evaluate: {split: test}\nvariants:\n  - {name: " + variant + "}\n"
}

// prunedRun records what a gradual prune run writes: a dense epoch, then
// the global sparsity at every logged step while it rises to its target
// (fraction of prunedZeros/prunedParams), per-layer sparsities and counts
// at each epoch's end, and the last of them as final metrics.
func prunedRun(t testing.TB, id, variant string, start time.Time, fraction float64) fixtureRun {
	const stepTime = 100 * time.Millisecond
	at := func(step int) time.Time { return start.Add(2*time.Second + time.Duration(step)*stepTime) }
	pts := trainPoints(0, 1, 430, 430, 10, at(0), stepTime, 1)
	pts = append(pts, trainPoints(2, 431, 1290, 430, 10, at(430), stepTime, 1)...)
	// schedule is the share of the final sparsity reached after step, as
	// Zhu & Gupta's cubic schedule with masks recomputed every 50 steps.
	schedule := func(step int) float64 {
		p := min(800, (step-430)/50*50)
		return 1 - math.Pow(1-float64(p)/800, 3)
	}
	final := map[string]float64{"test_accuracy": 0.9874 - 0.01*fraction, "test_loss": 0.041, "wall_s": 177,
		"samples_per_s": 1900}
	for step := 440; step <= 1720; step += 10 {
		pts = append(pts, runs.Point{Stage: 2, Step: step, Name: "sparsity", Value: fraction * schedule(step) * prunedZeros / prunedParams, Time: at(step)})
	}
	for _, step := range []int{860, 1290, 1720} {
		s := fraction * schedule(step)
		zeros := 0.0
		epoch := map[string]float64{}
		for _, l := range prunedLayers {
			z := math.Round(s * l.zeros)
			zeros += z
			epoch["sparsity/"+l.name] = z / l.params
		}
		epoch["sparsity"] = zeros / prunedParams
		epoch["prunable_params"] = prunedParams
		epoch["nonzero_prunable_params"] = prunedParams - zeros
		for k, v := range epoch {
			pts = append(pts, runs.Point{Stage: 2, Step: step, Name: k, Value: v, Time: at(step)})
			if step == 1720 {
				final[k] = v
			}
		}
	}
	pl := &runs.Plan{Stages: []runs.PlannedStage{{Index: 0, Kind: "train", HasSteps: true, Steps: 430}, {Index: 1, Kind: "prune"},
		{Index: 2, Kind: "train", HasSteps: true, Steps: 1290}, {Index: 3, Kind: "evaluate"}},
		Splits: map[string]int{"train": 55000, "validation": 5000, "test": 10000}}
	target := fmt.Sprintf("%.2f", fraction*prunedZeros/prunedParams)
	return fixtureRun{
		run: runs.Run{ID: id, Name: "mnist-prune-gradual/" + variant, RecipePath: "recipes/mnist-prune-gradual.yaml",
			Recipe: pruneRecipe(variant, target), Backend: "go", Started: start,
			Params: map[string]string{"name": "mnist-prune-gradual", "seed": "42", "group": "20261126-091200-0000", "variant": variant,
				"stages.1.prune.target_sparsity": target}},
		plan: pl,
		stages: []fixtureStage{
			{kind: "train", planned: 430, started: at(0), ended: at(430), status: runs.Finished,
				metrics: map[string]float64{"steps": 430, "validation_accuracy": 0.9712}},
			{kind: "prune", started: at(430), ended: at(430), status: runs.Finished, metrics: map[string]float64{}},
			{kind: "train", planned: 1290, started: at(430), ended: at(1720), status: runs.Finished,
				metrics: map[string]float64{"steps": 1290, "validation_accuracy": 0.9851}},
			{kind: "evaluate", started: at(1720), ended: at(1740), status: runs.Finished,
				metrics: map[string]float64{"test_accuracy": final["test_accuracy"], "test_loss": 0.041}},
		},
		finished: at(1750), status: runs.Finished, final: final, points: pts,
	}
}

// prunedRuns are the two variants of mnist-prune-gradual: pruned to
// 92.27%, and dense (its prune stage's target is 0, so it records 0%).
func prunedRuns(t testing.TB) []fixtureRun {
	return []fixtureRun{
		prunedRun(t, idDense, "dense", t0.Add(12*time.Minute), 0),
		prunedRun(t, idPruned, "pruned", t0.Add(13*time.Minute), 1),
	}
}

// newPrunedStore is the fixture store with the two prune runs added.
func newPrunedStore(t testing.TB) string {
	dir := newFixtureStore(t)
	writeFixtureRuns(t, dir, prunedRuns(t))
	return dir
}

// openRun opens the run view of run id.
func openRun(t *testing.T, m Model, id string) Model {
	t.Helper()
	tb, ok := m.table.selectRun(id)
	if !ok {
		t.Fatalf("run %s not shown", id)
	}
	m.table = tb
	return press(t, m, "enter")
}

// lineWith is the first line of out holding text.
func lineWith(out, text string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}

// checkBar checks that line shows layer's bar filled to want within one
// cell and its percentage.
func checkBar(t *testing.T, out, layer string, want float64, text string) {
	t.Helper()
	line := lineWith(out, " "+layer+" ")
	if line == "" {
		line = lineWith(out, layer+" ")
	}
	if line == "" {
		t.Errorf("no bar for %s:\n%s", layer, out)
		return
	}
	if !strings.Contains(line, text) {
		t.Errorf("%s's bar does not say %s: %q", layer, text, line)
	}
	full, empty := strings.Count(line, "█"), strings.Count(line, "░")
	if full+empty < 8 {
		t.Errorf("%s's bar is %d cells: %q", layer, full+empty, line)
		return
	}
	if got := float64(full) / float64(full+empty); math.Abs(got-want) > 1/float64(full+empty) {
		t.Errorf("%s's bar is %d of %d cells full (%.3f), want %.3f: %q", layer, full, full+empty, got, want, line)
	}
}

// TestSparsityPanelShowsEachLayer: a pruned run's view has a sparsity
// panel with the global curve and a bar per layer at its final sparsity
// (before: the layers were curves on one chart, at most a few labelled,
// and the counts were two flat charts of their own).
func TestSparsityPanelShowsEachLayer(t *testing.T) {
	dir := newPrunedStore(t)
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		m := New(fixtureOptions(dir))
		m, _ = update(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = pollOnce(t, m)
		m = openRun(t, m, idPruned)
		// Page to the sparsity panel where not every chart fits.
		for i := 0; i < 6 && !strings.Contains(view(m, dir), "conv1"); i++ {
			m = press(t, m, "right")
		}
		out := view(m, dir)
		mustContain(t, out, "mnist-prune-gradual/pruned", "sparsity 92.27%", "4751 of 61.5k nonzero")
		for _, l := range prunedLayers {
			checkBar(t, out, l.name, l.zeros/l.params, l.want)
		}
		if braille(out) < 10 {
			t.Errorf("%dx%d: no sparsity curve:\n%s", size[0], size[1], out)
		}
		for _, gone := range []string{"prunable params", "sparsity/conv1"} {
			if strings.Contains(out, gone) {
				t.Errorf("%dx%d: %q still shown on its own:\n%s", size[0], size[1], gone, out)
			}
		}
		lines := strings.Split(out, "\n")
		if len(lines) != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for i, l := range lines {
			if ansi.StringWidth(l) > size[0] {
				t.Errorf("%dx%d: line %d is %d wide", size[0], size[1], i, ansi.StringWidth(l))
			}
		}
	}

	// The dense variant's panel says 0% everywhere; a run without a prune
	// stage has no panel at all.
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = pollOnce(t, m)
	m = openRun(t, m, idDense)
	out := view(m, dir)
	mustContain(t, out, "sparsity 0.00%", "61.5k of 61.5k nonzero")
	for _, l := range prunedLayers {
		checkBar(t, out, l.name, 0, "0.00%")
	}
	m = press(t, m, "esc")
	m = openRun(t, m, idQuickstart)
	out = view(m, dir)
	for _, no := range []string{"sparsity", "nonzero", "conv1"} {
		if strings.Contains(out, no) {
			t.Errorf("a run without pruning shows %q:\n%s", no, out)
		}
	}
}

// TestSparsityBarsFollowALiveRun: while a run prunes, the bars show each
// layer's newest value; once it ends, its final metrics.
func TestSparsityBarsFollowALiveRun(t *testing.T) {
	dir := newFixtureStore(t)
	w, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := &runs.Run{ID: "20261126-091800-llll", Name: "live-prune", Started: fixtureNow.Add(-time.Minute), PID: alivePID, Backend: "go"}
	if err := w.Create(r); err != nil {
		t.Fatal(err)
	}
	if err := w.StartStage(r.ID, 0, "train", 300); err != nil {
		t.Fatal(err)
	}
	epoch := func(step int, values map[string]float64) {
		t.Helper()
		var pts []runs.Point
		for k, v := range values {
			pts = append(pts, runs.Point{Step: step, Name: k, Value: v, Time: fixtureNow.Add(-time.Minute + time.Duration(step)*100*time.Millisecond)})
		}
		if err := w.AppendMetrics(r.ID, pts); err != nil {
			t.Fatal(err)
		}
	}
	epoch(100, map[string]float64{"sparsity": 0.25, "sparsity/fc1": 0.3, "sparsity/logits": 0.125,
		"prunable_params": 1000, "nonzero_prunable_params": 750})
	epoch(110, map[string]float64{"sparsity": 0.3})

	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = pollOnce(t, m)
	m = openRun(t, m, r.ID)
	out := view(m, dir)
	mustContain(t, out, "▶ running", "sparsity 30.00%", "750 of 1000 nonzero")
	checkBar(t, out, "fc1", 0.3, "30.00%")
	checkBar(t, out, "logits", 0.125, "12.50%")

	epoch(200, map[string]float64{"sparsity": 0.5, "sparsity/fc1": 0.6, "sparsity/logits": 0.25,
		"prunable_params": 1000, "nonzero_prunable_params": 500})
	m = pollOnce(t, m)
	out = view(m, dir)
	mustContain(t, out, "sparsity 50.00%", "500 of 1000 nonzero")
	checkBar(t, out, "fc1", 0.6, "60.00%")
	checkBar(t, out, "logits", 0.25, "25.00%")

	// Final metrics win over the points once the run ends: here they say
	// more than the last epoch did, as a stage's final prune would.
	if err := w.Finish(r.ID, runs.Finished, "", map[string]float64{"sparsity": 0.75, "sparsity/fc1": 0.875,
		"sparsity/logits": 0.5, "prunable_params": 1000, "nonzero_prunable_params": 250}); err != nil {
		t.Fatal(err)
	}
	m = pollOnce(t, m)
	out = view(m, dir)
	mustContain(t, out, "✓ finished", "250 of 1000 nonzero")
	checkBar(t, out, "fc1", 0.875, "87.50%")
	checkBar(t, out, "logits", 0.5, "50.00%")
}

// TestSparsityBarsLayout: bars share the width between names, bars and
// percentages, keep the distinguishing end of long layer names, and say
// how many layers did not fit.
func TestSparsityBarsLayout(t *testing.T) {
	st := newStyles()
	vals := []layerValue{{"conv1", 0.5}, {"stage2/block1/shortcut/conv", 0.25}, {"fc1", 1}, {"fc2", math.NaN()},
		{"fc3", math.Inf(1)}, {"fc4", -0.5}, {"logits", 0.1}, {"output", 0.2}}
	lines := sparsityBars(vals, st, 40, 7)
	if len(lines) != 7 {
		t.Fatalf("%d lines, want 7:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > 40 {
			t.Errorf("line %d is %d wide: %q", i, ansi.StringWidth(l), l)
		}
	}
	out := strings.Join(lines, "\n")
	if last := lines[6]; !strings.Contains(last, "+2 more layers") || strings.Contains(out, "logits") {
		t.Errorf("last line %q, want the 2 layers that did not fit counted", last)
	}
	checkBar(t, out, "conv1", 0.5, "50.00%")
	checkBar(t, out, "fc1", 1, "100.00%")
	// Values a bar cannot show are written out, with an empty bar.
	checkBar(t, out, "fc2", 0, "NaN")
	checkBar(t, out, "fc3", 0, "+Inf")
	checkBar(t, out, "fc4", 0, "-50.00%")
	if l := lineWith(out, "/conv"); !strings.Contains(l, "…/conv") || !strings.HasPrefix(l, "stage2") || !strings.Contains(l, "25.00%") {
		t.Errorf("long name: %q, want its start and its last part", l)
	}
	// Every name starts in the same column, and so does every bar.
	col := -1
	for _, l := range lines[:6] {
		i := strings.IndexAny(l, "█░")
		if col >= 0 && ansi.StringWidth(l[:i]) != col {
			t.Errorf("bars do not line up: %q", l)
		}
		col = ansi.StringWidth(l[:i])
	}
	if got := sparsityBars(nil, st, 40, 3); len(got) != 1 || !strings.Contains(got[0], "no layer") {
		t.Errorf("no layers yet: %q", got)
	}
}

// TestCompareShowsSparsityColumns: SPARSITY and NONZERO columns appear
// when a compared run pruned, with "-" for runs that did not, and a
// running run's newest values; runs without pruning compare as before.
func TestCompareShowsSparsityColumns(t *testing.T) {
	dir := newPrunedStore(t)
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	m = pollOnce(t, m)

	compare := func(ids ...string) string {
		t.Helper()
		m.compare = compareView{ids: ids}
		m.view = viewCompare
		m = pollOnce(t, m)
		return view(m, dir)
	}
	header := func(out string) []string {
		t.Helper()
		return strings.Fields(lineWith(out, "STATUS"))
	}
	cell := func(out, label, column string) string {
		t.Helper()
		cols := header(out)
		row := lineWith(out, label+" ")
		// Cells are right-aligned under their titles: the cell is the
		// field that ends where the title ends.
		h := lineWith(out, "STATUS")
		i := strings.Index(h, " "+column)
		if i < 0 {
			t.Fatalf("no column %s in %v", column, cols)
		}
		end := ansi.StringWidth(h[:i+1+len(column)])
		runes := []rune(row)
		if end > len(runes) {
			return ""
		}
		f := strings.Fields(string(runes[:end]))
		return f[len(f)-1]
	}

	out := compare(idPruned, idDense)
	mustContain(t, out, "SPARSITY", "NONZERO")
	for _, c := range []struct{ label, col, want string }{
		{"pruned", "SPARSITY", "92.27%*"}, {"pruned", "NONZERO", "4751*"},
		{"dense", "SPARSITY", "0.00%"}, {"dense", "NONZERO", "61.5k"},
	} {
		if got := cell(out, c.label, c.col); got != c.want {
			t.Errorf("%s %s: %q, want %q\n%s", c.label, c.col, got, c.want, out)
		}
	}
	// Not twice: the raw final metrics the columns show are not repeated.
	for _, raw := range []string{" sparsity ", "nonzero_prunable_params"} {
		if strings.Contains(lineWith(out, "STATUS")+" ", raw) {
			t.Errorf("column %q shown beside SPARSITY/NONZERO:\n%s", raw, out)
		}
	}

	out = compare(idPruned, idQuickstart)
	if got := cell(out, "quickstart", "SPARSITY"); got != "-" {
		t.Errorf("quickstart SPARSITY %q, want -\n%s", got, out)
	}
	if got := cell(out, "quickstart", "NONZERO"); got != "-" {
		t.Errorf("quickstart NONZERO %q, want -\n%s", got, out)
	}
	if got := cell(out, "pruned", "SPARSITY"); got != "92.27%" {
		t.Errorf("pruned SPARSITY %q, want 92.27%% unstarred beside no other value\n%s", got, out)
	}

	out = compare(idAdam, idSGD)
	for _, no := range []string{"SPARSITY", "NONZERO"} {
		if strings.Contains(out, no) {
			t.Errorf("runs without pruning have a %s column:\n%s", no, out)
		}
	}

	// A running run has no final metrics yet: its newest points count.
	w, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.AppendMetrics(idRunning, []runs.Point{
		{Step: 480, Name: "sparsity", Value: 0.4, Time: fixtureNow},
		{Step: 500, Name: "sparsity", Value: math.NaN(), Time: fixtureNow},
		{Step: 500, Name: "nonzero_prunable_params", Value: 12345, Time: fixtureNow}}); err != nil {
		t.Fatal(err)
	}
	out = compare(idRunning, idQuickstart)
	if got := cell(out, "spirals", "SPARSITY"); got != "NaN" {
		t.Errorf("running SPARSITY %q, want its newest value NaN\n%s", got, out)
	}
	if got := cell(out, "spirals", "NONZERO"); got != "12.3k" {
		t.Errorf("running NONZERO %q, want 12.3k\n%s", got, out)
	}
}

// TestSparsityWithNaNFitsAndSaysSo: non-finite sparsities and counts are
// written as the store holds them, and every view still fits.
func TestSparsityWithNaNFitsAndSaysSo(t *testing.T) {
	dir := newFixtureStore(t)
	w, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &runs.Run{ID: "20261126-091800-nnnn", Name: "nan-prune", Started: fixtureNow.Add(-time.Minute), Backend: "go"}
	if err := w.Create(r); err != nil {
		t.Fatal(err)
	}
	var pts []runs.Point
	for step := 10; step <= 100; step += 10 {
		v := math.NaN()
		if step == 10 {
			v = math.Inf(1)
		}
		pts = append(pts, runs.Point{Step: step, Name: "sparsity", Value: v, Time: fixtureNow})
	}
	pts = append(pts, runs.Point{Step: 100, Name: "sparsity/fc1", Value: math.NaN(), Time: fixtureNow},
		runs.Point{Step: 100, Name: "nonzero_prunable_params", Value: math.Inf(1), Time: fixtureNow})
	if err := w.AppendMetrics(r.ID, pts); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(r.ID, runs.Finished, "", map[string]float64{"sparsity": math.NaN(), "sparsity/fc1": math.Inf(-1),
		"nonzero_prunable_params": math.NaN(), "prunable_params": math.Inf(1)}); err != nil {
		t.Fatal(err)
	}
	w.Close()

	for _, size := range [][2]int{{120, 40}, {80, 24}, {60, 16}, {40, 10}, {20, 6}} {
		m := New(fixtureOptions(dir))
		m, _ = update(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = pollOnce(t, m)
		m = openRun(t, m, r.ID)
		for _, k := range []string{"", "l", "s"} {
			if k != "" {
				m = press(t, m, k)
			}
			out := view(m, dir)
			lines := strings.Split(out, "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d %q: %d lines", size[0], size[1], k, len(lines))
			}
			for i, l := range lines {
				if ansi.StringWidth(l) > size[0] {
					t.Errorf("%dx%d %q: line %d is %d wide", size[0], size[1], k, i, ansi.StringWidth(l))
				}
			}
			if size[0] == 120 {
				mustContain(t, out, "sparsity NaN", "NaN of +Inf nonzero")
				checkBar(t, out, "fc1", 0, "-Inf")
			}
		}
	}
}

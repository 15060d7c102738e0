package tui

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestUnreadableStoreIsAnErrorNotNoRuns: a runs.db that is not a
// database is shown as the error it is (before: "No runs in … yet").
func TestUnreadableStoreIsAnErrorNotNoRuns(t *testing.T) {
	dir := t.TempDir()
	garbage := strings.Repeat("this is not an SQLite database\n", 200)
	if err := os.WriteFile(filepath.Join(dir, "runs.db"), []byte(garbage), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 24})
	m = pollOnce(t, m)
	out := view(m, dir)
	mustContain(t, out, "cannot read the run store", "Cannot read the run store in RUNS:")
	if m.storeErr == nil || !wordsInOrder(out, normalize(m.storeErr.Error(), dir)) {
		t.Errorf("the view does not show the store's error (%v):\n%s", m.storeErr, out)
	}
	for _, bad := range []string{"No runs", "no run store yet"} {
		if strings.Contains(out, bad) {
			t.Errorf("an unreadable store shown as %q:\n%s", bad, out)
		}
	}
	// Once it is a store again, the runs show and the error goes.
	if err := os.Remove(filepath.Join(dir, "runs.db")); err != nil {
		t.Fatal(err)
	}
	newFixtureStoreIn(t, dir)
	m = pollOnce(t, m)
	out = view(m, dir)
	mustContain(t, out, "6 runs", "quickstart")
	if strings.Contains(out, "Cannot read") {
		t.Errorf("the error stayed after the store was readable:\n%s", out)
	}
}

// TestSeriesReadErrorsAreShown: a run's series that cannot be read says
// so in the run view and the compare view (before: dropped, and the view
// said "reading metrics…" or showed stale curves).
func TestSeriesReadErrorsAreShown(t *testing.T) {
	m, dir := newModel(t, 120, 40)
	m = press(t, m, "enter")
	closed, err := runs.OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	m, _ = update(t, m, seriesMsg{readSeries(closed, m.watch(), maxPointsPerPoll)})
	mustContain(t, view(m, dir), "cannot read metrics: run store: points of "+idRunning, "database is closed")

	// A good read clears it.
	m = pollOnce(t, m)
	if out := view(m, dir); strings.Contains(out, "cannot read metrics") {
		t.Errorf("error stayed after a good read:\n%s", out)
	}

	m = press(t, m, "esc", "/", "o", "p", "t", "i", "enter", "a", "c")
	if m.view != viewCompare {
		t.Fatal("compare did not open")
	}
	m, _ = update(t, m, seriesMsg{readSeries(closed, m.watch(), maxPointsPerPoll)})
	out := view(m, dir)
	mustContain(t, out, "cannot read metrics of adam:", "cannot read metrics of sgd:", "database is closed")
	if lines := strings.Split(out, "\n"); len(lines) != 40 {
		t.Errorf("compare view with errors has %d lines, want 40", len(lines))
	}
}

// TestResumedRunCurvesAreReloaded: a run resumed from a checkpoint drops
// its points after the checkpoint's step and records those steps again;
// the open run view then holds the new values only, not the dropped ones.
func TestResumedRunCurvesAreReloaded(t *testing.T) {
	m, dir := newModel(t, 120, 40)
	m = press(t, m, "enter")
	if n := len(m.series[idRunning].byName["train_loss"]); n == 0 {
		t.Fatal("no train_loss read")
	}
	w, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Resume from step 200; steps 201-300 again with other values.
	if err := w.TruncateMetrics(idRunning, 200); err != nil {
		t.Fatal(err)
	}
	var again []runs.Point
	for step := 208; step <= 300; step += 8 {
		again = append(again, runs.Point{Step: step, Name: "train_loss", Value: 42, Time: fixtureNow})
	}
	if err := w.AppendMetrics(idRunning, again); err != nil {
		t.Fatal(err)
	}
	m = pollOnce(t, m)
	set := m.series[idRunning]
	pts := set.byName["train_loss"]
	var before, after int
	for _, p := range pts {
		switch {
		case p.Step > 300:
			t.Errorf("a dropped point is still held: step %d", p.Step)
		case p.Step > 200:
			after++
			if p.Value != 42 {
				t.Errorf("step %d: %v, want the re-recorded 42", p.Step, p.Value)
			}
		default:
			before++
		}
	}
	if after != len(again) || before != 25 { // every 8th step up to 200
		t.Errorf("held %d points up to step 200 and %d after, want 25 and %d", before, after, len(again))
	}
	spec := m.run.spec(panelsFor(set.names, nil)[0], set)
	if spec.title != "loss" || spec.lines[0].last != "42.00" || spec.lines[0].points[len(spec.lines[0].points)-1].x != 296 {
		t.Errorf("loss chart: %s, last %q, %d points", spec.title, spec.lines[0].last, len(spec.lines[0].points))
	}
	if s := m.series[idRunning].byName["validation_loss"]; len(s) != 7 { // epochs of 28 steps up to 200
		t.Errorf("validation_loss: %d points, want the 7 before step 200", len(s))
	}
	mustContain(t, view(m, dir), "step 296/840")
}

// TestNaNRunDoesNotBreakTheViews: a diverged run (NaN and infinite final
// metrics, stage results and series points) lists, opens and compares,
// shows NaN as NaN, and NaN is never a column's best.
func TestNaNRunDoesNotBreakTheViews(t *testing.T) {
	dir := newFixtureStore(t)
	s, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := fixtureNow.Add(-10 * time.Minute)
	r := &runs.Run{ID: "20261126-091000-dddd", Name: "diverged", Started: start, Backend: "go", PID: deadPID,
		Params: map[string]string{"stages.0.train.optimizer.learning_rate": "10"}}
	if err := s.Create(r); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPlan(r.ID, *trainEvalPlan(100, 1800, 200, 500)); err != nil {
		t.Fatal(err)
	}
	var pts []runs.Point
	for step := 1; step <= 100; step++ {
		v := 2 / float64(step)
		switch {
		case step > 60:
			v = math.NaN()
		case step == 60:
			v = math.Inf(1)
		}
		at := start.Add(time.Duration(step) * time.Second)
		pts = append(pts, runs.Point{Step: step, Name: "train_loss", Value: v, Time: at},
			runs.Point{Step: step, Name: "grad_norm/fc1", Value: math.Inf(1), Time: at})
		if step%25 == 0 {
			pts = append(pts, runs.Point{Step: step, Name: "validation_accuracy", Value: math.NaN(), Time: at})
		}
	}
	if err := s.AppendMetrics(r.ID, pts); err != nil {
		t.Fatal(err)
	}
	if err := s.StartStage(r.ID, 0, "train", 100); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishStage(r.ID, 0, runs.Finished, map[string]float64{"steps": 100, "train_loss": math.NaN(), "validation_accuracy": math.NaN()}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartStage(r.ID, 1, "evaluate", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishStage(r.ID, 1, runs.Finished, map[string]float64{"test_accuracy": math.NaN(), "test_loss": math.Inf(1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(r.ID, runs.Finished, "", map[string]float64{"test_accuracy": math.NaN(), "test_loss": math.Inf(1), "wall_s": 100}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = pollOnce(t, m)
	if m.storeErr != nil {
		t.Fatalf("store error: %v", m.storeErr)
	}
	fits := func(name string, out string) {
		t.Helper()
		lines := strings.Split(out, "\n")
		if len(lines) != 40 {
			t.Errorf("%s: %d lines", name, len(lines))
		}
		for i, l := range lines {
			if ansi.StringWidth(l) > 120 {
				t.Errorf("%s: line %d is %d wide", name, i, ansi.StringWidth(l))
			}
		}
	}
	out := view(m, dir)
	fits("runs", out)
	mustContain(t, out, "7 runs", "diverged", "NaN test", "100/100")
	// Sorted by best (best first), NaN ranks below every number.
	m = press(t, m, "o", "o", "o")
	if m.table.sort != sortBest || !m.table.desc {
		t.Fatalf("sort %v desc %v", sortKeyNames[m.table.sort], m.table.desc)
	}
	if ids := m.table.shownIDs(); len(ids) != 7 || ids[4] != r.ID {
		// adam, quickstart, spirals (val), sgd, then the NaN, then the runs without a best
		var names []string
		for _, id := range ids {
			names = append(names, m.rows[id].run.Name)
		}
		t.Errorf("by best: %v, want the NaN run after every number", names)
	}
	m = press(t, m, "o", "o", "o") // back to started
	if !m.table.desc || m.table.sort != sortStarted {
		t.Fatalf("sort %v desc %v", sortKeyNames[m.table.sort], m.table.desc)
	}
	t2, ok := m.table.selectRun(r.ID)
	if !ok {
		t.Fatal("diverged run not shown")
	}
	m.table = t2
	m = press(t, m, "enter")
	out = view(m, dir)
	fits("run", out)
	mustContain(t, out, "diverged", "✓ finished", "step 100/100", "100 steps · val NaN", "test accuracy NaN, test loss +Inf",
		"loss", "● train_loss NaN", "grad_norm", "+Inf")
	// The points before the run diverged are drawn.
	if braille(out) < 10 {
		t.Errorf("no curve:\n%s", out)
	}
	m = press(t, m, "l", "s")
	fits("run, log scale, smoothed", view(m, dir))

	// Compared with quickstart: NaN shows as NaN and is never starred.
	m = press(t, m, "esc")
	t2, _ = m.table.selectRun(r.ID)
	m.table = t2
	m = press(t, m, "space")
	t2, _ = m.table.selectRun(idQuickstart)
	m.table = t2
	m = press(t, m, "space", "c")
	if m.view != viewCompare || len(m.compare.ids) != 2 {
		t.Fatalf("compare %v %v", m.view, m.compare.ids)
	}
	out = view(m, dir)
	fits("compare", out)
	mustContain(t, out, "Comparing 2 runs", "97.31%", "NaN", "+Inf", "0.0895*")
	if strings.Contains(out, "NaN*") || strings.Contains(out, "+Inf*") {
		t.Errorf("a NaN or +Inf is starred as best:\n%s", out)
	}
	for _, k := range []string{"right", "right", "right", "l", "s"} {
		m = press(t, m, k)
		fits("compare "+k, view(m, dir))
	}
}

// TestRunWithoutAPlanShowsUnknownTotals: a run recorded before plans (no
// Plan, no planned steps) shows its step without a total or an ETA, from
// what the store holds; its recipe text is not parsed.
func TestRunWithoutAPlanShowsUnknownTotals(t *testing.T) {
	dir := t.TempDir()
	s, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := fixtureNow.Add(-time.Minute)
	r := &runs.Run{ID: "20261126-091900-eeee", Name: "old", Started: start, PID: alivePID,
		Recipe: fixtureRecipe(t, "spirals"), RecipePath: "recipes/spirals.yaml"}
	if err := s.Create(r); err != nil {
		t.Fatal(err)
	}
	if err := s.StartStage(r.ID, 0, "train", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendMetrics(r.ID, trainPoints(0, 1, 120, 28, 8, fixtureNow.Add(-13*time.Second), 100*time.Millisecond, 1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 30})
	m = pollOnce(t, m)
	out := view(m, dir)
	mustContain(t, out, "old", "▶ running", "1/1 train", " 120 ")
	if strings.Contains(out, "120/") || strings.Contains(out, "/840") {
		t.Errorf("a total was guessed:\n%s", out)
	}
	m = press(t, m, "enter")
	out = view(m, dir)
	mustContain(t, out, "step 120 ·", "1 train")
	if strings.Contains(out, "ETA") || strings.Contains(out, "step 120/") || strings.Contains(out, "2 evaluate") {
		t.Errorf("an old run shows a plan it never recorded:\n%s", out)
	}
	// Its train stage records its planned steps (as it would at its start):
	// now that stage has a total, the run still has none.
	s, _ = runs.Open(dir)
	defer s.Close()
	if err := s.SetPlannedSteps(r.ID, 0, 840); err != nil {
		t.Fatal(err)
	}
	m = pollOnce(t, m)
	out = view(m, dir)
	mustContain(t, out, "120/840 steps", "step 120 ·")
	if strings.Contains(out, "ETA") {
		t.Errorf("an ETA without the run's total:\n%s", out)
	}
}

package tui

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// distillSeries: a teacher trained in stage 0 (steps 1–100), then a
// distill stage (index 2) training its student alone (steps 101–150) and
// taught (151–200), validation points every 25 steps of each.
func distillSeries() *seriesSet {
	set := newSeriesSet()
	var pts []runs.Point
	add := func(stage, step int, name string, v float64) {
		pts = append(pts, runs.Point{Stage: stage, Step: step, Name: name, Value: v})
	}
	for s := 1; s <= 100; s++ {
		add(0, s, "train_loss", 1/float64(s))
		if s%25 == 0 {
			add(0, s, "validation_accuracy", 0.9+float64(s)/2000) // 0.9125 … 0.95
		}
	}
	for s := 1; s <= 50; s++ {
		add(2, 100+s, "alone_train_loss", 1/float64(s))
		add(2, 150+s, "train_loss", 1/float64(s))
		if s%25 == 0 {
			add(2, 100+s, "alone_validation_accuracy", 0.8+float64(s)/1000) // 0.825, 0.85
			add(2, 150+s, "validation_accuracy", 0.85+float64(s)/1000)      // 0.875, 0.9
		}
	}
	set.add(runs.Cursor{}, runs.Cursor{Row: 1}, pts)
	return set
}

// TestDistillationPanel: the three curves start at step 1 of their own
// training, with the values recorded; the note is the gap closed.
func TestDistillationPanel(t *testing.T) {
	set := distillSeries()
	names := set.names
	var found bool
	for _, p := range panelsFor(names, nil) {
		found = found || p.decl != nil && p.decl.Phases != nil
	}
	if !found {
		t.Fatalf("no distillation panel for %v", names)
	}
	run := &runs.Run{Stages: []runs.StageResult{{Index: 0}, {Index: 1},
		{Index: 2, Metrics: map[string]float64{"teacher_stage": 1, "gap_closed": 0.75}}}}
	spec := runView{}.phasesSpec(declared(t, "distillation"), set, run)
	want := map[string][]xy{
		"teacher":   {{25, 0.9125}, {50, 0.925}, {75, 0.9375}, {100, 0.95}},
		"alone":     {{25, 0.825}, {50, 0.85}},
		"distilled": {{25, 0.875}, {50, 0.9}},
	}
	var labels []string
	for _, l := range spec.lines {
		labels = append(labels, l.label)
		if !slices.EqualFunc(l.points, want[l.label], func(a, b xy) bool { return a.x == b.x && math.Abs(a.y-b.y) < 1e-12 }) {
			t.Errorf("%s: %v, want %v", l.label, l.points, want[l.label])
		}
	}
	if !slices.Equal(labels, []string{"teacher", "alone", "distilled"}) {
		t.Errorf("lines %v, want teacher, alone, distilled", labels)
	}
	if spec.note != "gap closed 75.00%" {
		t.Errorf("note %q", spec.note)
	}

	// A teacher from a file: a level at its recorded accuracy, over the
	// student's steps; a NaN gap (no gap to close) is said as such.
	run.Stages[2].Metrics = map[string]float64{"teacher_test_accuracy": 0.97, "gap_closed": math.NaN()}
	spec = runView{}.phasesSpec(declared(t, "distillation"), set, run)
	if spec.lines[0].label != "teacher (test)" || !slices.Equal(spec.lines[0].points, []xy{{25, 0.97}, {50, 0.97}}) {
		t.Errorf("file teacher: %q %v", spec.lines[0].label, spec.lines[0].points)
	}
	if spec.note != "gap closed NaN" {
		t.Errorf("note %q", spec.note)
	}
	out := newChartCache().render(spec, 60, 14, newStyles())
	checkFits(t, out, 60, 14)
	if plain := ansi.Strip(out); !strings.Contains(plain, "distillation: validation accuracy") || !strings.Contains(plain, "alone") {
		t.Errorf("chart:\n%s", plain)
	}
}

// TestCompareGapClosed: the compare table shows each run's gap closed
// from its newest distill stage's results.
func TestCompareGapClosed(t *testing.T) {
	rs := []*runs.Run{
		{ID: "a", Stages: []runs.StageResult{{Metrics: map[string]float64{"gap_closed": 0.6}}, {Metrics: map[string]float64{"gap_closed": 0.8123}}}},
		{ID: "b", Final: map[string]float64{"test_accuracy": 0.9}},
	}
	out := ansi.Strip(compareView{}.table(rs, []string{"a", "b"}, "", map[string]*seriesSet{}, newStyles(), 120, 10))
	if !strings.Contains(out, "GAP CLOSED") || !strings.Contains(out, "81.23%") || strings.Contains(out, "60.00%") {
		t.Errorf("table:\n%s", out)
	}
}

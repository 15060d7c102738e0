package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/runs"
	"gonum.org/v1/plot/plotutil"
)

// oneValue describes a run of the single-value store: the points of its
// series of the metric, and its final metrics.
type oneValue struct {
	name   string
	points []float64
	final  map[string]float64
}

// singleValueStore records runs of one group ("acc/…") whose metric has at
// most one point each, and returns them in the order given (Group's order is
// the store's, newest first; tests want to know which run is which).
func singleValueStore(t *testing.T, metric string, specs []oneValue) (*runs.Store, []*runs.Run) {
	t.Helper()
	s, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	start := time.Now().Add(-time.Hour)
	var list []*runs.Run
	for i, sp := range specs {
		at := start.Add(time.Duration(i) * time.Second)
		r := &runs.Run{ID: runs.NewID(at), Name: sp.name, Started: at, Params: map[string]string{runs.GroupParam: "g"}}
		if err := s.Create(r); err != nil {
			t.Fatal(err)
		}
		var pts []runs.Point
		for j, v := range sp.points {
			pts = append(pts, runs.Point{Step: 100 + j, Name: metric, Value: v, Time: at})
		}
		if err := s.AppendMetrics(r.ID, pts); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(r.ID, runs.Finished, "", sp.final); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, got)
	}
	return s, list
}

// TestSingleValueMetricDrawsBars: test_accuracy recorded once (a single
// point, or only as a final metric) is drawn as one bar per run, valued
// as recorded and labelled by variant; runs without a finite value are
// left out and the title says which (before: an empty plot, or "no run
// has a series" for final-only metrics).
func TestSingleValueMetricDrawsBars(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	s, list := singleValueStore(t, "test_accuracy", []oneValue{
		{name: "acc/final-only", final: map[string]float64{"test_accuracy": 0.9}},
		{name: "acc/one-point", points: []float64{0.8}, final: map[string]float64{"train_loss": 0.2}},
		{name: "acc/nothing", final: map[string]float64{"train_loss": 0.3}},
		{name: "acc/diverged", final: map[string]float64{"test_accuracy": nan}},
		{name: "acc/infinite", points: []float64{inf}},
		// The point is the value recorded at its step; the final one is
		// used only when the series has none.
		{name: "acc/both", points: []float64{0.75}, final: map[string]float64{"test_accuracy": 0.7}},
	})
	c, err := newChart(s, list, "test_accuracy")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.lines) != 0 {
		t.Errorf("%d lines, want bars only", len(c.lines))
	}
	want := []bar{{"final-only", 0.9, 0}, {"one-point", 0.8, 1}, {"both", 0.75, 5}}
	if len(c.bars) != len(want) {
		t.Fatalf("bars %+v, want %+v", c.bars, want)
	}
	for i, w := range want {
		if c.bars[i] != w {
			t.Errorf("bar %d = %+v, want %+v", i, c.bars[i], w)
		}
	}
	for _, note := range []string{"diverged (NaN)", "infinite (+Inf)", "nothing (no value)"} {
		if !strings.Contains(c.note, note) {
			t.Errorf("note %q lacks %q", c.note, note)
		}
	}

	// The PNG shows the bars: each drawn run's colour fills a block of
	// pixels far larger than a line of the curve plot would.
	data, err := CurvesPNG(s, list, "test_accuracy", 6, 4)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 5} {
		if n := countColour(img, plotutil.Color(i)); n < 3000 {
			t.Errorf("run %d (%s): %d pixels of its colour, want a bar's worth (≥3000)", i, list[i].Name, n)
		}
	}
	for _, i := range []int{2, 3, 4} {
		if n := countColour(img, plotutil.Color(i)); n > 0 {
			t.Errorf("run %d (%s) has no finite value but %d pixels of its colour", i, list[i].Name, n)
		}
	}
}

// TestBarsOfDistinctRuns: runs of different recipes keep their full names,
// and a name seen twice gets its run id, so no two bars share a label.
func TestBarsOfDistinctRuns(t *testing.T) {
	s, list := singleValueStore(t, "test_accuracy", []oneValue{
		{name: "quickstart", final: map[string]float64{"test_accuracy": 0.5}},
		{name: "spirals", final: map[string]float64{"test_accuracy": 0.6}},
		{name: "spirals", final: map[string]float64{"test_accuracy": 0.7}},
	})
	c, err := newChart(s, list, "test_accuracy")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"quickstart", "spirals " + list[1].ID, "spirals " + list[2].ID}
	if len(c.bars) != len(want) {
		t.Fatalf("bars %+v", c.bars)
	}
	for i, w := range want {
		if c.bars[i].label != w || c.bars[i].value != list[i].Final["test_accuracy"] {
			t.Errorf("bar %d = %+v, want %q at %v", i, c.bars[i], w, list[i].Final["test_accuracy"])
		}
	}
}

// TestNoFiniteValueIsAnError: a metric no run has, or has only as NaN/Inf,
// is an error naming it, not a blank PNG.
func TestNoFiniteValueIsAnError(t *testing.T) {
	s, list := singleValueStore(t, "test_accuracy", []oneValue{
		{name: "acc/a", final: map[string]float64{"test_accuracy": math.NaN()}},
		{name: "acc/b", points: []float64{math.Inf(-1)}},
	})
	for _, metric := range []string{"test_accuracy", "no_such_metric"} {
		_, err := CurvesPNG(s, list, metric, 6, 4)
		if err == nil || !strings.Contains(err.Error(), "no run has metric") || !strings.Contains(err.Error(), metric) {
			t.Errorf("%s: error %v, want no run has metric %q", metric, err, metric)
		}
	}
}

// TestCurvesStayCurves: a run with a series of several points keeps the
// line plot; a run with only a final value has no line to add and is said
// to be left out, as are the non-finite points of a diverged series.
func TestCurvesStayCurves(t *testing.T) {
	nan := math.NaN()
	s, list := singleValueStore(t, "train_loss", []oneValue{
		{name: "cmp/a", points: []float64{3, 2, 1}},
		{name: "cmp/b", final: map[string]float64{"train_loss": 0.5}},
		{name: "cmp/c", points: []float64{3, math.Inf(1), nan}},
	})
	c, err := newChart(s, list, "train_loss")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.bars) != 0 || len(c.lines) != 2 {
		t.Fatalf("%d bars, %d lines; want the two series as lines", len(c.bars), len(c.lines))
	}
	if got := c.lines[0].xy; len(got) != 3 || got[2].X != 102 || got[2].Y != 1 {
		t.Errorf("line of cmp/a: %v", got)
	}
	if got := c.lines[1].xy; len(got) != 1 || got[0].Y != 3 {
		t.Errorf("line of cmp/c keeps its finite point only: %v", got)
	}
	for _, note := range []string{"cmp/b (no series)", "cmp/c (2 non-finite points)"} {
		if !strings.Contains(c.note, note) {
			t.Errorf("note %q lacks %q", c.note, note)
		}
	}
}

// countColour counts the pixels of img that are exactly c.
func countColour(img image.Image, c color.Color) int {
	r0, g0, b0, a0 := c.RGBA()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, b, a := img.At(x, y).RGBA()
			if r == r0 && g == g0 && b == b0 && a == a0 {
				n++
			}
		}
	}
	return n
}

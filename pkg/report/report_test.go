package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// fakeGroup records three runs: two variants of one recipe (one group) and
// an unrelated run, with loss series.
func fakeGroup(t *testing.T) *runs.Store {
	t.Helper()
	s, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	start := time.Now().Add(-time.Minute)
	for i, c := range []struct {
		name, group string
		acc         float64
	}{{"cmp/sgd", "g1", 0.91}, {"cmp/adam", "g1", 0.97}, {"other", "", 0.5}} {
		r := &runs.Run{ID: runs.NewID(start.Add(time.Duration(i) * time.Second)), Name: c.name, Started: start.Add(time.Duration(i) * time.Second),
			Params: map[string]string{runs.GroupParam: c.group}}
		if err := s.Create(r); err != nil {
			t.Fatal(err)
		}
		var pts []runs.Point
		for step := 1; step <= 20; step++ {
			pts = append(pts, runs.Point{Step: step, Name: "train_loss", Value: 2 / float64(step+i), Time: time.Now()})
		}
		if err := s.AppendMetrics(r.ID, pts); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(r.ID, runs.Finished, "", map[string]float64{"test_accuracy": c.acc, "train_loss": 0.1}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestGroupCompareAndPlot(t *testing.T) {
	s := fakeGroup(t)
	list, err := Group(s, "cmp")
	if err != nil {
		t.Fatal(err)
	}
	rows := Compare(list)
	if len(rows) != 2 || rows[0].Name != "cmp/adam" || rows[1].Name != "cmp/sgd" {
		t.Fatalf("rows %+v, want the two variants, best first", rows)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rows); err != nil || !strings.Contains(buf.String(), "97.00%") {
		t.Errorf("table:\n%s", buf.String())
	}
	png, err := CurvesPNG(s, list, "train_loss", 6, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 2000 {
		t.Errorf("not a PNG plot (%d bytes)", len(png))
	}
	if _, err := CurvesPNG(s, list, "no_such_metric", 6, 4); err == nil {
		t.Errorf("a metric no run has: want an error")
	}
	if _, err := Group(s, "other"); err == nil {
		t.Errorf("one plain run is nothing to compare: want an error")
	}
}

// TestNaNRunsCompare: a diverged run (NaN loss series, NaN accuracy)
// appears in the table and JSON as NaN, ranks last, and the curves of the
// others are still drawn.
func TestNaNRunsCompare(t *testing.T) {
	s := fakeGroup(t)
	r := &runs.Run{Name: "cmp/diverged", Params: map[string]string{runs.GroupParam: "g1"}}
	if err := s.Create(r); err != nil {
		t.Fatal(err)
	}
	nan, inf := math.NaN(), math.Inf(1)
	pts := []runs.Point{{Step: 1, Name: "train_loss", Value: 3, Time: time.Now()}, {Step: 2, Name: "train_loss", Value: inf, Time: time.Now()},
		{Step: 3, Name: "train_loss", Value: nan, Time: time.Now()}}
	if err := s.AppendMetrics(r.ID, pts); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(r.ID, runs.Failed, "diverged", map[string]float64{"test_accuracy": nan, "train_loss": nan}); err != nil {
		t.Fatal(err)
	}
	list, err := Group(s, "cmp")
	if err != nil {
		t.Fatal(err)
	}
	rows := Compare(list)
	if len(rows) != 3 || rows[2].Name != "cmp/diverged" {
		t.Fatalf("rows %+v: want the diverged run last", rows)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rows); err != nil || !strings.Contains(buf.String(), "NaN") {
		t.Errorf("table:\n%s", buf.String())
	}
	js, err := json.Marshal(rows)
	if err != nil || !strings.Contains(string(js), `"test_accuracy":"NaN"`) || !strings.Contains(string(js), `"name":"cmp/diverged"`) {
		t.Errorf("JSON %s: %v", js, err)
	}
	if _, err := CurvesPNG(s, list, "train_loss", 6, 4); err != nil {
		t.Errorf("curves with a NaN series: %v", err)
	}
}

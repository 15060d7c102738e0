package runs

import (
	"testing"
	"time"
)

// TestTruncateMetricsResetsLiveReaders: a resumed run drops its points
// after the checkpoint's step and records those steps again. A reader that
// follows the run with PointsSince must end up with the new values only:
// the re-recorded points get ids never used before (before, SQLite reused
// the deleted rowids, so a reader past them missed the new points), and
// the cursor says the run was truncated, so the reader starts over
// (before, it kept the deleted points).
func TestTruncateMetricsResetsLiveReaders(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	r := mustOpenExisting(t, dir)
	run := mustCreate(t, w, &Run{Name: "resumed"})
	other := mustCreate(t, w, &Run{Name: "other"})
	points := func(first, last int, value float64) []Point {
		var pts []Point
		for s := first; s <= last; s++ {
			pts = append(pts, Point{Step: s, Name: "loss", Value: value + float64(s), Time: time.Now()})
		}
		return pts
	}
	if err := w.AppendMetrics(run.ID, points(1, 10, 100)); err != nil {
		t.Fatal(err)
	}
	if err := w.AppendMetrics(other.ID, points(1, 3, 0)); err != nil {
		t.Fatal(err)
	}

	// The reader holds steps 1-10 (values 101..110).
	held := map[int]float64{}
	cur := Cursor{}
	read := func() {
		t.Helper()
		pts, next, err := r.PointsSince(run.ID, cur, 0)
		if err != nil {
			t.Fatal(err)
		}
		if next.Truncations != cur.Truncations {
			clear(held)
		}
		for _, p := range pts {
			held[p.Step] = p.Value
		}
		cur = next
	}
	read()
	if len(held) != 10 || held[10] != 110 {
		t.Fatalf("first read %v", held)
	}
	v0, _ := r.Version()
	lastRow := cur.Row

	// Resume from step 5: steps 6-10 again, with other values.
	if err := w.TruncateMetrics(run.ID, 5); err != nil {
		t.Fatal(err)
	}
	if v1, _ := r.Version(); v1 == v0 {
		t.Error("version unchanged after points were dropped")
	}
	if err := w.AppendMetrics(run.ID, points(6, 10, 200)); err != nil {
		t.Fatal(err)
	}
	fresh, _, err := r.PointsSince(run.ID, Cursor{Row: lastRow, Truncations: cur.Truncations + 1}, 0)
	if err != nil || len(fresh) != 5 {
		t.Fatalf("re-recorded points after row %d: %d (%v): their ids were reused", lastRow, len(fresh), err)
	}
	read()
	want := map[int]float64{1: 101, 2: 102, 3: 103, 4: 104, 5: 105, 6: 206, 7: 207, 8: 208, 9: 209, 10: 210}
	if len(held) != len(want) {
		t.Errorf("reader holds %v, want %v", held, want)
	}
	for s, v := range want {
		if held[s] != v {
			t.Errorf("step %d: reader holds %v, want %v", s, held[s], v)
		}
	}
	if series, _ := r.Series(run.ID, "loss"); len(series) != 10 || series[9].Value != 210 {
		t.Errorf("series after resume %v", series)
	}

	// Nothing dropped: no truncation counted, readers go on.
	before := cur
	if err := w.TruncateMetrics(run.ID, 10); err != nil {
		t.Fatal(err)
	}
	if pts, next, err := r.PointsSince(run.ID, before, 0); err != nil || len(pts) != 0 || next != before {
		t.Errorf("a truncation that dropped nothing: %d points, cursor %+v (was %+v), %v", len(pts), next, before, err)
	}
	// Another run's reader is not disturbed.
	if pts, next, err := r.PointsSince(other.ID, Cursor{}, 0); err != nil || len(pts) != 3 || next.Truncations != 0 {
		t.Errorf("other run: %d points, %+v, %v", len(pts), next, err)
	}
	// An unknown run has no points and no error.
	if pts, _, err := r.PointsSince("nope", Cursor{}, 0); err != nil || len(pts) != 0 {
		t.Errorf("unknown run: %v, %v", pts, err)
	}
}

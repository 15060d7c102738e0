package runs

import (
	"os"
	"testing"
	"time"
)

// TestLiveQueries follows a run the way the dashboard does: a second
// connection polls Version, Progress and PointsSince while the run writes.
func TestLiveQueries(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	r := mustOpenExisting(t, dir)

	v0, err := r.Version()
	if err != nil {
		t.Fatal(err)
	}
	run := mustCreate(t, w, &Run{Name: "live"})
	v1, _ := r.Version()
	if v1 == v0 {
		t.Errorf("version unchanged after a run was created: %+v", v1)
	}
	if p, err := r.Progress(run.ID); err != nil || len(p) != 0 {
		t.Errorf("progress of a run without points: %v, %v", p, err)
	}

	t0 := time.Unix(1_700_000_000, 0)
	var pts []Point
	for step := 1; step <= 10; step++ {
		pts = append(pts, Point{Stage: 0, Step: step, Name: "train_loss", Value: 1 / float64(step), Time: t0.Add(time.Duration(step) * time.Second)})
		if step%5 == 0 { // an epoch of 5 steps
			pts = append(pts,
				Point{Stage: 0, Step: step, Name: "epoch_s", Value: 5, Time: t0.Add(time.Duration(step) * time.Second)},
				Point{Stage: 0, Step: step, Name: "validation_accuracy", Value: 0.5 + 0.01*float64(step), Time: t0.Add(time.Duration(step) * time.Second)})
		}
	}
	if err := w.AppendMetrics(run.ID, pts[:7]); err != nil { // steps 1-5 and the first epoch's points
		t.Fatal(err)
	}
	got, after, err := r.PointsSince(run.ID, Cursor{}, 0)
	if err != nil || len(got) != 7 || got[0].Step != 1 || got[0].Name != "train_loss" {
		t.Fatalf("first poll: %d points %v, %v", len(got), got, err)
	}
	if again, same, _ := r.PointsSince(run.ID, after, 0); len(again) != 0 || same != after {
		t.Errorf("poll with nothing new: %d points, next %+v (want %+v)", len(again), same, after)
	}
	v2, _ := r.Version()
	if v2 == v1 {
		t.Error("version unchanged after points were written")
	}
	if err := w.AppendMetrics(run.ID, pts[7:]); err != nil {
		t.Fatal(err)
	}
	more, after2, err := r.PointsSince(run.ID, after, 0)
	if err != nil || len(more) != len(pts)-7 || more[len(more)-1].Step != 10 || after2.Row <= after.Row {
		t.Fatalf("second poll: %d points (want %d), next %+v, %v", len(more), len(pts)-7, after2, err)
	}
	if limited, _, _ := r.PointsSince(run.ID, Cursor{}, 3); len(limited) != 3 {
		t.Errorf("limit 3 gave %d points", len(limited))
	}

	if err := w.AppendMetrics(run.ID, []Point{{Stage: 1, Step: 10, Name: "test_accuracy", Value: 0.9, Time: t0.Add(11 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	all, err := r.Progress()
	if err != nil {
		t.Fatal(err)
	}
	p := all[run.ID]
	if p == nil {
		t.Fatalf("no progress for %s in %v", run.ID, all)
	}
	if p.Step != 10 || len(p.Stages) != 2 || p.Points != len(pts)+1 {
		t.Errorf("progress %+v", p)
	}
	st, ok := p.Stage(0)
	if !ok || st.FirstStep != 1 || st.LastStep != 10 || st.FirstEpochStep != 5 || st.Epochs != 2 ||
		!st.FirstTime.Equal(t0.Add(time.Second)) || !st.LastTime.Equal(t0.Add(10*time.Second)) {
		t.Errorf("stage 0 progress %+v", st)
	}
	if !p.HasValidationAccuracy || p.BestValidationAccuracy != 0.6 {
		t.Errorf("best validation accuracy %v (%v), want 0.6", p.BestValidationAccuracy, p.HasValidationAccuracy)
	}
	if _, ok := p.Stage(7); ok {
		t.Error("stage 7 has no points but was found")
	}

	host, err := r.Host(run.ID)
	if me, _ := os.Hostname(); err != nil || host != me {
		t.Errorf("host %q, %v; want %q", host, err, me)
	}
	if _, err := r.Host("nope"); err == nil {
		t.Error("host of an unknown run: want an error")
	}

	v3, _ := r.Version()
	if err := w.Finish(run.ID, Finished, "", map[string]float64{"test_accuracy": 0.9}); err != nil {
		t.Fatal(err)
	}
	if v4, _ := r.Version(); v4 == v3 {
		t.Error("version unchanged after the run finished")
	}
}

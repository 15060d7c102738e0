package runs

import (
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/events"
)

func TestStoreLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	r := mustCreate(t, s, &Run{Name: "demo", RecipePath: "demo.yaml", Recipe: "name: demo", Params: map[string]string{"seed": "1"}})
	rec := s.Recorder(r.ID)
	rec.Handle(events.Event{Kind: events.StageStarted, Stage: "train", StageIndex: 0})
	for step := 1; step <= 5; step++ {
		rec.Handle(events.Event{Kind: events.Step, StageIndex: 0, Step: step, Time: time.Now(),
			Metrics: map[string]float64{"loss": 1 / float64(step), "train_accuracy": 0.1 * float64(step)}})
	}
	rec.Handle(events.Event{Kind: events.StageFinished, Stage: "train", StageIndex: 0, Metrics: map[string]float64{"steps": 5}})
	if err := s.Finish(r.ID, Finished, "", map[string]float64{"test_accuracy": 0.93}); err != nil {
		t.Fatal(err)
	}

	// A second connection, as `lathe ls` in another process would open.
	reader := mustOpenExisting(t, dir)
	got, err := reader.Get(r.ID[:10])
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Finished || got.Params["seed"] != "1" || got.Final["test_accuracy"] != 0.93 ||
		len(got.Stages) != 1 || got.Stages[0].Metrics["steps"] != 5 || got.Stages[0].Status != Finished {
		t.Errorf("read back %+v", got)
	}
	loss, err := reader.Series(r.ID, "loss")
	if err != nil || len(loss) != 5 || loss[4].Value != 0.2 || loss[4].Step != 5 {
		t.Errorf("loss series %v, %v", loss, err)
	}
	names, _ := reader.MetricNames(r.ID)
	if strings.Join(names, ",") != "loss,train_accuracy" {
		t.Errorf("metric names %v", names)
	}
	if byName, err := reader.Get("demo"); err != nil || byName.ID != r.ID {
		t.Errorf("get by name: %v %v", byName, err)
	}
	if _, err := reader.Get("nope"); err == nil {
		t.Errorf("unknown run: want an error")
	}
}

func TestRunOfAGoneProcessIsInterrupted(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	r := &Run{Name: "ghost", PID: 1 << 30} // no such process
	if err := s.Create(r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(r.ID)
	if err != nil || got.Status != Interrupted {
		t.Errorf("status %v (%v), want interrupted", got.Status, err)
	}
}

func TestOpenExistingDoesNotCreate(t *testing.T) {
	dir := t.TempDir() + "/runs"
	if _, err := OpenExisting(dir); err == nil || !strings.Contains(err.Error(), "no run store") {
		t.Errorf("want a 'no run store' error, got %v", err)
	}
}

// TestAmbiguousPrefix: a prefix many runs share lists the first few and
// counts the rest, on one line, instead of printing every id.
func TestAmbiguousPrefix(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	now := time.Now()
	for _, id := range []string{"20261126-000000-aaaa", "20261126-000000-aabb", "20261126-000000-aacc", "20261126-000000-aadd", "20261126-000000-aaee"} {
		if err := s.Create(&Run{ID: id, Name: "x", Started: now}); err != nil {
			t.Fatal(err)
		}
	}
	want := `run "20261126-000000-aa" is ambiguous: 5 runs match (20261126-000000-aaaa, 20261126-000000-aabb, 20261126-000000-aacc and 2 more); give more of the id`
	if _, err := s.Get("20261126-000000-aa"); err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

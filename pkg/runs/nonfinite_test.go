package runs

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/events"
)

// same is == for values, with NaN equal to NaN.
func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

var (
	nan    = math.NaN()
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)

func TestMetricsJSON(t *testing.T) {
	m := Metrics{"loss": nan, "grad_norm": posInf, "log_lik": negInf, "accuracy": 0.5, "steps": 12}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"accuracy":0.5,"grad_norm":"+Inf","log_lik":"-Inf","loss":"NaN","steps":12}`
	if string(js) != want {
		t.Errorf("got %s\nwant %s", js, want)
	}
	var back Metrics
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(m) {
		t.Fatalf("read back %v", back)
	}
	for k, v := range m {
		if !same(back[k], v) {
			t.Errorf("%s: read back %v, want %v", k, back[k], v)
		}
	}
	// Plain JSON numbers, "Inf" and null read too; other strings do not.
	var plain Metrics
	if err := json.Unmarshal([]byte(`{"a": 1e3, "b": "Inf"}`), &plain); err != nil || plain["a"] != 1000 || !math.IsInf(plain["b"], 1) {
		t.Errorf("plain: %v, %v", plain, err)
	}
	if err := json.Unmarshal([]byte(`null`), &plain); err != nil || len(plain) != 2 {
		t.Errorf("null: %v, %v", plain, err)
	}
	for _, bad := range []string{`{"a": "inf"}`, `{"a": "1"}`, `{"a": true}`, `[1]`} {
		var x Metrics
		if err := json.Unmarshal([]byte(bad), &x); err == nil {
			t.Errorf("%s: want an error, got %v", bad, x)
		}
	}
	if js, err := json.Marshal(Metrics(nil)); err != nil || string(js) != "null" {
		t.Errorf("nil metrics: %s, %v", js, err)
	}
	// A point with a NaN marshals too, and reads back.
	p := Point{Stage: 1, Step: 2, Name: "loss", Value: nan, Time: time.Unix(5, 0).UTC()}
	js, err = json.Marshal(p)
	if err != nil || !strings.Contains(string(js), `"value":"NaN"`) || !strings.Contains(string(js), `"step":2`) {
		t.Fatalf("point: %s, %v", js, err)
	}
	var q Point
	if err := json.Unmarshal(js, &q); err != nil || !math.IsNaN(q.Value) || q.Step != 2 || q.Name != "loss" || !q.Time.Equal(p.Time) {
		t.Errorf("point read back %+v, %v", q, err)
	}
	if js, _ := json.Marshal(Point{Value: 0.25}); !strings.Contains(string(js), `"value":0.25`) {
		t.Errorf("finite point: %s", js)
	}
}

// TestNonFiniteValuesRoundTrip: a diverged run's NaN and ±Inf go through
// every write and come back from every read, and the run still lists and
// marshals (before, a NaN failed FinishStage's JSON and broke every later
// List with a NULL scan).
func TestNonFiniteValuesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	r := mustCreate(t, s, &Run{Name: "diverged"})
	now := time.Now()
	values := []float64{0.5, nan, posInf, negInf}
	var pts []Point
	for i, v := range values {
		pts = append(pts, Point{Stage: 0, Step: i + 1, Name: "loss", Value: v, Time: now},
			Point{Stage: 0, Step: i + 1, Name: "validation_accuracy", Value: []float64{0.25, nan, 0.75, nan}[i], Time: now})
	}
	if err := s.AppendMetrics(r.ID, pts); err != nil {
		t.Fatal(err)
	}
	if err := s.StartStage(r.ID, 0, "train", 4); err != nil {
		t.Fatal(err)
	}
	stageMetrics := map[string]float64{"train_loss": nan, "grad_norm": posInf, "log_lik": negInf, "steps": 4}
	if err := s.FinishStage(r.ID, 0, Finished, stageMetrics); err != nil {
		t.Fatalf("finish stage with NaN: %v", err)
	}
	final := map[string]float64{"test_loss": nan, "test_accuracy": 0.1, "max_logit": posInf, "min_logit": negInf}
	if err := s.Finish(r.ID, Failed, "diverged", final); err != nil {
		t.Fatal(err)
	}

	reader := mustOpenExisting(t, dir)
	loss, err := reader.Series(r.ID, "loss")
	if err != nil || len(loss) != len(values) {
		t.Fatalf("series: %v, %v", loss, err)
	}
	for i, v := range values {
		if !same(loss[i].Value, v) {
			t.Errorf("series point %d: %v, want %v", i, loss[i].Value, v)
		}
	}
	since, _, err := reader.PointsSince(r.ID, Cursor{}, 0)
	if err != nil || len(since) != len(pts) {
		t.Fatalf("points since: %d, %v", len(since), err)
	}
	for i, p := range pts {
		if !same(since[i].Value, p.Value) || since[i].Name != p.Name {
			t.Errorf("point %d: %s %v, want %s %v", i, since[i].Name, since[i].Value, p.Name, p.Value)
		}
	}
	prog, err := reader.Progress(r.ID)
	if err != nil || prog[r.ID] == nil || prog[r.ID].Step != 4 || prog[r.ID].Points != len(pts) {
		t.Fatalf("progress %+v, %v", prog[r.ID], err)
	}
	// NaN is no best accuracy.
	if p := prog[r.ID]; !p.HasValidationAccuracy || p.BestValidationAccuracy != 0.75 {
		t.Errorf("best validation accuracy %v (%v), want 0.75", p.BestValidationAccuracy, p.HasValidationAccuracy)
	}

	check := func(how string, got *Run) {
		t.Helper()
		if len(got.Stages) != 1 {
			t.Fatalf("%s: stages %+v", how, got.Stages)
		}
		for k, v := range stageMetrics {
			if w, ok := got.Stages[0].Metrics[k]; !ok || !same(w, v) {
				t.Errorf("%s: stage metric %s = %v, want %v", how, k, w, v)
			}
		}
		for k, v := range final {
			if w, ok := got.Final[k]; !ok || !same(w, v) {
				t.Errorf("%s: final %s = %v, want %v", how, k, w, v)
			}
		}
		js, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("%s: json: %v", how, err)
		}
		for _, want := range []string{`"test_loss":"NaN"`, `"max_logit":"+Inf"`, `"min_logit":"-Inf"`, `"train_loss":"NaN"`, `"test_accuracy":0.1`} {
			if !strings.Contains(string(js), want) {
				t.Errorf("%s: json lacks %s: %s", how, want, js)
			}
		}
		var back Run
		if err := json.Unmarshal(js, &back); err != nil || !math.IsNaN(back.Final["test_loss"]) || !math.IsInf(back.Stages[0].Metrics["grad_norm"], 1) {
			t.Errorf("%s: json read back %+v, %v", how, back, err)
		}
	}
	got, err := reader.Get(r.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	check("get", got)
	list, err := reader.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v, %v", list, err)
	}
	check("list", list[0])
}

// TestRecorderKeepsNonFiniteStepMetrics: events carrying NaN reach the store.
func TestRecorderKeepsNonFiniteStepMetrics(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	r := mustCreate(t, s, &Run{Name: "nan"})
	rec := s.Recorder(r.ID)
	rec.Handle(events.Event{Kind: events.StageStarted, Stage: "train", StageIndex: 0, Total: 2})
	rec.Handle(events.Event{Kind: events.Step, Step: 1, Total: 2, Metrics: map[string]float64{"loss": nan}})
	rec.Handle(events.Event{Kind: events.StageFinished, Stage: "train", Metrics: map[string]float64{"train_loss": nan}})
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(r.ID)
	if err != nil || !math.IsNaN(got.Stages[0].Metrics["train_loss"]) || got.Stages[0].Status != Finished {
		t.Fatalf("run %+v, %v", got, err)
	}
	if pts, err := s.Series(r.ID, "loss"); err != nil || len(pts) != 1 || !math.IsNaN(pts[0].Value) {
		t.Errorf("loss %v, %v", pts, err)
	}
}

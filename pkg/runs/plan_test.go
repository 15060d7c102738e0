package runs

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/events"
)

func TestPlanIsRecordedAndRead(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	r := mustCreate(t, s, &Run{Name: "planned"})
	if got, _ := s.Get(r.ID); got.Plan != nil {
		t.Errorf("a run without a plan has %+v", got.Plan)
	}
	if js, _ := json.Marshal(r); strings.Contains(string(js), `"plan"`) {
		t.Errorf("no plan, yet JSON has one: %s", js)
	}
	p := Plan{Stages: []PlannedStage{{Index: 0, Kind: "train", HasSteps: true, Steps: 840}, {Index: 1, Kind: "prune", HasSteps: true},
		{Index: 2, Kind: "evaluate"}}, Splits: map[string]int{"train": 1800, "validation": 200, "test": 500}}
	if err := s.SetPlan(r.ID, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(r.ID)
	if err != nil || got.Plan == nil || !reflect.DeepEqual(*got.Plan, p) {
		t.Fatalf("plan read back %+v, %v", got.Plan, err)
	}
	if st, ok := got.Plan.Stage(1); !ok || st.Kind != "prune" || !st.HasSteps || st.Steps != 0 {
		t.Errorf("stage 1 %+v %v", st, ok)
	}
	if _, ok := got.Plan.Stage(3); ok {
		t.Error("stage 3 found")
	}
	if _, ok := (*Plan)(nil).Stage(0); ok {
		t.Error("a nil plan has a stage")
	}
	list, err := s.List()
	if err != nil || list[0].Plan == nil || !reflect.DeepEqual(*list[0].Plan, p) {
		t.Errorf("list plan %+v, %v", list[0].Plan, err)
	}
	js, err := json.Marshal(got)
	if err != nil || !strings.Contains(string(js), `"plan":{"stages":[{"index":0,"kind":"train","has_steps":true,"steps":840}`) {
		t.Errorf("json %s, %v", js, err)
	}
	if err := s.SetPlan("nope", p); !errors.Is(err, ErrNotFound) {
		t.Errorf("plan of an unknown run: %v", err)
	}
}

// TestRecorderRecordsPlannedStepsAtStageStart: the steps a stage plans are
// in the store as soon as it starts (before, only at its first step, so a
// stage compiling or loading showed no total).
func TestRecorderRecordsPlannedStepsAtStageStart(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	r := mustCreate(t, s, &Run{Name: "steps"})
	rec := s.Recorder(r.ID)
	rec.Handle(events.Event{Kind: events.StageStarted, Stage: "train", StageIndex: 0, Total: 120})
	got, err := s.Get(r.ID)
	if err != nil || len(got.Stages) != 1 || got.Stages[0].PlannedSteps != 120 || got.Stages[0].Status != Running {
		t.Fatalf("after the stage started: %+v, %v", got.Stages, err)
	}
	// A runner that learns the total at the first step still records it.
	rec.Handle(events.Event{Kind: events.StageStarted, Stage: "finetune", StageIndex: 1})
	rec.Handle(events.Event{Kind: events.Step, StageIndex: 1, Step: 121, Total: 30, Metrics: map[string]float64{"loss": 1}})
	// A stage started again with no total (a resumed run) keeps its plan.
	rec.Handle(events.Event{Kind: events.StageStarted, Stage: "train", StageIndex: 0})
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(r.ID)
	if got.Stages[0].PlannedSteps != 120 || got.Stages[1].PlannedSteps != 30 {
		t.Errorf("planned steps %d, %d; want 120, 30", got.Stages[0].PlannedSteps, got.Stages[1].PlannedSteps)
	}
	if err := s.SetPlannedSteps(r.ID, 1, 31); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Get(r.ID); got.Stages[1].PlannedSteps != 31 {
		t.Errorf("SetPlannedSteps: %d", got.Stages[1].PlannedSteps)
	}
}

func TestOpenExistingSaysWhetherAStoreIsThere(t *testing.T) {
	if _, err := OpenExisting(t.TempDir()); !errors.Is(err, ErrNoStore) {
		t.Errorf("empty dir: %v, want ErrNoStore", err)
	}
}

// TestClassLine: each class's counts in split order, and the imbalance
// worked by hand: 60 against 20 training examples is 3.0×; 40 against 30
// is under 1.5× and not called imbalanced.
func TestClassLine(t *testing.T) {
	line := ClassLine([]ClassCount{{"cat", 60, 5, 10}, {"dog", 20, 2, 10}, {"fox", 40, 4, 10}})
	want := "classes (train/validation/test): cat 60/5/10, dog 20/2/10, fox 40/4/10; imbalanced: cat has 3.0× the training examples of dog"
	if line != want {
		t.Errorf("got  %q\nwant %q", line, want)
	}
	if line := ClassLine([]ClassCount{{"a", 40, 0, 1}, {"b", 30, 0, 1}}); strings.Contains(line, "imbalanced") {
		t.Errorf("40 against 30 called imbalanced: %q", line)
	}
	if ClassLine(nil) != "" {
		t.Error("a line without classes")
	}
}

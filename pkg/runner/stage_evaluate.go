package runner

import (
	"context"
	"maps"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
)

func init() {
	recipe.Register(recipe.Kind{Name: "evaluate", Keys: []string{"split"}, Results: results.Declaration{Results: modelResults}, New: func() recipe.Settings { return &EvaluateStage{Split: "test"} }})
}

// EvaluateStage measures the current model's loss and metrics on a split.
type EvaluateStage struct {
	Split string // test, validation or train
}

// Set implements recipe.Settings.
func (e *EvaluateStage) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	e.Split, err = d.Enum(f.Value, "split", recipe.Splits)
	return err
}

// Check implements recipe.Settings.
func (e *EvaluateStage) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	if e.Split == "validation" && rec.Data.Validation == 0 {
		return d.Errorf(at, "this stage evaluates the validation split but data.validation is 0")
	}
	return nil
}

// PlannedSteps implements recipe.Settings: evaluation has no steps.
func (e *EvaluateStage) PlannedSteps(int) int { return 0 }

// String describes the stage in a few words.
func (e *EvaluateStage) String() string { return "evaluate on " + e.Split }

// Run evaluates the session's current model.
func (e *EvaluateStage) Run(_ context.Context, s *Session) (map[string]float64, error) {
	m, err := s.Evaluate(e.Split)
	if err != nil {
		return nil, err
	}
	s.Emit(events.Event{Kind: events.Evaluated, Step: s.Step, Metrics: maps.Clone(m)})
	return m, nil
}

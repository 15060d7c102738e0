// Package stagetest is a stage kind for tests: a whole kind in one file,
// registered in one line, that the summary, the store and the dashboard must
// handle from what it declares, never from its name.
//
//	func init() { stagetest.Register("count_test") }
package stagetest

import (
	"context"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
)

// Register adds a kind of that name: `name: {n: N}` takes N steps (2 by
// default), reporting train_loss 1/step, and returns steps and the
// last train_loss.
func Register(name string) {
	recipe.Register(recipe.Kind{Name: name, Keys: []string{"n"}, HasSteps: true, New: func() recipe.Settings { return &Counter{N: 2} }})
}

// Counter is the kind's settings.
type Counter struct{ N int }

// Set implements recipe.Settings.
func (c *Counter) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	c.N, err = d.Int(f.Value, "n", 1)
	return err
}

// Check implements recipe.Settings.
func (c *Counter) Check(*recipe.Decoder, recipe.Node, *recipe.Recipe) error { return nil }

// PlannedSteps implements recipe.Settings.
func (c *Counter) PlannedSteps(int) int { return c.N }

// Run implements runner.Stage.
func (c *Counter) Run(_ context.Context, s *runner.Session) (map[string]float64, error) {
	for i := 1; i <= c.N; i++ {
		s.Step++
		loss := 1 / float64(i)
		s.Emit(events.Event{Kind: events.Step, Step: s.Step, StageStep: i, Total: c.N, Metrics: map[string]float64{"train_loss": loss}})
	}
	return map[string]float64{"steps": float64(c.N), "train_loss": 1 / float64(c.N)}, nil
}

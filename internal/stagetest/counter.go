// Package stagetest is a stage kind for tests: a whole technique in one
// file — its stage, its results, a dashboard panel, a compare column and a
// summary line — registered in one line, that the summary, the store and
// the dashboard must handle from what it declares, never from its name.
//
//	func init() { stagetest.Register("count_test") }
package stagetest

import (
	"context"
	"fmt"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runner"
)

// Register adds a kind of that name: `name: {n: N}` takes N steps (2 by
// default), reporting train_loss 1/step and the series <name>_level
// (step/N), and returns steps, the last train_loss and <name>_level. Its
// declaration brings a "<name> level" panel, a compare column and the
// summary line "counted N steps to level L".
func Register(name string) {
	level := name + "_level"
	recipe.Register(recipe.Kind{Name: name, Keys: []string{"n"}, HasSteps: true, New: func() recipe.Settings { return &Counter{N: 2, level: level} },
		Results: results.Declaration{
			Results: []results.Result{
				{Name: "steps", Format: results.Count},
				{Name: runner.TrainLoss},
				{Name: level, Format: results.Percent, Doc: "how far the count got"},
			},
			Series: []results.Result{{Name: runner.TrainLoss}, {Name: level, Format: results.Percent}},
			Summary: func(m map[string]float64) string {
				return fmt.Sprintf("counted %s steps to level %s", results.Count.Print(m["steps"]), results.Percent.Print(m[level]))
			},
			Panels:  []results.Panel{{Title: name + " level", Rank: 65, Curves: []string{level}}},
			Compare: []results.Column{{Title: "LEVEL", Name: level, Format: results.Percent, Better: 1}},
		}})
}

// Counter is the kind's settings.
type Counter struct {
	N     int
	level string
}

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
		s.Emit(events.Event{Kind: events.Step, Step: s.Step, StageStep: i, Total: c.N,
			Metrics: map[string]float64{runner.TrainLoss: 1 / float64(i), c.level: float64(i) / float64(c.N)}})
	}
	return map[string]float64{"steps": float64(c.N), runner.TrainLoss: 1 / float64(c.N), c.level: 1}, nil
}

package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
)

// hooker is a test kind that installs a loop hook; it is registered twice,
// once declaring the effect and once not, and never restores it.
type hooker struct{}

func init() {
	recipe.Register(recipe.Kind{Name: "undeclared_hook_test", New: func() recipe.Settings { return hooker{} }})
	recipe.Register(recipe.Kind{Name: "unrestorable_hook_test", Effects: recipe.LoopHooks, New: func() recipe.Settings { return hooker{} }})
	recipe.Register(recipe.Kind{Name: "says_unrestorable_test", Effects: recipe.LoopHooks | recipe.Unrestorable, New: func() recipe.Settings { return hooker{} }})
}

func (hooker) Set(*recipe.Decoder, recipe.Field) error                  { return nil }
func (hooker) Check(*recipe.Decoder, recipe.Node, *recipe.Recipe) error { return nil }
func (hooker) PlannedSteps(int) int                                     { return 0 }
func (hooker) Run(_ context.Context, s *Session) (map[string]float64, error) {
	s.AddLoopHooks(func(*Loop) {})
	return map[string]float64{}, nil
}

const effectsHead = `name: effects-test
seed: 3
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 200}
model: {arch: mlp, hidden: [16]}
stages:
`

// TestUndeclaredEffectFailsTheRun: a stage that leaves a loop hook its
// kind does not declare fails the run, naming the kind and the effect,
// so a declaration cannot fall behind the code.
func TestUndeclaredEffectFailsTheRun(t *testing.T) {
	_, err := Run(context.Background(), mustParse(t, effectsHead+"  - undeclared_hook_test: {}\n  - train: {steps: 2}\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "stage 1 (undeclared_hook_test) left loop hooks on the session without declaring them") {
		t.Errorf("got %v", err)
	}
}

// TestResumeRefusesAnEffectItCannotRestore: resuming past a stage that
// declares a session effect but cannot restore it is refused with a
// message, not continued without the effect.
func TestResumeRefusesAnEffectItCannotRestore(t *testing.T) {
	store := openStore(t)
	for kind, want := range map[string]string{
		"unrestorable_hook_test": "resume: stage 1 (unrestorable_hook_test) declares loop hooks but cannot restore them",
		"says_unrestorable_test": "resume: stage 1 (says_unrestorable_test) changed the run in a way that cannot be restored from a checkpoint",
	} {
		ctx, cancel := context.WithCancel(context.Background())
		stop := events.SinkFunc(func(e events.Event) {
			if e.Kind == events.Step && e.StageIndex == 1 && e.StageStep >= 10 {
				cancel()
			}
		})
		src := effectsHead + "  - " + kind + ": {}\n  - train: {epochs: 2, checkpoint_every: 5}\n"
		stopped, err := Run(ctx, mustParse(t, src), Options{Store: store, Sinks: []events.Sink{stop}})
		cancel()
		if err != ErrStopped {
			t.Fatalf("stopping: %v", err)
		}
		_, err = Resume(context.Background(), store, stopped.RunID, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", kind, err)
		}
	}
}

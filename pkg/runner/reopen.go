package runner

import (
	"context"
	"fmt"

	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Reopen brings back a stored run's final model without running anything:
// its recipe (and variant), data, the weights of its newest checkpoint, and
// every stage's declared changes to the model (recipe.Effects), so a program can export or
// evaluate what the run produced. The run must have finished, and no stage
// that changes the model may have run after that checkpoint (a recipe
// ending in a one-shot prune keeps its result only in memory: add an export
// stage to such a recipe). Close releases the backend.
func Reopen(ctx context.Context, store *runs.Store, ref string, backendName string) (*Session, error) {
	run, err := store.Get(ref)
	if err != nil {
		return nil, err
	}
	if run.Status != runs.Finished {
		return nil, fmt.Errorf("run %s is %s, not finished: its model is not final (lathe resume %s first)", run.ID, run.Status, run.ID)
	}
	rec, err := StoredRecipe(run)
	if err != nil {
		return nil, err
	}
	opened, err := backend.Open(backend.Resolve(backendName, rec.Backend))
	if err != nil {
		return nil, err
	}
	s := &Session{Recipe: rec, RunID: run.ID, BackendName: opened.Name(), Backend: opened.Backend, bus: events.NewBus(), lastCheckpoint: -1}
	if err := s.reopen(ctx, store, run); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) reopen(ctx context.Context, store *runs.Store, run *runs.Run) error {
	if err := s.loadData(); err != nil {
		return err
	}
	s.Model = newModel(s.Recipe, s.Data.Train.NumClasses)
	s.Ctx = gomlxctx.New().Checked(false)
	s.Ctx.SetParam(initializers.ParamInitialSeed, s.Recipe.Seed)
	// Read-only: the checkpoint is loaded, never written.
	s.store = store
	if err := s.openCheckpoints(); err != nil {
		return err
	}
	s.store, s.ckptDir = nil, ""
	if has, err := s.ckpt.HasCheckpoints(); err != nil {
		return err
	} else if !has {
		return fmt.Errorf("run %s has no checkpoint: it trained nothing to export", run.ID)
	}
	stage, ok := s.Ctx.GetParam(paramStage)
	if !ok {
		return fmt.Errorf("run %s: its checkpoint lacks %s", run.ID, paramStage)
	}
	last, err := intParam(stage)
	if err != nil {
		return fmt.Errorf("run %s: %s: %w", run.ID, paramStage, err)
	}
	for i, st := range s.Recipe.Stages {
		s.StageIndex = i
		if i > last && st.Effects()&(recipe.Weights|recipe.OnSession) != 0 {
			return fmt.Errorf("run %s: stage %d (%s) changed the model after its last checkpoint (stage %d), so the stored weights are not its final model; add an export stage to the recipe", run.ID, i+1, st.Kind, last+1)
		}
		if err := s.restoreStage(ctx, i, st); err != nil {
			return err
		}
	}
	return nil
}

func intParam(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		return int(x), nil
	}
	return 0, fmt.Errorf("type %T", v)
}

// Close releases what the session holds (the backend).
func (s *Session) Close() {
	if s.Backend != nil {
		s.Backend.Finalize()
		s.Backend = nil
	}
}

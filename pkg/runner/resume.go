package runner

import (
	"context"
	"fmt"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Checkpoint parameters that say where a run was when it was saved, so a
// resumed run continues there: the stage, the steps done within it and the
// global step.
const (
	paramStage      = "lathe_stage"
	paramStageStep  = "lathe_stage_step"
	paramGlobalStep = "lathe_global_step"
)

// position is where a checkpoint was taken.
type position struct {
	stage, stageStep, globalStep int
}

// Resume continues a stopped, interrupted or failed run from its last
// checkpoint: the same run record, the recipe it was started with (its
// variant included), the weights, optimizer state, step counts and data
// order as they were, so the result is what an uninterrupted run gives.
func Resume(ctx context.Context, store *runs.Store, ref string, opts Options) (*Result, error) {
	run, err := store.Get(ref)
	if err != nil {
		return nil, err
	}
	switch run.Status {
	case runs.Running:
		return nil, fmt.Errorf("run %s is still running (pid %d)", run.ID, run.PID)
	case runs.Finished:
		return nil, fmt.Errorf("run %s already finished", run.ID)
	}
	rec, err := StoredRecipe(run)
	if err != nil {
		return nil, err
	}
	opts.Store, opts.Resume = store, run.ID
	return Run(ctx, rec, opts)
}

// markPosition records in the context (saved with the checkpoint) where
// the run is.
func (s *Session) markPosition(stage, stageStep int) {
	s.Ctx.SetParam(paramStage, stage)
	s.Ctx.SetParam(paramStageStep, stageStep)
	s.Ctx.SetParam(paramGlobalStep, s.Step)
}

// restorePosition reads where the loaded checkpoint was taken.
func (s *Session) restorePosition() error {
	if has, err := s.ckpt.HasCheckpoints(); err != nil {
		return err
	} else if !has {
		// Stopped before its first checkpoint (killed early, interrupted
		// while loading data): nothing was kept, so it starts over.
		s.from = position{stage: -1}
		s.Log("resume: run %s has no checkpoint (it ended before the first was saved); starting it again from the beginning", s.RunID)
		return s.store.TruncateMetrics(s.RunID, -1)
	}
	get := func(name string) (int, error) {
		v, ok := s.Ctx.GetParam(name)
		if !ok {
			return 0, fmt.Errorf("run %s: its checkpoint lacks %s", s.RunID, name)
		}
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64: // JSON numbers
			return int(x), nil
		}
		return 0, fmt.Errorf("run %s: checkpoint parameter %s has type %T", s.RunID, name, v)
	}
	var err error
	if s.from.stage, err = get(paramStage); err != nil {
		return err
	}
	if s.from.stageStep, err = get(paramStageStep); err != nil {
		return err
	}
	if s.from.globalStep, err = get(paramGlobalStep); err != nil {
		return err
	}
	s.Step = s.from.globalStep
	s.lastCheckpoint = s.Step
	if err := s.store.TruncateMetrics(s.RunID, s.Step); err != nil {
		return err
	}
	s.Log("resume: from stage %d, step %d of it (global step %d)", s.from.stage+1, s.from.stageStep, s.from.globalStep)
	return nil
}

// keepStage carries a stage that finished before the checkpoint into the
// result and reports true; the run then goes on with the next stage. A
// checkpoint taken at the end of a stage points at that stage: it is kept
// when the store recorded it finished, never run again with no steps left.
func (s *Session) keepStage(i int, res *Result) bool {
	if s.resumed == nil || i > s.from.stage {
		return false
	}
	for _, st := range s.resumed.Stages {
		if st.Index != i || (i == s.from.stage && st.Status != runs.Finished) {
			continue
		}
		res.Stages = append(res.Stages, st)
		for k, v := range st.Metrics {
			if k != "wall_s" {
				res.Final[k] = v
			}
		}
		return true
	}
	return i < s.from.stage
}

// StoredRecipe is the recipe a stored run ran: its text as recorded,
// narrowed to the run's variant.
func StoredRecipe(run *runs.Run) (*recipe.Recipe, error) {
	rec, err := recipe.Parse(run.RecipePath, []byte(run.Recipe))
	if err != nil {
		return nil, fmt.Errorf("run %s: its recipe no longer parses: %w", run.ID, err)
	}
	if v := run.Params[recipe.VariantParam]; v != "" {
		one, ok := rec.Variant(v)
		if !ok {
			return nil, fmt.Errorf("run %s: variant %q is not in its recipe", run.ID, v)
		}
		rec = one
	}
	return rec, nil
}

package recipe

import (
	"context"
	"fmt"

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
	rec, err := Parse(run.RecipePath, []byte(run.Recipe))
	if err != nil {
		return nil, fmt.Errorf("run %s: its recipe no longer parses: %w", run.ID, err)
	}
	if v := run.Params["variant"]; v != "" {
		found := false
		for _, one := range rec.Expand() {
			if one.Params["variant"] == v {
				rec, found = one, true
			}
		}
		if !found {
			return nil, fmt.Errorf("run %s: variant %q is not in its recipe", run.ID, v)
		}
	}
	opts.Store, opts.Resume = store, run.ID
	return Run(ctx, rec, opts)
}

// markPosition records in the context (saved with the checkpoint) where
// the run is.
func (r *runner) markPosition(stage, stageStep int) {
	r.ctx.SetParam(paramStage, stage)
	r.ctx.SetParam(paramStageStep, stageStep)
	r.ctx.SetParam(paramGlobalStep, r.step)
}

// restorePosition reads where the loaded checkpoint was taken.
func (r *runner) restorePosition() error {
	if r.ckpt == nil {
		return fmt.Errorf("run %s has no checkpoint to resume from", r.res.RunID)
	}
	if has, err := r.ckpt.HasCheckpoints(); err != nil || !has {
		return fmt.Errorf("run %s has no checkpoint to resume from (%s)", r.res.RunID, r.ckpt.Dir())
	}
	get := func(name string) (int, error) {
		v, ok := r.ctx.GetParam(name)
		if !ok {
			return 0, fmt.Errorf("run %s: its checkpoint lacks %s", r.res.RunID, name)
		}
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64: // JSON numbers
			return int(x), nil
		}
		return 0, fmt.Errorf("run %s: checkpoint parameter %s has type %T", r.res.RunID, name, v)
	}
	var err error
	if r.from.stage, err = get(paramStage); err != nil {
		return err
	}
	if r.from.stageStep, err = get(paramStageStep); err != nil {
		return err
	}
	if r.from.globalStep, err = get(paramGlobalStep); err != nil {
		return err
	}
	r.step = r.from.globalStep
	if err := r.opts.Store.TruncateMetrics(r.res.RunID, r.step); err != nil {
		return err
	}
	r.log("resume: from stage %d, step %d of it (global step %d)", r.from.stage+1, r.from.stageStep, r.from.globalStep)
	return nil
}

// keepStage carries a stage finished before the checkpoint into the result.
func (r *runner) keepStage(i int) {
	for _, st := range r.resumed.Stages {
		if st.Index == i {
			r.res.Stages = append(r.res.Stages, st)
			for k, v := range st.Metrics {
				if k != "wall_s" {
					r.res.Final[k] = v
				}
			}
		}
	}
}

// startStep is where stage idx begins: 0, or the checkpoint's step when the
// run resumes inside it.
func (r *runner) startStep(idx int) int {
	if r.resumed != nil && idx == r.from.stage {
		return r.from.stageStep
	}
	return 0
}

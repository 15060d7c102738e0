// Package runner runs recipes (package recipe parses them): it opens the
// backend, loads the data, and runs each stage in order on one Session —
// the backend, data, GoMLX context, checkpoints, event bus and the current
// model — recording everything in the run store.
//
// Stages are plug-ins. A stage kind is one file: it registers a
// recipe.Kind whose settings implement Stage, and its Run works through the
// Session — the model's weight and activation hooks, its loss and metrics,
// the training Loop's hooks. The built-in kinds are train and evaluate.
//
// Example:
//
//	rec, err := recipe.Load("quickstart")
//	if err != nil { return err }
//	res, err := runner.Run(ctx, rec, runner.Options{Store: store})
package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/gocompute"

	"github.com/gomlx/gomlx/backends"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/internal/atomicfile"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/onnximport"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Stage is what a registered kind's settings do when the run reaches them:
// Run works on the session and returns the stage's results by name.
type Stage interface {
	recipe.Settings
	Run(ctx context.Context, s *Session) (map[string]float64, error)
}

// Options configure a run.
type Options struct {
	// Resume continues this stored run (its id) from its last checkpoint
	// instead of starting a new one: see Resume.
	Resume string
	// Backend overrides the recipe's backend (the --backend flag); see backend.Resolve.
	Backend string
	// Store records the run; nil runs without recording (tests, dry runs).
	Store *runs.Store
	// Sinks receive the run's events besides the store (console, dashboard, notebook).
	Sinks []events.Sink
}

// Result is what a run produced.
type Result struct {
	RunID   string
	Name    string // the recipe's name as run (<recipe>/<variant> for a variant)
	Status  runs.Status
	Backend string
	Stages  []runs.StageResult
	// Final merges the stages' metrics (later stages win) with wall_s.
	Final map[string]float64
	// Classes are the examples of each class in each split.
	Classes []runs.ClassCount
}

// ErrStopped is returned when the run's context is cancelled; the run is
// checkpointed and recorded as stopped.
var ErrStopped = errors.New("run stopped")

// Run executes the recipe's stages in order. Cancelling ctx stops it cleanly
// at the next step. Failures after the run is recorded leave a failed-run
// record with the error; the error itself is returned too.
func Run(ctx context.Context, rec *recipe.Recipe, opts Options) (res *Result, err error) {
	for i, st := range rec.Stages {
		if _, ok := st.Settings.(Stage); !ok {
			return nil, &recipe.Error{File: rec.Path, Line: st.Line, Col: st.Col,
				Msg: fmt.Sprintf("stage %d: kind %q cannot run (its settings have no Run)", i+1, st.Kind)}
		}
	}
	res = &Result{Name: rec.Name, Final: map[string]float64{}}
	s := &Session{Recipe: rec, bus: events.NewBus(opts.Sinks...), store: opts.Store, lastCheckpoint: -1}
	if opts.Resume != "" && opts.Store == nil {
		return nil, fmt.Errorf("resume needs the run store")
	}
	// Everything that can be checked is checked before the run is
	// recorded: a recipe the backend cannot run leaves no failed run behind.
	opened, err := backend.Open(backend.Resolve(opts.Backend, rec.Backend))
	if err != nil {
		return nil, err
	}
	if err := preflight(rec, opened.Backend); err != nil {
		opened.Backend.Finalize()
		return nil, err
	}
	for _, st := range rec.Stages {
		if p, ok := st.Settings.(Prechecker); ok {
			if err := p.Precheck(opts.Store); err != nil {
				opened.Backend.Finalize()
				return nil, err
			}
		}
	}
	s.Backend, s.BackendName, res.Backend = opened.Backend, opened.Name(), opened.Name()
	defer s.Backend.Finalize()
	// The data too: a missing dataset, an image that does not decode or an
	// empty class folder leaves no failed run behind.
	if err := s.loadData(); err != nil {
		return nil, err
	}
	res.Classes = s.Data.ClassCounts()
	var recorder *runs.Recorder
	switch {
	case opts.Resume != "":
		if s.resumed, err = opts.Store.Reopen(opts.Resume); err != nil {
			return nil, err
		}
		res.RunID = s.resumed.ID
	case opts.Store != nil:
		params := maps.Clone(rec.Params)
		if params == nil {
			params = map[string]string{}
		}
		params[runs.KernelsParam] = opened.Kernels
		params[runs.MachineParam] = runs.Machine()
		run := &runs.Run{Name: rec.Name, RecipePath: rec.Path, Recipe: string(rec.Source), Params: params}
		if err := opts.Store.Create(run); err != nil {
			return nil, err
		}
		res.RunID = run.ID
	}
	s.RunID = res.RunID
	if opts.Store != nil {
		recorder = opts.Store.Recorder(res.RunID)
		s.bus.Add(recorder)
		s.recorder = recorder
	}
	started := time.Now()
	s.Emit(events.Event{Kind: events.RunStarted, Message: rec.Name})
	if s.resumed != nil {
		// A kill mid-write left a temporary beside the file it was writing.
		removed, err := atomicfile.RemoveStale(opts.Store.RunDir(s.RunID))
		if len(removed) > 0 {
			s.Log("resume: removed %d unfinished file(s) a killed write left: %s", len(removed), strings.Join(removed, ", "))
		}
		if err != nil {
			s.Log("warning: resume: clearing unfinished files: %v", err)
		}
	}
	if opened.Notice != "" {
		s.Log("%s", opened.Notice)
	} else {
		s.Log("backend: %s on %s", opened.Name(), opened.Kernels)
	}
	if !gocompute.SIMDBuilt && opened.Name() == "go" {
		s.Log("warning: %s", backend.SIMDWarning)
	}

	err = safely(func() error { return execute(ctx, s, opts, res) })
	res.Status = runs.Finished
	msg := ""
	switch {
	case errors.Is(err, ErrStopped):
		res.Status, msg = runs.Stopped, "stopped"
	case err != nil:
		res.Status, msg = runs.Failed, err.Error()
	}
	// A resumed run's wall time is its working time: what it ran before
	// (not the gap while it was stopped) and this part.
	res.Final["wall_s"] = time.Since(started).Seconds()
	if s.resumed != nil {
		res.Final["wall_s"] += s.resumed.WorkedBefore.Seconds()
	}
	s.Emit(events.Event{Kind: events.RunFinished, Message: string(res.Status), Metrics: res.Final})
	if opts.Store != nil {
		if ferr := opts.Store.Finish(res.RunID, res.Status, msg, res.Final); ferr != nil && err == nil {
			err = ferr
		}
		if rerr := recorder.Err(); rerr != nil && err == nil {
			err = rerr
		}
	}
	return res, err
}

// safely turns a panic from graph building (GoMLX reports shape errors by
// panicking) into an error, so no stack trace reaches the user.
func safely(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %s", runs.FirstLine(fmt.Sprint(p)))
			if debugEnabled() {
				err = fmt.Errorf("%w\n%s", err, debug.Stack())
			}
		}
	}()
	return fn()
}

func execute(ctx context.Context, s *Session, opts Options, res *Result) error {
	if s.store != nil {
		if err := s.store.SetBackend(s.RunID, s.BackendName); err != nil {
			return err
		}
	}
	for _, line := range s.dataLog {
		s.Log("%s", line)
	}
	if err := s.recordPlan(); err != nil {
		return err
	}
	s.Model = newModel(s.Recipe, s.Data.Train.NumClasses)
	if err := s.Model.Spec.AcceptsShape(s.Data.Train.ExampleShape); err != nil {
		return fmt.Errorf("%s: %v", s.Recipe.Data.Dataset, err)
	}
	// Unchecked: evaluation and training graphs share the variables, and a
	// stage may be the first or a later one to touch them.
	s.Ctx = gomlxctx.New().Checked(false)
	// The recipe's seed fixes both the initial weights and dropout's randomness.
	s.Ctx.SetParam(initializers.ParamInitialSeed, s.Recipe.Seed)
	if err := s.Ctx.SetRNGStateFromSeed(s.Recipe.Seed); err != nil {
		return err
	}
	if s.store != nil {
		// Loads the newest intact checkpoint in the run's folder, if any:
		// that is resuming.
		if err := s.openCheckpoints(); err != nil {
			return err
		}
	}
	if path := s.Recipe.Model.ONNX; path != "" && !s.checkpointed {
		imp, err := onnximport.Load(path)
		if err != nil {
			return err
		}
		assignImported(s.Ctx, imp)
		s.Log("model: %s imported from %s: %d weights in %d layers", imp.Arch, path, imp.Parameters(), len(s.Model.Spec.Layers()))
		for _, note := range imp.Notes {
			s.Log("model: %s", note)
		}
	}
	if s.resumed != nil {
		if err := s.restorePosition(); err != nil {
			return err
		}
	}
	for i, st := range s.Recipe.Stages {
		if p, ok := st.Settings.(Preparer); ok {
			s.StageIndex = i
			if err := p.Prepare(ctx, s); err != nil {
				return err
			}
		}
	}
	// A run resumed at a stage boundary loads its model's variables before
	// the next stage (loadModelVariables); one resumed inside a stage
	// leaves that to the stage's graphs.
	loaded := false
	for i, st := range s.Recipe.Stages {
		if err := ctx.Err(); err != nil {
			return ErrStopped
		}
		s.StageIndex = i
		if s.keepStage(i, res) { // finished before the checkpoint: its results stand
			if err := s.restoreStage(ctx, i, st); err != nil {
				return err
			}
			continue
		}
		if s.resumed != nil && !loaded && s.from.stage >= 0 && i > s.from.stage {
			if err := s.loadModelVariables(); err != nil {
				return err
			}
			loaded = true
		}
		stageStart := time.Now()
		s.Emit(events.Event{Kind: events.StageStarted, Total: s.Recipe.Plan(s.stepsPerEpoch())[i].Steps})
		before := s.state()
		m, err := st.Settings.(Stage).Run(ctx, s)
		if err != nil {
			return err
		}
		if err := s.settle(i, st, before); err != nil {
			return err
		}
		if err := results.Check(recipe.Declared, st.Kind, s.stageKinds(), m); err != nil {
			return fmt.Errorf("internal error: stage %d: %w", i+1, err)
		}
		for _, fn := range s.afterStage[i] {
			if err := fn(); err != nil {
				return err
			}
		}
		if err := s.recordFiles(i, st, stageStart); err != nil {
			return err
		}
		m["wall_s"] = time.Since(stageStart).Seconds()
		res.Stages = append(res.Stages, runs.StageResult{Index: i, Kind: st.Kind, Status: runs.Finished,
			Started: stageStart, Finished: time.Now(), Metrics: m})
		for k, v := range m {
			if k != "wall_s" {
				res.Final[k] = v
			}
		}
		s.Emit(events.Event{Kind: events.StageFinished, Metrics: m})
	}
	return nil
}

// Preflight checks a recipe, every variant of it, against this machine and
// the backend it would run on (backendName, e.g. the --backend flag, or
// the recipe's), before anything is recorded: what parsing cannot know (the
// dataset's files, a precision or a number of devices the backend lacks).
// Run checks its recipe again; a program calls Preflight first to refuse a
// recipe before it even opens the store.
func Preflight(rec *recipe.Recipe, backendName string) error {
	opened, err := backend.Open(backend.Resolve(backendName, rec.Backend))
	if err != nil {
		return err
	}
	defer opened.Backend.Finalize()
	for _, one := range rec.Expand() {
		if err := preflight(one, opened.Backend); err != nil {
			return err
		}
	}
	return nil
}

// Prechecker is implemented by stage settings that name something outside
// the recipe (a teacher's model file or run): Precheck reads it before the
// run is recorded, so a recipe naming a missing, unfinished or broken one
// leaves no failed run behind. store is nil when the run is not recorded.
type Prechecker interface {
	Precheck(store *runs.Store) error
}

// BackendChecker is implemented by stage settings that depend on the
// backend (a precision it must have, a number of devices): the runner asks
// before the run is recorded.
type BackendChecker interface {
	CheckBackend(b backends.Backend) error
}

// preflight finds the recipe's dataset files and asks every stage that
// depends on the backend whether b can run it; an error names the missing
// files or the stage's place in the recipe.
func preflight(rec *recipe.Recipe, b backends.Backend) error {
	if _, err := datasets.Locate(rec.Data.Dataset, datasets.Options{Dir: rec.Data.Dir}); err != nil {
		return err
	}
	for i, st := range rec.Stages {
		if c, ok := st.Settings.(BackendChecker); ok {
			if err := c.CheckBackend(b); err != nil {
				return &recipe.Error{File: rec.Path, Line: st.Line, Col: st.Col, Msg: fmt.Sprintf("stage %d (%s): %v", i+1, st.Kind, err)}
			}
		}
	}
	return nil
}

// newModel is the recipe's model, before any stage changed it.
func newModel(rec *recipe.Recipe, numClasses int) *Model {
	m := &Model{Spec: models.Spec{Model: rec.Model}, NumClasses: numClasses, Loss: losses.SparseCategoricalCrossEntropyLogits}
	m.AddMetric(Accuracy())
	return m
}

// recordPlan stores what the run will do, now that the data's size is
// known: each stage's kind, whether it has steps and how many, and the
// split sizes. The dashboard and summaries read it instead of re-deriving it.
func (s *Session) recordPlan() error {
	if s.store == nil {
		return nil
	}
	plan := runs.Plan{Splits: map[string]int{"train": s.Data.Train.Len(), "validation": lenOf(s.Data.Validation), "test": s.Data.Test.Len()},
		Classes: s.Data.ClassCounts()}
	for _, ps := range s.Recipe.Plan(s.stepsPerEpoch()) {
		plan.Stages = append(plan.Stages, runs.PlannedStage{Index: ps.Index, Kind: ps.Kind, HasSteps: ps.HasSteps, Steps: ps.Steps,
			Files: declaredFiles(s.Recipe.Stages[ps.Index])})
	}
	return s.store.SetPlan(s.RunID, plan)
}

// stepsPerEpoch is one epoch of the training split in batches (the last
// partial batch dropped).
func (s *Session) stepsPerEpoch() int {
	return s.Data.Train.Len() / s.Recipe.Data.BatchSize
}

// RunAll runs a recipe: once, or once per variant with the variants tied by
// a group id (the run parameter runs.GroupParam) that `lathe compare`, the
// dashboard and notebooks find them by. each is called after every run that
// was recorded or produced a result; it stops at the first error. Call
// Preflight first, so that a later variant the backend cannot run is
// refused before the first ones run for minutes.
func RunAll(ctx context.Context, rec *recipe.Recipe, opts Options, each func(one *recipe.Recipe, res *Result, i, n int)) ([]*Result, string, error) {
	expanded := rec.Expand()
	group := ""
	if len(expanded) > 1 {
		group = runs.NewID(time.Now())
	}
	var results []*Result
	for i, one := range expanded {
		if group != "" {
			one.Params[runs.GroupParam] = group
		}
		res, err := Run(ctx, one, opts)
		if res != nil {
			results = append(results, res)
			if each != nil {
				each(one, res, i, len(expanded))
			}
		}
		if err != nil {
			return results, group, err
		}
	}
	return results, group, nil
}

// debugEnabled (LATHE_DEBUG=1) adds the stack to internal errors.
func debugEnabled() bool { return os.Getenv("LATHE_DEBUG") == "1" }

package recipe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/runs"
)

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
	Status  runs.Status
	Backend string
	Stages  []runs.StageResult
	// Final merges the stages' metrics (later stages win) with wall_s and params.
	Final map[string]float64
}

// ErrStopped is returned when the run's context is cancelled; the run is
// checkpointed and recorded as stopped.
var ErrStopped = errors.New("run stopped")

// Run executes the recipe's stages in order. Cancelling ctx stops it cleanly
// at the next step. Failures after the run is recorded leave a failed-run
// record with the error; the error itself is returned too.
func Run(ctx context.Context, rec *Recipe, opts Options) (res *Result, err error) {
	if err := rec.check(); err != nil {
		return nil, err
	}
	res = &Result{Final: map[string]float64{}}
	bus := events.NewBus(opts.Sinks...)
	var recorder *runs.Recorder
	var resumed *runs.Run
	switch {
	case opts.Resume != "":
		if opts.Store == nil {
			return nil, fmt.Errorf("resume needs the run store")
		}
		if resumed, err = opts.Store.Reopen(opts.Resume); err != nil {
			return nil, err
		}
		res.RunID = resumed.ID
	case opts.Store != nil:
		run := &runs.Run{Name: rec.Name, RecipePath: rec.Path, Recipe: string(rec.Source), Params: rec.Params}
		if err := opts.Store.Create(run); err != nil {
			return nil, err
		}
		res.RunID = run.ID
	}
	if opts.Store != nil {
		recorder = opts.Store.Recorder(res.RunID)
		bus.Add(recorder)
	}
	r := &runner{rec: rec, opts: opts, bus: bus, res: res, started: time.Now(), resumed: resumed}
	bus.Emit(events.Event{Kind: events.RunStarted, RunID: res.RunID, Message: rec.Name})

	err = r.safely(func() error { return r.execute(ctx) })
	res.Status = runs.Finished
	msg := ""
	switch {
	case errors.Is(err, ErrStopped):
		res.Status, msg = runs.Stopped, "stopped"
	case err != nil:
		res.Status, msg = runs.Failed, err.Error()
	}
	res.Final["wall_s"] = time.Since(r.started).Seconds()
	bus.Emit(events.Event{Kind: events.RunFinished, RunID: res.RunID, Message: string(res.Status), Metrics: res.Final})
	if opts.Store != nil {
		if ferr := opts.Store.Finish(res.RunID, res.Status, msg, res.Final); ferr != nil && err == nil {
			err = ferr
		}
		if rerr := recorder.Err(); rerr != nil && err == nil {
			err = rerr
		}
	}
	if r.backend != nil {
		r.backend.Finalize()
	}
	return res, err
}

// check validates what parsing alone could not: cross-field rules.
func (rec *Recipe) check() error {
	for i, st := range rec.Stages {
		if st.Kind == "evaluate" && st.Evaluate.Split == "validation" && rec.Data.Validation == 0 {
			return &Error{File: rec.Path, Line: st.Line, Col: 5,
				Msg: fmt.Sprintf("stage %d evaluates the validation split but data.validation is 0", i+1)}
		}
	}
	return nil
}

type runner struct {
	rec     *Recipe
	opts    Options
	bus     *events.Bus
	res     *Result
	started time.Time

	backend   backends.Backend
	data      splits
	ctx       *gomlxctx.Context
	trainer   *train.Trainer
	ckpt      *checkpoints.Handler
	step      int // global step, across train stages
	numParams int

	// resumed is the stored run being continued (nil for a new run); from is
	// where its checkpoint left off.
	resumed *runs.Run
	from    position
}

type splits struct {
	train, validation, test *datasets.Set
}

func (r *runner) log(format string, args ...any) {
	r.bus.Emit(events.Event{Kind: events.Log, RunID: r.res.RunID, Message: fmt.Sprintf(format, args...)})
}

// safely turns a panic from graph building (GoMLX reports shape errors by
// panicking) into an error, so no stack trace reaches the user.
func (r *runner) safely(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %s", firstLine(fmt.Sprint(p)))
			if debugEnabled() {
				err = fmt.Errorf("%w\n%s", err, debug.Stack())
			}
		}
	}()
	return fn()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (r *runner) execute(ctx context.Context) error {
	opened, err := backend.Open(backend.Resolve(r.opts.Backend, r.rec.Backend))
	if err != nil {
		return err
	}
	r.backend = opened.Backend
	r.res.Backend = opened.Name()
	if opened.Notice != "" {
		r.log("%s", opened.Notice)
	}
	if r.opts.Store != nil {
		if err := r.opts.Store.SetBackend(r.res.RunID, opened.Name()); err != nil {
			return err
		}
	}
	if err := r.loadData(); err != nil {
		return err
	}
	modelFn, err := r.rec.Model.ModelFn(r.data.train.NumClasses)
	if err != nil {
		return err
	}
	// Unchecked: evaluation and training graphs share the variables, and a
	// stage may be the first or a later one to touch them.
	r.ctx = gomlxctx.New().Checked(false)
	// The recipe's seed fixes both the initial weights and dropout's randomness.
	r.ctx.SetParam(initializers.ParamInitialSeed, r.rec.Seed)
	if err := r.ctx.SetRNGStateFromSeed(r.rec.Seed); err != nil {
		return err
	}
	if r.opts.Store != nil && (r.hasCheckpoints() || r.resumed != nil) {
		// Build loads the newest checkpoint in the folder, if any: that is
		// resuming. GoMLX allocates what a checkpoint declares: check it first.
		if err := runs.CheckCheckpoints(r.opts.Store.CheckpointDir(r.res.RunID)); err != nil {
			return err
		}
		r.ckpt, err = checkpoints.Build(r.ctx).Dir(r.opts.Store.CheckpointDir(r.res.RunID)).Keep(2).Done()
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if r.resumed != nil {
		if err := r.restorePosition(); err != nil {
			return err
		}
	}
	// Evaluation before any training needs a trainer too; its optimizer is never used.
	r.trainer = r.newTrainer(modelFn, optimizers.Adam().Done())
	for i, st := range r.rec.Stages {
		if err := ctx.Err(); err != nil {
			return ErrStopped
		}
		if r.resumed != nil && i < r.from.stage {
			r.keepStage(i) // done before the checkpoint: its results stand
			continue
		}
		r.bus.Emit(events.Event{Kind: events.StageStarted, RunID: r.res.RunID, Stage: st.Kind, StageIndex: i})
		stageStart := time.Now()
		var stageMetrics map[string]float64
		switch st.Kind {
		case "train":
			stageMetrics, err = r.train(ctx, i, st.Train)
		case "evaluate":
			stageMetrics, err = r.evaluate(i, st.Evaluate)
		}
		if err != nil {
			return err
		}
		stageMetrics["wall_s"] = time.Since(stageStart).Seconds()
		r.res.Stages = append(r.res.Stages, runs.StageResult{Index: i, Kind: st.Kind, Status: runs.Finished,
			Started: stageStart, Finished: time.Now(), Metrics: stageMetrics})
		for k, v := range stageMetrics {
			if k != "wall_s" {
				r.res.Final[k] = v
			}
		}
		r.bus.Emit(events.Event{Kind: events.StageFinished, RunID: r.res.RunID, Stage: st.Kind, StageIndex: i, Metrics: stageMetrics})
	}
	return nil
}

func (r *runner) hasCheckpoints() bool {
	for _, st := range r.rec.Stages {
		if st.Kind == "train" && st.Train.Checkpoint {
			return true
		}
	}
	return false
}

func (r *runner) newTrainer(modelFn train.ModelFn, opt optimizers.Interface) *train.Trainer {
	return train.NewTrainer(r.backend, r.ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits, opt,
		[]metrics.Interface{metrics.NewMovingAverageSparseCategoricalAccuracy("Moving Average Accuracy", "~acc", 0.01)},
		[]metrics.Interface{metrics.NewSparseCategoricalAccuracy("Mean Accuracy", "#acc")})
}

// loadData loads the dataset, holds out validation examples and standardizes
// every split with the training split's statistics (never the test split's).
func (r *runner) loadData() error {
	d := r.rec.Data
	trainSet, testSet, err := datasets.Load(d.Dataset, datasets.Options{Dir: d.Dir, Seed: r.rec.Seed, TrainSize: d.TrainSize, TestSize: d.TestSize})
	if err != nil {
		return err
	}
	validation := d.Validation
	if validation < 0 {
		validation = trainSet.Len() / 10
	}
	r.data.train, r.data.test = trainSet, testSet
	if validation > 0 {
		if r.data.train, r.data.validation, err = trainSet.Split(validation, r.rec.Seed); err != nil {
			return fmt.Errorf("data.validation: %w", err)
		}
	}
	if r.data.train.Len() < d.BatchSize {
		return fmt.Errorf("data.batch_size %d is larger than the %d training examples", d.BatchSize, r.data.train.Len())
	}
	if d.Normalize {
		mean, std := r.data.train.Stats()
		for _, s := range []*datasets.Set{r.data.train, r.data.validation, r.data.test} {
			if s != nil {
				s.Normalize(mean, std)
			}
		}
	}
	r.log("data: %s, %d train / %d validation / %d test examples, %d classes",
		d.Dataset, r.data.train.Len(), lenOf(r.data.validation), r.data.test.Len(), r.data.train.NumClasses)
	return nil
}

func lenOf(s *datasets.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

func (r *runner) split(name string) *datasets.Set {
	switch name {
	case "train":
		return r.data.train
	case "validation":
		return r.data.validation
	}
	return r.data.test
}

// evalSplit returns loss and accuracy (a fraction) of the model on a split.
func (r *runner) evalSplit(name string) (loss, accuracy float64, err error) {
	ds, err := datasets.NewBatches(r.split(name), r.rec.Data.EvalBatchSize, false, 0, false)
	if err != nil {
		return 0, 0, err
	}
	values, err := r.trainer.Eval(ds)
	if err != nil {
		return 0, 0, fmt.Errorf("evaluating %s split: %w", name, err)
	}
	defer func() {
		for _, v := range values {
			v.FinalizeAll()
		}
	}()
	// Eval returns [mean loss+regularization, mean loss, accuracy].
	return scalar(values[1]), scalar(values[len(values)-1]), nil
}

func (r *runner) evaluate(idx int, st *EvaluateStage) (map[string]float64, error) {
	loss, acc, err := r.evalSplit(st.Split)
	if err != nil {
		return nil, err
	}
	m := map[string]float64{st.Split + "_loss": loss, st.Split + "_accuracy": acc}
	r.bus.Emit(events.Event{Kind: events.Evaluated, RunID: r.res.RunID, Stage: "evaluate", StageIndex: idx, Step: r.step, Metrics: maps.Clone(m)})
	return m, nil
}

// debugEnabled (LATHE_DEBUG=1) adds the stack to internal errors.
func debugEnabled() bool { return os.Getenv("LATHE_DEBUG") == "1" }

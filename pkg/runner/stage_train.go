package runner

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/amp"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/optim"
	"github.com/lathe-ml/lathe/pkg/recipe"
)

func init() {
	recipe.Register(recipe.Kind{Name: "train", Keys: trainKeys, HasSteps: true, Effects: recipe.Weights, Results: trainResults, New: newTrainStage})
}

var trainKeys = []string{"epochs", "steps", "optimizer", "schedule", "clip", "precision", "precision_fallback",
	"accumulate_steps", "devices", "log_every", "checkpoint", "checkpoint_every", "nonfinite", "augment"}

// NonFinite says what a train stage does when a step's loss is NaN or ±Inf.
const (
	NonFiniteFail = "fail" // stop the run, failed, naming the step and the last good checkpoint
	NonFiniteSkip = "skip" // skip the update of a batch whose gradients are not finite
)

// maxSkippedInARow ends a run that skips every batch: it has diverged.
const maxSkippedInARow = 25

// Bounds on a stage's length, so its step count (epochs × steps per epoch)
// never overflows: far beyond any real training.
const (
	maxEpochs = 1_000_000
	maxSteps  = 1 << 40
)

// DefaultCheckpointEvery is how much training a crash may cost at most
// when a recipe does not say (checkpoint_every): besides the checkpoint at
// every epoch's end, one is saved after this long.
const DefaultCheckpointEvery = 5 * time.Minute

// TrainStage trains the current model for a number of epochs or steps.
type TrainStage struct {
	Epochs int
	Steps  int
	// Optimizer with its schedule and clipping; PyTorch's names and defaults.
	Optimizer optim.Config
	// Precision is f32, bf16 or fp16 (pkg/amp); PrecisionFallback, when set,
	// is used where the backend lacks Precision.
	Precision         string
	PrecisionFallback string
	// AccumulateSteps > 1 applies one update per that many micro-batches.
	AccumulateSteps int
	// Devices is how many devices train data-parallel: 0 (unset) one,
	// -1 ("all") every device the backend has.
	Devices  int
	LogEvery int // steps between progress events (0: about 50 per epoch)
	// Checkpoint saves a checkpoint after every epoch, at the end, and
	// between as CheckpointEvery says (default true).
	Checkpoint bool
	// CheckpointEvery is a number of steps or, when CheckpointEveryTime is
	// set instead, a duration of training between checkpoints.
	CheckpointEvery     int
	CheckpointEveryTime time.Duration
	NonFinite           string // NonFiniteFail (default) or NonFiniteSkip
	// Augment jitters and mirrors the training images as batches are
	// drawn (its Fill is set from the data's standardization).
	Augment datasets.Augment

	accumulateAt recipe.Node // where accumulate_steps is written, for errors
	augmentAt    recipe.Node // where augment is written
}

func newTrainStage() recipe.Settings {
	return &TrainStage{Checkpoint: true, CheckpointEveryTime: DefaultCheckpointEvery, Optimizer: optim.DefaultsFor("adam"), Precision: "f32", AccumulateSteps: 1, NonFinite: NonFiniteFail}
}

// Set implements recipe.Settings.
func (t *TrainStage) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	switch f.Key {
	case "epochs":
		if t.Epochs, err = d.Int(f.Value, "epochs", 1); err == nil && t.Epochs > maxEpochs {
			err = d.Errorf(f.Value, "epochs must be at most %d, got %d", maxEpochs, t.Epochs)
		}
	case "steps":
		if t.Steps, err = d.Int(f.Value, "steps", 1); err == nil && t.Steps > maxSteps {
			err = d.Errorf(f.Value, "steps must be at most %d, got %d", maxSteps, t.Steps)
		}
	case "log_every":
		t.LogEvery, err = d.Int(f.Value, "log_every", 1)
	case "checkpoint":
		t.Checkpoint, err = d.Bool(f.Value, "checkpoint")
	case "checkpoint_every":
		t.CheckpointEvery, t.CheckpointEveryTime, err = decodeEvery(d, f.Value)
	case "nonfinite":
		t.NonFinite, err = d.Enum(f.Value, "nonfinite", []string{NonFiniteFail, NonFiniteSkip})
	case "augment":
		t.Augment, err = decodeAugment(d, f.Value)
		t.augmentAt = f.Value
	case "optimizer":
		// A new optimizer starts from its own defaults; schedule and clipping stay.
		var o optim.Config
		if o, err = decodeOptimizer(d, f.Value); err == nil {
			o.Schedule, o.ClipNorm, o.ClipValue = t.Optimizer.Schedule, t.Optimizer.ClipNorm, t.Optimizer.ClipValue
			t.Optimizer = o
		}
	case "schedule":
		t.Optimizer.Schedule, err = decodeSchedule(d, f.Value)
	case "clip":
		t.Optimizer.ClipNorm, t.Optimizer.ClipValue, err = decodeClip(d, f.Value)
	case "precision":
		t.Precision, err = d.Enum(f.Value, "precision", amp.Precisions)
	case "precision_fallback":
		t.PrecisionFallback, err = d.Enum(f.Value, "precision_fallback", amp.Precisions)
	case "accumulate_steps":
		t.AccumulateSteps, err = d.Int(f.Value, "accumulate_steps", 1)
		t.accumulateAt = f.Value
	case "devices":
		if str, ok := recipe.Unwrap(f.Value).(*ast.StringNode); ok && str.Value == "all" {
			t.Devices = -1
		} else if t.Devices, err = d.Int(f.Value, "devices", 1); err != nil {
			err = d.Errorf(f.Value, "devices must be all or a number of devices (at least 1), got %s", recipe.Describe(f.Value))
		}
	}
	return err
}

// decodeEvery reads checkpoint_every: a number of steps (500) or a
// duration of at least a second ("10m", "90s").
func decodeEvery(d *recipe.Decoder, n recipe.Node) (steps int, every time.Duration, err error) {
	if str, ok := recipe.Unwrap(n).(*ast.StringNode); ok {
		every, err = time.ParseDuration(str.Value)
		if err != nil || every < time.Second {
			return 0, 0, d.Errorf(n, "checkpoint_every must be a number of steps or a duration of at least 1s such as 10m or 90s, got %s", recipe.Describe(n))
		}
		return 0, every, nil
	}
	if steps, err = d.Int(n, "checkpoint_every", 1); err != nil {
		return 0, 0, d.Errorf(n, "checkpoint_every must be a number of steps or a duration of at least 1s such as 10m or 90s, got %s", recipe.Describe(n))
	}
	return steps, 0, nil
}

// Check implements recipe.Settings.
func (t *TrainStage) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	if (t.Epochs == 0) == (t.Steps == 0) {
		return d.Errorf(at, "train stage needs exactly one of epochs or steps")
	}
	// A stage shorter than one accumulation would finish without a single
	// update.
	if steps := t.PlannedSteps(rec.Data.StepsPerEpoch()); t.AccumulateSteps > 1 && steps > 0 && t.AccumulateSteps > steps {
		return d.Errorf(t.accumulateAt, "accumulate_steps %d is more than the stage's %d steps: it would end without updating the weights once", t.AccumulateSteps, steps)
	}
	if t.AccumulateSteps > 1 && t.Precision == string(amp.FP16) {
		return d.Errorf(at, "accumulate_steps cannot be combined with precision fp16 (its loss scaling) in this version")
	}
	if t.AccumulateSteps > 1 && t.NonFinite == NonFiniteSkip {
		return d.Errorf(at, "nonfinite: skip cannot be combined with accumulate_steps in this version")
	}
	if t.Augment.On() && slices.Contains([]string{"blobs", "spirals", "csv"}, rec.Data.Dataset) {
		return d.Errorf(t.augmentAt, "augment shifts and mirrors images; the %s dataset holds points or table rows", rec.Data.Dataset)
	}
	if t.Optimizer.Schedule.Name == "" {
		t.Optimizer.Schedule.Name = "constant"
	}
	if err := t.Optimizer.Validate(); err != nil {
		return d.Errorf(at, "train stage: %v", err)
	}
	return nil
}

// CheckBackend implements BackendChecker: the precision (or its fallback)
// and the devices the stage asks for.
func (t *TrainStage) CheckBackend(b backends.Backend) error {
	if _, _, err := amp.Resolve(t.Precision, t.PrecisionFallback, b); err != nil {
		return err
	}
	_, err := replicasFor(t.Devices, b)
	return err
}

// PlannedSteps implements recipe.Settings.
func (t *TrainStage) PlannedSteps(perEpoch int) int {
	if t.Steps > 0 {
		return t.Steps
	}
	return t.Epochs * perEpoch
}

// String describes the stage in a few words.
func (t *TrainStage) String() string {
	budget := fmt.Sprintf("%d epochs", t.Epochs)
	if t.Steps > 0 {
		budget = fmt.Sprintf("%d steps", t.Steps)
	}
	augment := ""
	if t.Augment.On() {
		augment = ", augmented: " + t.Augment.String()
	}
	return fmt.Sprintf("train %s with %s (lr %g, %s schedule%s)", budget, t.Optimizer.Name, t.Optimizer.LearningRate, t.Optimizer.Schedule.Name, augment)
}

// CapSteps implements recipe.StepCapper: a copy taking at most n steps (a
// stage given in epochs takes exactly n: its length in steps depends on the
// data), logging about twenty times.
func (t *TrainStage) CapSteps(n int) recipe.Settings {
	c := *t
	if c.Steps == 0 || c.Steps > n {
		c.Epochs, c.Steps = 0, n
	}
	if c.LogEvery == 0 || c.LogEvery > n/10 {
		c.LogEvery = max(1, n/20)
	}
	return &c
}

// Run trains the session's model with this stage's optimizer.
func (t *TrainStage) Run(ctx context.Context, s *Session) (map[string]float64, error) {
	batch := s.Recipe.Data.BatchSize
	feed, err := t.feeder(s)
	if err != nil {
		return nil, err
	}
	perEpoch := feed.stepsPerEpoch()
	total := t.PlannedSteps(perEpoch)
	precision, notice, err := amp.Resolve(t.Precision, t.PrecisionFallback, s.Backend)
	if err != nil {
		return nil, err
	}
	if notice != "" {
		s.Log("%s", notice)
	}
	s.Model.Spec.ComputeDType = precision.ComputeDType()
	optCfg := t.Optimizer
	optCfg.Schedule.TotalSteps = max(total/t.AccumulateSteps, 1) // the schedule counts updates
	opt, err := optim.New(optCfg)
	if err != nil {
		return nil, err
	}
	if s.startStep() == 0 { // not a resume inside this stage: its state is the checkpoint's
		if err := s.freshOptimizer(optCfg.Name); err != nil {
			return nil, err
		}
	}
	var wrapped optimizers.Interface = opt
	switch {
	case precision.NeedsLossScaling():
		wrapped = amp.WithLossScaling(opt, amp.DefaultScaler)
	case t.NonFinite == NonFiniteSkip:
		wrapped = amp.WithLossScaling(opt, amp.SkipNonFinite)
	}
	for _, wrap := range s.wrappers {
		wrapped = wrap(wrapped)
	}
	trainer, err := s.NewTrainer(wrapped)
	if err != nil {
		return nil, err
	}
	if t.AccumulateSteps > 1 {
		if err := trainer.AccumulateGradients(t.AccumulateSteps); err != nil {
			return nil, err
		}
	}
	s.Log("train: %d steps (%d per epoch) of batch %d with %s, learning rate %g (%s schedule), %s, on %s",
		total, perEpoch, batch, t.Optimizer.Name, t.Optimizer.LearningRate, t.Optimizer.Schedule.Name, precision, s.BackendName)
	if t.Augment.On() {
		s.Log("train: augmented: %s, new draws every epoch", t.Augment)
	}
	if t.AccumulateSteps > 1 {
		s.Log("train: one update every %d micro-batches (effective batch %d)", t.AccumulateSteps, batch*t.AccumulateSteps)
	}
	scaled := wrapped != optimizers.Interface(opt)
	// TrainStep returns [batch loss, moving loss+regularization, moving loss, train metrics…].
	names := []string{"loss", "", "train_loss"}
	for _, n := range s.Model.metricNames() {
		names = append(names, "train_"+n)
	}
	loop := &Loop{Session: s, Total: total, PerEpoch: perEpoch, feed: feed, trainer: trainer, names: names}
	result := map[string]float64{}
	t.addHooks(loop, result, batch, scaled)
	for _, add := range s.loopHooks {
		add(loop)
	}
	if err := loop.Run(ctx); err != nil {
		return nil, err
	}
	for k, v := range loop.results {
		result[k] = v
	}
	return result, nil
}

// feeder builds the stage's data feed: one device, or data-parallel.
func (t *TrainStage) feeder(s *Session) (feeder, error) {
	batch := s.Recipe.Data.BatchSize
	replicas, err := replicasFor(t.Devices, s.Backend)
	if err != nil {
		return nil, err
	}
	seed := s.Recipe.Seed + int64(s.StageIndex)
	if replicas > 1 {
		if s.Model.trainInputs != nil {
			return nil, fmt.Errorf("devices: this model computes inputs for each batch (a distillation teacher's outputs), which Lathe does not shard across devices")
		}
		if t.AccumulateSteps > 1 {
			return nil, fmt.Errorf("accumulate_steps cannot be combined with devices > 1 (GoMLX v0.26.0 does not distribute accumulation)")
		}
		s.Log("train: data-parallel over %d devices, %d examples per device per step", replicas, batch/replicas)
		dp, err := newDataParallel(s.Backend, s.Data.Train, batch, replicas, seed)
		if err == nil {
			err = t.augment(s, dp.shards)
		}
		return dp, err
	}
	if t.Devices != 0 {
		s.Log("train: the %s backend has %d device; training as a single replica", s.BackendName, s.Backend.NumDevices())
	}
	// Drop the last partial batch: one shape means one compilation.
	ds, err := datasets.NewBatches(s.Data.Train, batch, true, seed, true)
	if err != nil {
		return nil, err
	}
	if err := t.augment(s, ds); err != nil {
		return nil, err
	}
	return singleDevice{ds, s.Model.trainInputs}, nil
}

// augment puts the stage's augmentation on its batches, shifting in the
// standardized value of a black pixel.
func (t *TrainStage) augment(s *Session, ds *datasets.Batches) error {
	if !t.Augment.On() {
		return nil
	}
	a := t.Augment
	if std := s.Data.Std; std != 0 && len(s.Data.Means) == 0 {
		a.Fill = -s.Data.Mean / std
	}
	if err := ds.SetAugment(a); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// addHooks wires what a train stage does around its steps.
func (t *TrainStage) addHooks(loop *Loop, result map[string]float64, batch int, scaled bool) {
	s := loop.Session
	logEvery := t.LogEvery
	if logEvery == 0 {
		logEvery = max(1, loop.PerEpoch/50)
	}
	var (
		durations     []time.Duration
		windowStart   = time.Now()
		windowSamples int
		skippedInARow int
		last          map[string]float64
	)
	readScaler := func(m map[string]float64) error {
		for _, name := range []string{amp.LossScaleVar, amp.SkippedStepsVar} {
			v, ok, err := s.ReadScalar("/"+amp.Scope, name)
			if err != nil {
				return err
			}
			if ok {
				m[name] = v
			}
		}
		return nil
	}

	loop.AfterStep("timing", PriorityFirst, func(info *StepInfo) error {
		if info.First {
			result["compile_s"] = info.Duration.Seconds() // the first step compiles the graph
			result["params"] = float64(s.CountParams())
		} else {
			durations = append(durations, info.Duration)
			windowSamples += batch
		}
		last = info.Metrics
		return nil
	})
	loop.AfterStep("nonfinite", PriorityFirst+1, func(info *StepInfo) error {
		loss := info.Metrics["loss"]
		if finite(loss) {
			skippedInARow = 0
			return nil
		}
		if t.NonFinite == NonFiniteSkip || scaled {
			// The scaler skipped the update: the weights are as before.
			skippedInARow++
			if skippedInARow < maxSkippedInARow {
				return nil
			}
		}
		// Record what was observed, then stop.
		s.Emit(events.Event{Kind: events.Step, Step: s.Step, StageStep: info.StageStep, Total: loop.Total, Epoch: info.Epoch, Metrics: info.Metrics})
		what := fmt.Sprintf("the loss is %v", loss)
		if skippedInARow > 0 {
			what = fmt.Sprintf("%d steps in a row had non-finite gradients and were skipped", skippedInARow)
		}
		advice := "lower the learning rate, add clip, or set nonfinite: skip"
		if t.NonFinite == NonFiniteSkip || scaled { // skipping is what gave up
			advice = "lower the learning rate or add clip"
		}
		return fmt.Errorf("train step %d (step %d of stage %d): %s: training diverged; %s (%s)",
			s.Step, info.StageStep, s.StageIndex+1, what, s.checkpointNote(), advice)
	})
	loop.AfterStep("progress", PriorityReport, func(info *StepInfo) error {
		if info.StageStep%logEvery != 0 && info.StageStep != loop.Total {
			return nil
		}
		m := make(map[string]float64, len(info.Metrics)+4)
		for k, v := range info.Metrics {
			m[k] = v
		}
		lr, _, err := s.ReadScalar("/"+optim.Scope, optimizers.ParamLearningRate)
		if err != nil {
			return err
		}
		m["learning_rate"] = lr
		if scaled {
			if err := readScaler(m); err != nil {
				return err
			}
		}
		if windowSamples > 0 {
			m["samples_per_s"] = float64(windowSamples) / time.Since(windowStart).Seconds()
		}
		s.Emit(events.Event{Kind: events.Step, Step: s.Step, StageStep: info.StageStep, Total: loop.Total, Epoch: info.Epoch, Metrics: m})
		windowStart, windowSamples = time.Now(), 0
		return nil
	})
	loop.OnEpochEnd("validation", PriorityValidation, func(e *EpochInfo) error {
		if s.Data.Validation == nil {
			return nil
		}
		m, err := s.Evaluate("validation")
		if err != nil {
			return err
		}
		for k, v := range m {
			e.Metrics[k], result[k] = v, v
		}
		return nil
	})
	loop.OnEpochEnd("report", PriorityValidation+1, func(e *EpochInfo) error {
		s.Emit(events.Event{Kind: events.EpochEnded, Step: s.Step, StageStep: e.StageStep, Total: loop.Total, Epoch: e.Epoch, Metrics: e.Metrics})
		windowStart = time.Now() // validation time is not training time
		return nil
	})
	if t.Checkpoint {
		loop.OnEpochEnd("checkpoint", PriorityCheckpoint, func(e *EpochInfo) error {
			return s.SaveCheckpoint(e.StageStep)
		})
		s.lastSave = time.Now()
		loop.AfterStep("checkpoint", PriorityCheckpoint, func(info *StepInfo) error {
			if info.StageStep%loop.PerEpoch == 0 || info.StageStep == loop.Total {
				return nil // the epoch's end saves one
			}
			due := t.CheckpointEvery > 0 && info.StageStep%t.CheckpointEvery == 0 ||
				t.CheckpointEveryTime > 0 && time.Since(s.lastSave) >= t.CheckpointEveryTime
			if !due {
				return nil
			}
			return s.SaveCheckpoint(info.StageStep)
		})
	}
	loop.OnDone("results", PriorityReport, func(info *StepInfo) error {
		result["steps"] = float64(info.StageStep)
		result["updates"] = float64(info.StageStep / t.AccumulateSteps)
		result["epochs"] = float64(info.StageStep) / float64(loop.PerEpoch)
		if _, ok := result["params"]; !ok {
			result["params"] = float64(s.CountParams())
		}
		for k, v := range last { // the moving averages of the last step
			if k != "loss" {
				result[k] = v
			}
		}
		if scaled {
			if err := readScaler(result); err != nil {
				return err
			}
		}
		if len(durations) > 0 {
			var sum time.Duration
			for _, d := range durations {
				sum += d
			}
			result["samples_per_s"] = float64(batch*len(durations)) / sum.Seconds()
			slices.Sort(durations)
			result["ms_per_step"] = float64(durations[len(durations)/2].Microseconds()) / 1000
		}
		return nil
	})
}

package runner

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Loop runs a train stage's steps over its data, epoch by epoch, and calls
// its hooks around them. What a train stage does besides stepping —
// cancellation, progress events, validation, checkpoints, non-finite loss
// detection, and what techniques add (pruning schedules, observers) — is a
// hook, ordered by priority (lower first, then in the order added).
// Cancellation is checked before every step, after the before-step hooks.
// A technique adds its hooks through Session.AddLoopHooks.
type Loop struct {
	Session  *Session
	Total    int // steps the stage takes
	PerEpoch int // steps in one epoch of the training split

	feed        feeder
	trainer     *train.Trainer
	names       []string // names of the values a step returns ("" to skip)
	beforeStep  []hook[func(*StepInfo) error]
	afterStep   []hook[func(*StepInfo) error]
	onEpochEnd  []hook[func(*EpochInfo) error]
	onStageDone []hook[func(*StepInfo) error]
	// results are what hooks report as the stage's results (Report).
	results map[string]float64
}

// Report sets one of the stage's results: a technique's figure at the end
// of training (the sparsity reached, say) beside the stage's own.
func (l *Loop) Report(name string, value float64) {
	if l.results == nil {
		l.results = map[string]float64{}
	}
	l.results[name] = value
}

// Priorities of the built-in hooks; techniques pick theirs around them.
const (
	PriorityFirst      = 0   // guards: timing, non-finite loss
	PriorityTechnique  = 50  // pruning schedules, observers
	PriorityReport     = 100 // progress events
	PriorityValidation = 200 // validation at epoch ends
	PriorityCheckpoint = 300 // checkpoints (after validation, so it is saved with them)
)

type hook[F any] struct {
	name     string
	priority int
	fn       F
}

func addHook[F any](list []hook[F], name string, priority int, fn F) []hook[F] {
	list = append(list, hook[F]{name, priority, fn})
	slices.SortStableFunc(list, func(a, b hook[F]) int { return a.priority - b.priority })
	return list
}

// StepInfo is where the loop is and what the last step returned.
type StepInfo struct {
	StageStep int // steps done in the stage (after the step, for AfterStep)
	Epoch     int // from 1
	// Metrics of the last step by name: loss (the batch's), train_loss and
	// train_<metric> (moving averages).
	Metrics  map[string]float64
	Duration time.Duration // of the last step, compilation included on the first
	First    bool          // the stage's first step in this process (it compiled the graph)
}

// EpochInfo is an epoch's end.
type EpochInfo struct {
	StageStep, Epoch int
	Duration         time.Duration
	// Metrics are reported with the epoch's end event; hooks add to them
	// (validation_loss, validation_accuracy…).
	Metrics map[string]float64
}

// BeforeStep adds a hook run before every step; an error stops the stage.
func (l *Loop) BeforeStep(name string, priority int, fn func(*StepInfo) error) {
	l.beforeStep = addHook(l.beforeStep, name, priority, fn)
}

// AfterStep adds a hook run after every step.
func (l *Loop) AfterStep(name string, priority int, fn func(*StepInfo) error) {
	l.afterStep = addHook(l.afterStep, name, priority, fn)
}

// OnEpochEnd adds a hook run at the end of every epoch (and at the end of a
// stage that stops mid-epoch).
func (l *Loop) OnEpochEnd(name string, priority int, fn func(*EpochInfo) error) {
	l.onEpochEnd = addHook(l.onEpochEnd, name, priority, fn)
}

// OnDone adds a hook run once the stage's last step is done.
func (l *Loop) OnDone(name string, priority int, fn func(*StepInfo) error) {
	l.onStageDone = addHook(l.onStageDone, name, priority, fn)
}

func runHooks[T any](list []hook[func(T) error], arg T) error {
	for _, h := range list {
		if err := h.fn(arg); err != nil {
			return err
		}
	}
	return nil
}

// Run trains from the checkpoint's position (or the start) to Total steps.
func (l *Loop) Run(ctx context.Context) error {
	s := l.Session
	done, epoch := 0, 0
	// A resumed run replays the data order up to where its checkpoint was.
	for start := s.startStep(); done < start; done++ {
		if done%l.PerEpoch == 0 {
			epoch++
			l.feed.reset()
		}
		if err := l.feed.skip(); err != nil {
			return fmt.Errorf("resume: replaying batch %d: %w", done+1, err)
		}
	}
	info := &StepInfo{StageStep: done, Epoch: epoch, First: true}
	for done < l.Total {
		if done%l.PerEpoch == 0 { // a new epoch (not when resuming inside one)
			epoch++
			l.feed.reset()
		}
		epochStart := time.Now()
		for done < l.Total {
			info.StageStep, info.Epoch = done, epoch
			if err := runHooks(l.beforeStep, info); err != nil {
				return err
			}
			if ctx.Err() != nil {
				if err := s.SaveCheckpoint(done); err != nil {
					return err
				}
				return ErrStopped
			}
			start := time.Now()
			values, err := l.feed.step(l.trainer)
			if err == io.EOF {
				// PerEpoch comes from the feed: running out earlier is a bug.
				return fmt.Errorf("train: the training data ended after %d of an epoch's %d batches", done%l.PerEpoch, l.PerEpoch)
			}
			if err != nil {
				return fmt.Errorf("train step %d: %w", s.Step+1, err)
			}
			// Reading the values waits for the step to finish: honest timing on asynchronous devices.
			m, err := namedValues(values, l.names)
			finalize(values...)
			if err != nil {
				return fmt.Errorf("train step %d: %w", s.Step+1, err)
			}
			info.Duration = time.Since(start)
			s.Step++
			done++
			info.StageStep, info.Metrics = done, m
			if err := runHooks(l.afterStep, info); err != nil {
				return err
			}
			info.First = false
			if done%l.PerEpoch == 0 {
				break
			}
		}
		end := &EpochInfo{StageStep: done, Epoch: epoch, Duration: time.Since(epochStart), Metrics: map[string]float64{}}
		end.Metrics["epoch_s"] = end.Duration.Seconds()
		if err := runHooks(l.onEpochEnd, end); err != nil {
			return err
		}
	}
	info.StageStep, info.Epoch = done, epoch
	return runHooks(l.onStageDone, info)
}

// namedValues names a step's values; a non-float value is an error, never a 0.
func namedValues(values []*tensors.Tensor, names []string) (map[string]float64, error) {
	m := make(map[string]float64, len(names))
	for i, name := range names {
		if name == "" || i >= len(values) {
			continue
		}
		v, err := scalar(values[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m[name] = v
	}
	return m, nil
}

// finite reports whether v is a number (not NaN nor ±Inf).
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

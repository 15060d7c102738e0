package recipe

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/amp"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/optim"
)

// train runs one train stage with its own optimizer on the run's model.
func (r *runner) train(ctx context.Context, idx int, st *TrainStage) (map[string]float64, error) {
	batch := r.rec.Data.BatchSize
	replicas, err := replicasFor(st.Devices, r.backend)
	if err != nil {
		return nil, err
	}
	var feed feeder
	if replicas > 1 {
		if st.AccumulateSteps > 1 {
			return nil, fmt.Errorf("accumulate_steps cannot be combined with devices > 1 (GoMLX v0.26.0 does not distribute accumulation)")
		}
		if feed, err = newDataParallel(r.backend, r.data.train, batch, replicas, r.rec.Seed+int64(idx)); err != nil {
			return nil, err
		}
		r.log("train: data-parallel over %d devices, %d examples per device per step", replicas, batch/replicas)
	} else {
		if st.Devices != 0 {
			r.log("train: the %s backend has %d device; training as a single replica", r.res.Backend, r.backend.NumDevices())
		}
		// Drop the last partial batch: one shape means one compilation.
		ds, err := datasets.NewBatches(r.data.train, batch, true, r.rec.Seed+int64(idx), true)
		if err != nil {
			return nil, err
		}
		feed = singleDevice{ds}
	}
	perEpoch := feed.stepsPerEpoch()
	total := st.Steps
	if total == 0 {
		total = st.Epochs * perEpoch
	}
	precision, notice, err := amp.Resolve(st.Precision, st.PrecisionFallback, r.backend)
	if err != nil {
		return nil, err
	}
	if notice != "" {
		r.log("%s", notice)
	}
	spec := r.rec.Model
	spec.ComputeDType = precision.ComputeDType()
	modelFn, err := spec.ModelFn(r.data.train.NumClasses)
	if err != nil {
		return nil, err
	}
	optCfg := st.Optimizer
	optCfg.Schedule.TotalSteps = max(total/st.AccumulateSteps, 1) // the schedule counts updates
	opt, err := optim.New(optCfg)
	if err != nil {
		return nil, err
	}
	var gomlxOpt optimizers.Interface = opt
	if precision.NeedsLossScaling() {
		gomlxOpt = amp.WithLossScaling(opt, amp.DefaultScaler)
	}
	r.trainer = r.newTrainer(modelFn, gomlxOpt)
	if st.AccumulateSteps > 1 {
		if err := r.trainer.AccumulateGradients(st.AccumulateSteps); err != nil {
			return nil, err
		}
	}
	logEvery := st.LogEvery
	if logEvery == 0 {
		logEvery = max(1, perEpoch/50)
	}
	r.log("train: %d steps (%d per epoch) of batch %d with %s, learning rate %g (%s schedule), %s, on %s",
		total, perEpoch, batch, st.Optimizer.Name, st.Optimizer.LearningRate, st.Optimizer.Schedule.Name, precision, r.res.Backend)
	if st.AccumulateSteps > 1 {
		r.log("train: one update every %d micro-batches (effective batch %d)", st.AccumulateSteps, batch*st.AccumulateSteps)
	}

	var (
		durations           []time.Duration
		compile             time.Duration
		windowStart         = time.Now()
		windowSamples       int
		done, epoch         int
		trainLoss, trainAcc float64
		result              = map[string]float64{}
	)
	// A resumed run replays the data order up to where its checkpoint was.
	for start := r.startStep(idx); done < start; done++ {
		if done%perEpoch == 0 {
			epoch++
			feed.reset()
		}
		if err := feed.skip(); err != nil {
			return nil, fmt.Errorf("resume: replaying batch %d: %w", done+1, err)
		}
	}
	midEpoch := done%perEpoch != 0
	firstStep := done + 1
	for done < total {
		if !midEpoch {
			epoch++
			feed.reset()
		}
		midEpoch = false
		epochStart := time.Now()
		for done < total {
			if ctx.Err() != nil {
				r.markPosition(idx, done)
				if err := r.saveCheckpoint(); err != nil {
					return nil, err
				}
				return nil, ErrStopped
			}
			start := time.Now()
			values, err := feed.step(r.trainer)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("train step %d: %w", r.step+1, err)
			}
			// Reading the batch loss waits for the step to finish: honest timing on asynchronous devices.
			loss := scalar(values[0])
			elapsed := time.Since(start)
			r.step++
			done++
			if done == firstStep {
				compile = elapsed // the first step compiles the graph
				r.numParams = r.countParams()
			} else {
				durations = append(durations, elapsed)
				windowSamples += batch
			}
			// TrainStep's metrics: [batch loss, moving loss+reg, moving loss, moving accuracy].
			trainLoss, trainAcc = scalar(values[2]), scalar(values[3])
			finalize(values...)
			if done%logEvery == 0 || done == total {
				m := map[string]float64{"loss": loss, "train_loss": trainLoss, "train_accuracy": trainAcc,
					"learning_rate": r.learningRate()}
				if precision.NeedsLossScaling() {
					m["loss_scale"] = r.readScalar("/"+amp.Scope, amp.LossScaleVar)
					m["skipped_steps"] = r.readScalar("/"+amp.Scope, amp.SkippedStepsVar)
				}
				if windowSamples > 0 {
					m["samples_per_s"] = float64(windowSamples) / time.Since(windowStart).Seconds()
				}
				r.bus.Emit(events.Event{Kind: events.Step, RunID: r.res.RunID, Stage: "train", StageIndex: idx,
					Step: r.step, StageStep: done, Total: total, Epoch: epoch, Metrics: m})
				windowStart, windowSamples = time.Now(), 0
			}
		}
		epochMetrics := map[string]float64{"epoch_s": time.Since(epochStart).Seconds()}
		if r.data.validation != nil {
			vLoss, vAcc, err := r.evalSplit("validation")
			if err != nil {
				return nil, err
			}
			epochMetrics["validation_loss"], epochMetrics["validation_accuracy"] = vLoss, vAcc
			result["validation_loss"], result["validation_accuracy"] = vLoss, vAcc
		}
		r.bus.Emit(events.Event{Kind: events.EpochEnded, RunID: r.res.RunID, Stage: "train", StageIndex: idx,
			Step: r.step, StageStep: done, Total: total, Epoch: epoch, Metrics: epochMetrics})
		windowStart = time.Now() // validation time is not training time
		if st.Checkpoint {
			r.markPosition(idx, done)
			if err := r.saveCheckpoint(); err != nil {
				return nil, err
			}
		}
	}

	result["steps"] = float64(done)
	result["updates"] = float64(done / st.AccumulateSteps)
	if precision.NeedsLossScaling() {
		result["loss_scale"] = r.readScalar("/"+amp.Scope, amp.LossScaleVar)
		result["skipped_steps"] = r.readScalar("/"+amp.Scope, amp.SkippedStepsVar)
	}
	result["epochs"] = float64(done) / float64(perEpoch)
	result["train_loss"], result["train_accuracy"] = trainLoss, trainAcc
	result["compile_s"] = compile.Seconds()
	result["params"] = float64(r.numParams)
	if len(durations) > 0 {
		var sum time.Duration
		for _, d := range durations {
			sum += d
		}
		result["samples_per_s"] = float64(batch*len(durations)) / sum.Seconds()
		slices.Sort(durations)
		result["ms_per_step"] = float64(durations[len(durations)/2].Microseconds()) / 1000
	}
	return result, nil
}

// learningRate reads the rate the last step used (pkg/optim keeps it in
// /optimizers/learning_rate).
func (r *runner) learningRate() float64 {
	return r.readScalar("/"+optim.Scope, optimizers.ParamLearningRate)
}

// readScalar reads a scalar context variable, 0 if absent.
func (r *runner) readScalar(scope, name string) float64 {
	v := r.ctx.InAbsPath(scope).GetVariable(name)
	if v == nil {
		return 0
	}
	t, err := v.Value()
	if err != nil {
		return 0
	}
	return scalar(t)
}

func (r *runner) saveCheckpoint() error {
	if r.ckpt == nil {
		return nil
	}
	if err := r.ckpt.Save(); err != nil {
		return fmt.Errorf("saving checkpoint in %s: %w", r.ckpt.Dir(), err)
	}
	return nil
}

// countParams counts the model's trainable parameters (optimizer and
// scaler state are not trainable).
func (r *runner) countParams() int {
	n := 0
	for v := range r.ctx.IterVariables() {
		if v.Trainable {
			n += v.Shape().Size()
		}
	}
	return n
}

func finalize(ts ...*tensors.Tensor) {
	for _, t := range ts {
		if t != nil {
			t.FinalizeAll()
		}
	}
}

// scalar reads a scalar metric tensor as float64.
func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

package amp

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/optim"
)

// Scaler configures dynamic loss scaling as torch.cuda.amp.GradScaler does.
type Scaler struct {
	Init           float64 // initial scale, 2^16
	GrowthFactor   float64 // ×2 …
	GrowthInterval int     // … after this many consecutive finite steps (2000)
	BackoffFactor  float64 // ×0.5 when a gradient is inf or NaN (the step is skipped)
}

// DefaultScaler is GradScaler's default.
var DefaultScaler = Scaler{Init: 65536, GrowthFactor: 2, GrowthInterval: 2000, BackoffFactor: 0.5}

// Scope holds the scaler's variables: loss_scale, growth_tracker, skipped_steps.
const Scope = "amp"

// Variable names under /amp, read by the runner for metrics.
const (
	LossScaleVar     = "loss_scale"
	SkippedStepsVar  = "skipped_steps"
	growthTrackerVar = "growth_tracker"
)

// ScaledOptimizer multiplies the loss by the current scale before taking
// gradients, divides the gradients by it, and skips the whole update when
// any gradient is not finite.
type ScaledOptimizer struct {
	inner  *optim.Optimizer
	scaler Scaler
}

// WithLossScaling wraps opt with dynamic loss scaling.
func WithLossScaling(opt *optim.Optimizer, s Scaler) *ScaledOptimizer {
	return &ScaledOptimizer{inner: opt, scaler: s}
}

// UpdateGraph implements optimizers.Interface.
func (o *ScaledOptimizer) UpdateGraph(ctx *context.Context, g *graph.Graph, loss *graph.Node) {
	s := o.scaler
	actx := ctx.InAbsPath("/" + Scope).Checked(false)
	f32 := shapes.Make(dtypes.Float32)
	scaleVar := actx.WithInitializer(constant(s.Init)).VariableWithShape(LossScaleVar, f32).SetTrainable(false)
	trackerVar := actx.WithInitializer(constant(0)).VariableWithShape(growthTrackerVar, f32).SetTrainable(false)
	skippedVar := actx.WithInitializer(constant(0)).VariableWithShape(SkippedStepsVar, f32).SetTrainable(false)
	scale := scaleVar.ValueGraph(g)

	scaled := graph.Mul(graph.ConvertDType(loss, dtypes.Float32), scale)
	grads := ctx.BuildTrainableVariablesGradientsGraph(scaled)
	finite := graph.Const(g, true)
	for i, gr := range grads {
		gr = graph.Div(graph.ConvertDType(gr, dtypes.Float32), scale)
		grads[i] = gr
		finite = graph.LogicalAnd(finite, graph.LogicalAll(graph.IsFinite(gr)))
	}
	skip := graph.LogicalNot(finite)
	o.inner.Apply(ctx, grads, dtypes.Float32, skip)

	one := graph.Scalar(g, dtypes.Float32, 1)
	tracker := graph.Add(trackerVar.ValueGraph(g), one)
	grow := graph.GreaterOrEqual(tracker, graph.Scalar(g, dtypes.Float32, float64(s.GrowthInterval)))
	zero := graph.ScalarZero(g, dtypes.Float32)
	scaleVar.SetValueGraph(graph.Where(skip, graph.MulScalar(scale, s.BackoffFactor),
		graph.Where(grow, graph.MulScalar(scale, s.GrowthFactor), scale)))
	trackerVar.SetValueGraph(graph.Where(graph.LogicalOr(skip, grow), zero, tracker))
	skippedVar.SetValueGraph(graph.Add(skippedVar.ValueGraph(g), graph.Where(skip, one, zero)))
}

// Clear resets the inner optimizer's state.
func (o *ScaledOptimizer) Clear(ctx *context.Context) error { return o.inner.Clear(ctx) }

func constant(v float64) func(g *graph.Graph, shape shapes.Shape) *graph.Node {
	return func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		return graph.BroadcastToShape(graph.Scalar(g, shape.DType, v), shape)
	}
}

// Validate checks the scaler's parameters.
func (s Scaler) Validate() error {
	if s.Init <= 0 || s.GrowthFactor < 1 || s.BackoffFactor <= 0 || s.BackoffFactor >= 1 || s.GrowthInterval < 1 {
		return fmt.Errorf("loss scaler: init > 0, growth_factor ≥ 1, 0 < backoff_factor < 1 and growth_interval ≥ 1 required, got %+v", s)
	}
	return nil
}

package amp

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
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

// SkipNonFinite is a scaler that never scales (its scale stays 1) but
// still skips the update of a step whose gradients are not finite, and
// counts it: a recipe's `nonfinite: skip`.
var SkipNonFinite = Scaler{Init: 1, GrowthFactor: 1, GrowthInterval: 1 << 30, BackoffFactor: 1}

// ConditionalApplier is an optimizer that applies given gradients and keeps
// every variable and its own state unchanged where skip is true (pkg/optim's
// optimizers are): the exact way to skip a step.
type ConditionalApplier interface {
	Apply(ctx *context.Context, grads []*graph.Node, dtype dtypes.DType, skip *graph.Node)
}

// GradientApplier is GoMLX's optional optimizer interface that applies
// given gradients (also used for gradient accumulation).
type GradientApplier interface {
	UpdateGraphWithGradients(ctx *context.Context, grads []*graph.Node, dtype dtypes.DType)
}

// ScaledOptimizer multiplies the loss by the current scale before taking
// gradients, divides the gradients by it, and skips the whole update when
// any gradient is not finite. It wraps any optimizers.Interface that takes
// gradients (ConditionalApplier or GradientApplier), so other wrappers can
// stand beside it.
type ScaledOptimizer struct {
	inner  optimizers.Interface
	scaler Scaler
}

// WithLossScaling wraps opt with dynamic loss scaling.
func WithLossScaling(opt optimizers.Interface, s Scaler) *ScaledOptimizer {
	return &ScaledOptimizer{inner: opt, scaler: s}
}

// apply hands the gradients to the inner optimizer, skipping the update
// where skip is true. An optimizer that cannot skip by itself has every
// variable it changes reset to its value before the update: exact for the
// variables that existed before (weights, state of earlier steps); state it
// creates in this very graph is not protected on its first step.
func (o *ScaledOptimizer) apply(ctx *context.Context, g *graph.Graph, grads []*graph.Node, skip *graph.Node) {
	switch inner := o.inner.(type) {
	case ConditionalApplier:
		inner.Apply(ctx, grads, dtypes.Float32, skip)
	case GradientApplier:
		before := map[*context.Variable]*graph.Node{}
		for v := range ctx.IterVariables() {
			before[v] = v.ValueGraph(g)
		}
		inner.UpdateGraphWithGradients(ctx, grads, dtypes.Float32)
		for v, old := range before {
			if updated := v.ValueGraph(g); updated != old {
				v.SetValueGraph(graph.Where(skip, old, updated))
			}
		}
	default:
		panic(fmt.Sprintf("amp: loss scaling needs an optimizer that takes gradients (UpdateGraphWithGradients); %T does not", o.inner))
	}
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
	o.apply(ctx, g, grads, skip)

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
	if s.Init <= 0 || s.GrowthFactor < 1 || s.BackoffFactor <= 0 || s.BackoffFactor > 1 || s.GrowthInterval < 1 {
		return fmt.Errorf("loss scaler: init > 0, growth_factor ≥ 1, 0 < backoff_factor ≤ 1 and growth_interval ≥ 1 required, got %+v", s)
	}
	return nil
}

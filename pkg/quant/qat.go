package quant

import (
	"math"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/lathe-ml/lathe/pkg/models"
)

// Quantization-aware training puts the int8 model's rounding into the
// float training graph, so that the weights learn to live with it:
//
//   - every dense and conv weight passes through per-output-channel
//     symmetric fake quantization on [-127, 127] (scale max|w|/127, what
//     PTQ will choose for the trained weights, so the integers match);
//   - every such layer's input passes through affine 7-bit fake
//     quantization over a range its observer keeps in two variables,
//     <layer>/qat/min and /max, updated by each training step until
//     FreezeAfter steps (then frozen, as PyTorch's disable_observer);
//   - the backward pass is the straight-through estimator: the rounding's
//     gradient is taken as 1 inside the representable range and 0 outside
//     (clipped values do not move with their input).
//
// The variables travel with checkpoints, and a later quantize stage in
// ptq mode converts with them instead of calibrating afresh.

// QATOptions configure the fake-quantization hooks.
type QATOptions struct {
	// Observer is minmax or moving_average_minmax (the default).
	Observer string
	// FreezeAfter stops updating the activation ranges after this many
	// training steps; 0 never freezes them.
	FreezeAfter int
	// Exclude names layers (scope suffixes such as "conv1") left in float.
	Exclude func(layer string) bool
}

const (
	qatScope     = "qat"
	qatMin       = "min"
	qatMax       = "max"
	qatSteps     = "steps"
	qatAveraging = 0.01 // PyTorch's MovingAverageMinMaxObserver
)

// QATHooks returns the weight and input hooks of quantization-aware
// training (see above).
func QATHooks(opt QATOptions) models.Hooks {
	skip := func(scope string) bool { return opt.Exclude != nil && opt.Exclude(scope) }
	return models.Hooks{
		Weight: func(ctx *context.Context, v *context.Variable, w *graph.Node) *graph.Node {
			if v.Name() != "weights" || skip(v.Scope()) || w.Rank() < 2 {
				return w
			}
			return fakeQuantWeights(w)
		},
		Input: func(ctx *context.Context, name string, x *graph.Node) *graph.Node {
			if skip(name) {
				return x
			}
			return fakeQuantInput(ctx.In(qatScope).Checked(false), x, opt)
		},
	}
}

// fakeQuantWeights is per-output-channel symmetric fake quantization with
// a gradient of 1 (the range is the weights' own, so nothing is clipped).
func fakeQuantWeights(w *graph.Node) *graph.Node {
	axes := make([]int, w.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	scale := graph.Max(graph.DivScalar(graph.ReduceAndKeep(graph.Abs(w), graph.ReduceMax, axes...), 127), graph.Scalar(w.Graph(), w.DType(), float64(Eps)))
	scale = graph.StopGradient(scale)
	q := graph.Mul(graph.Clip(graph.Round(graph.Div(w, scale)), graph.Scalar(w.Graph(), w.DType(), -127), graph.Scalar(w.Graph(), w.DType(), 127)), scale)
	return graph.Add(w, graph.StopGradient(graph.Sub(q, w)))
}

// fakeQuantInput observes x's range (in training) and fake-quantizes it on
// the 7-bit activation grid, with the straight-through gradient.
func fakeQuantInput(ctx *context.Context, x *graph.Node, opt QATOptions) *graph.Node {
	g := x.Graph()
	dt := x.DType()
	minVar := ctx.VariableWithValue(qatMin, float32(0)).SetTrainable(false)
	maxVar := ctx.VariableWithValue(qatMax, float32(0)).SetTrainable(false)
	stepsVar := ctx.VariableWithValue(qatSteps, float32(0)).SetTrainable(false)
	lo, hi := minVar.ValueGraph(g), maxVar.ValueGraph(g)
	if ctx.IsTraining(g) {
		xs := graph.StopGradient(graph.ConvertDType(x, dtypes.Float32))
		// NaN and Inf are skipped, as the observers do: they would poison
		// the range for good.
		finite := graph.IsFinite(xs)
		bLo := graph.ReduceAllMin(graph.Where(finite, xs, graph.Infinity(g, dtypes.Float32, 1)))
		bHi := graph.ReduceAllMax(graph.Where(finite, xs, graph.Infinity(g, dtypes.Float32, -1)))
		steps := stepsVar.ValueGraph(g)
		first := graph.Equal(steps, graph.ScalarZero(g, dtypes.Float32))
		nLo, nHi := graph.Min(lo, bLo), graph.Max(hi, bHi)
		if opt.Observer != "minmax" {
			c := graph.Scalar(g, dtypes.Float32, qatAveraging)
			nLo = graph.Add(lo, graph.Mul(c, graph.Sub(bLo, lo)))
			nHi = graph.Add(hi, graph.Mul(c, graph.Sub(bHi, hi)))
		}
		nLo, nHi = graph.Where(first, bLo, nLo), graph.Where(first, bHi, nHi)
		update := graph.LogicalAnd(graph.IsFinite(bLo), graph.IsFinite(bHi))
		if opt.FreezeAfter > 0 {
			update = graph.LogicalAnd(update, graph.LessThan(steps, graph.Scalar(g, dtypes.Float32, float64(opt.FreezeAfter))))
		}
		lo, hi = graph.Where(update, nLo, lo), graph.Where(update, nHi, hi)
		minVar.SetValueGraph(lo)
		maxVar.SetValueGraph(hi)
		stepsVar.SetValueGraph(graph.Where(update, graph.OnePlus(steps), steps))
	}
	// The grid ChooseParams gives [lo, hi] on [0, 127]: the range widened
	// to include 0, the zero point rounded and clamped.
	lo = graph.Min(lo, graph.ScalarZero(g, dtypes.Float32))
	hi = graph.Max(hi, graph.ScalarZero(g, dtypes.Float32))
	scale := graph.Max(graph.DivScalar(graph.Sub(hi, lo), 127), graph.Scalar(g, dtypes.Float32, float64(Eps)))
	zero := graph.Clip(graph.Neg(graph.Round(graph.Div(lo, scale))), graph.ScalarZero(g, dtypes.Float32), graph.Scalar(g, dtypes.Float32, 127))
	scale, zero = graph.ConvertDType(scale, dt), graph.ConvertDType(zero, dt)
	q := graph.Clip(graph.Add(graph.Round(graph.Div(x, scale)), zero), graph.ScalarZero(g, dt), graph.Scalar(g, dt, 127))
	fq := graph.Mul(graph.Sub(q, zero), scale)
	// Representable range: what x maps to without clipping.
	rLo := graph.Mul(graph.Neg(zero), scale)
	rHi := graph.Mul(graph.Sub(graph.Scalar(g, dt, 127), zero), scale)
	rLo, rHi = graph.StopGradient(rLo), graph.StopGradient(rHi)
	ste := graph.IdentityWithCustomGradient(x, func(x, v *graph.Node) *graph.Node {
		inside := graph.LogicalAnd(graph.GreaterOrEqual(x, rLo), graph.LessOrEqual(x, rHi))
		return graph.Where(inside, v, graph.ZerosLike(v))
	})
	return graph.Add(ste, graph.StopGradient(graph.Sub(fq, x)))
}

// qatRanges reads the activation ranges QAT's observers recorded, by layer: the scope
// of each <layer>/qat/min variable without the model's prefix ("conv1"
// for /lenet5/conv1/qat). Layers whose observer never ran are left out.
func qatRanges(ctx *context.Context, arch string) map[string][2]float32 {
	out := map[string][2]float32{}
	prefix := "/" + arch + "/"
	for v := range ctx.IterVariables() {
		if v.Name() != qatMin || !strings.HasSuffix(v.Scope(), "/"+qatScope) {
			continue
		}
		layer := strings.TrimPrefix(strings.TrimSuffix(v.Scope(), "/"+qatScope), prefix)
		steps := ctx.InspectVariable(v.Scope(), qatSteps)
		hiVar := ctx.InspectVariable(v.Scope(), qatMax)
		if steps == nil || hiVar == nil {
			continue
		}
		n, lo, hi := scalarOf(steps), scalarOf(v), scalarOf(hiVar)
		if n > 0 && !math.IsNaN(float64(lo)) && !math.IsNaN(float64(hi)) {
			out[layer] = [2]float32{lo, hi}
		}
	}
	return out
}

func scalarOf(v *context.Variable) float32 {
	t, err := v.Value()
	if err != nil {
		return float32(math.NaN())
	}
	f, ok := t.Value().(float32)
	if !ok {
		return float32(math.NaN())
	}
	return f
}

package models

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/lathe-ml/lathe/pkg/ops"
)

// builder carries what every layer of one model needs to know.
type builder struct {
	path       ops.Path     // how convolutions and pooling are computed on this backend
	gomlxDense bool         // use GoMLX's dense layer (for comparisons)
	master     dtypes.DType // dtype of the variables (the input's, float32)
	hooks      Hooks
	classes    int // the classifier's width
}

func newBuilder(g *graph.Graph, spec Spec, master dtypes.DType, classes int) builder {
	return builder{path: ops.ChoosePath(g.Backend().Capabilities()), gomlxDense: spec.GoMLXDense, master: master, hooks: spec.Hooks,
		classes: classes}
}

// param returns a variable (created in the master dtype) through the weight
// hook, cast to the dtype the layer computes in; the cast's gradient brings
// updates back to the master copy. Every weight of the zoo enters the graph
// here, so a hook sees all of them.
func (bd builder) param(ctx *context.Context, g *graph.Graph, name string, compute dtypes.DType, dims ...int) *graph.Node {
	v := bd.variable(ctx, g, ctx.VariableWithShape(name, shapes.Make(bd.master, dims...)))
	if compute != bd.master {
		v = graph.ConvertDType(v, compute)
	}
	return v
}

// variable reads v's value through the weight hook.
func (bd builder) variable(ctx *context.Context, g *graph.Graph, v *context.Variable) *graph.Node {
	return bd.hooks.weight(ctx, v, v.ValueGraph(g))
}

// observe passes a layer's output (named by its scope) through the activation hook.
func (bd builder) observe(ctx *context.Context, x *graph.Node) *graph.Node {
	return bd.hooks.activation(ctx, ctx.Scope(), x)
}

// layerInput passes what a dense or conv layer reads through the input
// hook. A value that needs no gradient (the model's input) stays marked so,
// which lets ops.MatMul and ops.Conv2D skip computing one.
func (bd builder) layerInput(ctx *context.Context, x *graph.Node) *graph.Node {
	if bd.hooks.Input == nil {
		return x
	}
	y := bd.hooks.input(ctx, ctx.Scope(), x)
	if x.StopGradient() && !y.StopGradient() {
		y = graph.StopGradient(y)
	}
	return y
}

// dense is x·W + b with W [in, out] at <scope>/weights (He-initialized, the
// context's default) and b at <scope>/biases (zeros). The product is
// ops.MatMul, whose gradient is two matmuls.
func (bd builder) dense(ctx *context.Context, x *graph.Node, out int) *graph.Node {
	x = bd.layerInput(ctx, x)
	if bd.gomlxDense {
		return layers.DenseWithBias(ctx, x, out)
	}
	g := x.Graph()
	in := x.Shape().Dimensions[x.Rank()-1]
	w := bd.param(ctx, g, "weights", x.DType(), in, out)
	b := bd.param(ctx.WithInitializer(initializers.Zero), g, "biases", x.DType(), out)
	return bd.observe(ctx, addBias(ops.MatMul(x, w), b))
}

// conv is a KxK convolution with kernel <scope>/weights [K, K, C, O] and,
// when bias, <scope>/biases.
func (bd builder) conv(ctx *context.Context, x *graph.Node, channels, kernel, stride int, padding ops.Padding, bias bool) *graph.Node {
	g := x.Graph()
	in := x.Shape().Dimensions[3]
	x = bd.layerInput(ctx, x)
	k := bd.param(ctx, g, "weights", x.DType(), kernel, kernel, in, channels)
	y := ops.Conv2D(bd.path, x, k, ops.ConvConfig{Stride: stride, Padding: padding})
	if bias {
		y = addBias(y, bd.param(ctx.WithInitializer(initializers.Zero), g, "biases", x.DType(), channels))
	}
	return bd.observe(ctx, y)
}

// addBias adds b [out] along y's last axis.
func addBias(y, b *graph.Node) *graph.Node {
	dims := make([]int, y.Rank())
	for i := range dims {
		dims[i] = 1
	}
	dims[len(dims)-1] = b.Shape().Dimensions[0]
	return graph.Add(y, graph.Reshape(b, dims...))
}

func flatten(x *graph.Node) *graph.Node {
	if x.Rank() == 2 {
		return x
	}
	flat := graph.Reshape(x, x.Shape().Dimensions[0], -1)
	if x.StopGradient() {
		flat = graph.StopGradient(flat) // keep telling MatMul that dX is not needed
	}
	return flat
}

// convBN is a convolution without biases, its weights under conv, followed
// by batch norm under bn (<layer>/conv and <layer>/bn: spec.Op.WeightScope
// and BatchNormScope).
func (bd builder) convBN(conv, bn *context.Context, x *graph.Node, channels, kernel, stride int, padding ops.Padding) *graph.Node {
	x = bd.conv(conv, x, channels, kernel, stride, padding, false)
	// Batch statistics in the master dtype: a low-precision mean and variance
	// lose too much. The plain-ops form: GoMLX's fused BatchNormForInference /
	// ForTraining ops are missing from the pure-Go backend (v0.26.0).
	compute := x.DType()
	x = bd.batchNorm(bn, graph.ConvertDType(x, bd.master))
	return graph.ConvertDType(x, compute)
}

package models

import (
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/lathe-ml/lathe/pkg/ops"
)

// builder carries what every layer of one model needs to know.
type builder struct {
	path       ops.Path     // how convolutions and pooling are computed on this backend
	gomlxDense bool         // use GoMLX's dense layer (for comparisons)
	master     dtypes.DType // dtype of the variables (the input's, float32)
	hooks      Hooks
	arch       string         // the model's scope, "/lenet5"
	widths     map[string]int // layers resized by structured pruning
}

func newBuilder(g *graph.Graph, spec Spec, master dtypes.DType) builder {
	return builder{path: ops.ChoosePath(g.Backend().Capabilities()), gomlxDense: spec.GoMLXDense, master: master, hooks: spec.Hooks,
		arch: "/" + spec.Arch, widths: spec.Widths}
}

// width is the number of outputs of the layer at ctx's scope: the zoo's
// (zoo), or the spec's Widths where structured pruning resized it.
func (bd builder) width(ctx *context.Context, zoo int) int {
	if w, ok := bd.widths[strings.TrimPrefix(ctx.Scope(), bd.arch+"/")]; ok {
		return w
	}
	return zoo
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
	out = bd.width(ctx, out)
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
	channels = bd.width(ctx, channels)
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

func (bd builder) mlp(ctx *context.Context, x *graph.Node, hidden []int, act func(*graph.Node) *graph.Node, dropout float64, classes int) *graph.Node {
	x = flatten(x)
	for i, width := range hidden {
		x = act(bd.dense(ctx.Inf("fc%d", i+1), x, width))
		if dropout > 0 {
			x = layers.DropoutStatic(ctx, x, dropout)
		}
	}
	return bd.dense(ctx.In("logits"), x, classes)
}

// lenet5 is LeCun et al.'s LeNet-5 with padding on the first convolution so
// 28×28 inputs keep the classic 5×5×16 feature map before the dense layers.
func (bd builder) lenet5(ctx *context.Context, x *graph.Node, act func(*graph.Node) *graph.Node, classes int) *graph.Node {
	x = act(bd.conv(ctx.In("conv1"), x, 6, 5, 1, ops.Same, true))
	x = ops.MaxPool2D(bd.path, x, 2)
	x = act(bd.conv(ctx.In("conv2"), x, 16, 5, 1, ops.Valid, true))
	x = ops.MaxPool2D(bd.path, x, 2)
	x = flatten(x)
	x = act(bd.dense(ctx.In("fc1"), x, 120))
	x = act(bd.dense(ctx.In("fc2"), x, 84))
	return bd.dense(ctx.In("logits"), x, classes)
}

func (bd builder) convBN(ctx *context.Context, x *graph.Node, channels, kernel, stride int) *graph.Node {
	x = bd.conv(ctx.In("conv"), x, channels, kernel, stride, ops.Same, false)
	// Batch statistics in the master dtype: a low-precision mean and variance
	// lose too much. The plain-ops form: GoMLX's fused BatchNormForInference /
	// ForTraining ops are missing from the pure-Go backend (v0.26.0).
	compute := x.DType()
	x = bd.batchNorm(ctx.In("bn"), graph.ConvertDType(x, bd.master))
	return graph.ConvertDType(x, compute)
}

// basicBlock is ResNet's two-convolution residual block; a 1×1 projection
// shortcut (with batch norm) matches shapes when the block downsamples
// (stride 2, the first block of every stage after the first). Which blocks
// project is fixed by the architecture, not by the widths, so a
// structurally pruned ResNet keeps its wiring (spec.Model.ChannelGroups).
func (bd builder) basicBlock(ctx *context.Context, x *graph.Node, channels, stride int) *graph.Node {
	shortcut := x
	y := activations.Relu(bd.convBN(ctx.In("a"), x, channels, 3, stride))
	y = bd.convBN(ctx.In("b"), y, channels, 3, 1)
	if stride != 1 {
		shortcut = bd.convBN(ctx.In("shortcut"), x, channels, 1, stride)
	}
	return activations.Relu(graph.Add(y, shortcut))
}

func globalAveragePool(x *graph.Node) *graph.Node {
	return graph.ReduceMean(x, 1, 2)
}

// cifarResNet is He et al.'s ResNet for 32×32 images (6n+2 layers): three
// stages of n basic blocks with 16, 32 and 64 channels.
func (bd builder) cifarResNet(ctx *context.Context, x *graph.Node, n, classes int) *graph.Node {
	x = activations.Relu(bd.convBN(ctx.In("stem"), x, 16, 3, 1))
	for stage, channels := range []int{16, 32, 64} {
		for block := 0; block < n; block++ {
			stride := 1
			if stage > 0 && block == 0 {
				stride = 2
			}
			x = bd.basicBlock(ctx.Inf("stage%d", stage+1).Inf("block%d", block+1), x, channels, stride)
		}
	}
	return bd.dense(ctx.In("logits"), globalAveragePool(x), classes)
}

// resNet18 is the ImageNet ResNet-18 adapted to small images as is usual
// for CIFAR: a 3×3 stem without max-pooling, then [2,2,2,2] basic blocks
// with 64…512 channels.
func (bd builder) resNet18(ctx *context.Context, x *graph.Node, classes int) *graph.Node {
	x = activations.Relu(bd.convBN(ctx.In("stem"), x, 64, 3, 1))
	for stage, channels := range []int{64, 128, 256, 512} {
		for block := 0; block < 2; block++ {
			stride := 1
			if stage > 0 && block == 0 {
				stride = 2
			}
			x = bd.basicBlock(ctx.Inf("stage%d", stage+1).Inf("block%d", block+1), x, channels, stride)
		}
	}
	return bd.dense(ctx.In("logits"), globalAveragePool(x), classes)
}

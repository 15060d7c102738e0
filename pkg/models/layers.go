package models

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
)

func flatten(x *graph.Node) *graph.Node {
	if x.Rank() == 2 {
		return x
	}
	return graph.Reshape(x, x.Shape().Dimensions[0], -1)
}

func mlp(ctx *context.Context, x *graph.Node, hidden []int, act func(*graph.Node) *graph.Node, dropout float64, classes int) *graph.Node {
	x = flatten(x)
	for i, width := range hidden {
		x = act(layers.DenseWithBias(ctx.Inf("fc%d", i+1), x, width))
		if dropout > 0 {
			x = layers.DropoutStatic(ctx, x, dropout)
		}
	}
	return layers.DenseWithBias(ctx.In("logits"), x, classes)
}

// lenet5 is LeCun et al.'s LeNet-5 with padding on the first convolution so
// 28×28 inputs keep the classic 5×5×16 feature map before the dense layers.
func lenet5(ctx *context.Context, x *graph.Node, act func(*graph.Node) *graph.Node, classes int) *graph.Node {
	x = act(layers.Convolution(ctx.In("conv1"), x).Channels(6).KernelSize(5).PadSame().Done())
	x = graph.MaxPool(x).Window(2).Done()
	x = act(layers.Convolution(ctx.In("conv2"), x).Channels(16).KernelSize(5).NoPadding().Done())
	x = graph.MaxPool(x).Window(2).Done()
	x = flatten(x)
	x = act(layers.DenseWithBias(ctx.In("fc1"), x, 120))
	x = act(layers.DenseWithBias(ctx.In("fc2"), x, 84))
	return layers.DenseWithBias(ctx.In("logits"), x, classes)
}

func convBN(ctx *context.Context, x *graph.Node, channels, kernel, stride int) *graph.Node {
	x = layers.Convolution(ctx.In("conv"), x).Channels(channels).KernelSize(kernel).Strides(stride).PadSame().UseBias(false).Done()
	// The plain-ops form of batch norm: GoMLX's fused BatchNormForInference /
	// ForTraining ops are missing from the pure-Go backend (v0.26.0).
	return batchnorm.New(ctx.In("bn"), x, -1).UseBackendInference(false).Done()
}

// basicBlock is ResNet's two-convolution residual block; a 1×1 projection
// shortcut (with batch norm) matches shapes when the block downsamples.
func basicBlock(ctx *context.Context, x *graph.Node, channels, stride int) *graph.Node {
	shortcut := x
	y := activations.Relu(convBN(ctx.In("a"), x, channels, 3, stride))
	y = convBN(ctx.In("b"), y, channels, 3, 1)
	if stride != 1 || x.Shape().Dimensions[x.Rank()-1] != channels {
		shortcut = convBN(ctx.In("shortcut"), x, channels, 1, stride)
	}
	return activations.Relu(graph.Add(y, shortcut))
}

func globalAveragePool(x *graph.Node) *graph.Node {
	return graph.ReduceMean(x, 1, 2)
}

// cifarResNet is He et al.'s ResNet for 32×32 images (6n+2 layers): three
// stages of n basic blocks with 16, 32 and 64 channels.
func cifarResNet(ctx *context.Context, x *graph.Node, n, classes int) *graph.Node {
	x = activations.Relu(convBN(ctx.In("stem"), x, 16, 3, 1))
	for stage, channels := range []int{16, 32, 64} {
		for block := 0; block < n; block++ {
			stride := 1
			if stage > 0 && block == 0 {
				stride = 2
			}
			x = basicBlock(ctx.Inf("stage%d", stage+1).Inf("block%d", block+1), x, channels, stride)
		}
	}
	return layers.DenseWithBias(ctx.In("logits"), globalAveragePool(x), classes)
}

// resNet18 is the ImageNet ResNet-18 adapted to small images as is usual
// for CIFAR: a 3×3 stem without max-pooling, then [2,2,2,2] basic blocks
// with 64…512 channels.
func resNet18(ctx *context.Context, x *graph.Node, classes int) *graph.Node {
	x = activations.Relu(convBN(ctx.In("stem"), x, 64, 3, 1))
	for stage, channels := range []int{64, 128, 256, 512} {
		for block := 0; block < 2; block++ {
			stride := 1
			if stage > 0 && block == 0 {
				stride = 2
			}
			x = basicBlock(ctx.Inf("stage%d", stage+1).Inf("block%d", block+1), x, channels, stride)
		}
	}
	return layers.DenseWithBias(ctx.In("logits"), globalAveragePool(x), classes)
}

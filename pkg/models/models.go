// Package models builds Lathe's models as GoMLX graphs: the zoo — MLP,
// LeNet-5, CIFAR-style ResNets (ResNet-8, ResNet-20) and ResNet-18 — and
// any architecture a program registers with spec.Register, from the one
// description of each (spec.Net).
//
// Dense layers multiply with ops.MatMul (a gradient of two matmuls);
// convolutions and max-pooling use GoMLX's native ops where the backend can
// differentiate them and ops' portable forms elsewhere, so every model
// trains on every backend, the pure-Go one included. Every weight, layer
// output and layer input passes through the Spec's Hooks, which is how
// pruning masks, fake quantization and observers reach a model without
// editing it.
//
// Every model takes images [batch, height, width, channels] (or feature
// vectors [batch, features]) and returns logits [batch, classes]. Variables
// live under stable scopes — /<arch>/<layer>/weights — so later stages
// (pruning, quantization) can address a layer by name:
//
//	mlp:      /mlp/fc1 … /mlp/fcN, /mlp/logits
//	lenet5:   /lenet5/conv1, /lenet5/conv2, /lenet5/fc1, /lenet5/fc2, /lenet5/logits
//	resnet20: /resnet20/stem/{conv,bn}, /resnet20/stage2/block1/{a,b,shortcut}/{conv,bn}, /resnet20/logits
//
// Each layer holds "weights" (dense [in, out]; convolution [K, K, C, O]) and,
// where it has them, "biases".
//
// Example:
//
//	spec := models.Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{128}}}
//	modelFn, err := spec.ModelFn(10)
//	trainer := train.NewTrainer(backend, ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
package models

import (
	"fmt"
	"github.com/lathe-ml/lathe/pkg/spec"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Activations lists the activation names a Spec accepts.
var Activations = spec.Activations

// Spec describes a model: the recipe's description (spec.Model) and how
// this run builds it.
type Spec struct {
	spec.Model
	// ComputeDType is the dtype of activations, matmuls and convolutions
	// (mixed precision, see pkg/amp); variables stay in the input's dtype.
	// Zero: the input's dtype.
	ComputeDType dtypes.DType
	// GoMLXDense builds dense layers with GoMLX's own layer, whose gradient
	// is broadcast-shaped: for speed comparisons only.
	GoMLXDense bool
	// Hooks let techniques (pruning masks, fake quantization, observers)
	// change weights and see activations without editing the zoo.
	Hooks Hooks
}

// ModelFn returns the GoMLX model function producing numClasses logits.
func (s Spec) ModelFn(numClasses int) (train.ModelFn, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if numClasses < 2 {
		return nil, fmt.Errorf("a classifier needs at least 2 classes, got %d", numClasses)
	}
	net := s.Net()
	spec := s
	return func(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
		// Nothing upstream of the data needs its gradient; saying so lets the
		// first layer skip computing it.
		x := inputs[0]
		master := x.DType()
		if spec.ComputeDType != dtypes.InvalidDType && spec.ComputeDType != master {
			x = graph.ConvertDType(x, spec.ComputeDType)
		}
		x = graph.StopGradient(x)
		bd := newBuilder(x.Graph(), spec, master, numClasses)
		x = spec.Hooks.activation(ctx, "input", x)
		logits := bd.net(ctx.In(spec.Arch), x, net)
		// The loss is computed in the master dtype.
		return []*graph.Node{graph.ConvertDType(logits, master)}
	}, nil
}

// Activate applies the model's non-linearity (relu unless the spec names
// another) to x: what the activation hook's value becomes in the layer.
func (s Spec) Activate(x *graph.Node) *graph.Node { return activation(s.ActivationName())(x) }

// activation returns the named activation function (spec.Activations; ""
// is none).
func activation(name string) func(*graph.Node) *graph.Node {
	switch name {
	case "":
		return func(x *graph.Node) *graph.Node { return x }
	case "tanh":
		return graph.Tanh
	case "sigmoid":
		return graph.Sigmoid
	case "leaky_relu":
		return activations.LeakyRelu
	}
	t := activations.FromName(name)
	return func(x *graph.Node) *graph.Node { return activations.Apply(t, x) }
}

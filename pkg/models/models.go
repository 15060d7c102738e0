// Package models is Lathe's model zoo: MLP, LeNet-5, CIFAR-style ResNets
// (ResNet-8, ResNet-20) and ResNet-18, built with GoMLX layers.
//
// Every model takes images [batch, height, width, channels] (or feature
// vectors [batch, features]) and returns logits [batch, classes]. Variables
// live under stable scopes — /<arch>/<layer>/weights — so later stages
// (pruning, quantization) can address a layer by name:
//
//	mlp:      /mlp/fc1 … /mlp/fcN, /mlp/logits
//	lenet5:   /lenet5/conv1, /lenet5/conv2, /lenet5/fc1, /lenet5/fc2, /lenet5/logits
//	resnet20: /resnet20/stem/{conv,bn}, /resnet20/stage2/block1/{conv1,bn1,conv2,bn2,shortcut…}, /resnet20/logits
//
// Example:
//
//	spec := models.Spec{Arch: "mlp", Hidden: []int{128}}
//	modelFn, err := spec.ModelFn(10)
//	trainer := train.NewTrainer(backend, ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
package models

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Archs lists the architectures of the zoo.
var Archs = []string{"mlp", "lenet5", "resnet8", "resnet20", "resnet18"}

// Activations lists the activation names a Spec accepts.
var Activations = []string{"relu", "gelu", "tanh", "sigmoid", "swish", "leaky_relu", "selu"}

// Spec describes a model of the zoo.
type Spec struct {
	Arch       string  // one of Archs
	Hidden     []int   // mlp: hidden layer widths (default [128])
	Activation string  // default relu
	Dropout    float64 // mlp: dropout rate after each hidden layer (0: none)
}

// Validate checks the spec without building anything.
func (s Spec) Validate() error {
	if !slices.Contains(Archs, s.Arch) {
		return fmt.Errorf("unknown model arch %q (allowed: %s)", s.Arch, strings.Join(Archs, ", "))
	}
	if s.Activation != "" && !slices.Contains(Activations, s.Activation) {
		return fmt.Errorf("unknown activation %q (allowed: %s)", s.Activation, strings.Join(Activations, ", "))
	}
	for _, h := range s.Hidden {
		if h <= 0 {
			return fmt.Errorf("hidden layer width must be positive, got %d", h)
		}
	}
	if s.Dropout < 0 || s.Dropout >= 1 {
		return fmt.Errorf("dropout must be in [0, 1), got %g", s.Dropout)
	}
	return nil
}

// IsConvolutional reports whether the model uses convolutions and pooling.
func (s Spec) IsConvolutional() bool { return s.Arch != "mlp" }

// ModelFn returns the GoMLX model function producing numClasses logits.
func (s Spec) ModelFn(numClasses int) (train.ModelFn, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if numClasses < 2 {
		return nil, fmt.Errorf("a classifier needs at least 2 classes, got %d", numClasses)
	}
	act := s.activation()
	var body func(ctx *context.Context, x *graph.Node) *graph.Node
	switch s.Arch {
	case "mlp":
		hidden := s.Hidden
		if len(hidden) == 0 {
			hidden = []int{128}
		}
		body = func(ctx *context.Context, x *graph.Node) *graph.Node {
			return mlp(ctx, x, hidden, act, s.Dropout, numClasses)
		}
	case "lenet5":
		body = func(ctx *context.Context, x *graph.Node) *graph.Node { return lenet5(ctx, x, act, numClasses) }
	case "resnet8":
		body = func(ctx *context.Context, x *graph.Node) *graph.Node { return cifarResNet(ctx, x, 1, numClasses) }
	case "resnet20":
		body = func(ctx *context.Context, x *graph.Node) *graph.Node { return cifarResNet(ctx, x, 3, numClasses) }
	case "resnet18":
		body = func(ctx *context.Context, x *graph.Node) *graph.Node { return resNet18(ctx, x, numClasses) }
	}
	arch := s.Arch
	return func(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
		return []*graph.Node{body(ctx.In(arch), inputs[0])}
	}, nil
}

func (s Spec) activation() func(*graph.Node) *graph.Node {
	name := s.Activation
	if name == "" {
		name = "relu"
	}
	switch name {
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

// CanTrainOn reports, as an error that says what to do, when a backend
// cannot differentiate this model. GoMLX v0.26.0's pure-Go backend lacks
// Reverse (the input-gradient of a convolution) and SelectAndScatterMax (the
// gradient of max-pooling), so convolutional models do not train there yet;
// their forward pass (evaluation) works.
func (s Spec) CanTrainOn(b backends.Backend) error {
	if !s.IsConvolutional() {
		return nil
	}
	ops := b.Capabilities().Operations
	var missing []string
	for _, op := range []backends.OpType{backends.OpTypeReverse, backends.OpTypeSelectAndScatterMax} {
		if !ops[op] {
			missing = append(missing, op.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	name := b.String()
	if name == "go" {
		name = "pure-Go"
	}
	return fmt.Errorf("model %s cannot train on the %s backend: it lacks %s (needed for the gradients of convolutions and max-pooling); "+
		"use an XLA backend (--backend xla:cuda or xla:cpu) or an MLP recipe such as quickstart",
		s.Arch, name, strings.Join(missing, " and "))
}

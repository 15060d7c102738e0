package models

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Hooks let a technique change a model without editing the zoo: a pruning
// mask or fake quantization transforms weights where they enter the graph,
// an observer sees activations. Nil hooks change nothing.
type Hooks struct {
	// Weight is called once per graph for every variable the model reads —
	// dense and convolution weights and biases, batch norm's scale, offset
	// and moving statistics — with the variable and its value, and returns
	// the value the model uses. It runs before any cast to the compute dtype.
	// (Spec.GoMLXDense layers, kept for speed comparisons, bypass it.)
	Weight func(ctx *context.Context, v *context.Variable, value *graph.Node) *graph.Node
	// Activation is called with every layer's output (before its
	// non-linearity), and with the model's input under the name "input";
	// name is the layer's scope, e.g. /mlp/fc1. It returns the value the
	// model goes on with.
	Activation func(ctx *context.Context, name string, x *graph.Node) *graph.Node
	// Input is called with the value every dense and convolution layer
	// reads — after the previous layer's non-linearity, pooling and
	// flattening — under the layer's scope (/lenet5/conv2), and returns
	// what the layer multiplies. It is where an int8 runtime quantizes, so
	// quantization-aware training fake-quantizes there.
	Input func(ctx *context.Context, name string, x *graph.Node) *graph.Node
}

// weight passes a variable's value through the weight hook.
func (h Hooks) weight(ctx *context.Context, v *context.Variable, value *graph.Node) *graph.Node {
	if h.Weight == nil {
		return value
	}
	return h.Weight(ctx, v, value)
}

// activation passes a layer's output through the activation hook.
func (h Hooks) activation(ctx *context.Context, name string, x *graph.Node) *graph.Node {
	if h.Activation == nil {
		return x
	}
	return h.Activation(ctx, name, x)
}

// input passes a layer's input through the input hook.
func (h Hooks) input(ctx *context.Context, name string, x *graph.Node) *graph.Node {
	if h.Input == nil {
		return x
	}
	return h.Input(ctx, name, x)
}

// Chain composes hooks: a's transform runs first, then b's.
func Chain(a, b Hooks) Hooks {
	out := Hooks{Weight: a.Weight, Activation: a.Activation, Input: chainNamed(a.Input, b.Input)}
	if b.Weight != nil {
		if a.Weight == nil {
			out.Weight = b.Weight
		} else {
			out.Weight = func(ctx *context.Context, v *context.Variable, x *graph.Node) *graph.Node {
				return b.Weight(ctx, v, a.Weight(ctx, v, x))
			}
		}
	}
	out.Activation = chainNamed(a.Activation, b.Activation)
	return out
}

// chainNamed composes two hooks on named values, either of which may be nil.
func chainNamed(a, b func(*context.Context, string, *graph.Node) *graph.Node) func(*context.Context, string, *graph.Node) *graph.Node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(ctx *context.Context, name string, x *graph.Node) *graph.Node {
		return b(ctx, name, a(ctx, name, x))
	}
}

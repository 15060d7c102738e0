package models

import (
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/lathe-ml/lathe/pkg/ops"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// net builds a resolved description (spec.Model.Net: full names, widths
// applied) on x, with ctx at the model's scope (/<arch>).
func (bd builder) net(ctx *context.Context, x *graph.Node, net spec.Net) *graph.Node {
	for _, op := range net {
		x = bd.op(ctx, x, op)
	}
	return x
}

func (bd builder) op(ctx *context.Context, x *graph.Node, op spec.Op) *graph.Node {
	switch op.Kind {
	case spec.KindDense:
		out := op.Out
		if op.Name == spec.LogitsName {
			out = bd.classes
		}
		return activation(op.Activation)(bd.dense(scoped(ctx, op.WeightScope()), x, out))
	case spec.KindConv:
		padding := ops.Same
		if op.Padding == spec.Valid {
			padding = ops.Valid
		}
		if op.BatchNorm {
			x = bd.convBN(scoped(ctx, op.WeightScope()), scoped(ctx, op.BatchNormScope()), x, op.Out, op.Kernel, op.Stride, padding)
		} else {
			x = bd.conv(scoped(ctx, op.WeightScope()), x, op.Out, op.Kernel, op.Stride, padding, true)
		}
		return activation(op.Activation)(x)
	case spec.KindMaxPool:
		return ops.MaxPool2D(bd.path, x, op.Window)
	case spec.KindGlobalAvgPool:
		return graph.ReduceMean(x, 1, 2)
	case spec.KindFlatten:
		return flatten(x)
	case spec.KindDropout:
		return layers.DropoutStatic(ctx, x, op.Rate)
	case spec.KindResidual:
		y := bd.net(ctx, x, op.Body)
		shortcut := bd.net(ctx, x, op.Shortcut) // x itself when empty
		return activation(op.Activation)(graph.Add(y, shortcut))
	}
	panic("models: unknown op kind " + string(op.Kind)) // spec.Model.Validate refuses it first
}

// scoped is ctx under scope, a path relative to ctx's ("stage1/block1/a/conv"):
// GoMLX's Context.In takes one element at a time.
func scoped(ctx *context.Context, scope string) *context.Context {
	for _, part := range strings.Split(scope, "/") {
		ctx = ctx.In(part)
	}
	return ctx
}

// Package export turns a trained model (its GoMLX variables and
// description) into a Lathe model file — safetensors with the graph in its
// metadata, which package infer loads and runs without GoMLX — and into
// ONNX (package onnx).
//
// The weights written are the ones the model computes with: the exporter
// runs the model's inference graph once and takes every weight after the
// session's weight hooks (pruning masks, say), then folds batch norm into
// the convolution before it. A structurally pruned model exports at its
// smaller widths. The file's graph follows the model's description
// (spec.Net), so an architecture a program registered exports like the
// zoo's.
//
// Example:
//
//	file, err := export.Build(export.Source{Backend: b, Ctx: ctx, Spec: spec,
//		Example: []int{28, 28, 1}, Classes: names, Mean: 0.13, Std: 0.31})
//	if err != nil { return err }
//	err = file.WriteFile("model.safetensors")
package export

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// Source is what an export needs: the model, its variables, and what its
// inputs and outputs mean.
type Source struct {
	Backend backends.Backend
	Ctx     *context.Context
	Spec    models.Spec
	// Example is one example's shape: [features] or [height, width, channels].
	Example []int
	// Classes names the outputs (their number is the model's classes).
	Classes []string
	// Mean and Std standardized the inputs in training (0 and 1: not at all).
	Mean, Std float32
	// Means and Stds, when set, standardized each feature instead.
	Means, Stds []float32
	// DType of the stored weights: infer.F32 (default) or infer.BF16.
	DType infer.DType
	// Producer goes in the file, for people ("lathe run 0c1d…").
	Producer string
}

// Build exports the model as a Lathe model file, in memory.
func Build(src Source) (*infer.File, error) {
	if len(src.Classes) < 2 {
		return nil, fmt.Errorf("export: %d class names; a classifier has at least 2", len(src.Classes))
	}
	if src.Std == 0 {
		src.Std = 1
	}
	switch src.DType {
	case "":
		src.DType = infer.F32
	case infer.F32, infer.BF16:
	default:
		return nil, fmt.Errorf("export: dtype %s: want F32 or BF16", src.DType)
	}
	weights, err := usedWeights(src)
	if err != nil {
		return nil, err
	}
	b := &builder{src: src, weights: weights, file: &infer.File{Tensors: map[string]infer.Tensor{}, Metadata: map[string]string{}},
		graph: &infer.Graph{Format: infer.FormatName, Version: infer.FormatVersion, Producer: src.Producer, Arch: src.Spec.Arch,
			Input:   infer.Input{Shape: slices.Clone(src.Example), Mean: src.Mean, Std: src.Std, Means: slices.Clone(src.Means), Stds: slices.Clone(src.Stds)},
			Classes: slices.Clone(src.Classes)}}
	if len(src.Example) == 3 {
		b.graph.Input.Scale = "pixels/255"
	}
	if err := b.build(); err != nil {
		return nil, err
	}
	text, err := b.graph.Marshal()
	if err != nil {
		return nil, err
	}
	b.file.Metadata[infer.GraphKey] = text
	b.file.Metadata["format"] = "pt" // the key other safetensors readers look for; Lathe reads GraphKey
	return b.file, nil
}

// tensor is a weight as the model used it.
type tensor struct {
	values []float32
	dims   []int
}

// usedWeights runs the model's inference graph on one zero example with a
// weight hook after the session's that hands every weight out of the graph:
// the values the model computes with, by variable scope and name.
func usedWeights(src Source) (map[string]tensor, error) {
	var names []string
	spec := src.Spec
	var captured []*graph.Node
	spec.Hooks = models.Chain(src.Spec.Hooks, models.Hooks{Weight: func(ctx *context.Context, v *context.Variable, value *graph.Node) *graph.Node {
		names = append(names, v.Scope()+"/"+v.Name())
		captured = append(captured, value)
		return value
	}})
	modelFn, err := spec.ModelFn(len(src.Classes))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	exec, err := context.NewExec(src.Backend, src.Ctx, func(ctx *context.Context, x *graph.Node) []*graph.Node {
		names, captured = names[:0], captured[:0]
		logits := modelFn(ctx, nil, []*graph.Node{x})[0]
		return append([]*graph.Node{logits}, captured...)
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer exec.Finalize()
	size := 1
	for _, d := range src.Example {
		size *= d
	}
	x := tensors.FromFlatDataAndDimensions(make([]float32, size), append([]int{1}, src.Example...)...)
	outs, err := exec.Exec(x)
	if err != nil {
		return nil, fmt.Errorf("export: running the model: %w", err)
	}
	out := map[string]tensor{}
	for i, name := range names {
		t := outs[i+1]
		if t.DType() != dtypes.Float32 {
			return nil, fmt.Errorf("export: %s is %s; only float32 weights export", name, t.DType())
		}
		out[name] = tensor{values: tensors.MustCopyFlatData[float32](t), dims: slices.Clone(t.Shape().Dimensions)}
	}
	for _, t := range outs {
		t.FinalizeAll()
	}
	return out, nil
}

// builder writes the ops of a model's description (spec.Model.Net).
type builder struct {
	src     Source
	weights map[string]tensor
	graph   *infer.Graph
	file    *infer.File
}

func (b *builder) build() error {
	logits, _, err := b.net(b.src.Spec.Net(), infer.InputValue, len(b.src.Example))
	if err != nil {
		return err
	}
	b.graph.Output = logits
	return nil
}

// net writes the ops of a resolved description (full names) reading the
// value named in, of that rank per example, and returns the name and rank
// of the last value.
func (b *builder) net(net spec.Net, in string, rank int) (string, int, error) {
	var err error
	for _, op := range net {
		if in, rank, err = b.op(op, in, rank); err != nil {
			return "", 0, err
		}
	}
	return in, rank, nil
}

func (b *builder) op(op spec.Op, in string, rank int) (string, int, error) {
	switch op.Kind {
	case spec.KindDense:
		out, err := b.dense(op.Name, in, op.Activation)
		return out, 1, err
	case spec.KindConv:
		out, err := b.conv(op, in)
		return out, rank, err
	case spec.KindMaxPool:
		return b.add(infer.Op{Op: "max_pool", Name: op.Name, Inputs: []string{in}, Window: op.Window}), rank, nil
	case spec.KindGlobalAvgPool:
		return b.add(infer.Op{Op: "global_avg_pool", Name: op.Name, Inputs: []string{in}}), 1, nil
	case spec.KindFlatten:
		if rank <= 1 {
			return in, rank, nil // features already, as in the graph: nothing to write
		}
		return b.add(infer.Op{Op: "flatten", Name: op.Name, Inputs: []string{in}}), 1, nil
	case spec.KindDropout:
		return in, rank, nil // inference
	case spec.KindResidual:
		// The shortcut first: the runtime folds the addition into the
		// body's last layer when the other addend already exists.
		shortcut, _, err := b.net(op.Shortcut, in, rank)
		if err != nil {
			return "", 0, err
		}
		y, yRank, err := b.net(op.Body, in, rank)
		if err != nil {
			return "", 0, err
		}
		return b.add(infer.Op{Op: "add", Name: op.AddName(), Inputs: []string{y, shortcut}, Activation: op.Activation}), yRank, nil
	}
	return "", 0, fmt.Errorf("export: op %q: no exporter for kind %q", op.Name, op.Kind)
}

func (b *builder) add(op infer.Op) string {
	b.graph.Ops = append(b.graph.Ops, op)
	return op.Name
}

// get returns a weight of the layer at scope (under the model's), or false.
func (b *builder) get(scope, name string) (tensor, bool) {
	t, ok := b.weights["/"+b.src.Spec.Arch+"/"+scope+"/"+name]
	return t, ok
}

func (b *builder) need(scope, name string) (tensor, error) {
	t, ok := b.get(scope, name)
	if !ok {
		return tensor{}, fmt.Errorf("export: the model has no variable /%s/%s/%s (not trained yet?)", b.src.Spec.Arch, scope, name)
	}
	return t, nil
}

func (b *builder) store(name string, t tensor) string {
	if b.src.DType == infer.BF16 {
		b.file.Tensors[name] = infer.BF16Tensor(t.values, t.dims...)
	} else {
		b.file.Tensors[name] = infer.F32Tensor(t.values, t.dims...)
	}
	return name
}

func (b *builder) dense(layer, in, act string) (string, error) {
	w, err := b.need(layer, "weights")
	if err != nil {
		return "", err
	}
	op := infer.Op{Op: "dense", Name: layer, Inputs: []string{in}, Weights: b.store(layer+"/weights", w), Activation: act}
	if bias, ok := b.get(layer, "biases"); ok {
		op.Bias = b.store(layer+"/biases", bias)
	}
	return b.add(op), nil
}

// conv writes a convolution; with batch norm (weights at <layer>/conv,
// batch norm at <layer>/bn) the two fold into one: W·s and
// offset − mean·s, with s = scale / √(variance + ε) per output channel.
// The widths come from the weights (pruning may have changed them).
func (b *builder) conv(c spec.Op, in string) (string, error) {
	layer, scope := c.Name, c.WeightScope()
	w, err := b.need(scope, "weights")
	if err != nil {
		return "", err
	}
	op := infer.Op{Op: "conv2d", Name: layer, Inputs: []string{in}, Kernel: c.Kernel, Stride: c.Stride, Padding: string(c.Padding), Activation: c.Activation}
	var bias tensor
	hasBias := false
	if bias, hasBias = b.get(scope, "biases"); hasBias {
		bias = tensor{values: slices.Clone(bias.values), dims: bias.dims}
	}
	if c.BatchNorm {
		bn := c.BatchNormScope() + "/batch_normalization"
		var p [4]tensor
		for i, name := range []string{"scale", "offset", "mean", "variance"} {
			if p[i], err = b.need(bn, name); err != nil {
				return "", err
			}
		}
		out := w.dims[3]
		folded := tensor{values: slices.Clone(w.values), dims: w.dims}
		if !hasBias {
			bias = tensor{values: make([]float32, out), dims: []int{out}}
		}
		for o := 0; o < out; o++ {
			s := float64(p[0].values[o]) / math.Sqrt(float64(p[3].values[o])+models.BatchNormEpsilon)
			for i := o; i < len(folded.values); i += out {
				folded.values[i] = float32(float64(folded.values[i]) * s)
			}
			bias.values[o] = float32((float64(bias.values[o])-float64(p[2].values[o]))*s + float64(p[1].values[o]))
		}
		w, hasBias = folded, true
	}
	op.Weights = b.store(layer+"/weights", w)
	if hasBias {
		op.Bias = b.store(layer+"/biases", bias)
	}
	return b.add(op), nil
}

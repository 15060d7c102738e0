// Package export turns a trained zoo model (its GoMLX variables and
// description) into a Lathe model file — safetensors with the graph in its
// metadata, which package infer loads and runs without GoMLX — and into
// ONNX (package onnx).
//
// The weights written are the ones the model computes with: the exporter
// runs the model's inference graph once and takes every weight after the
// session's weight hooks (pruning masks, say), then folds batch norm into
// the convolution before it. A structurally pruned model exports at its
// smaller widths.
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
			Input: infer.Input{Shape: slices.Clone(src.Example), Mean: src.Mean, Std: src.Std}, Classes: slices.Clone(src.Classes)}}
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

// builder writes the ops of one zoo architecture, mirroring pkg/models.
type builder struct {
	src     Source
	weights map[string]tensor
	graph   *infer.Graph
	file    *infer.File
}

func (b *builder) act() string {
	if b.src.Spec.Activation == "" {
		return "relu"
	}
	return b.src.Spec.Activation
}

func (b *builder) build() error {
	var last string
	var err error
	switch b.src.Spec.Arch {
	case "mlp":
		last = infer.InputValue
		if len(b.src.Example) > 1 {
			last = b.add(infer.Op{Op: "flatten", Name: "flatten", Inputs: []string{last}})
		}
		hidden := b.src.Spec.Hidden
		if len(hidden) == 0 {
			hidden = []int{128}
		}
		for i := range hidden {
			if last, err = b.dense(fmt.Sprintf("fc%d", i+1), last, b.act()); err != nil {
				return err
			}
		}
	case "lenet5":
		steps := []func(string) (string, error){
			func(in string) (string, error) { return b.conv("conv1", in, 5, 1, "same", b.act(), false) },
			func(in string) (string, error) { return b.pool("pool1", in), nil },
			func(in string) (string, error) { return b.conv("conv2", in, 5, 1, "valid", b.act(), false) },
			func(in string) (string, error) { return b.pool("pool2", in), nil },
			func(in string) (string, error) {
				return b.add(infer.Op{Op: "flatten", Name: "flatten", Inputs: []string{in}}), nil
			},
			func(in string) (string, error) { return b.dense("fc1", in, b.act()) },
			func(in string) (string, error) { return b.dense("fc2", in, b.act()) },
		}
		last = infer.InputValue
		for _, step := range steps {
			if last, err = step(last); err != nil {
				return err
			}
		}
	case "resnet8", "resnet20", "resnet18":
		if last, err = b.resNet(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("export: no exporter for arch %q", b.src.Spec.Arch)
	}
	logits, err := b.dense("logits", last, "")
	if err != nil {
		return err
	}
	b.graph.Output = logits
	return nil
}

func (b *builder) resNet() (string, error) {
	// The widths come from the weights themselves (pruning may have changed them).
	stages, blocks := 3, 1
	switch b.src.Spec.Arch {
	case "resnet20":
		blocks = 3
	case "resnet18":
		stages, blocks = 4, 2
	}
	x, err := b.conv("stem", infer.InputValue, 3, 1, "same", "relu", true)
	if err != nil {
		return "", err
	}
	for s := 1; s <= stages; s++ {
		for k := 1; k <= blocks; k++ {
			block := fmt.Sprintf("stage%d/block%d/", s, k)
			stride := 1
			if s > 1 && k == 1 {
				stride = 2
			}
			shortcut := x
			// The shortcut first: the runtime folds the addition into the
			// block's last convolution when the addend already exists.
			if stride != 1 {
				if shortcut, err = b.conv(block+"shortcut", x, 1, stride, "same", "", true); err != nil {
					return "", err
				}
			}
			y, err := b.conv(block+"a", x, 3, stride, "same", "relu", true)
			if err != nil {
				return "", err
			}
			if y, err = b.conv(block+"b", y, 3, 1, "same", "", true); err != nil {
				return "", err
			}
			x = b.add(infer.Op{Op: "add", Name: block + "add", Inputs: []string{y, shortcut}, Activation: "relu"})
		}
	}
	return b.add(infer.Op{Op: "global_avg_pool", Name: "global_avg_pool", Inputs: []string{x}}), nil
}

func (b *builder) add(op infer.Op) string {
	b.graph.Ops = append(b.graph.Ops, op)
	return op.Name
}

func (b *builder) pool(name, in string) string {
	return b.add(infer.Op{Op: "max_pool", Name: name, Inputs: []string{in}, Window: 2})
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

// conv writes a convolution; with batchNorm, the layer is <layer>/conv
// followed by <layer>/bn, folded into one: W·s and offset − mean·s, with
// s = scale / √(variance + ε) per output channel.
func (b *builder) conv(layer, in string, kernel, stride int, padding, act string, batchNorm bool) (string, error) {
	scope := layer
	if batchNorm {
		scope = layer + "/conv"
	}
	w, err := b.need(scope, "weights")
	if err != nil {
		return "", err
	}
	op := infer.Op{Op: "conv2d", Name: layer, Inputs: []string{in}, Kernel: kernel, Stride: stride, Padding: padding, Activation: act}
	var bias tensor
	hasBias := false
	if bias, hasBias = b.get(scope, "biases"); hasBias {
		bias = tensor{values: slices.Clone(bias.values), dims: bias.dims}
	}
	if batchNorm {
		bn := layer + "/bn/batch_normalization"
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

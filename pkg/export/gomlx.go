package export

import (
	"encoding/binary"
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/ops"
)

// GraphFn builds a Lathe model file as a GoMLX computation — raw inputs
// [batch, …Input.Shape] to logits — with the ops the zoo trains with
// (ops.MatMul, ops.Conv2D, ops.MaxPool2D) and the weights as constants:
// what `lathe bench infer` times on a GoMLX backend against the runtime,
// for a file or a run alike.
func GraphFn(f *infer.File) (func(x *graph.Node) *graph.Node, error) {
	values, err := ValuesFn(f, false)
	if err != nil {
		return nil, err
	}
	g, err := infer.GraphOf(f)
	if err != nil {
		return nil, err
	}
	return func(x *graph.Node) *graph.Node { return values(x)[g.Output] }, nil
}

// ValuesFn is GraphFn with every value of the file's graph by name — each
// op's output after its activation (conv1, pool1, fc1, global_avg_pool,
// logits…) and infer.InputValue — so a caller can read a layer inside
// (a distillation teacher's features). With normalized, x is already
// standardized with the file's mean and std, and is used as it is.
func ValuesFn(f *infer.File, normalized bool) (func(x *graph.Node) map[string]*graph.Node, error) {
	g, err := infer.GraphOf(f)
	if err != nil {
		return nil, err
	}
	weights := map[string]*tensors.Tensor{}
	for name, t := range f.Tensors {
		values, err := floats(t)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		weights[name] = tensors.FromFlatDataAndDimensions(values, t.Shape...)
	}
	return func(x *graph.Node) map[string]*graph.Node {
		gr := x.Graph()
		path := ops.ChoosePath(gr.Backend().Capabilities())
		konst := func(name string) *graph.Node { return graph.Const(gr, weights[name]) }
		if !normalized && len(g.Input.Means) > 0 {
			n := len(g.Input.Means)
			x = graph.Div(graph.Sub(x, graph.Const(gr, tensors.FromFlatDataAndDimensions(g.Input.Means, 1, n))),
				graph.Const(gr, tensors.FromFlatDataAndDimensions(g.Input.Stds, 1, n)))
		} else if !normalized {
			x = graph.MulScalar(graph.AddScalar(x, -float64(g.Input.Mean)), 1/float64(g.Input.Std))
		}
		values := map[string]*graph.Node{infer.InputValue: x}
		for _, op := range g.Ops {
			in := values[op.Inputs[0]]
			// An int8 layer, in float32 ("fake quantization"): its input
			// rounded to its grid, its weights and bias scaled back. Never
			// an integer matmul, which the pure-Go backend cannot run.
			var weight, bias *graph.Node
			if op.Weights != "" {
				weight = konst(op.Weights)
			}
			if op.Bias != "" {
				bias = konst(op.Bias)
			}
			if op.Quantized(f.Tensors) {
				s, z := float64(op.InputScale), float64(op.InputZero)
				in = graph.MulScalar(graph.AddScalar(graph.ClipScalar(graph.AddScalar(graph.Round(graph.DivScalar(in, s)), z), 0, 127), -z), s)
				scales := konst(op.WeightScales)
				dims := make([]int, weight.Rank())
				for i := range dims {
					dims[i] = 1
				}
				dims[len(dims)-1] = scales.Shape().Dimensions[0]
				weight = graph.Mul(weight, graph.Reshape(scales, dims...))
				if bias != nil {
					bias = graph.MulScalar(graph.Mul(bias, scales), s)
				}
			}
			var y *graph.Node
			switch op.Op {
			case "dense":
				y = ops.MatMul(in, weight)
			case "conv2d":
				padding := ops.Valid
				if op.Padding == "same" {
					padding = ops.Same
				}
				y = ops.Conv2D(path, in, weight, ops.ConvConfig{Stride: max(op.Stride, 1), Padding: padding})
			case "max_pool":
				y = ops.MaxPool2D(path, in, op.Window)
			case "global_avg_pool":
				y = graph.ReduceMean(in, 1, 2)
			case "flatten":
				y = graph.Reshape(in, in.Shape().Dimensions[0], -1)
			case "add":
				y = graph.Add(in, values[op.Inputs[1]])
			}
			if bias != nil {
				b := bias
				dims := make([]int, y.Rank())
				for i := range dims {
					dims[i] = 1
				}
				dims[len(dims)-1] = b.Shape().Dimensions[0]
				y = graph.Add(y, graph.Reshape(b, dims...))
			}
			values[op.Name] = activate(op.Activation, y)
		}
		return values
	}, nil
}

// floats decodes a tensor's values as float32: int8 weights and int32
// biases exactly as the integers they are.
func floats(t infer.Tensor) ([]float32, error) {
	switch t.DType {
	case infer.I8:
		out := make([]float32, len(t.Data))
		for i, b := range t.Data {
			out[i] = float32(int8(b))
		}
		return out, nil
	case infer.I32:
		out := make([]float32, len(t.Data)/4)
		for i := range out {
			out[i] = float32(int32(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
		return out, nil
	}
	return t.Float32s()
}

// activate applies a Graph activation as the zoo's models do.
func activate(name string, x *graph.Node) *graph.Node {
	switch name {
	case "":
		return x
	case "tanh":
		return graph.Tanh(x)
	case "sigmoid":
		return graph.Sigmoid(x)
	case "leaky_relu":
		return activations.LeakyRelu(x)
	}
	return activations.Apply(activations.FromName(name), x)
}

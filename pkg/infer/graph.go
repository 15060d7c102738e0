package infer

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// FormatName and FormatVersion mark a Lathe model file. A reader refuses
// a newer version than it knows, by name, rather than guessing.
const (
	FormatName = "lathe-model"
	// Version 2 added int8 layers (Op.InputScale and its kin).
	FormatVersion = 2
	// GraphKey is the safetensors metadata key holding the Graph's JSON.
	GraphKey = "lathe.graph"
)

// Graph describes a model well enough to run it without its recipe: the
// input it takes and how to normalize it, the ops in order, and the class
// names. It is stored as JSON in the model file's metadata; its tensors
// (weights, biases) are the file's tensors, named by the ops.
type Graph struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Producer is what wrote the file ("lathe v…", for people).
	Producer string `json:"producer,omitempty"`
	// Arch is the zoo architecture it came from, for people ("lenet5").
	Arch  string `json:"arch,omitempty"`
	Input Input  `json:"input"`
	// Classes names the outputs, in order.
	Classes []string `json:"classes"`
	Ops     []Op     `json:"ops"`
	// Output is the value holding the logits.
	Output string `json:"output"`
}

// Input is what one example looks like and how the model normalizes it.
type Input struct {
	// Shape of one example: [features] or [height, width, channels] (NHWC).
	Shape []int `json:"shape"`
	// Mean and Std standardize every value: (x - Mean) / Std, as the model
	// was trained (Std 1 and Mean 0 when it was not).
	Mean float32 `json:"mean"`
	Std  float32 `json:"std"`
	// Means and Stds, when present, standardize each feature on its own
	// instead ((x[f] − Means[f]) / Stds[f]; Mean 0 and Std 1): a table's
	// columns, each in its own units.
	Means []float32 `json:"means,omitempty"`
	Stds  []float32 `json:"stds,omitempty"`
	// Scale says what raw values are, for people ("pixels/255").
	Scale string `json:"scale,omitempty"`
}

// Op is one operation. Inputs and the output are named values: "input" is
// the normalized example, every other value is an op's Name.
type Op struct {
	Op     string   `json:"op"` // one of Ops
	Name   string   `json:"name"`
	Inputs []string `json:"inputs"`
	// Weights and Bias name tensors: dense [in, out], conv2d [K, K, C, O];
	// bias [out] (optional).
	Weights string `json:"weights,omitempty"`
	Bias    string `json:"bias,omitempty"`
	// Kernel is a conv2d's K; Stride its stride (default 1); Padding
	// "same" (zero padding to ⌈size/stride⌉, the extra row and column
	// after, as XLA and TensorFlow split it) or "valid".
	Kernel  int    `json:"kernel,omitempty"`
	Stride  int    `json:"stride,omitempty"`
	Padding string `json:"padding,omitempty"`
	// Window is max_pool's window and stride (floor mode).
	Window int `json:"window,omitempty"`
	// Activation follows the op (dense, conv2d, add): one of Activations, "" for none.
	Activation string `json:"activation,omitempty"`

	// An int8 layer (a dense or conv2d whose Weights are I8) quantizes its
	// input to q = clamp(round(x/InputScale) + InputZero, 0, 127), rounding
	// half to even, multiplies it by the weights q_w in int32, and returns
	// InputScale·WeightScales[j]·(Σ (q - InputZero)·q_w + Bias[j]) for
	// output j: weights symmetric per output channel in [-127, 127], their
	// scales an F32 tensor [out], the bias I32 [out] in units of
	// InputScale·WeightScales[j].
	InputScale   float32 `json:"input_scale,omitempty"`
	InputZero    int32   `json:"input_zero,omitempty"`
	WeightScales string  `json:"weight_scales,omitempty"`
}

// Quantized reports whether op is an int8 layer.
func (op Op) Quantized(tensors map[string]Tensor) bool {
	return tensors[op.Weights].DType == I8
}

// Ops lists the op kinds a Graph may use.
var Ops = []string{"dense", "conv2d", "max_pool", "global_avg_pool", "flatten", "add"}

// Activations lists the activations an op may end with, as GoMLX
// computes them (leaky_relu's slope is 0.3, gelu is the exact erf form).
var Activations = []string{"relu", "gelu", "tanh", "sigmoid", "swish", "leaky_relu", "selu"}

// InputValue is the name of the normalized input.
const InputValue = "input"

// GraphOf reads a model file's Graph from its metadata, refusing a file
// that is not a Lathe model or of a newer format version.
func GraphOf(f *File) (*Graph, error) {
	text, ok := f.Metadata[GraphKey]
	if !ok {
		return nil, fmt.Errorf("not a Lathe model: its metadata has no %q (a safetensors file of weights only?)", GraphKey)
	}
	var probe struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal([]byte(text), &probe); err != nil {
		return nil, fmt.Errorf("model description: %v", err)
	}
	if probe.Format != FormatName {
		return nil, fmt.Errorf("model description: format %q, want %q", probe.Format, FormatName)
	}
	if probe.Version > FormatVersion || probe.Version < 1 {
		return nil, fmt.Errorf("model format version %d: this Lathe reads versions 1 to %d (a newer Lathe wrote it?)", probe.Version, FormatVersion)
	}
	var g Graph
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("model description: %v", err)
	}
	return &g, nil
}

// Marshal returns the Graph's JSON, as stored under GraphKey.
func (g *Graph) Marshal() (string, error) {
	b, err := json.Marshal(g)
	return string(b), err
}

// Shapes checks the graph against its tensors and returns every value's
// shape for one example ([features] or [h, w, c]), by value name; an
// error names the op at fault. Writers of other formats (ONNX) need them.
func (g *Graph) Shapes(tensors map[string]Tensor) (map[string][]int, error) {
	shapes, err := g.check(tensors)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]int, len(shapes))
	for name, s := range shapes {
		out[name] = []int(s)
	}
	return out, nil
}

// shape is one example's shape of a value: [features] or [h, w, c].
type shape []int

func (s shape) size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// maxDim bounds every dimension a model file may declare, so that a
// corrupt file cannot make the runtime plan gigabyte buffers.
const maxDim = 1 << 16

// check verifies the graph against its tensors and infers every value's
// shape; it names the op at fault.
func (g *Graph) check(tensors map[string]Tensor) (map[string]shape, error) {
	if len(g.Input.Shape) != 1 && len(g.Input.Shape) != 3 {
		return nil, fmt.Errorf("input shape %v: want [features] or [height, width, channels]", g.Input.Shape)
	}
	for _, d := range g.Input.Shape {
		if d <= 0 || d > maxDim {
			return nil, fmt.Errorf("input shape %v: dimensions must be in [1, %d]", g.Input.Shape, maxDim)
		}
	}
	if shape(g.Input.Shape).size() > maxDim*64 {
		return nil, fmt.Errorf("input shape %v is too large", g.Input.Shape)
	}
	if !(g.Input.Std > 0) || g.Input.Std != g.Input.Std || g.Input.Mean != g.Input.Mean {
		return nil, fmt.Errorf("input normalization: std %g must be positive and mean %g finite", g.Input.Std, g.Input.Mean)
	}
	if len(g.Input.Means) > 0 || len(g.Input.Stds) > 0 {
		if size := shape(g.Input.Shape).size(); len(g.Input.Means) != size || len(g.Input.Stds) != size {
			return nil, fmt.Errorf("input normalization: %d means and %d stds for %d features", len(g.Input.Means), len(g.Input.Stds), size)
		}
		for i := range g.Input.Means {
			if m, sd := g.Input.Means[i], g.Input.Stds[i]; !(sd > 0) || math.IsInf(float64(sd), 0) || m != m || math.IsInf(float64(m), 0) {
				return nil, fmt.Errorf("input normalization: feature %d: std %g must be positive and finite, mean %g finite", i, sd, m)
			}
		}
	}
	shapes := map[string]shape{InputValue: shape(g.Input.Shape)}
	for i, op := range g.Ops {
		where := fmt.Sprintf("op %d (%s %q)", i+1, op.Op, op.Name)
		if op.Name == "" || op.Name == InputValue {
			return nil, fmt.Errorf("%s: needs a name other than %q", where, InputValue)
		}
		if _, dup := shapes[op.Name]; dup {
			return nil, fmt.Errorf("%s: a value of that name already exists", where)
		}
		if op.Activation != "" && !slices.Contains(Activations, op.Activation) {
			return nil, fmt.Errorf("%s: unknown activation %q (known: %s)", where, op.Activation, strings.Join(Activations, ", "))
		}
		wantInputs := 1
		if op.Op == "add" {
			wantInputs = 2
		}
		if len(op.Inputs) != wantInputs {
			return nil, fmt.Errorf("%s: takes %d inputs, has %d", where, wantInputs, len(op.Inputs))
		}
		var in []shape
		for _, name := range op.Inputs {
			s, ok := shapes[name]
			if !ok {
				return nil, fmt.Errorf("%s: input %q is not an earlier value", where, name)
			}
			in = append(in, s)
		}
		out, err := outputShape(op, in, tensors)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		shapes[op.Name] = out
	}
	out, ok := shapes[g.Output]
	if !ok || g.Output == InputValue {
		return nil, fmt.Errorf("output %q is no op's value", g.Output)
	}
	if len(out) != 1 || out[0] < 1 {
		return nil, fmt.Errorf("output %q has shape %v per example, want [classes]", g.Output, out)
	}
	if len(g.Classes) != out[0] {
		return nil, fmt.Errorf("%d class names for %d outputs", len(g.Classes), out[0])
	}
	return shapes, nil
}

// checkQuantized checks an int8 layer's quantization parameters.
func checkQuantized(op Op, out int, tensors map[string]Tensor) error {
	if !(op.InputScale > 0) || math.IsInf(float64(op.InputScale), 0) || op.InputZero < 0 || op.InputZero > 127 {
		return fmt.Errorf("input scale %g and zero point %d: want a finite positive scale and a zero point in [0, 127]", op.InputScale, op.InputZero)
	}
	t, ok := tensors[op.WeightScales]
	if !ok {
		return fmt.Errorf("weight scales %q: no such tensor (int8 weights need one scale per output)", op.WeightScales)
	}
	if t.DType != F32 || len(t.Shape) != 1 || t.Shape[0] != out {
		return fmt.Errorf("weight scales %q: %s %v, want F32 [%d]", op.WeightScales, t.DType, t.Shape, out)
	}
	scales, _ := t.Float32s()
	for j, v := range scales {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("weight scales %q: scale %d is %g, want finite and positive", op.WeightScales, j, v)
		}
	}
	return nil
}

// outputShape checks one op's inputs and tensors and returns its output's shape.
func outputShape(op Op, in []shape, tensors map[string]Tensor) (shape, error) {
	x := in[0]
	weights := func(rank int) (Tensor, error) {
		t, ok := tensors[op.Weights]
		if !ok {
			return Tensor{}, fmt.Errorf("weights %q: no such tensor", op.Weights)
		}
		if len(t.Shape) != rank || (t.DType != F32 && t.DType != BF16 && t.DType != I8) {
			return Tensor{}, fmt.Errorf("weights %q: %s %v, want a rank-%d float or I8 tensor", op.Weights, t.DType, t.Shape, rank)
		}
		return t, nil
	}
	quantized := op.Quantized(tensors)
	bias := func(out int) error {
		if quantized {
			if err := checkQuantized(op, out, tensors); err != nil {
				return err
			}
		} else if op.WeightScales != "" || op.InputScale != 0 || op.InputZero != 0 {
			return fmt.Errorf("has quantization parameters but float weights")
		}
		if op.Bias == "" {
			return nil
		}
		t, ok := tensors[op.Bias]
		if !ok {
			return fmt.Errorf("bias %q: no such tensor", op.Bias)
		}
		want := []DType{F32, BF16}
		if quantized {
			want = []DType{I32}
		}
		if len(t.Shape) != 1 || t.Shape[0] != out || !slices.Contains(want, t.DType) {
			return fmt.Errorf("bias %q: %s %v, want %s [%d]", op.Bias, t.DType, t.Shape, want[0], out)
		}
		return nil
	}
	switch op.Op {
	case "dense":
		w, err := weights(2)
		if err != nil {
			return nil, err
		}
		if len(x) != 1 || w.Shape[0] != x[0] {
			return nil, fmt.Errorf("weights %v do not take inputs of shape %v (flatten first?)", w.Shape, x)
		}
		return shape{w.Shape[1]}, bias(w.Shape[1])
	case "conv2d":
		w, err := weights(4)
		if err != nil {
			return nil, err
		}
		if len(x) != 3 {
			return nil, fmt.Errorf("needs images [h, w, c], got %v", x)
		}
		k, stride := op.Kernel, max(op.Stride, 1)
		if k < 1 || w.Shape[0] != k || w.Shape[1] != k || w.Shape[2] != x[2] {
			return nil, fmt.Errorf("weights %v do not match kernel %d and %d input channels", w.Shape, k, x[2])
		}
		if stride > k+maxDim {
			return nil, fmt.Errorf("stride %d", stride)
		}
		var h, wd int
		switch op.Padding {
		case "same":
			h, wd = (x[0]+stride-1)/stride, (x[1]+stride-1)/stride
		case "valid":
			h, wd = (x[0]-k)/stride+1, (x[1]-k)/stride+1
			if x[0] < k || x[1] < k {
				h = 0
			}
		default:
			return nil, fmt.Errorf("padding %q: want same or valid", op.Padding)
		}
		if h < 1 || wd < 1 {
			return nil, fmt.Errorf("kernel %d does not fit images %v", k, x)
		}
		return shape{h, wd, w.Shape[3]}, bias(w.Shape[3])
	case "max_pool":
		if len(x) != 3 || op.Window < 1 || x[0]/op.Window < 1 || x[1]/op.Window < 1 {
			return nil, fmt.Errorf("window %d does not fit images %v", op.Window, x)
		}
		return shape{x[0] / op.Window, x[1] / op.Window, x[2]}, nil
	case "global_avg_pool":
		if len(x) != 3 {
			return nil, fmt.Errorf("needs images [h, w, c], got %v", x)
		}
		return shape{x[2]}, nil
	case "flatten":
		return shape{x.size()}, nil
	case "add":
		if !slices.Equal(in[0], in[1]) {
			return nil, fmt.Errorf("adds values of shapes %v and %v", in[0], in[1])
		}
		return x, nil
	}
	return nil, fmt.Errorf("unknown op (known: %s)", strings.Join(Ops, ", "))
}

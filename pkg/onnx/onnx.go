// Package onnx writes a Lathe model (an infer.Graph and its tensors) as an
// ONNX file, for runtimes outside Lathe (onnxruntime, TensorRT, browsers).
//
// The ONNX model takes what infer.Model.Predict takes: one input named
// "input", float32 [batch, …Graph.Input.Shape] of raw values (for images
// NHWC, pixels/255), with "batch" a symbolic dimension; it normalizes them
// itself ((x - mean) / std) and returns one output named "logits", float32
// [batch, classes], in the order of Graph.Classes (also stored in the
// model's metadata under "lathe.classes").
//
// Inside, images are carried NCHW, the layout ONNX's Conv and MaxPool
// expect: the input is transposed once after normalization, conv2d
// weights (stored [K, K, C, O]) are written OIHW, and a flatten transposes
// back to NHWC first so that dense weights see the features in the order
// they were trained with. "same" padding is written as explicit pads split
// as XLA and TensorFlow split them (the extra row and column after).
//
// The model uses the default domain at opset 13 (IR version 8) and only
// f32 tensors: bf16 weights are widened; integer weights are refused.
// Activations are written with core ops (sigmoid as 1/(1+exp(-x)),
// leaky_relu as max(x, 0.3x), selu and gelu from Exp, Min, Max and Erf),
// so that importers that lack Sigmoid, LeakyRelu or Selu run it too, with
// GoMLX's definitions and constants.
//
// Example:
//
//	f, err := infer.ReadFile("model.safetensors", 1<<30)
//	if err != nil {
//		return err
//	}
//	g, err := infer.GraphOf(f)
//	if err != nil {
//		return err
//	}
//	return onnx.WriteFile("model.onnx", g, f.Tensors)
package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/lathe-ml/lathe/internal/atomicfile"
	"github.com/lathe-ml/lathe/pkg/infer"
	"google.golang.org/protobuf/encoding/protowire"
)

// The model's version stamps.
const (
	irVersion = 8
	opset     = 13
	// InputName and OutputName name the ONNX model's input and output.
	InputName  = "input"
	OutputName = "logits"
	// BatchDim is the symbolic name of the batch dimension.
	BatchDim = "batch"
	// ClassesKey is the metadata key holding the class names as a JSON array.
	ClassesKey = "lathe.classes"
)

// Field numbers, from onnx.proto.
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelGraph           = 7
	modelOpsetImport     = 8
	modelMetadataProps   = 14

	entryKey   = 1
	entryValue = 2

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphDocString   = 10
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5

	attrNameField = 1
	attrIField    = 3
	attrIntsField = 8
	attrTypeField = 20

	attrTypeInt  = 2
	attrTypeInts = 7

	tensorDims     = 1
	tensorDataType = 2
	tensorName     = 8
	tensorRawData  = 9

	dataTypeFloat = 1

	valueInfoName = 1
	valueInfoType = 2

	typeTensorType = 1

	tensorTypeElemType = 1
	tensorTypeShape    = 2

	shapeDim = 1

	dimValue = 1
	dimParam = 2
)

// Encode returns the ONNX ModelProto bytes for the graph and its tensors.
func Encode(g *infer.Graph, tensors map[string]infer.Tensor) ([]byte, error) {
	if g == nil {
		return nil, fmt.Errorf("onnx export: no graph")
	}
	// Integer tensors belong to int8 layers, written in QDQ form (qdq.go);
	// anywhere else they are an error named plainly.
	for _, op := range g.Ops {
		if op.Quantized(tensors) {
			continue
		}
		for _, name := range []string{op.Weights, op.Bias} {
			if t, ok := tensors[name]; ok && name != "" && t.DType != infer.F32 && t.DType != infer.BF16 {
				return nil, fmt.Errorf("onnx export: tensor %q is %s in a float layer", name, t.DType)
			}
		}
	}
	shapes, err := g.Shapes(tensors)
	if err != nil {
		return nil, fmt.Errorf("onnx export: %w", err)
	}
	e := &encoder{
		g:       g,
		tensors: tensors,
		shapes:  shapes,
		taken:   map[string]bool{InputName: true, OutputName: true},
		initOf:  map[string]string{},
		values:  map[string]value{},
	}
	if err := e.translate(); err != nil {
		return nil, fmt.Errorf("onnx export: %w", err)
	}
	return e.model(), nil
}

// WriteFile writes Encode's bytes atomically: to a temporary file in the
// same directory, synced, then renamed over path. On error nothing is left
// behind and an existing file at path is untouched.
func WriteFile(path string, g *infer.Graph, tensors map[string]infer.Tensor) error {
	data, err := Encode(g, tensors)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, data)
}

// value is a Lathe value as the ONNX graph holds it.
type value struct {
	name string // the ONNX value's name
	nchw bool   // images, held [N, C, H, W] (else [N, features])
	// nhwc names the same images before they were transposed to NCHW,
	// where the graph has them (its input): a flatten reads them there
	// instead of transposing back.
	nhwc string
}

// node is one NodeProto before encoding.
type node struct {
	opType  string
	inputs  []string
	outputs []string
	attrs   [][]byte // encoded AttributeProtos
}

type encoder struct {
	g       *infer.Graph
	tensors map[string]infer.Tensor
	shapes  map[string][]int

	taken  map[string]bool   // ONNX value and initializer names in use
	nodes  []*node           //
	inits  [][]byte          // encoded TensorProtos, in order of first use
	initOf map[string]string // initializer key → its ONNX name
	values map[string]value  // Lathe value → ONNX value
}

// unique returns base, or base_N when that is taken, and takes it.
func (e *encoder) unique(base string) string {
	name := base
	for i := 1; e.taken[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	e.taken[name] = true
	return name
}

// add appends a node with one output, named after base, and returns it.
func (e *encoder) add(opType string, inputs []string, base string, attrs ...[]byte) string {
	out := e.unique(base)
	e.nodes = append(e.nodes, &node{opType: opType, inputs: inputs, outputs: []string{out}, attrs: attrs})
	return out
}

// translate turns the graph's ops into nodes.
func (e *encoder) translate() error {
	g := e.g
	// The normalized input, NCHW for images.
	in := InputName
	if g.Input.Mean != 0 {
		in = e.add("Sub", []string{in, e.scalar(g.Input.Mean)}, "input/sub_mean")
	}
	if g.Input.Std != 1 {
		in = e.add("Div", []string{in, e.scalar(g.Input.Std)}, "input/div_std")
	}
	if len(g.Input.Means) > 0 { // per feature: [features] constants broadcast over the batch
		means, stds := e.unique("input/means"), e.unique("input/stds")
		e.inits = append(e.inits, tensorProto(means, []int{len(g.Input.Means)}, g.Input.Means),
			tensorProto(stds, []int{len(g.Input.Stds)}, g.Input.Stds))
		in = e.add("Sub", []string{in, means}, "input/sub_means")
		in = e.add("Div", []string{in, stds}, "input/div_stds")
	}
	images := len(g.Input.Shape) == 3
	nhwc := ""
	if images {
		nhwc = in
		in = e.add("Transpose", []string{in}, "input/nchw", attrInts("perm", 0, 3, 1, 2))
	}
	e.values[infer.InputValue] = value{name: in, nchw: images, nhwc: nhwc}

	for i, op := range g.Ops {
		where := fmt.Sprintf("op %d (%s %q)", i+1, op.Op, op.Name)
		final := OutputName
		if op.Name != g.Output {
			final = e.unique(op.Name)
		}
		first := len(e.nodes)
		out, err := e.op(op)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if out.name, err = e.activate(op, out.name); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		// Give the op's last node the op's name (or "logits").
		if len(e.nodes) > first {
			last := e.nodes[len(e.nodes)-1]
			if last.outputs[0] == out.name {
				last.outputs[0] = final
				out.name = final
			}
		}
		e.values[op.Name] = out
	}
	if out := e.values[g.Output]; out.name != OutputName {
		e.nodes = append(e.nodes, &node{opType: "Identity", inputs: []string{out.name}, outputs: []string{OutputName}})
	}
	e.pruneDeadNodes()
	return nil
}

// pruneDeadNodes drops the nodes no path to the output reads (the input's
// transpose to NCHW when an MLP flattens the images at once), so the file
// carries the minimal graph.
func (e *encoder) pruneDeadNodes() {
	needed := map[string]bool{OutputName: true}
	keep := make([]bool, len(e.nodes))
	for i := len(e.nodes) - 1; i >= 0; i-- {
		n := e.nodes[i]
		for _, out := range n.outputs {
			if needed[out] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.inputs {
				needed[in] = true
			}
		}
	}
	live := e.nodes[:0]
	for i, n := range e.nodes {
		if keep[i] {
			live = append(live, n)
		}
	}
	e.nodes = live
}

// op adds one Lathe op's nodes (before its activation) and returns its value.
func (e *encoder) op(op infer.Op) (value, error) {
	if op.Bias != "" && op.Op != "dense" && op.Op != "conv2d" {
		return value{}, fmt.Errorf("has a bias; only dense and conv2d take one")
	}
	x := e.values[op.Inputs[0]]
	base := op.Name + "/"
	quantized := op.Quantized(e.tensors)
	// weights and bias are the layer's float (or dequantized) operands.
	weights := func(conv bool) (string, error) {
		if quantized {
			return e.quantizedWeights(op, conv)
		}
		return e.initializer(op.Weights, conv)
	}
	bias := func() (string, error) {
		if quantized {
			return e.quantizedBias(op)
		}
		return e.initializer(op.Bias, false)
	}
	in := x.name
	if quantized && (op.Op == "dense" || op.Op == "conv2d") {
		in = e.quantizedInput(op, x.name)
	}
	switch op.Op {
	case "dense":
		w, err := weights(false)
		if err != nil {
			return value{}, err
		}
		y := e.add("MatMul", []string{in, w}, base+"matmul")
		if op.Bias != "" {
			b, err := bias()
			if err != nil {
				return value{}, err
			}
			y = e.add("Add", []string{y, b}, base+"bias")
		}
		return value{name: y}, nil
	case "conv2d":
		w, err := weights(true)
		if err != nil {
			return value{}, err
		}
		inputs := []string{in, w}
		if op.Bias != "" {
			b, err := bias()
			if err != nil {
				return value{}, err
			}
			inputs = append(inputs, b)
		}
		k, s := op.Kernel, max(op.Stride, 1)
		pads := []int64{0, 0, 0, 0} // top, left, bottom, right
		if op.Padding == "same" {
			shape := e.shapes[op.Inputs[0]]
			for axis := range 2 {
				before, after := samePads(shape[axis], k, s)
				pads[axis], pads[axis+2] = before, after
			}
		}
		y := e.add("Conv", inputs, base+"conv",
			attrInts("kernel_shape", int64(k), int64(k)),
			attrInts("strides", int64(s), int64(s)),
			attrInts("pads", pads...))
		return value{name: y, nchw: true}, nil
	case "max_pool":
		w := int64(op.Window)
		y := e.add("MaxPool", []string{x.name}, base+"maxpool",
			attrInts("kernel_shape", w, w), attrInts("strides", w, w))
		return value{name: y, nchw: true}, nil
	case "global_avg_pool":
		y := e.add("GlobalAveragePool", []string{x.name}, base+"avgpool")
		y = e.add("Flatten", []string{y}, base+"flatten", attrInt("axis", 1))
		return value{name: y}, nil
	case "flatten":
		if !x.nchw {
			return x, nil // already [N, features]
		}
		if x.nhwc != "" { // NHWC as it came: no transpose there and back
			return value{name: e.add("Flatten", []string{x.nhwc}, base+"flatten", attrInt("axis", 1))}, nil
		}
		y := e.add("Transpose", []string{x.name}, base+"nhwc", attrInts("perm", 0, 2, 3, 1))
		y = e.add("Flatten", []string{y}, base+"flatten", attrInt("axis", 1))
		return value{name: y}, nil
	case "add":
		other := e.values[op.Inputs[1]]
		if other.nchw != x.nchw {
			return value{}, fmt.Errorf("adds values of different layouts")
		}
		y := e.add("Add", []string{x.name, other.name}, base+"add")
		return value{name: y, nchw: x.nchw}, nil
	}
	return value{}, fmt.Errorf("op %q is not supported by the ONNX export (supported: %s)", op.Op, strings.Join(infer.Ops, ", "))
}

// samePads splits "same" padding for one axis of size n as XLA does: the
// output is ⌈n/s⌉, the odd row or column of padding goes after.
func samePads(n, k, s int) (before, after int64) {
	out := (n + s - 1) / s
	total := max((out-1)*s+k-n, 0)
	return int64(total / 2), int64(total - total/2)
}

// SELU's constants, as GoMLX and the Lathe runtime use them.
const (
	seluAlpha = 1.67326324
	seluScale = 1.05070098
)

// activate adds op's activation after x and returns its output.
func (e *encoder) activate(op infer.Op, x string) (string, error) {
	if op.Activation == "" {
		return x, nil
	}
	if op.Op != "dense" && op.Op != "conv2d" && op.Op != "add" {
		return "", fmt.Errorf("has activation %q; only dense, conv2d and add take one", op.Activation)
	}
	base := op.Name + "/" + op.Activation
	sigmoid := func(x string) string {
		// 1 / (1 + exp(-x)): exp overflows to +Inf for x < -88, giving 0.
		y := e.add("Neg", []string{x}, base+"/neg")
		y = e.add("Exp", []string{y}, base+"/exp")
		y = e.add("Add", []string{y, e.scalar(1)}, base+"/add")
		return e.add("Div", []string{e.scalar(1), y}, base+"/div")
	}
	switch op.Activation {
	case "relu":
		return e.add("Relu", []string{x}, base), nil
	case "tanh":
		return e.add("Tanh", []string{x}, base), nil
	case "sigmoid":
		return sigmoid(x), nil
	case "swish":
		return e.add("Mul", []string{x, sigmoid(x)}, base), nil
	case "leaky_relu":
		// max(x, 0.3x), GoMLX's slope.
		y := e.add("Mul", []string{x, e.scalar(0.3)}, base+"/mul")
		return e.add("Max", []string{x, y}, base), nil
	case "gelu":
		// 0.5 · x · (1 + erf(x / √2)), the exact form.
		y := e.add("Div", []string{x, e.scalar(math.Sqrt2)}, base+"/div")
		y = e.add("Erf", []string{y}, base+"/erf")
		y = e.add("Add", []string{y, e.scalar(1)}, base+"/add")
		y = e.add("Mul", []string{x, y}, base+"/mul")
		return e.add("Mul", []string{y, e.scalar(0.5)}, base), nil
	case "selu":
		// scale · (max(x, 0) + alpha · (exp(min(x, 0)) - 1)).
		pos := e.add("Max", []string{x, e.scalar(0)}, base+"/max")
		neg := e.add("Min", []string{x, e.scalar(0)}, base+"/min")
		neg = e.add("Exp", []string{neg}, base+"/exp")
		neg = e.add("Sub", []string{neg, e.scalar(1)}, base+"/sub")
		neg = e.add("Mul", []string{neg, e.scalar(seluAlpha)}, base+"/mul_alpha")
		y := e.add("Add", []string{pos, neg}, base+"/add")
		return e.add("Mul", []string{y, e.scalar(seluScale)}, base), nil
	}
	return "", fmt.Errorf("activation %q is not supported by the ONNX export (supported: %s)", op.Activation, strings.Join(infer.Activations, ", "))
}

// scalar returns the name of a rank-0 float initializer holding v.
func (e *encoder) scalar(v float32) string {
	key := fmt.Sprintf("scalar:%08x", math.Float32bits(v))
	if name, ok := e.initOf[key]; ok {
		return name
	}
	name := e.unique("const/" + formatFloat(v))
	e.initOf[key] = name
	e.inits = append(e.inits, tensorProto(name, nil, []float32{v}))
	return name
}

func formatFloat(v float32) string {
	return strings.ReplaceAll(fmt.Sprint(v), "+", "")
}

// initializer returns the ONNX name of the tensor as an f32 initializer,
// conv2d weights transposed from [K, K, C, O] to [O, C, K, K].
func (e *encoder) initializer(tensor string, oihw bool) (string, error) {
	key := "dense:" + tensor
	if oihw {
		key = "conv:" + tensor
	}
	if name, ok := e.initOf[key]; ok {
		return name, nil
	}
	t, ok := e.tensors[tensor]
	if !ok {
		return "", fmt.Errorf("tensor %q: no such tensor", tensor)
	}
	if t.DType != infer.F32 && t.DType != infer.BF16 {
		return "", fmt.Errorf("tensor %q is %s; ONNX export writes f32 models", tensor, t.DType)
	}
	elem := 4
	if t.DType == infer.BF16 {
		elem = 2
	}
	if len(t.Data) != elem*t.Size() {
		return "", fmt.Errorf("tensor %q: %d bytes for %s %v", tensor, len(t.Data), t.DType, t.Shape)
	}
	values, err := t.Float32s()
	if err != nil {
		return "", fmt.Errorf("tensor %q: %v", tensor, err)
	}
	dims := append([]int(nil), t.Shape...)
	if oihw {
		if len(dims) != 4 {
			return "", fmt.Errorf("tensor %q: shape %v, want conv2d weights [K, K, C, O]", tensor, dims)
		}
		kh, kw, c, o := dims[0], dims[1], dims[2], dims[3]
		out := make([]float32, len(values))
		for y := range kh {
			for x := range kw {
				for ci := range c {
					for oi := range o {
						out[((oi*c+ci)*kh+y)*kw+x] = values[((y*kw+x)*c+ci)*o+oi]
					}
				}
			}
		}
		values, dims = out, []int{o, c, kh, kw}
	}
	name := e.unique(tensor)
	e.initOf[key] = name
	e.inits = append(e.inits, tensorProto(name, dims, values))
	return name, nil
}

// model encodes the ModelProto.
func (e *encoder) model() []byte {
	g := e.g
	var b []byte
	b = appendVarintField(b, modelIRVersion, irVersion)
	b = appendStringField(b, modelProducerName, "lathe")
	producer := g.Producer
	if producer == "" {
		producer = "lathe"
	}
	b = appendStringField(b, modelProducerVersion, producer)
	b = appendMessageField(b, modelGraph, e.graph())
	var opsetID []byte
	opsetID = appendStringField(opsetID, opsetDomain, "")
	opsetID = appendVarintField(opsetID, opsetVersion, opset)
	b = appendMessageField(b, modelOpsetImport, opsetID)
	if classes, err := json.Marshal(g.Classes); err == nil {
		var entry []byte
		entry = appendStringField(entry, entryKey, ClassesKey)
		entry = appendStringField(entry, entryValue, string(classes))
		b = appendMessageField(b, modelMetadataProps, entry)
	}
	return b
}

// graph encodes the GraphProto.
func (e *encoder) graph() []byte {
	g := e.g
	var b []byte
	for _, n := range e.nodes {
		b = appendMessageField(b, graphNode, n.encode())
	}
	name := g.Arch
	if name == "" {
		name = "lathe"
	}
	b = appendStringField(b, graphName, name)
	for _, t := range e.inits {
		b = appendMessageField(b, graphInitializer, t)
	}
	layout := "features"
	if len(g.Input.Shape) == 3 {
		layout = "NHWC images"
	}
	scale := ""
	if g.Input.Scale != "" {
		scale = " (" + g.Input.Scale + ")"
	}
	doc := fmt.Sprintf("A Lathe model. Input %q: float32 [batch, %s], %s of raw values%s, normalized inside as (x - %g) / %g. Output %q: float32 [batch, %d] logits, classes in order in metadata %q.",
		InputName, joinInts(g.Input.Shape), layout, scale, g.Input.Mean, g.Input.Std, OutputName, len(g.Classes), ClassesKey)
	b = appendStringField(b, graphDocString, doc)
	b = appendMessageField(b, graphInput, valueInfo(InputName, g.Input.Shape))
	b = appendMessageField(b, graphOutput, valueInfo(OutputName, []int{len(g.Classes)}))
	return b
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, d := range v {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, ", ")
}

func (n *node) encode() []byte {
	var b []byte
	for _, in := range n.inputs {
		b = appendStringField(b, nodeInput, in)
	}
	for _, out := range n.outputs {
		b = appendStringField(b, nodeOutput, out)
	}
	b = appendStringField(b, nodeName, n.outputs[0])
	b = appendStringField(b, nodeOpType, n.opType)
	for _, a := range n.attrs {
		b = appendMessageField(b, nodeAttribute, a)
	}
	return b
}

// valueInfo encodes a float tensor's ValueInfoProto of shape [batch, …dims].
func valueInfo(name string, dims []int) []byte {
	var shape []byte
	var d []byte
	d = appendStringField(d, dimParam, BatchDim)
	shape = appendMessageField(shape, shapeDim, d)
	for _, n := range dims {
		d = appendVarintField(nil, dimValue, int64(n))
		shape = appendMessageField(shape, shapeDim, d)
	}
	var tt []byte
	tt = appendVarintField(tt, tensorTypeElemType, dataTypeFloat)
	tt = appendMessageField(tt, tensorTypeShape, shape)
	var typ []byte
	typ = appendMessageField(typ, typeTensorType, tt)
	var b []byte
	b = appendStringField(b, valueInfoName, name)
	b = appendMessageField(b, valueInfoType, typ)
	return b
}

// tensorProto encodes a float TensorProto (dims nil for a scalar).
func tensorProto(name string, dims []int, values []float32) []byte {
	var b []byte
	for _, d := range dims {
		b = appendVarintField(b, tensorDims, int64(d))
	}
	b = appendVarintField(b, tensorDataType, dataTypeFloat)
	b = appendStringField(b, tensorName, name)
	raw := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	return b
}

func attrInts(name string, values ...int64) []byte {
	var b []byte
	b = appendStringField(b, attrNameField, name)
	for _, v := range values {
		b = appendVarintField(b, attrIntsField, v)
	}
	b = appendVarintField(b, attrTypeField, attrTypeInts)
	return b
}

func attrInt(name string, v int64) []byte {
	var b []byte
	b = appendStringField(b, attrNameField, name)
	b = appendVarintField(b, attrIField, v)
	b = appendVarintField(b, attrTypeField, attrTypeInt)
	return b
}

func appendVarintField(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessageField(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

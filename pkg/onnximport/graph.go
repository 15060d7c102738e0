package onnximport

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX's tensor element types this package reads.
const (
	typeFloat  = 1
	typeInt32  = 6
	typeInt64  = 7
	typeDouble = 11
)

// maxValues bounds one tensor's elements (1 GiB of float32): a corrupt
// file's dimensions must not make the import allocate without limit.
const maxValues = 1 << 28

// node is an ONNX node, copied out of its protobuf.
type node struct {
	index         int // position in the file's (topological) order
	name, op      string
	domain        string
	inputs, outs  []string
	ints          map[string][]int64 // INT and INTS attributes
	floats        map[string]float64 // FLOAT attributes
	strings       map[string]string  // STRING attributes
	tensorAttr    *tensor            // a Constant node's value
	unsupportedAt string             // why an attribute cannot be read, if one cannot
}

// label is how errors name the node: its op and name.
func (n *node) label() string {
	if n.name == "" {
		return fmt.Sprintf("%s (node %d)", n.op, n.index+1)
	}
	return fmt.Sprintf("%s %q", n.op, n.name)
}

func (n *node) int(key string, def int64) int64 {
	if v, ok := n.ints[key]; ok && len(v) == 1 {
		return v[0]
	}
	return def
}

func (n *node) float(key string, def float64) float64 {
	if v, ok := n.floats[key]; ok {
		return v
	}
	return def
}

// tensor is a constant: an initializer or a Constant node's value, as
// float64 (weights) and, for integer types, int64 too (shapes).
type tensor struct {
	dims   []int
	values []float64
	ints   []int64
}

func (t *tensor) size() int {
	n := 1
	for _, d := range t.dims {
		n *= d
	}
	return n
}

// graph is the file's graph: nodes in order, the constants, the one input
// and output, and who reads each value.
type graph struct {
	nodes     []*node
	consts    map[string]*tensor
	producer  map[string]*node
	consumers map[string][]*node
	input     string
	inputDims []int // without the batch dimension
	output    string
}

// parseGraph decodes an ONNX file's bytes: ModelProto's graph (field 7),
// and in it the nodes (1), initializers (5), inputs (11) and outputs (12).
func parseGraph(data []byte) (*graph, error) {
	model, err := fields(data)
	if err != nil {
		return nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	var graphMsg []byte
	for _, f := range model {
		if f.num == 7 && f.typ == protowire.BytesType {
			graphMsg = f.b
		}
	}
	if graphMsg == nil {
		return nil, fmt.Errorf("not an ONNX model: it holds no graph")
	}
	gf, err := fields(graphMsg)
	if err != nil {
		return nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	g := &graph{consts: map[string]*tensor{}, producer: map[string]*node{}, consumers: map[string][]*node{}}
	var inputs, outputs []valueInfo
	for _, f := range gf {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			n, err := decodeNode(f.b, len(g.nodes))
			if err != nil {
				return nil, fmt.Errorf("node %d: %v", len(g.nodes)+1, err)
			}
			g.nodes = append(g.nodes, n)
		case 5:
			tp, err := decodeTensorProto(f.b)
			if err != nil {
				return nil, fmt.Errorf("an initializer: %v", err)
			}
			t, err := tp.value()
			if err != nil {
				return nil, fmt.Errorf("initializer %q: %v", tp.name, err)
			}
			g.consts[tp.name] = t
		case 11, 12:
			vi, err := decodeValueInfo(f.b)
			if err != nil {
				return nil, fmt.Errorf("an input or output: %v", err)
			}
			if f.num == 11 {
				inputs = append(inputs, vi)
			} else {
				outputs = append(outputs, vi)
			}
		case 15:
			return nil, fmt.Errorf("the graph has sparse initializers, which this import does not read")
		}
	}
	var real []valueInfo
	for _, in := range inputs {
		if _, isConst := g.consts[in.name]; !isConst { // files before IR version 4 list initializers as inputs too
			real = append(real, in)
		}
	}
	if len(real) != 1 {
		return nil, fmt.Errorf("the graph has %d inputs: a classifier takes one", len(real))
	}
	in := real[0]
	switch {
	case !in.tensor:
		return nil, fmt.Errorf("input %q is not a tensor", in.name)
	case in.elemType != typeFloat:
		return nil, fmt.Errorf("input %q has element type %d: Lathe models take float32", in.name, in.elemType)
	case len(in.dims) != 2 && len(in.dims) != 4:
		return nil, fmt.Errorf("input %q has %d dimensions: want [batch, features] or [batch, channels, height, width]", in.name, len(in.dims))
	}
	for i, d := range in.dims[1:] {
		if d <= 0 || d > 1<<20 {
			return nil, fmt.Errorf("input %q: dimension %d is %q, not a fixed size (only the batch may vary)", in.name, i+1, dimText(d, in.dimParams[i+1]))
		}
		g.inputDims = append(g.inputDims, int(d))
	}
	g.input = in.name
	if len(outputs) != 1 {
		return nil, fmt.Errorf("the graph has %d outputs: a classifier returns one, its logits", len(outputs))
	}
	g.output = outputs[0].name
	for _, n := range g.nodes {
		for _, out := range n.outs {
			if _, dup := g.producer[out]; dup || out == g.input {
				return nil, fmt.Errorf("node %s writes value %q, which another node or the input writes", n.label(), out)
			}
			g.producer[out] = n
		}
		for _, in := range n.inputs {
			if in != "" {
				g.consumers[in] = append(g.consumers[in], n)
			}
		}
	}
	// Constant nodes are constants like initializers.
	for _, n := range g.nodes {
		if n.op == "Constant" && n.tensorAttr != nil && len(n.outs) == 1 {
			g.consts[n.outs[0]] = n.tensorAttr
		}
	}
	return g, nil
}

func dimText(v int64, param string) string {
	if param != "" {
		return param
	}
	if v < 0 {
		return "unknown"
	}
	return fmt.Sprint(v)
}

// decodeTensor reads a TensorProto's values, from raw_data (little-endian)
// or the typed fields.
func decodeTensor(dims64 []int64, dtype int32, raw []byte, f32 []float32, f64 []float64, i32 []int32, i64 []int64) (*tensor, error) {
	t := &tensor{}
	size := 1
	for _, d := range dims64 {
		if d < 0 || d > maxValues || size*int(d) > maxValues {
			return nil, fmt.Errorf("dimensions %v are out of range", dims64)
		}
		t.dims = append(t.dims, int(d))
		size *= int(d)
	}
	width := map[int32]int{typeFloat: 4, typeInt32: 4, typeInt64: 8, typeDouble: 8}[dtype]
	if width == 0 {
		return nil, fmt.Errorf("element type %d: only float32, float64, int32 and int64 tensors are read", dtype)
	}
	var count int
	switch {
	case raw != nil:
		count = len(raw) / width
		if len(raw)%width != 0 {
			count = -1
		}
	case dtype == typeFloat:
		count = len(f32)
	case dtype == typeDouble:
		count = len(f64)
	case dtype == typeInt32:
		count = len(i32)
	default:
		count = len(i64)
	}
	if count != size {
		return nil, fmt.Errorf("holds %d values for dimensions %v (%d)", max(count, 0), dims64, size)
	}
	t.values = make([]float64, size)
	if dtype == typeInt32 || dtype == typeInt64 {
		t.ints = make([]int64, size)
	}
	for i := range size {
		switch dtype {
		case typeFloat:
			if raw != nil {
				t.values[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
			} else {
				t.values[i] = float64(f32[i])
			}
		case typeDouble:
			if raw != nil {
				t.values[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			} else {
				t.values[i] = f64[i]
			}
		case typeInt32:
			if raw != nil {
				t.ints[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			} else {
				t.ints[i] = int64(i32[i])
			}
			t.values[i] = float64(t.ints[i])
		default:
			if raw != nil {
				t.ints[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			} else {
				t.ints[i] = i64[i]
			}
			t.values[i] = float64(t.ints[i])
		}
	}
	return t, nil
}

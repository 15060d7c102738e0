package onnximport

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The ONNX protobuf is decoded here, field by field, with protowire (as
// pkg/onnx encodes it): the generated types live in onnx-gomlx, whose
// package links GoMLX, and the recipe parser and the dashboard that read
// `model: {onnx: FILE}` must not. Field numbers are onnx.proto's.

// field is one field of a message: a varint or fixed value, or bytes.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// fields splits a message into its fields.
func fields(msg []byte) ([]field, error) {
	var out []field
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		msg = msg[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(msg)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(msg)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(msg)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(msg)
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
		}
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		msg = msg[n:]
		out = append(out, f)
	}
	return out, nil
}

// varints appends a repeated integer field, packed or not.
func varints(dst []int64, f field) ([]int64, error) {
	if f.typ == protowire.VarintType {
		return append(dst, int64(f.v)), nil
	}
	if f.typ != protowire.BytesType {
		return nil, fmt.Errorf("field %d: wire type %d for integers", f.num, f.typ)
	}
	for b := f.b; len(b) > 0; {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		dst, b = append(dst, int64(v)), b[n:]
	}
	return dst, nil
}

// fixed32s appends a repeated float field, packed or not.
func fixed32s(dst []float32, f field) ([]float32, error) {
	if f.typ == protowire.Fixed32Type {
		return append(dst, math.Float32frombits(uint32(f.v))), nil
	}
	if f.typ != protowire.BytesType || len(f.b)%4 != 0 {
		return nil, fmt.Errorf("field %d: not packed floats", f.num)
	}
	for b := f.b; len(b) > 0; b = b[4:] {
		v, _ := protowire.ConsumeFixed32(b)
		dst = append(dst, math.Float32frombits(v))
	}
	return dst, nil
}

// fixed64s appends a repeated double field, packed or not.
func fixed64s(dst []float64, f field) ([]float64, error) {
	if f.typ == protowire.Fixed64Type {
		return append(dst, math.Float64frombits(f.v)), nil
	}
	if f.typ != protowire.BytesType || len(f.b)%8 != 0 {
		return nil, fmt.Errorf("field %d: not packed doubles", f.num)
	}
	for b := f.b; len(b) > 0; b = b[8:] {
		v, _ := protowire.ConsumeFixed64(b)
		dst = append(dst, math.Float64frombits(v))
	}
	return dst, nil
}

// tensorProto is a TensorProto's fields this package reads.
type tensorProto struct {
	name     string
	dims     []int64
	dtype    int32
	f32      []float32
	f64      []float64
	i32, i64 []int64
	raw      []byte
	external bool
}

func decodeTensorProto(msg []byte) (tensorProto, error) {
	var t tensorProto
	fs, err := fields(msg)
	if err != nil {
		return t, err
	}
	for _, f := range fs {
		switch f.num {
		case 1:
			t.dims, err = varints(t.dims, f)
		case 2:
			t.dtype = int32(f.v)
		case 4:
			t.f32, err = fixed32s(t.f32, f)
		case 5:
			t.i32, err = varints(t.i32, f)
		case 7:
			t.i64, err = varints(t.i64, f)
		case 8:
			t.name = string(f.b)
		case 9:
			t.raw = f.b
			if t.raw == nil {
				t.raw = []byte{}
			}
		case 10:
			t.f64, err = fixed64s(t.f64, f)
		case 13:
			t.external = true
		case 14:
			t.external = t.external || f.v == 1
		}
		if err != nil {
			return t, err
		}
	}
	return t, nil
}

// value reads the tensor's values.
func (t tensorProto) value() (*tensor, error) {
	if t.external {
		return nil, fmt.Errorf("keeps its values in an external file: export the model with its weights inside (torch.onnx.export does for models under 2 GB)")
	}
	i32 := make([]int32, len(t.i32))
	for i, v := range t.i32 {
		i32[i] = int32(v)
	}
	return decodeTensor(t.dims, t.dtype, t.raw, t.f32, t.f64, i32, t.i64)
}

// valueInfo is a graph input's or output's name, element type and dims
// (a dimension without a fixed size is -1, with its parameter's name).
type valueInfo struct {
	name      string
	tensor    bool
	elemType  int64
	dims      []int64
	dimParams []string
}

func decodeValueInfo(msg []byte) (valueInfo, error) {
	var vi valueInfo
	fs, err := fields(msg)
	if err != nil {
		return vi, err
	}
	for _, f := range fs {
		switch f.num {
		case 1:
			vi.name = string(f.b)
		case 2: // TypeProto
			types, err := fields(f.b)
			if err != nil {
				return vi, err
			}
			for _, tf := range types {
				if tf.num != 1 { // tensor_type
					continue
				}
				vi.tensor = true
				tensorType, err := fields(tf.b)
				if err != nil {
					return vi, err
				}
				for _, ttf := range tensorType {
					switch ttf.num {
					case 1:
						vi.elemType = int64(ttf.v)
					case 2: // TensorShapeProto
						if err := vi.decodeShape(ttf.b); err != nil {
							return vi, err
						}
					}
				}
			}
		}
	}
	return vi, nil
}

func (vi *valueInfo) decodeShape(msg []byte) error {
	dims, err := fields(msg)
	if err != nil {
		return err
	}
	for _, d := range dims {
		if d.num != 1 {
			continue
		}
		parts, err := fields(d.b)
		if err != nil {
			return err
		}
		size, param := int64(-1), ""
		for _, p := range parts {
			switch p.num {
			case 1:
				size = int64(p.v)
			case 2:
				param = string(p.b)
			}
		}
		vi.dims = append(vi.dims, size)
		vi.dimParams = append(vi.dimParams, param)
	}
	return nil
}

// decodeNode reads a NodeProto into a node.
func decodeNode(msg []byte, index int) (*node, error) {
	fs, err := fields(msg)
	if err != nil {
		return nil, err
	}
	n := &node{index: index, ints: map[string][]int64{}, floats: map[string]float64{}, strings: map[string]string{}}
	for _, f := range fs {
		switch f.num {
		case 1:
			n.inputs = append(n.inputs, string(f.b))
		case 2:
			n.outs = append(n.outs, string(f.b))
		case 3:
			n.name = string(f.b)
		case 4:
			n.op = string(f.b)
		case 7:
			n.domain = string(f.b)
		case 5:
			if err := n.decodeAttribute(f.b); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

// decodeAttribute reads an AttributeProto: floats, ints, strings and a
// tensor (a Constant's value).
func (n *node) decodeAttribute(msg []byte) error {
	fs, err := fields(msg)
	if err != nil {
		return err
	}
	var name, str string
	var ints []int64
	var floats []float32
	var value *tensor
	var tensorErr error
	has := map[protowire.Number]bool{}
	for _, f := range fs {
		has[f.num] = true
		switch f.num {
		case 1:
			name = string(f.b)
		case 2:
			floats = append(floats, math.Float32frombits(uint32(f.v)))
		case 3, 8:
			if ints, err = varints(ints, f); err != nil {
				return err
			}
		case 4:
			str = string(f.b)
		case 5:
			t, err := decodeTensorProto(f.b)
			if err != nil {
				return err
			}
			value, tensorErr = t.value()
		case 7:
			if floats, err = fixed32s(floats, f); err != nil {
				return err
			}
		}
	}
	if has[2] && len(floats) > 0 {
		n.floats[name] = float64(floats[0])
	}
	if has[3] || has[8] {
		n.ints[name] = ints
	}
	if has[4] {
		n.strings[name] = str
	}
	if has[5] {
		if tensorErr != nil {
			n.unsupportedAt = fmt.Sprintf("attribute %s: %v", name, tensorErr)
		}
		n.tensorAttr = value
	}
	return nil
}

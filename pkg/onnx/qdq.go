package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lathe-ml/lathe/pkg/infer"
)

// An int8 layer of a Lathe model file is written in ONNX's QDQ form: its
// input clipped to the 7-bit grid Lathe quantizes activations onto, then
// QuantizeLinear and DequantizeLinear (uint8, per tensor); its int8
// weights through DequantizeLinear per output channel; its int32 bias
// through DequantizeLinear with scale InputScale·WeightScales[j]; then
// the float MatMul or Conv. The arithmetic is Lathe's runtime's, in
// float: InputScale·WeightScales[j]·(Σ (q − zero)·q_w + bias[j]). ONNX
// Runtime fuses such patterns into its integer kernels.

// ONNX TensorProto data types beyond float.
const (
	dataTypeUint8 = 2
	dataTypeInt8  = 3
	dataTypeInt32 = 6
)

// quantizedInput adds the Clip, QuantizeLinear and DequantizeLinear that
// turn x into what op's integer kernel sees.
func (e *encoder) quantizedInput(op infer.Op, x string) string {
	base := op.Name + "/"
	s, z := op.InputScale, op.InputZero
	lo, hi := float32(0-z)*s, float32(127-z)*s
	clipped := e.add("Clip", []string{x, e.scalar(lo), e.scalar(hi)}, base+"input_clip")
	scale := e.scalar(s)
	zero := e.rawInitializer(base+"input_zero", nil, dataTypeUint8, []byte{byte(z)})
	q := e.add("QuantizeLinear", []string{clipped, scale, zero}, base+"input_q")
	return e.add("DequantizeLinear", []string{q, scale, zero}, base+"input_dq")
}

// quantizedWeights adds an int8 layer's weights, dequantized per output
// channel: dense [in, out] on axis 1, conv2d [O, C, K, K] on axis 0.
func (e *encoder) quantizedWeights(op infer.Op, conv bool) (string, error) {
	t, ok := e.tensors[op.Weights]
	if !ok || t.DType != infer.I8 {
		return "", fmt.Errorf("tensor %q: want int8 weights", op.Weights)
	}
	if len(t.Data) != t.Size() {
		return "", fmt.Errorf("tensor %q: %d bytes for I8 %v", op.Weights, len(t.Data), t.Shape)
	}
	scales, err := e.weightScales(op)
	if err != nil {
		return "", err
	}
	data, dims, axis := t.Data, append([]int(nil), t.Shape...), int64(1)
	if conv {
		if len(dims) != 4 {
			return "", fmt.Errorf("tensor %q: shape %v, want conv2d weights [K, K, C, O]", op.Weights, dims)
		}
		kh, kw, c, o := dims[0], dims[1], dims[2], dims[3]
		out := make([]byte, len(data))
		for y := range kh {
			for x := range kw {
				for ci := range c {
					for oi := range o {
						out[((oi*c+ci)*kh+y)*kw+x] = data[((y*kw+x)*c+ci)*o+oi]
					}
				}
			}
		}
		data, dims, axis = out, []int{o, c, kh, kw}, 0
	}
	base := op.Name + "/"
	w := e.rawInitializer(op.Weights, dims, dataTypeInt8, data)
	scale := e.floatInitializer(base+"weight_scales", []int{len(scales)}, scales)
	zero := e.rawInitializer(base+"weight_zero", []int{len(scales)}, dataTypeInt8, make([]byte, len(scales)))
	return e.add("DequantizeLinear", []string{w, scale, zero}, base+"weights_dq", attrInt("axis", axis)), nil
}

// quantizedBias adds an int8 layer's int32 bias, dequantized with scale
// InputScale·WeightScales[j].
func (e *encoder) quantizedBias(op infer.Op) (string, error) {
	t, ok := e.tensors[op.Bias]
	if !ok || t.DType != infer.I32 || len(t.Data) != 4*t.Size() {
		return "", fmt.Errorf("tensor %q: want an int32 bias", op.Bias)
	}
	scales, err := e.weightScales(op)
	if err != nil {
		return "", err
	}
	if len(scales) != t.Size() {
		return "", fmt.Errorf("tensor %q: %d values for %d output channels", op.Bias, t.Size(), len(scales))
	}
	bscales := make([]float32, len(scales))
	for j, s := range scales {
		bscales[j] = op.InputScale * s
	}
	base := op.Name + "/"
	b := e.rawInitializer(op.Bias, []int{t.Size()}, dataTypeInt32, t.Data)
	scale := e.floatInitializer(base+"bias_scales", []int{len(bscales)}, bscales)
	zero := e.rawInitializer(base+"bias_zero", []int{len(bscales)}, dataTypeInt32, make([]byte, 4*len(bscales)))
	return e.add("DequantizeLinear", []string{b, scale, zero}, base+"bias_dq", attrInt("axis", 0)), nil
}

func (e *encoder) weightScales(op infer.Op) ([]float32, error) {
	t, ok := e.tensors[op.WeightScales]
	if !ok || t.DType != infer.F32 {
		return nil, fmt.Errorf("tensor %q: want the float32 weight scales", op.WeightScales)
	}
	return t.Float32s()
}

// rawInitializer adds an initializer of the data type with raw
// (little-endian) bytes; a nil dims is a scalar.
func (e *encoder) rawInitializer(base string, dims []int, dataType int64, raw []byte) string {
	name := e.unique(base)
	var b []byte
	for _, d := range dims {
		b = appendVarintField(b, tensorDims, int64(d))
	}
	b = appendVarintField(b, tensorDataType, dataType)
	b = appendStringField(b, tensorName, name)
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	e.inits = append(e.inits, b)
	return name
}

// floatInitializer adds a float32 initializer.
func (e *encoder) floatInitializer(base string, dims []int, values []float32) string {
	raw := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return e.rawInitializer(base, dims, dataTypeFloat, raw)
}

package infer

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// int8Layer is a quantized layer's parameters as the test draws them.
type int8Layer struct {
	w       []int8
	scales  []float32
	bias    []int32
	inScale float32
	inZero  int32
}

func newInt8Layer(r *rand.Rand, f *File, name string, shape ...int) int8Layer {
	out := shape[len(shape)-1]
	size := 1
	for _, d := range shape {
		size *= d
	}
	l := int8Layer{w: make([]int8, size), scales: make([]float32, out), bias: make([]int32, out),
		inScale: 0.01 + 0.02*float32(r.Float64()), inZero: int32(r.IntN(64))}
	data := make([]byte, size)
	for i := range l.w {
		l.w[i] = int8(r.IntN(255) - 127)
		data[i] = byte(l.w[i])
	}
	bias := make([]byte, 4*out)
	for j := range out {
		l.scales[j] = 0.001 + 0.01*float32(r.Float64())
		l.bias[j] = int32(r.IntN(4001) - 2000)
		binary.LittleEndian.PutUint32(bias[4*j:], uint32(l.bias[j]))
	}
	f.Tensors[name+"/weights"] = Tensor{DType: I8, Shape: shape, Data: data}
	f.Tensors[name+"/scales"] = F32Tensor(l.scales, out)
	f.Tensors[name+"/biases"] = Tensor{DType: I32, Shape: []int{out}, Data: bias}
	return l
}

func (l int8Layer) op(kind, name, in string) Op {
	return Op{Op: kind, Name: name, Inputs: []string{in}, Weights: name + "/weights", Bias: name + "/biases",
		WeightScales: name + "/scales", InputScale: l.inScale, InputZero: l.inZero}
}

// quantized is the spec's q − zero for one input value, in float64:
// clamp(round_half_even(x/scale) + zero, 0, 127) − zero.
func (l int8Layer) quantized(x float32) float64 {
	q := math.RoundToEven(float64(x/l.inScale)) + float64(l.inZero)
	return math.Min(127, math.Max(0, q)) - float64(l.inZero)
}

// denseRef is the layer's output for one example, from the formula.
func (l int8Layer) denseRef(x []float32, n int) []float64 {
	out := make([]float64, n)
	for j := range n {
		var s float64
		for k, v := range x {
			s += l.quantized(v) * float64(l.w[k*n+j])
		}
		out[j] = float64(l.inScale*l.scales[j]) * (s + float64(l.bias[j]))
	}
	return out
}

// convRef is a k×k "same" convolution of stride s for one NHWC example.
func (l int8Layer) convRef(x []float32, h, w, c, k, s, o int) []float64 {
	ho, wo := (h+s-1)/s, (w+s-1)/s
	top := max((ho-1)*s+k-h, 0) / 2
	left := max((wo-1)*s+k-w, 0) / 2
	out := make([]float64, ho*wo*o)
	for oy := range ho {
		for ox := range wo {
			for j := range o {
				var sum float64
				for ky := range k {
					for kx := range k {
						iy, ix := oy*s-top+ky, ox*s-left+kx
						for ci := range c {
							v := 0.0 // padding is a real 0.0, quantized to the zero point
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								v = l.quantized(x[(iy*w+ix)*c+ci])
							}
							sum += v * float64(l.w[((ky*k+kx)*c+ci)*o+j])
						}
					}
				}
				out[(oy*wo+ox)*o+j] = float64(l.inScale*l.scales[j]) * (sum + float64(l.bias[j]))
			}
		}
	}
	return out
}

func relu64(v []float64) []float64 {
	for i := range v {
		v[i] = math.Max(v[i], 0)
	}
	return v
}

func finish(t *testing.T, f *File, g *Graph) {
	t.Helper()
	for i := range g.Classes {
		g.Classes[i] = fmt.Sprint(i)
	}
	text, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f.Metadata = map[string]string{GraphKey: text}
}

// TestInt8Layers: a model of int8 layers — a strided "same" convolution
// with ReLU, a dense layer, a dense layer with a residual addition — gives
// on every kernel path the outputs the quantization formula gives, worked
// out in float64 by plain loops.
func TestInt8Layers(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const h, w, c, k, s, o = 7, 7, 2, 3, 2, 4 // conv output 4×4×4
	f := &File{Tensors: map[string]Tensor{}}
	conv := newInt8Layer(r, f, "conv", k, k, c, o)
	fc1 := newInt8Layer(r, f, "fc1", 64, 8)
	fc2 := newInt8Layer(r, f, "fc2", 8, 8)
	g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{h, w, c}, Mean: 0, Std: 1}, Classes: make([]string, 8)}
	convOp := conv.op("conv2d", "conv", InputValue)
	convOp.Kernel, convOp.Stride, convOp.Padding, convOp.Activation = k, s, "same", "relu"
	fc1Op := fc1.op("dense", "fc1", "flat")
	fc1Op.Activation = "relu"
	g.Ops = []Op{convOp, {Op: "flatten", Name: "flat", Inputs: []string{"conv"}}, fc1Op, fc2.op("dense", "fc2", "fc1"),
		{Op: "add", Name: "sum", Inputs: []string{"fc2", "fc1"}}}
	g.Output = "sum"
	finish(t, f, g)

	const n = 5
	x := make([]float32, n*h*w*c)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	x[3] = float32(math.NaN()) // quantized to the zero point
	x[4] = 1e6                 // clamped to 127
	want := make([]float64, 0, n*8)
	for e := range n {
		in := x[e*h*w*c : (e+1)*h*w*c]
		if e == 0 {
			in = append([]float32(nil), in...)
			in[3] = 0 // what NaN becomes: the zero point, 0.0
		}
		a := relu64(conv.convRef(in, h, w, c, k, s, o))
		a32 := make([]float32, len(a))
		for i, v := range a {
			a32[i] = float32(v)
		}
		b := relu64(fc1.denseRef(a32, 8))
		b32 := make([]float32, len(b))
		for i, v := range b {
			b32[i] = float32(v)
		}
		sum := fc2.denseRef(b32, 8)
		for j := range sum {
			sum[j] += b[j]
		}
		want = append(want, sum...)
	}
	onEveryKernelPath(t, f, func(kernels string, m *Model) {
		got := make([]float32, n*8)
		if err := m.Predict(x, n, got); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := math.Abs(float64(got[i])-want[i]) / math.Max(1, math.Abs(want[i])); !(d <= 1e-4) {
				t.Fatalf("%s kernels: output %d = %g, want %g", kernels, i, got[i], want[i])
			}
		}
		if allocs := testing.AllocsPerRun(20, func() { m.Predict(x, n, got) }); allocs != 0 {
			t.Errorf("%s kernels: %.1f allocations per call", kernels, allocs)
		}
	})
}

// TestBadInt8Layers: wrong quantization parameters are errors naming them.
func TestBadInt8Layers(t *testing.T) {
	cases := map[string]func(f *File, op *Op){
		"input scale 0 and zero point":        func(f *File, op *Op) { op.InputScale = 0 },
		"zero point 200":                      func(f *File, op *Op) { op.InputZero = 200 },
		`weight scales "": no such tensor`:    func(f *File, op *Op) { op.WeightScales = ""; delete(f.Tensors, "fc/scales") },
		`weight scales "fc/scales": F32 [2]`:  func(f *File, op *Op) { f.Tensors["fc/scales"] = F32Tensor([]float32{1, 1}, 2) },
		"scale 1 is -1":                       func(f *File, op *Op) { f.Tensors["fc/scales"] = F32Tensor([]float32{1, -1, 1}, 3) },
		`bias "fc/biases": F32 [3], want I32`: func(f *File, op *Op) { f.Tensors["fc/biases"] = F32Tensor([]float32{1, 1, 1}, 3) },
		"int8 weight 0 is -128":               func(f *File, op *Op) { f.Tensors["fc/weights"].Data[0] = 0x80 },
		"quantization parameters but float weights": func(f *File, op *Op) {
			f.Tensors["fc/weights"] = F32Tensor(make([]float32, 12), 4, 3)
		},
	}
	for want, spoil := range cases {
		r := rand.New(rand.NewPCG(1, 1))
		f := &File{Tensors: map[string]Tensor{}}
		l := newInt8Layer(r, f, "fc", 4, 3)
		op := l.op("dense", "fc", InputValue)
		if want == "quantization parameters but float weights" {
			f.Tensors["fc/biases"] = F32Tensor([]float32{1, 1, 1}, 3)
		}
		spoil(f, &op)
		g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{4}, Std: 1}, Classes: make([]string, 3), Ops: []Op{op}, Output: "fc"}
		finish(t, f, g)
		_, err := New(f)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

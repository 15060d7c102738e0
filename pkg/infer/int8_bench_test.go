package infer

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
)

// int8Twin turns every dense and conv2d layer of a float file into an int8
// one: weights symmetric per output channel on [-127, 127], a fixed input
// grid, biases in int32. It is the shape of what package quant writes, for
// timing; its accuracy is not the point.
func int8Twin(t testing.TB, f *File) *File {
	t.Helper()
	g, err := GraphOf(f)
	if err != nil {
		t.Fatal(err)
	}
	out := &File{Tensors: maps.Clone(f.Tensors), Metadata: maps.Clone(f.Metadata)}
	g.Ops = slices.Clone(g.Ops)
	for i := range g.Ops {
		op := &g.Ops[i]
		if op.Op != "dense" && op.Op != "conv2d" {
			continue
		}
		wt := f.Tensors[op.Weights]
		w, _ := wt.Float32s()
		n := wt.Shape[len(wt.Shape)-1]
		scales := make([]float32, n)
		for k, v := range w {
			scales[k%n] = max(scales[k%n], float32(math.Abs(float64(v)))/127)
		}
		q := make([]byte, len(w))
		for k, v := range w {
			q[k] = byte(int8(math.RoundToEven(float64(v / scales[k%n]))))
		}
		out.Tensors[op.Weights] = Tensor{DType: I8, Shape: wt.Shape, Data: q}
		op.WeightScales = op.Weights + ".scales"
		out.Tensors[op.WeightScales] = F32Tensor(scales, n)
		op.InputScale, op.InputZero = 0.05, 10
		b, _ := f.Tensors[op.Bias].Float32s()
		bias := make([]byte, 4*n)
		for j, v := range b {
			binary.LittleEndian.PutUint32(bias[4*j:], uint32(int32(math.RoundToEven(float64(v/(op.InputScale*scales[j]))))))
		}
		out.Tensors[op.Bias] = Tensor{DType: I32, Shape: []int{n}, Data: bias}
	}
	out.Metadata[GraphKey], _ = g.Marshal()
	return out
}

// BenchmarkInt8VsF32 times the f32 and int8 runtime on the same models,
// the MLP 784-256-256-256-10 and LeNet-5, at batch 1 and 64: the ratio of
// the two lines is the int8 speed-up.
func BenchmarkInt8VsF32(b *testing.B) {
	for _, model := range []struct {
		name string
		file *File
	}{{"mlp", mlpFile(b, 784, 256, 256, 256, 10)}, {"lenet", lenetFile(b, 6, 16)}} {
		for _, kind := range []string{"f32", "int8"} {
			f := model.file
			if kind == "int8" {
				f = int8Twin(b, f)
			}
			m, err := New(f)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{1, 64} {
				b.Run(fmt.Sprintf("%s/%s/batch%d/%s", model.name, kind, n, m.Kernels()), func(b *testing.B) {
					x, out := make([]float32, n*784), make([]float32, n*10)
					for i := range x {
						x[i] = float32(i%29) / 29
					}
					_ = m.Predict(x, n, out)
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if err := m.Predict(x, n, out); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

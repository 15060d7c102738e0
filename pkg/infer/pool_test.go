package infer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// maxPoolRef is floor-mode max pooling of one HWC example in float64 by
// plain loops, a NaN anywhere in a window giving NaN.
func maxPoolRef(x []float64, h, w, c, k int) []float64 {
	ho, wo := h/k, w/k
	out := make([]float64, 0, ho*wo*c)
	for oy := range ho {
		for ox := range wo {
			for ch := range c {
				m := math.Inf(-1)
				for ky := range k {
					for kx := range k {
						v := x[((oy*k+ky)*w+ox*k+kx)*c+ch]
						if math.IsNaN(v) || math.IsNaN(m) {
							m = math.NaN()
						} else {
							m = math.Max(m, v)
						}
					}
				}
				out = append(out, m)
			}
		}
	}
	return out
}

// TestMaxPool: the float max pooling, on every kernel path, equals the
// loops for windows of 2 and 3 over odd and even sizes and 1, 6 and 16
// channels (fewer than a vector, and more), NaN and ±Inf included.
func TestMaxPool(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	defer Use("auto")
	for _, kernels := range Available() {
		if err := Use(kernels); err != nil {
			t.Fatal(err)
		}
		for _, dims := range [][4]int{{4, 4, 1, 2}, {7, 9, 6, 2}, {9, 7, 16, 3}, {12, 12, 6, 2}, {5, 11, 3, 3}} {
			h, w, c, k := dims[0], dims[1], dims[2], dims[3]
			g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{h, w, c}, Mean: 0, Std: 1},
				Ops:    []Op{{Op: "max_pool", Name: "pool", Inputs: []string{InputValue}, Window: k}, {Op: "flatten", Name: "flat", Inputs: []string{"pool"}}},
				Output: "flat", Classes: make([]string, (h/k)*(w/k)*c)}
			f := &File{Tensors: map[string]Tensor{}}
			finish(t, f, g)
			m, err := New(f)
			if err != nil {
				t.Fatal(err)
			}
			const n = 3
			x := make([]float32, n*h*w*c)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			x[5], x[h*w*c+7], x[2*h*w*c+1] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
			got := make([]float32, n*len(g.Classes))
			if err := m.Predict(x, n, got); err != nil {
				t.Fatal(err)
			}
			for e := range n {
				in := make([]float64, h*w*c)
				for i := range in {
					in[i] = float64(x[e*h*w*c+i])
				}
				for i, want := range maxPoolRef(in, h, w, c, k) {
					v := float64(got[e*len(g.Classes)+i])
					if v != want && !(math.IsNaN(v) && math.IsNaN(want)) {
						t.Fatalf("%s kernels, %d×%d×%d window %d, example %d: output %d = %g, want %g", kernels, h, w, c, k, e, i, v, want)
					}
				}
			}
		}
	}
}

// TestInt8ConvPool: an int8 convolution followed by max pooling (fused:
// the convolution pools its rows as it requantizes them) gives on every
// kernel path what the quantization formula and the pooling loops give —
// for outputs of 6 channels, which share GEMM rows two or more pixels at
// a time where the width allows, and 16; even and odd widths; windows 2
// and 3 — and Trace shows the pooled value under the pooling's name.
func TestInt8ConvPool(t *testing.T) {
	// ReLU and none pool the integer sums before requantizing; GELU (not
	// monotonic) requantizes each row first.
	acts := map[string]func(float64) float64{
		"relu": func(x float64) float64 { return max(x, 0) },
		"":     func(x float64) float64 { return x },
		"gelu": func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
	}
	for _, dims := range [][5]int{{12, 12, 1, 6, 2}, {11, 11, 1, 6, 2}, {9, 10, 3, 16, 3}, {8, 8, 2, 4, 2}} {
		for act, actFn := range acts {
			h, w, c, o, window := dims[0], dims[1], dims[2], dims[3], dims[4]
			t.Run(fmt.Sprintf("%dx%dx%d-%d-pool%d-%s", h, w, c, o, window, act), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(h), uint64(o)))
				const k = 5
				f := &File{Tensors: map[string]Tensor{}}
				conv := newInt8Layer(r, f, "conv", k, k, c, o)
				convOp := conv.op("conv2d", "conv", InputValue)
				convOp.Kernel, convOp.Padding, convOp.Activation = k, "same", act
				classes := (h / window) * (w / window) * o
				g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{h, w, c}, Mean: 0, Std: 1},
					Ops: []Op{convOp, {Op: "max_pool", Name: "pool", Inputs: []string{"conv"}, Window: window},
						{Op: "flatten", Name: "flat", Inputs: []string{"pool"}}},
					Output: "flat", Classes: make([]string, classes)}
				finish(t, f, g)
				const n = 3
				x := make([]float32, n*h*w*c)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				var want []float64
				for e := range n {
					a := conv.convRef(x[e*h*w*c:(e+1)*h*w*c], h, w, c, k, 1, o)
					for i := range a {
						a[i] = actFn(a[i])
					}
					want = append(want, maxPoolRef(a, h, w, o, window)...)
				}
				onEveryKernelPath(t, f, func(kernels string, m *Model) {
					got := make([]float32, n*classes)
					var traced []string
					if err := m.Trace(x, n, got, func(value string, _ []float32) { traced = append(traced, value) }); err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if d := math.Abs(float64(got[i])-want[i]) / math.Max(1, math.Abs(want[i])); !(d <= 1e-4) {
							t.Fatalf("%s kernels: output %d = %g, want %g", kernels, i, got[i], want[i])
						}
					}
					if fmt.Sprint(traced) != "[input pool flat]" {
						t.Errorf("%s kernels: Trace visits %v, want [input pool flat]", kernels, traced)
					}
				})
			})
		}
	}
}

// onEveryKernelPath calls check with the file's model planned on each
// kernel path this CPU has (AVX-512, AVX2, portable Go), then goes back to
// choosing automatically.
func onEveryKernelPath(t *testing.T, f *File, check func(kernels string, m *Model)) {
	t.Helper()
	defer Use("auto")
	for _, kernels := range Available() {
		if err := Use(kernels); err != nil {
			t.Fatal(err)
		}
		m, err := New(f)
		if err != nil {
			t.Fatal(err)
		}
		check(kernels, m)
	}
}

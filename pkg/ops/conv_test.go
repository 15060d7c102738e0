package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/backends/xla"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

var convCases = []struct {
	h, w, c, kh, kw, o int
	cfg                ConvConfig
}{
	{6, 6, 1, 3, 3, 2, ConvConfig{Stride: 1, Padding: Same}},
	{6, 6, 1, 3, 3, 2, ConvConfig{Stride: 1, Padding: Valid}},
	{7, 5, 3, 3, 3, 4, ConvConfig{Stride: 2, Padding: Same}},
	{7, 5, 3, 3, 3, 4, ConvConfig{Stride: 2, Padding: Valid}},
	{8, 8, 2, 5, 5, 3, ConvConfig{Stride: 1, Padding: Same}},
	{8, 8, 4, 1, 1, 5, ConvConfig{Stride: 2, Padding: Same}},
	{6, 6, 2, 4, 4, 2, ConvConfig{Stride: 2, Padding: Same}}, // even kernel: asymmetric padding
	{8, 8, 3, 3, 3, 4, ConvConfig{Stride: 2, Padding: Same}}, // even size, stride 2: all padding after (GoMLX's PadSame puts one before)
}

func (cfg ConvConfig) String() string {
	p := "valid"
	if cfg.Padding == Same {
		p = "same"
	}
	return fmt.Sprintf("stride %d %s", cfg.Stride, p)
}

// convLoss runs L = Σ conv(x, k)⊙r and, when grads, its gradients, on the
// simplego backend or, with onCompute, on compute's (package gocompute).
func convLoss(path Path, x, k, r *tensors.Tensor, cfg ConvConfig, grads bool, onCompute ...bool) []*tensors.Tensor {
	b := goBackend()
	if len(onCompute) > 0 && onCompute[0] {
		b = computeBackend()
		x, k, r = fresh(x), fresh(k), fresh(r)
	}
	exec := graph.MustNewExec(b, func(x, k, r *graph.Node) []*graph.Node {
		y := Conv2D(path, x, k, cfg)
		loss := graph.ReduceAllSum(graph.Mul(y, r))
		out := []*graph.Node{y, loss}
		if grads {
			out = append(out, graph.Gradient(loss, x, k)...)
		}
		return out
	})
	return exec.MustExec(x, k, r)
}

// TestConvPortableMatchesNative: on the pure-Go backend the native
// convolution's forward pass works, so the portable one must equal it. Both
// native gradients need Reverse there, so the portable gradients are checked
// against central finite differences in float64 (the loss is linear in x and
// in k, so differences are exact up to rounding). compute's Go backend
// differentiates the native form (its direct convolution kernels): its
// forward pass and gradients are held to the same references.
func TestConvPortableMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, c := range convCases {
		name := fmt.Sprintf("%dx%dx%d k%dx%d→%d %s", c.h, c.w, c.c, c.kh, c.kw, c.o, c.cfg)
		t.Run(name, func(t *testing.T) {
			x := randomTensor(rng, 2, c.h, c.w, c.c)
			k := randomTensor(rng, c.kh, c.kw, c.c, c.o)
			ho, _ := c.cfg.outputSize(c.h, c.kh)
			wo, _ := c.cfg.outputSize(c.w, c.kw)
			r := randomTensor(rng, 2, ho, wo, c.o)

			got := convLoss(Portable, x, k, r, c.cfg, true)
			native := convLoss(Native, x, k, r, c.cfg, false)
			assertClose(t, "forward", flat(got[0]), flat(native[0]), 1e-5)
			dx, dk := finiteDifferenceGrads(x, k, r, c.cfg)
			assertClose(t, "input gradient", flat(got[2]), dx, 1e-5)
			assertClose(t, "kernel gradient", flat(got[3]), dk, 1e-5)
			onCompute := convLoss(Native, x, k, r, c.cfg, true, true)
			assertClose(t, "forward on compute", flat(onCompute[0]), flat(native[0]), 1e-5)
			assertClose(t, "input gradient on compute", flat(onCompute[2]), dx, 1e-5)
			assertClose(t, "kernel gradient on compute", flat(onCompute[3]), dk, 1e-5)
		})
	}
}

// finiteDifferenceGrads estimates dL/dx and dL/dk by central differences in float64.
func finiteDifferenceGrads(x, k, r *tensors.Tensor, cfg ConvConfig) (dx, dk []float32) {
	exec := graph.MustNewExec(goBackend(), func(x, k, r *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Mul(Conv2D(Portable, x, k, cfg), r))
	})
	xData, kData, rs := tensors.MustCopyFlatData[float64](to64(x)), tensors.MustCopyFlatData[float64](to64(k)), to64(r)
	loss := func() float64 {
		xt := tensors.FromFlatDataAndDimensions(xData, x.Shape().Dimensions...)
		kt := tensors.FromFlatDataAndDimensions(kData, k.Shape().Dimensions...)
		return exec.MustExec(xt, kt, rs)[0].Value().(float64)
	}
	differentiate := func(data []float64) []float32 {
		const h = 1e-3
		grad := make([]float32, len(data))
		for i := range data {
			orig := data[i]
			data[i] = orig + h
			up := loss()
			data[i] = orig - h
			down := loss()
			data[i] = orig
			grad[i] = float32((up - down) / (2 * h))
		}
		return grad
	}
	return differentiate(xData), differentiate(kData)
}

// fresh copies t to a tensor no backend has seen: one that went to a
// backend's device cannot be fed to another backend.
func fresh(t *tensors.Tensor) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(flat(t), t.Shape().Dimensions...)
}

func to64(t *tensors.Tensor) *tensors.Tensor {
	f := flat(t)
	d := make([]float64, len(f))
	for i, v := range f {
		d[i] = float64(v)
	}
	return tensors.FromFlatDataAndDimensions(d, t.Shape().Dimensions...)
}

func TestMaxPoolPortableMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	for _, c := range []struct{ h, w, window int }{{4, 4, 2}, {6, 9, 3}, {7, 5, 2}} {
		t.Run(fmt.Sprintf("%dx%d window %d", c.h, c.w, c.window), func(t *testing.T) {
			x := randomTensor(rng, 2, c.h, c.w, 3)
			r := randomTensor(rng, 2, c.h/c.window, c.w/c.window, 3)
			run := func(path Path, grad bool, onCompute ...bool) []*tensors.Tensor {
				b, x, r := goBackend(), x, r
				if len(onCompute) > 0 {
					b, x, r = computeBackend(), fresh(x), fresh(r)
				}
				return graph.MustNewExec(b, func(x, r *graph.Node) []*graph.Node {
					y := MaxPool2D(path, x, c.window)
					out := []*graph.Node{y}
					if grad {
						out = append(out, graph.Gradient(graph.ReduceAllSum(graph.Mul(y, r)), x)[0])
					}
					return out
				}).MustExec(x, r)
			}
			got, native := run(Portable, true), run(Native, false)
			assertClose(t, "forward", flat(got[0]), flat(native[0]), 0)
			// The gradient of a max routes each upstream value to the tile's
			// largest input (values are distinct random floats, so no ties).
			want := make([]float32, len(flat(x)))
			xs, rs := flat(x), flat(r)
			ho, wo := c.h/c.window, c.w/c.window
			for n := 0; n < 2; n++ {
				for oy := 0; oy < ho; oy++ {
					for ox := 0; ox < wo; ox++ {
						for ch := 0; ch < 3; ch++ {
							best := -1
							for dy := 0; dy < c.window; dy++ {
								for dx := 0; dx < c.window; dx++ {
									i := ((n*c.h+oy*c.window+dy)*c.w+ox*c.window+dx)*3 + ch
									if best < 0 || xs[i] > xs[best] {
										best = i
									}
								}
							}
							want[best] += rs[((n*ho+oy)*wo+ox)*3+ch]
						}
					}
				}
			}
			assertClose(t, "gradient", flat(got[1]), want, 1e-6)
			onCompute := run(Native, true, true) // ReduceWindow and SelectAndScatterMax
			assertClose(t, "forward on compute", flat(onCompute[0]), flat(native[0]), 0)
			assertClose(t, "gradient on compute", flat(onCompute[1]), want, 1e-6)
		})
	}
}

// TestChoosePath: native on XLA (its capabilities include Reverse and
// SelectAndScatterMax), portable on the pure-Go backend.
func TestChoosePath(t *testing.T) {
	if p := ChoosePath(simplego.Capabilities); p != Portable {
		t.Errorf("pure-Go backend: %s, want portable", p)
	}
	if p := ChoosePath(xla.Capabilities); p != Native {
		t.Errorf("XLA backend: %s, want native", p)
	}
	if p := ChoosePath(goBackend().Capabilities()); p != Portable {
		t.Errorf("opened pure-Go backend: %s, want portable", p)
	}
	if p := ChoosePath(computeBackend().Capabilities()); p != Native {
		t.Errorf("compute's Go backend: %s, want native", p)
	}
}

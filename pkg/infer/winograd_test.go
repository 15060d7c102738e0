package infer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The transforms as Lavin & Gray write them, in float64.
var (
	winoBT = [4][4]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	winoAT = [2][4]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
)

func closeEnough(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 1e-5*(1+math.Abs(want))
}

// TestWinogradTransformsMatchTheFormulas: each kernel set's transforms
// compute Bᵀ·d·B and Aᵀ·m·A (+ bias, + residual, ReLU) as the matrices of
// the paper do, channel by channel, against float64 products of the
// matrices themselves.
func TestWinogradTransformsMatchTheFormulas(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const c = 48 // three blocks of 16
	for _, ks := range kernelSets(t) {
		if ks.winoInput == nil {
			continue
		}
		// Input: a 4×4 tile of c channels inside a 6-pixel-wide image.
		const wp = 6
		img := randomFloats(r, 4*wp*c)
		v := make([]float32, 16*c)
		ks.winoInput(&img[0], 4*wp*c, 4*c, &v[0], 4*c, c/16)
		for ch := 0; ch < c; ch++ {
			for i := 0; i < 4; i++ {
				for j := 0; j < 4; j++ {
					var want float64 // Σ Bᵀ[i][a]·d[a][b]·Bᵀ[j][b]
					for a := 0; a < 4; a++ {
						for b := 0; b < 4; b++ {
							want += winoBT[i][a] * float64(img[(a*wp+b)*c+ch]) * winoBT[j][b]
						}
					}
					if got := v[(i*4+j)*c+ch]; !closeEnough(got, want) {
						t.Fatalf("%s input: channel %d, V[%d][%d] = %g, want %g", ks.name, ch, i, j, got, want)
					}
				}
			}
		}
		// Output: sixteen products of c channels, into a 2×2 tile of a
		// 3-pixel-wide output, with and without residual and ReLU.
		m := randomFloats(r, 16*c)
		bias, res := randomFloats(r, c), randomFloats(r, 2*3*c)
		for _, flags := range []int{0, flagRelu, flagAccumulate, flagRelu | flagAccumulate} {
			out := make([]float32, 2*3*c)
			ks.winoOutput(&m[0], 4*c, &bias[0], &res[0], &out[0], 4*3*c, 4*c, c/16, flags)
			for ch := 0; ch < c; ch++ {
				for i := 0; i < 2; i++ {
					for j := 0; j < 2; j++ {
						want := float64(bias[ch])
						for a := 0; a < 4; a++ {
							for b := 0; b < 4; b++ {
								want += winoAT[i][a] * float64(m[(a*4+b)*c+ch]) * winoAT[j][b]
							}
						}
						at := (i*3+j)*c + ch
						if flags&flagAccumulate != 0 {
							want += float64(res[at])
						}
						if flags&flagRelu != 0 {
							want = max(want, 0)
						}
						if got := out[at]; !closeEnough(got, want) {
							t.Fatalf("%s output, flags %d: channel %d, Y[%d][%d] = %g, want %g", ks.name, flags, ch, i, j, got, want)
						}
					}
				}
				if out[(0*3+2)*c+ch] != 0 || out[(1*3+2)*c+ch] != 0 {
					t.Fatalf("%s output wrote outside its 2×2 tile", ks.name)
				}
			}
		}
	}
}

// convRef is a 3×3, stride-1, zero-padded convolution of one HWC example
// in float64, the textbook loops.
func convRef(x []float32, h, w, c int, wt []float32, bias []float32, n int) []float64 {
	out := make([]float64, h*w*n)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			for o := 0; o < n; o++ {
				s := float64(bias[o])
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						iy, ix := y+ky-1, xx+kx-1
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						for ci := 0; ci < c; ci++ {
							s += float64(x[(iy*w+ix)*c+ci]) * float64(wt[((ky*3+kx)*c+ci)*n+o])
						}
					}
				}
				out[(y*w+xx)*n+o] = s
			}
		}
	}
	return out
}

// TestWinogradConvolutions: a 3×3 "same" convolution the planner runs as
// Winograd's (16 and 48 outputs, the latter a ragged panel; odd sizes,
// whose last tiles hang over the edge; with a residual addition and ReLU
// fused) gives the float64 direct convolution's outputs within 1e-4, at
// batch sizes that run layer by layer and in chunks; 8 channels stay
// direct and agree too. Filters too big for the cache (144 by 128
// channels) run as Winograd's on 64 tiles (16×16) and directly on 16
// (8×8).
func TestWinogradConvolutions(t *testing.T) {
	for _, sh := range []struct {
		h, w, c, n int
		winograd   bool
	}{{8, 8, 16, 16, true}, {6, 10, 32, 48, true}, {4, 4, 16, 64, true}, {7, 7, 16, 16, true}, {5, 6, 32, 16, true}, {8, 8, 8, 16, false},
		{16, 16, 144, 128, true}, {8, 8, 144, 128, true}} {
		for _, residual := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%dx%d-%d-residual=%v", sh.h, sh.w, sh.c, sh.n, residual), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(sh.h*sh.c), uint64(sh.n)))
				f := &File{Tensors: map[string]Tensor{}, Metadata: map[string]string{}}
				wt, bias := randomFloats(r, 9*sh.c*sh.n), randomFloats(r, sh.n)
				f.Tensors["w"], f.Tensors["b"] = F32Tensor(wt, 3, 3, sh.c, sh.n), F32Tensor(bias, sh.n)
				// The residual: the input itself, widened by a 1×1 convolution of
				// identity weights when the widths differ.
				ops := []Op{{Op: "conv2d", Name: "conv", Inputs: []string{InputValue}, Weights: "w", Bias: "b", Kernel: 3, Padding: "same", Activation: "relu"}}
				if residual {
					eye := make([]float32, sh.c*sh.n)
					for i := 0; i < min(sh.c, sh.n); i++ {
						eye[i*sh.n+i] = 1
					}
					f.Tensors["eye"] = F32Tensor(eye, 1, 1, sh.c, sh.n)
					ops[0].Activation = ""
					ops = append(ops, Op{Op: "conv2d", Name: "wide", Inputs: []string{InputValue}, Weights: "eye", Kernel: 1, Padding: "same"},
						Op{Op: "add", Name: "sum", Inputs: []string{"conv", "wide"}, Activation: "relu"})
				}
				last := ops[len(ops)-1].Name
				ops = append(ops, Op{Op: "flatten", Name: "flat", Inputs: []string{last}})
				g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{sh.h, sh.w, sh.c}, Std: 1},
					Ops: ops, Output: "flat", Classes: make([]string, sh.h*sh.w*sh.n)}
				f.Metadata[GraphKey], _ = g.Marshal()
				// Inputs and their float64 outputs, once for every kernel set.
				size := sh.h * sh.w * sh.c
				batches := []int{1, 5}
				xs, wants := map[int][]float32{}, map[int][]float64{}
				for _, n := range batches {
					xs[n] = randomFloats(r, n*size)
					for e := 0; e < n; e++ {
						want := convRef(xs[n][e*size:(e+1)*size], sh.h, sh.w, sh.c, wt, bias, sh.n)
						for i, v := range want {
							if pix, o := i/sh.n, i%sh.n; residual && o < sh.c {
								v += float64(xs[n][e*size+pix*sh.c+o])
							}
							want[i] = max(v, 0)
						}
						wants[n] = append(wants[n], want...)
					}
				}
				onEveryKernelPath(t, f, func(kernels string, m *Model) {
					winos := 0
					for _, s := range m.steps {
						if _, ok := s.(*winogradStep); ok {
							winos++
						}
					}
					if want := sh.winograd && m.kern.winoInput != nil; (winos == 1) != want {
						t.Fatalf("%s kernels: %d Winograd steps, want Winograd %v", kernels, winos, want)
					}
					for _, n := range batches {
						got := make([]float32, n*m.Classes())
						if err := m.Predict(xs[n], n, got); err != nil {
							t.Fatal(err)
						}
						for i, v := range wants[n] {
							if d := math.Abs(float64(got[i]) - v); d > 1e-4*(1+math.Abs(v)) {
								t.Fatalf("%s kernels, batch %d: output %d = %g, want %g", kernels, n, i, got[i], v)
							}
						}
					}
				})
			})
		}
	}
}

// TestPaths: Paths names each dense and convolution layer with the path
// the planner gave it (by hand for a model of one of each), and nothing
// else (poolings, flattens).
func TestPaths(t *testing.T) {
	m, err := New(lenetFile(t, 6, 16))
	if err != nil {
		t.Fatal(err)
	}
	conv := "direct" // patches read in place, where the kernel set can
	if m.kern.wide.implicit == nil {
		conv = "im2col"
	}
	want := "conv1 " + conv + ", conv2 " + conv + ", fc1 dense, fc2 dense, logits dense"
	if got := FormatPaths(m.Paths()); got != want {
		t.Errorf("paths %q, want %q", got, want)
	}
	q, err := New(int8Twin(t, lenetFile(t, 6, 16)))
	if err != nil {
		t.Fatal(err)
	}
	// The int8 convolutions write their fused poolings.
	if got, want := FormatPaths(q.Paths()), "pool1 int8, pool2 int8, fc1 int8, fc2 int8, logits int8"; got != want {
		t.Errorf("int8 paths %q, want %q", got, want)
	}
}

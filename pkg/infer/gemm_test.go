package infer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGEMM is the textbook triple loop, in float64: the reference the
// kernels are held to.
func naiveGEMM(a []float32, m, k int, w []float32, n int, bias []float32, accumulate []float32, relu bool) []float32 {
	out := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := float64(bias[j])
			if accumulate != nil {
				s += float64(accumulate[i*n+j])
			}
			for kk := 0; kk < k; kk++ {
				s += float64(a[i*k+kk]) * float64(w[kk*n+j])
			}
			if relu && s < 0 {
				s = 0
			}
			out[i*n+j] = float32(s)
		}
	}
	return out
}

func randomFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// kernelSets is every kernel set this machine runs, the portable one included.
func kernelSets(t testing.TB) []*kernels {
	var out []*kernels
	for _, name := range Available() {
		k, err := lookupKernels(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

func TestKernelsMatchNaiveGEMM(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, ks := range kernelSets(t) {
		for _, dims := range [][3]int{{1, 1, 1}, {1, 784, 256}, {3, 5, 7}, {8, 25, 16}, {9, 33, 33}, {17, 150, 31}, {64, 256, 10}, {13, 1, 65}} {
			for _, flags := range []int{0, flagRelu, flagAccumulate, flagRelu | flagAccumulate} {
				m, k, n := dims[0], dims[1], dims[2]
				name := fmt.Sprintf("%s/%dx%dx%d/flags%d", ks.name, m, k, n, flags)
				a, w, bias := randomFloats(r, m*k), randomFloats(r, k*n), randomFloats(r, n)
				c := randomFloats(r, m*n)
				var acc []float32
				if flags&flagAccumulate != 0 {
					acc = append([]float32(nil), c...)
				}
				want := naiveGEMM(a, m, k, w, n, bias, acc, flags&flagRelu != 0)
				f := ks.familyFor(n)
				p := pack(w, k, n, bias, f.nr)
				f.gemmRows(a, k, p, c, n, 0, m, 0, p.count(), flags, make([]float32, f.mr*f.nr))
				for i := range want {
					if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%s: element %d = %g, want %g", name, i, c[i], want[i])
					}
				}
			}
		}
	}
}

// A NaN in the input reaches the output, through the ReLU too (GoMLX's
// Max passes NaN).
func TestKernelsPassNaN(t *testing.T) {
	for _, ks := range kernelSets(t) {
		k, n := 3, ks.wide.nr
		a := []float32{1, float32(math.NaN()), 2}
		w := make([]float32, k*n)
		for i := range w {
			w[i] = 1
		}
		c := make([]float32, n)
		f := ks.familyFor(n)
		p := pack(w, k, n, nil, f.nr)
		f.gemmRows(a, k, p, c, n, 0, 1, 0, p.count(), flagRelu, make([]float32, f.mr*f.nr))
		for j, v := range c {
			if !math.IsNaN(float64(v)) {
				t.Fatalf("%s: column %d = %g, want NaN", ks.name, j, v)
			}
		}
	}
}

// TestMaxIntIsExact: every kernel set's int32 maximum (an int8
// convolution's pooled sums) is Go's max, for every length around a
// vector, the extremes included.
func TestMaxIntIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, ks := range kernelSets(t) {
		for _, n := range []int{0, 1, 7, 8, 9, 31, 100} {
			a, b, dst := make([]int32, n), make([]int32, n), make([]int32, n)
			for i := range a {
				a[i], b[i] = int32(r.Uint32()), int32(r.Uint32())
			}
			if n > 3 {
				a[0], b[0], a[1], b[1] = math.MinInt32, math.MaxInt32, -1, 0
			}
			ks.maxInt(dst, a, b)
			for i := range a {
				if want := max(a[i], b[i]); dst[i] != want {
					t.Fatalf("%s, n %d: max(%d, %d) = %d, want %d", ks.name, n, a[i], b[i], dst[i], want)
				}
			}
			ks.maxInt(a, a, b) // in place
			for i := range a {
				if a[i] != dst[i] {
					t.Fatalf("%s, n %d: in place, [%d] = %d, want %d", ks.name, n, i, a[i], dst[i])
				}
			}
		}
	}
}

// TestNormalizeIsExact: every kernel set's input normalization rounds as
// float32 (x − mean)·(1/std) does, a subtraction then a product, for
// every length around a vector and for NaN and ±Inf.
func TestNormalizeIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const mean, std = float32(0.13075852), float32(0.30822396)
	inv := 1 / std
	for _, ks := range kernelSets(t) {
		for _, n := range []int{0, 1, 7, 8, 9, 31, 784} {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(r.Float64())
			}
			if n > 3 {
				src[0], src[1], src[2] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
			}
			dst := make([]float32, n)
			ks.normalize(dst, src, mean, inv)
			for i, x := range src {
				d := x - mean
				want := d * inv
				if math.Float32bits(dst[i]) != math.Float32bits(want) && !(want != want && dst[i] != dst[i]) {
					t.Fatalf("%s, n %d: normalize(%g) = %g, want %g", ks.name, n, x, dst[i], want)
				}
			}
		}
	}
}

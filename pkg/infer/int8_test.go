package infer

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// naiveInt8GEMM is the textbook triple loop in int64, the reference the
// integer kernels must equal exactly.
func naiveInt8GEMM(a []uint8, m, k int, w []int8, n int) []int64 {
	out := make([]int64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int64
			for kk := 0; kk < k; kk++ {
				s += int64(a[i*k+kk]) * int64(w[kk*n+j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

// runInt8 multiplies with a family: A copied into rows padded to 4·k4
// (zeros after k), as the kernels' contract asks, into C rows of n values
// and 3 more, which must keep their canary (a panel past the layer's last
// column stores only the columns there are).
func runInt8(t *testing.T, f *int8Family, a []uint8, m, k int, w []int8, n int) []int32 {
	t.Helper()
	const canary, gap = -7777, 3
	p := packInt8(w, k, n, f.nr)
	lda := 4 * p.k4
	padded := make([]uint8, m*lda)
	for i := 0; i < m; i++ {
		copy(padded[i*lda:i*lda+k], a[i*k:(i+1)*k])
	}
	ldc := n + gap
	c := make([]int32, m*ldc)
	for i := range c {
		c[i] = canary
	}
	f.gemm(padded, lda, m, p, c, ldc)
	out := make([]int32, m*n)
	for i := 0; i < m; i++ {
		copy(out[i*n:], c[i*ldc:i*ldc+n])
		for j := n; j < ldc; j++ {
			if c[i*ldc+j] != canary {
				t.Fatalf("nr %d, %d×%d×%d: C[%d][%d] past the last column was written (%d)", f.nr, m, k, n, i, j, c[i*ldc+j])
			}
		}
	}
	return out
}

// TestInt8KernelsAreExact: every integer kernel this machine runs, and the
// portable one, equals the int64 triple loop on random and on extreme
// values (127 against ±127, where an int16 pair sum is closest to
// saturating), for ragged shapes on every edge.
func TestInt8KernelsAreExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, ks := range kernelSets(t) {
		for _, dims := range [][3]int{{1, 1, 1}, {1, 784, 256}, {3, 5, 7}, {8, 25, 16}, {9, 33, 33}, {17, 150, 31}, {64, 256, 10}, {13, 3, 65}, {5, 4, 32}} {
			m, k, n := dims[0], dims[1], dims[2]
			for _, f := range []*int8Family{ks.int8.wide, ks.int8.narrow} {
				for _, fill := range []string{"random", "extreme"} {
					a, w := make([]uint8, m*k), make([]int8, k*n)
					for i := range a {
						a[i] = uint8(r.IntN(128))
						if fill == "extreme" {
							a[i] = 127
						}
					}
					for i := range w {
						w[i] = int8(r.IntN(255) - 127)
						if fill == "extreme" {
							w[i] = int8(127 - 254*(i%2)) // +127, -127, …
						}
					}
					got, want := runInt8(t, f, a, m, k, w, n), naiveInt8GEMM(a, m, k, w, n)
					for i := range want {
						if int64(got[i]) != want[i] {
							t.Fatalf("%s nr %d %s %dx%dx%d: C[%d] = %d, want %d", ks.int8.name, f.nr, fill, m, k, n, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestPackInt8ColumnSums: the column sums (for the zero point) by hand.
func TestPackInt8ColumnSums(t *testing.T) {
	// w = [[1, -2], [3, 4], [-5, 6]]: columns sum to -1 and 8.
	p := packInt8([]int8{1, -2, 3, 4, -5, 6}, 3, 2, 16)
	if p.colSum[0] != -1 || p.colSum[1] != 8 || p.k4 != 1 || len(p.panels) != 1*1*16*4 {
		t.Errorf("column sums %v, k4 %d, %d packed bytes", p.colSum, p.k4, len(p.panels))
	}
}

// BenchmarkInt8GEMM times the integer GEMM against the f32 one on the same
// kernel set and shape (batch 64 through a 784→256 layer), in one process.
func BenchmarkInt8GEMM(b *testing.B) {
	const m, k, n = 64, 784, 256
	r := rand.New(rand.NewPCG(7, 8))
	for _, ks := range kernelSets(b) {
		af, wf := randomFloats(r, m*k), randomFloats(r, k*n)
		pf := pack(wf, k, n, nil, ks.familyFor(n).nr)
		cf := make([]float32, m*n)
		fam := ks.familyFor(n)
		tilef := make([]float32, fam.mr*fam.nr)
		b.Run(fmt.Sprintf("%s/f32", ks.name), func(b *testing.B) {
			for b.Loop() {
				fam.gemmRows(af, k, pf, cf, n, 0, m, 0, pf.count(), 0, tilef)
			}
			b.ReportMetric(float64(2*m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		f := ks.int8.familyFor(n)
		w := make([]int8, k*n)
		for i := range w {
			w[i] = int8(r.IntN(255) - 127)
		}
		p := packInt8(w, k, n, f.nr)
		a := make([]uint8, m*4*p.k4)
		for i := range a {
			a[i] = uint8(r.IntN(128))
		}
		c := make([]int32, m*n)
		b.Run(fmt.Sprintf("%s/int8-%s", ks.name, ks.int8.name), func(b *testing.B) {
			for b.Loop() {
				f.gemm(a, 4*p.k4, m, p, c, n)
			}
			b.ReportMetric(float64(2*m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
		})
	}
}

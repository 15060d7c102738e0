package infer

import "unsafe"

// The integer GEMM: C = A·B in int32, exactly, for A uint8 activations and
// B int8 weights — the core of int8 dense and convolution layers. What
// makes it a quantized layer (the activations' zero point, subtracted as
// za·Σ_k B[k][j]; the per-channel scales; bias and activation) is applied
// around it by the caller: the kernels only multiply and add.
//
// Activations must lie in [0, 127] ("reduce_range", as PyTorch's fbgemm
// observers default to): the AVX2 kernels add pairs of u8·s8 products in
// int16, which is exact only then. Weights use [-127, 127] (narrow range,
// symmetric), so no product pair can saturate either way.

// int8Kernel computes an mr×nr int32 block (see int8.go in internal/asmgen):
// k4 groups of 4 along k, A rows lda bytes apart, C rows ldc elements apart.
type int8Kernel func(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int, accumulate int)

// int8Family is a set of integer kernels on panels nr wide, for every row
// count 1..mr (index r-1).
type int8Family struct {
	mr, nr int
	micro  []int8Kernel
	// quantize and requant are the layer's prologue (float32 activations
	// onto the 7-bit grid) and epilogue (int32 sums to float32 outputs),
	// vectorised where the family is: in Go they cost more than the GEMM.
	quantize func(dst []uint8, src []float32, scale float32, zero int32)
	requant  func(out []float32, acc []int32, scale []float32, offset []int32, relu bool)
}

// int8Kernels is one instruction set's integer families: wide panels, and
// narrow ones for layers of at most narrow.nr outputs.
type int8Kernels struct {
	name         string
	wide, narrow *int8Family
}

// familyFor is the family for a layer of n outputs.
func (ks *int8Kernels) familyFor(n int) *int8Family {
	if n <= ks.narrow.nr {
		return ks.narrow
	}
	return ks.wide
}

// packedInt8 is an int8 weight matrix [k, n] laid out for a family: panels
// of nr columns, each k4 = ⌈k/4⌉ groups of nr columns × 4 consecutive k
// values (zero beyond k and n), and each column's sum (for the activations'
// zero point).
type packedInt8 struct {
	k, k4, n, nr int
	panels       []int8 // len panels·k4·nr·4
	colSum       []int32
}

func (p *packedInt8) count() int { return (p.n + p.nr - 1) / p.nr }

// packInt8 lays out w [k, n] (row-major) in panels of nr.
func packInt8(w []int8, k, n, nr int) *packedInt8 {
	p := &packedInt8{k: k, k4: (k + 3) / 4, n: n, nr: nr, colSum: make([]int32, n)}
	p.panels = make([]int8, p.count()*p.k4*nr*4)
	for i := 0; i < k; i++ {
		for j := 0; j < n; j++ {
			panel, col := j/nr, j%nr
			p.panels[((panel*p.k4+i/4)*nr+col)*4+i%4] = w[i*n+j]
			p.colSum[j] += int32(w[i*n+j])
		}
	}
	return p
}

// gemm computes C [m, n] (row stride ldc) = A [m, k] (row stride lda bytes,
// at least 4·k4, zero from k to 4·k4) · W. tile is scratch of at least
// mr·nr int32 for a panel sticking out on the right.
func (f *int8Family) gemm(a []uint8, lda, m int, w *packedInt8, c []int32, ldc int, tile []int32) {
	nr := f.nr
	for i := 0; i < m; i += f.mr {
		rows := min(f.mr, m-i)
		kern := f.micro[rows-1]
		ap := &a[i*lda]
		for p := 0; p < w.count(); p++ {
			bp := &w.panels[p*w.k4*nr*4]
			col := p * nr
			if cols := w.n - col; cols < nr {
				kern(w.k4, ap, lda, bp, &tile[0], nr, 0)
				for r := 0; r < rows; r++ {
					copy(c[(i+r)*ldc+col:(i+r)*ldc+col+cols], tile[r*nr:])
				}
				continue
			}
			kern(w.k4, ap, lda, bp, &c[i*ldc+col], ldc, 0)
		}
	}
}

// portableInt8 is the integer kernel in plain Go.
var portableInt8 = func() *int8Family {
	const mr, nr = 4, 16
	f := &int8Family{mr: mr, nr: nr, quantize: quantizeRow, requant: requantRow}
	for rows := 1; rows <= mr; rows++ {
		f.micro = append(f.micro, func(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int, accumulate int) {
			int8Go(rows, nr, k4, a, lda, b, c, ldc, accumulate)
		})
	}
	return f
}()

func int8Go(rows, nr, k4 int, a *uint8, lda int, b *int8, c *int32, ldc int, accumulate int) {
	bs := unsafe.Slice(b, k4*nr*4)
	as := unsafe.Slice(a, (rows-1)*lda+4*k4)
	cs := unsafe.Slice(c, (rows-1)*ldc+nr)
	for r := 0; r < rows; r++ {
		var acc [16]int32
		ar := as[r*lda : r*lda+4*k4]
		for g := 0; g < k4; g++ {
			a0, a1, a2, a3 := int32(ar[4*g]), int32(ar[4*g+1]), int32(ar[4*g+2]), int32(ar[4*g+3])
			bg := bs[g*nr*4 : (g+1)*nr*4]
			for j := 0; j < nr; j++ {
				acc[j] += a0*int32(bg[4*j]) + a1*int32(bg[4*j+1]) + a2*int32(bg[4*j+2]) + a3*int32(bg[4*j+3])
			}
		}
		out := cs[r*ldc : r*ldc+nr]
		if accumulate != 0 {
			for j := range out {
				out[j] += acc[j]
			}
		} else {
			copy(out, acc[:nr])
		}
	}
}

// convRow computes one output row of an int8 convolution, m positions,
// reading the patches in place: for each kernel row ky, the m positions'
// bytes lie lda = stride·c apart in image row base + ky·rowBytes, k·c
// consecutive bytes each — an ordinary GEMM with the ky-th slice of the
// weights (packs[ky]), whose block is added to the previous rows'. Each
// slice is padded to a multiple of 4 with zero weights, so the up to 3
// bytes a group reads past a run (the next pixel's) add nothing.
func (f *int8Family) convRow(image []uint8, base, rowBytes, lda, m int, packs []*packedInt8, c []int32, ldc int, tile []int32) {
	nr := f.nr
	w0 := packs[0]
	for i := 0; i < m; i += f.mr {
		rows := min(f.mr, m-i)
		kern := f.micro[rows-1]
		for p := 0; p < w0.count(); p++ {
			col := p * nr
			cols := w0.n - col
			for ky, w := range packs {
				ap := &image[base+ky*rowBytes+i*lda]
				bp := &w.panels[p*w.k4*nr*4]
				acc := min(ky, 1)
				if cols < nr {
					kern(w.k4, ap, lda, bp, &tile[0], nr, acc)
				} else {
					kern(w.k4, ap, lda, bp, &c[i*ldc+col], ldc, acc)
				}
			}
			if cols < nr {
				for r := 0; r < rows; r++ {
					copy(c[(i+r)*ldc+col:(i+r)*ldc+col+cols], tile[r*nr:])
				}
			}
		}
	}
}

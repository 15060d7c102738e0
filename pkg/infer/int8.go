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
// k4 groups of 4 along k, A rows lda bytes apart, C rows ldc elements apart,
// summed over taps such products with A tapStride bytes further each time
// (a convolution's kernel rows; taps 1 is a plain GEMM); C's first cols
// columns (all when cols ≥ nr) overwritten.
type int8Kernel func(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int, taps, tapStride, cols int)

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
// at least 4·k4, zero from k to 4·k4) · W.
func (f *int8Family) gemm(a []uint8, lda, m int, w *packedInt8, c []int32, ldc int) {
	nr := f.nr
	_ = c[(m-1)*ldc+w.n-1]
	for i := 0; i < m; i += f.mr {
		kern := f.micro[min(f.mr, m-i)-1]
		ap := &a[i*lda]
		for p := 0; p < w.count(); p++ {
			col := p * nr
			kern(w.k4, ap, lda, &w.panels[p*w.k4*nr*4], &c[i*ldc+col], ldc, 1, 0, w.n-col)
		}
	}
}

// portableInt8 is the integer kernel in plain Go.
var portableInt8 = func() *int8Family {
	const mr, nr = 4, 16
	f := &int8Family{mr: mr, nr: nr, quantize: quantizeRow, requant: requantRow}
	for rows := 1; rows <= mr; rows++ {
		f.micro = append(f.micro, func(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int, taps, tapStride, cols int) {
			int8Go(rows, nr, k4, a, lda, b, c, ldc, taps, tapStride, min(cols, nr))
		})
	}
	return f
}()

func int8Go(rows, nr, k4 int, a *uint8, lda int, b *int8, c *int32, ldc int, taps, tapStride, cols int) {
	if taps == 0 {
		return
	}
	bs := unsafe.Slice(b, taps*k4*nr*4)
	as := unsafe.Slice(a, (taps-1)*tapStride+(rows-1)*lda+4*k4)
	cs := unsafe.Slice(c, (rows-1)*ldc+cols)
	for r := 0; r < rows; r++ {
		var acc [16]int32
		for t := 0; t < taps; t++ {
			ar := as[t*tapStride+r*lda : t*tapStride+r*lda+4*k4]
			for g := 0; g < k4; g++ {
				a0, a1, a2, a3 := int32(ar[4*g]), int32(ar[4*g+1]), int32(ar[4*g+2]), int32(ar[4*g+3])
				bg := bs[(t*k4+g)*nr*4 : (t*k4+g+1)*nr*4]
				for j := 0; j < nr; j++ {
					acc[j] += a0*int32(bg[4*j]) + a1*int32(bg[4*j+1]) + a2*int32(bg[4*j+2]) + a3*int32(bg[4*j+3])
				}
			}
		}
		copy(cs[r*ldc:r*ldc+cols], acc[:cols])
	}
}

// convRow computes one output row of an int8 convolution, m GEMM rows,
// reading the patches in place: for each kernel row ky, the m positions'
// bytes lie lda = stride·c apart in image row base + ky·rowBytes, k·c
// consecutive bytes each, and w holds the weights' kernel rows one after
// another, each padded to a multiple of 4 with zero weights (so the up to
// 3 bytes a group reads past a run, the next pixel's, add nothing): the
// kernels sum the kernel rows as taps rowBytes apart, one call per block.
func (f *int8Family) convRow(image []uint8, base, rowBytes, lda, m int, w *packedInt8, taps int, c []int32, ldc int) {
	nr := f.nr
	k4 := w.k4 / taps // groups per kernel row
	_ = c[(m-1)*ldc+w.n-1]
	_ = image[base+(taps-1)*rowBytes+(m-1)*lda+4*k4-1]
	// Groups of near-equal rows (14 = 7+7, not 12+2): a kernel of few rows
	// has too few accumulators to keep the multiply units busy.
	groups := (m + f.mr - 1) / f.mr
	for gi := range groups {
		i := gi * m / groups
		kern := f.micro[(gi+1)*m/groups-i-1]
		ap := &image[base+i*lda]
		for p := 0; p < w.count(); p++ {
			col := p * nr
			kern(k4, ap, lda, &w.panels[p*w.k4*nr*4], &c[i*ldc+col], ldc, taps, rowBytes, w.n-col)
		}
	}
}

// packTaps packs a convolution's weights [k, k, c, n] for convRow with
// pixels adjacent outputs per GEMM row: a row's tap ky reads the
// (k + (pixels−1)·stride)·c bytes its pixels' patches cover in image row
// ky, and pixel p's n columns hold the weights of kernel column kx at
// byte (kx + p·stride)·c, zero elsewhere. Each tap is padded to a
// multiple of 4 bytes with zero weights.
func packTaps(w []int8, k, c, stride, n, pixels, nr int) *packedInt8 {
	span := (k + (pixels-1)*stride) * c
	padded := (span + 3) / 4 * 4
	cols := pixels * n
	rows := make([]int8, k*padded*cols)
	for ky := range k {
		for p := range pixels {
			for kx := range k {
				for ch := range c {
					src := ((ky*k+kx)*c + ch) * n
					dst := (ky*padded+(kx+p*stride)*c+ch)*cols + p*n
					copy(rows[dst:dst+n], w[src:src+n])
				}
			}
		}
	}
	return packInt8(rows, k*padded, cols, nr)
}

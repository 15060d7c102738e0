package infer

import (
	"unsafe"
)

// A micro-kernel computes an mr×nr block of C = A·B + bias: mr rows of A
// (row stride lda, k columns) times one packed panel of B (k rows of nr
// columns, contiguous), starting the sums from the panel's bias (and C's
// values when flagAccumulate), ending with max(·, 0) when flagRelu. Only the
// rows below mr are read and written; all nr columns are written, so a
// ragged right edge goes through a scratch tile. An implicit kernel reads
// A's k columns not one float apart but delta[i] bytes after column i: a
// convolution's patch, read in place from the (padded) image, no im2col.
type microKernel func(k int, a *float32, lda int, b *float32, bias *float32, c *float32, ldc int, flags int, delta *int)

const (
	flagRelu       = 1
	flagAccumulate = 2
)

// family is a set of micro-kernels on panels nr wide, for every row count
// 1..mr (index r-1).
type family struct {
	mr, nr   int
	micro    []microKernel
	implicit []microKernel // nil: convolutions go through im2col
}

// kernels is one implementation (an instruction set): a wide family and a
// narrow one, for layers of at most narrow.nr outputs (a convolution of 6
// or 16 filters would waste most of a 32-wide panel).
type kernels struct {
	name         string
	wide, narrow family
	int8         *int8Kernels // the integer GEMM this set runs
	// max writes the NaN-propagating element-wise maximum of a and b
	// into dst (max pooling's inner loop); dst may be a.
	max func(dst, a, b []float32)
	// maxInt is max on int32s (an int8 convolution's sums, pooled).
	maxInt func(dst, a, b []int32)
	// winoInput and winoOutput are the transforms of a Winograd
	// convolution (winograd.go, asmgen's wino.go); nil where the set has
	// none, and convolutions stay direct.
	winoInput  func(src *float32, rowStride, colStride int, dst *float32, xiStride, blocks int)
	winoOutput func(m *float32, xiStride int, bias, res, dst *float32, rowStride, colStride, blocks, flags int)
	// normalize writes (src[i] − mean)·inv into dst: the model's input
	// normalization, which every call pays in full.
	normalize func(dst, src []float32, mean, inv float32)
}

// familyFor is the family for a layer of n outputs.
func (ks *kernels) familyFor(n int) *family {
	if n <= ks.narrow.nr {
		return &ks.narrow
	}
	return &ks.wide
}

// packed is a weight matrix [k, n] laid out for one kernel set: panels of
// nr columns, each k rows of nr values (zero beyond n), and the bias the
// same way.
type packed struct {
	k, n, nr int
	panels   []float32 // len panels(n)·k·nr
	bias     []float32 // len panels(n)·nr
}

func (p *packed) count() int { return (p.n + p.nr - 1) / p.nr }

// pack lays out w [k, n] (row-major) and bias [n] (nil: zeros) in panels of nr.
func pack(w []float32, k, n int, bias []float32, nr int) *packed {
	p := &packed{k: k, n: n, nr: nr}
	np := p.count()
	p.panels = make([]float32, np*k*nr)
	p.bias = make([]float32, np*nr)
	for j := 0; j < n; j++ {
		panel, col := j/nr, j%nr
		base := panel * k * nr
		for i := 0; i < k; i++ {
			p.panels[base+i*nr+col] = w[i*n+j]
		}
		if bias != nil {
			p.bias[panel*nr+col] = bias[j]
		}
	}
	return p
}

// gemmRows computes rows [m0, m1) and panels [p0, p1) of C = A·W (+ bias,
// activation as flags), A of row stride lda, C of row stride ldc. tile is
// scratch of at least mr·nr floats for a panel sticking out on the right.
func (f *family) gemmRows(a []float32, lda int, w *packed, c []float32, ldc, m0, m1, p0, p1, flags int, tile []float32) {
	for i := m0; i < m1; i += f.mr {
		rows := min(f.mr, m1-i)
		for p := p0; p < p1; p++ {
			f.panel(f.micro[rows-1], rows, w.k, &a[i*lda], lda, &w.panels[p*w.k*f.nr], &w.bias[p*f.nr], c[i*ldc:], ldc, p, flags, tile, nil)
		}
	}
}

// panel runs one kernel of rows rows and k steps on panel p (b, its
// first step; bias, its bias), C starting at c (row stride ldc, n
// columns): the panel's columns of C directly, or through tile where the
// panel sticks out on the right.
func (f *family) panel(kern microKernel, rows, k int, a *float32, lda int, b, bias *float32, c []float32, ldc, p, flags int, tile []float32, delta *int) {
	nr := f.nr
	col := p * nr
	cols := ldc - col
	if cols >= nr {
		kern(k, a, lda, b, bias, &c[col], ldc, flags, delta)
		return
	}
	if flags&flagAccumulate != 0 {
		for r := 0; r < rows; r++ {
			copy(tile[r*nr:r*nr+cols], c[r*ldc+col:])
		}
	}
	kern(k, a, lda, b, bias, &tile[0], nr, flags, delta)
	for r := 0; r < rows; r++ {
		copy(c[r*ldc+col:r*ldc+col+cols], tile[r*nr:])
	}
}

// portable is the micro-kernel in plain Go, used where no SIMD kernel
// fits the CPU and when forced (Use("portable")).
var portable = func() *kernels {
	const mr, nr = 4, 16
	f := family{mr: mr, nr: nr}
	for rows := 1; rows <= mr; rows++ {
		f.micro = append(f.micro, func(k int, a *float32, lda int, b, bias, c *float32, ldc int, flags int, _ *int) {
			microGo(rows, nr, k, a, lda, b, bias, c, ldc, flags)
		})
	}
	return &kernels{name: "portable", wide: f, narrow: f, int8: &int8Kernels{name: "portable", wide: portableInt8, narrow: portableInt8}, max: maxRow, maxInt: maxIntRow, normalize: normalizeRow}
}()

func microGo(rows, nr, k int, a *float32, lda int, b, bias, c *float32, ldc int, flags int) {
	var acc [4][16]float32
	bs := unsafe.Slice(b, k*nr)
	as := unsafe.Slice(a, (rows-1)*lda+k)
	cs := unsafe.Slice(c, (rows-1)*ldc+nr)
	bi := unsafe.Slice(bias, nr)
	for r := 0; r < rows; r++ {
		row := &acc[r]
		copy(row[:nr], bi)
		if flags&flagAccumulate != 0 {
			for j := 0; j < nr; j++ {
				row[j] += cs[r*ldc+j]
			}
		}
		ar := as[r*lda : r*lda+k]
		for kk, av := range ar {
			br := bs[kk*nr : kk*nr+nr]
			for j, bv := range br {
				row[j] += av * bv
			}
		}
		for j := 0; j < nr; j++ {
			v := row[j]
			if flags&flagRelu != 0 && !(v > 0) && v == v {
				v = 0
			}
			cs[r*ldc+j] = v
		}
	}
}

// maxRow is the portable max: NaN wins, as in GoMLX's ReduceMax.
func maxRow(dst, a, b []float32) {
	b = b[:len(dst)]
	a = a[:len(dst)]
	for i, y := range b {
		x := a[i]
		if y > x || y != y {
			x = y
		}
		dst[i] = x
	}
}

// maxIntRow is the portable maxInt.
func maxIntRow(dst, a, b []int32) {
	b = b[:len(dst)]
	a = a[:len(dst)]
	for i, y := range b {
		dst[i] = max(a[i], y)
	}
}

// normalizeRow is the portable normalization.
func normalizeRow(dst, src []float32, mean, inv float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = (v - mean) * inv
	}
}

package infer

import (
	"fmt"
	"math"
)

// int8Step is an int8 dense layer or convolution (see Op.InputScale): each
// task quantizes its rows of input (a convolution's patches, through
// im2col) to uint8, multiplies them by the packed int8 weights in int32 with
// the integer kernels, and writes float32 outputs — scaled per channel,
// offset by the bias and the zero point's share, with the residual addend
// and the activation. Outputs stay float32 between layers, so an int8
// layer mixes freely with float ones (pooling, additions, a float head).
type int8Step struct {
	fam     *int8Family
	w       *packedInt8
	inScale float32
	inZero  int32
	scale   []float32   // per output: InputScale·WeightScales[j]
	offset  []int32     // per output: Bias[j] − InputZero·Σ_k W[k][j]
	raw     []int8      // the weights [k, n], until prepare has packed them
	taps    *packedInt8 // a convolution's weights for convRow (packTaps)
	pixels  int         // a convolution's output pixels per GEMM row
	// blockScale and blockOffset repeat scale and offset for rowBlock rows.
	blockScale  []float32
	blockOffset []int32

	m        int // output rows per example: 1 (dense) or ho·wo (conv)
	act      string
	in, out  int
	inSize   int // input values per example
	residual int
	conv     *convGeom
	// pool is the window of a max pooling fused into the convolution (0:
	// none): a task then computes that many output rows and pools them.
	pool     int
	rowBlock int
	flops    int64
}

// int8Weights decodes an int8 layer's tensors and packs them.
func (p *planner) int8Weights(op Op, rows, cols int, fam *int8Family) (*int8Step, error) {
	t := p.f.Tensors[op.Weights]
	if len(t.Data) != rows*cols {
		return nil, fmt.Errorf("op %q: %d int8 weights, want %d×%d", op.Name, len(t.Data), rows, cols)
	}
	w := make([]int8, len(t.Data))
	for i, b := range t.Data {
		w[i] = int8(b)
		if w[i] == -128 {
			return nil, fmt.Errorf("op %q: int8 weight %d is -128; int8 layers use [-127, 127]", op.Name, i)
		}
	}
	scales, err := p.f.Tensors[op.WeightScales].Float32s()
	if err != nil {
		return nil, fmt.Errorf("op %q: weight scales: %w", op.Name, err)
	}
	s := &int8Step{fam: fam, w: packInt8(w, rows, cols, fam.nr), raw: w, inScale: op.InputScale, inZero: op.InputZero,
		scale: make([]float32, cols), offset: make([]int32, cols)}
	var bias []int32
	if op.Bias != "" {
		b := p.f.Tensors[op.Bias]
		bias = make([]int32, cols)
		for j := range bias {
			bias[j] = int32(uint32(b.Data[4*j]) | uint32(b.Data[4*j+1])<<8 | uint32(b.Data[4*j+2])<<16 | uint32(b.Data[4*j+3])<<24)
		}
	}
	for j := range cols {
		s.scale[j] = op.InputScale * scales[j]
		s.offset[j] = -op.InputZero * s.w.colSum[j]
		if bias != nil {
			s.offset[j] += bias[j]
		}
	}
	return s, nil
}

func (s *int8Step) prepare(m *Model) {
	k, lda := s.w.k, 4*s.w.k4
	s.flops = 2 * int64(s.m) * int64(k) * int64(s.w.n)
	s.rowBlock, s.inSize = 4*s.fam.mr, k
	if s.conv != nil {
		// A task is one output row, its patches read in place (convRow).
		g := s.conv
		s.rowBlock, s.inSize = g.wo, g.h*g.w*g.c
		m.quantSize = max(m.quantSize, g.hp*g.wp*g.c)
		// Few outputs (6 in LeNet-5's first convolution) leave most of a
		// panel's lanes idle: several adjacent pixels then share a GEMM
		// row, their weights side by side, shifted by the stride.
		s.pixels = 1
		for p := 2; p*s.w.n <= s.fam.nr; p++ {
			if g.wo%p == 0 {
				s.pixels = p
			}
		}
		s.taps = packTaps(s.raw, g.k, g.c, g.stride, s.w.n, s.pixels, s.fam.nr)
		if s.pool > 0 { // the rows to pool, poolRow's scratch, the pooled row
			m.scratch = max(m.scratch, (s.pool+2)*g.wo*s.w.n)
			m.scratch32 = max(m.scratch32, (s.pool+2)*g.wo*s.w.n+g.wo/s.pool*s.w.n)
		}
	}
	s.raw = nil
	// The epilogue runs over a whole block at once, on the per-output
	// factors repeated for each of its rows: layers of few outputs (6 in
	// LeNet-5's first convolution) would otherwise never fill a vector.
	s.blockScale = make([]float32, s.rowBlock*s.w.n)
	s.blockOffset = make([]int32, s.rowBlock*s.w.n)
	for i := range s.blockScale {
		s.blockScale[i], s.blockOffset[i] = s.scale[i%s.w.n], s.offset[i%s.w.n]
	}
	if s.conv == nil {
		m.quantSize = max(m.quantSize, lda) // a row, padded to groups of 4
	}
	m.scratch32 = max(m.scratch32, s.rowBlock*s.w.n)
}

func (s *int8Step) run(m *Model, ws *workspace) {
	workers := ws.workers
	if s.flops*int64(ws.n) < serialFLOPs {
		workers = 1
	}
	rows := ws.n * s.m
	blocks := (rows + s.rowBlock - 1) / s.rowBlock
	// Quantize the input once: a convolution's image into a padded copy
	// whose border is the zero point (its patches overlap k² times), a
	// dense layer's rows padded to whole groups of 4. Waking the workers
	// costs more than quantizing a batch of MNIST images on one core.
	qc := &ws.calls.quant
	*qc = quantizeCall{s: s, in: ws.bufs[s.in], out: ws.quantized, rows: rows}
	qWorkers := workers
	if ws.n*s.inSize < parallelQuantize {
		qWorkers = 1
	}
	if s.conv != nil {
		parallel(qc, ws.n, qWorkers, &ws.gate)
	} else {
		parallel(qc, blocks, qWorkers, &ws.gate)
	}
	call := &ws.calls.int8
	*call = int8Call{s: s, ws: ws, rows: rows, max: m.kern.max, maxInt: m.kern.maxInt, image: ws.quantized}
	tasks := blocks
	if s.pool > 0 {
		tasks = ws.n * (s.conv.ho / s.pool)
	}
	parallel(call, tasks, workers, &ws.gate)
}

// parallelQuantize is the input values from which an int8 layer quantizes
// on all workers.
const parallelQuantize = 1 << 17

// quantizeCall quantizes an int8 layer's input: one image (convolution) or
// row block (dense) per task.
type quantizeCall struct {
	s    *int8Step
	in   []float32
	out  []uint8
	rows int
}

func (q *quantizeCall) run(task, _ int) {
	s := q.s
	if s.conv != nil {
		s.quantizeImage(q.in, q.out, task)
		return
	}
	k, lda := s.w.k, 4*s.w.k4
	for r := task * s.rowBlock; r < min((task+1)*s.rowBlock, q.rows); r++ {
		s.fam.quantize(q.out[r*lda:r*lda+k], q.in[r*k:(r+1)*k], s.inScale, s.inZero)
		clear(q.out[r*lda+k : (r+1)*lda])
	}
}

// int8Call is one call's view of an int8Step: the job handed to workers.
type int8Call struct {
	s      *int8Step
	ws     *workspace
	max    func(dst, a, b []float32) // for a fused pooling
	maxInt func(dst, a, b []int32)
	rows   int
	image  []uint8 // the input, quantized
}

func (c *int8Call) run(task, worker int) {
	s := c.s
	if s.pool > 0 {
		c.runPooled(task, worker)
		return
	}
	r0 := task * s.rowBlock
	r1 := min(r0+s.rowBlock, c.rows)
	rows := r1 - r0
	n, lda := s.w.n, 4*s.w.k4
	acc := c.ws.scratch32[worker][:rows*n]
	if g := s.conv; g != nil {
		s.convOutputRow(c.image, task/g.ho, task%g.ho, acc)
	} else {
		s.fam.gemm(c.image[r0*lda:], lda, rows, s.w, acc, n)
	}
	out := c.ws.bufs[s.out][r0*n : r1*n]
	relu := s.residual < 0 && s.act == "relu"
	s.fam.requant(out, acc, s.blockScale[:rows*n], s.blockOffset[:rows*n], relu)
	s.finish(out, c.ws, r0*n, relu)
}

// finish adds the residual addend (from position at) and applies the
// activation to outputs the epilogue wrote, unless relu was fused there.
func (s *int8Step) finish(out []float32, ws *workspace, at int, relu bool) {
	if relu || (s.residual < 0 && s.act == "") {
		return
	}
	if s.residual >= 0 {
		res := ws.bufs[s.residual][at : at+len(out)]
		if s.act == "relu" { // one pass over the output, not two
			addRelu(out, res)
			return
		}
		for i := range out {
			out[i] += res[i]
		}
	}
	if s.act != "" {
		activate(s.act, out)
	}
}

// convOutputRow computes output row oy of image img of a convolution into
// acc (wo·n sums): pixels outputs per GEMM row, whose sums lie side by side
// as the row's do.
func (s *int8Step) convOutputRow(image []uint8, img, oy int, acc []int32) {
	g := s.conv
	rowBytes := g.wp * g.c
	s.fam.convRow(image, (img*g.hp+oy*g.stride)*rowBytes, rowBytes, s.pixels*g.stride*g.c, g.wo/s.pixels, s.taps, g.k, acc, s.pixels*s.w.n)
}

// runPooled computes the pool window's output rows of a convolution and
// max-pools them into the output row task. With no activation or a ReLU
// it pools the integer sums and requantizes a quarter as many values
// (2×2 windows): requantization is increasing in the sum (its scale is
// positive) and so is the ReLU, so the maximum of the requantized values
// is the requantized maximum, bit for bit. Other activations (GELU and
// swish are not monotonic) requantize every row first.
func (c *int8Call) runPooled(task, worker int) {
	s, g := c.s, c.s.conv
	n, k := s.w.n, s.pool
	po := g.ho / k
	img, py := task/po, task%po
	rowLen := g.wo * n
	qo := g.wo / k
	out := c.ws.bufs[s.out][(img*po+py)*qo*n : (img*po+py+1)*qo*n]
	relu := s.act == "relu"
	if s.act == "" || relu {
		scratch := c.ws.scratch32[worker]
		sums := scratch[:k*rowLen]
		for ky := range k {
			s.convOutputRow(c.image, img, py*k+ky, sums[ky*rowLen:(ky+1)*rowLen])
		}
		pooled := scratch[(k+2)*rowLen : (k+2)*rowLen+qo*n]
		poolRow(pooled, sums, g.wo, n, k, scratch[k*rowLen:(k+2)*rowLen], c.maxInt)
		s.fam.requant(out, pooled, s.blockScale[:qo*n], s.blockOffset[:qo*n], relu)
		return
	}
	acc := c.ws.scratch32[worker][:rowLen]
	rows := c.ws.scratch[worker][:k*rowLen]
	for ky := range k {
		oy := py*k + ky
		s.convOutputRow(c.image, img, oy, acc)
		row := rows[ky*rowLen : (ky+1)*rowLen]
		s.fam.requant(row, acc, s.blockScale[:rowLen], s.blockOffset[:rowLen], false)
		activate(s.act, row)
	}
	poolRow(out, rows, g.wo, n, k, c.ws.scratch[worker][k*rowLen:], c.max)
}

// requantRow is the portable epilogue: out[j] = scale[j]·(acc[j] +
// offset[j]), and max(·, 0) with relu.
func requantRow(out []float32, acc []int32, scale []float32, offset []int32, relu bool) {
	for j := range out {
		v := scale[j] * float32(acc[j]+offset[j])
		if relu && !(v > 0) {
			v = 0
		}
		out[j] = v
	}
}

// quantizeRow writes clamp(round(x/scale) + zero, 0, 127), rounding half
// to even, for each x of src. A NaN becomes the zero point (0.0): an int8
// layer cannot carry it.
func quantizeRow(dst []uint8, src []float32, scale float32, zero int32) {
	for i, x := range src {
		v := math.RoundToEven(float64(x/scale)) + float64(zero)
		switch {
		case v >= 127:
			dst[i] = 127
		case v > 0:
			dst[i] = uint8(v)
		case v <= 0:
			dst[i] = 0
		default: // NaN
			dst[i] = uint8(zero)
		}
	}
}

// quantizeImage writes image img of in, quantized, into dst with the
// convolution's padding around it, filled with the zero point (the
// quantized 0.0).
func (s *int8Step) quantizeImage(in []float32, dst []uint8, img int) {
	g := s.conv
	c, rowBytes := g.c, g.wp*g.c
	zero := uint8(s.inZero)
	image := dst[img*g.hp*rowBytes : (img+1)*g.hp*rowBytes]
	for y := 0; y < g.hp; y++ {
		row := image[y*rowBytes : (y+1)*rowBytes]
		iy := y - g.padTop
		if iy < 0 || iy >= g.h {
			fill(row, zero)
			continue
		}
		fill(row[:g.padLeft*c], zero)
		src := in[((img*g.h+iy)*g.w)*c : ((img*g.h+iy)*g.w+g.w)*c]
		s.fam.quantize(row[g.padLeft*c:(g.padLeft+g.w)*c], src, s.inScale, s.inZero)
		fill(row[(g.padLeft+g.w)*c:], zero)
	}
}

func fill(b []uint8, v uint8) {
	for i := range b {
		b[i] = v
	}
}

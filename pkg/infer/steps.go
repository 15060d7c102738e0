package infer

import "math"

// convGeom is a convolution's geometry (per example, NHWC).
type convGeom struct {
	h, w, c, k, stride int
	padTop, padLeft    int
	ho, wo             int
	// hp, wp are the padded image's size (h, w when there is no padding).
	hp, wp int
}

func (g *convGeom) padded() bool { return g.hp != g.h || g.wp != g.w }

// pointwise reports whether the input rows are the patches already (a 1×1
// convolution with stride 1).
func (g *convGeom) pointwise() bool { return g.k == 1 && g.stride == 1 }

// gemmStep is a dense layer or a convolution, with its bias, activation
// and a residual addend fused. A convolution reads its patches in place
// from the (padded) image with the implicit kernels where the family has
// them, else through im2col by row blocks.
type gemmStep struct {
	fam      *family
	w        *packed
	m        int // output rows per example: 1 (dense) or ho·wo (conv)
	act      string
	in, out  int
	residual int // slot added to the output before the activation; -1 none
	conv     *convGeom
	delta    []int // implicit kernels: bytes from one patch value to the next

	rowBlock int   // rows per task (image rows for an implicit convolution)
	flops    int64 // per example
	// groups is how many kernel calls an implicit convolution's output
	// row takes, of near-equal rows (28 = 4×7, not 8+8+8+4): a kernel of
	// few rows has too few accumulators to keep the FMA units busy.
	groups int
}

// serialPad is the padded floats below which one worker pads a batch
// (LeNet-5's 32×32×1 image): handing rows out costs more than copying.
const serialPad = 4096

// serialFLOPs is the work below which splitting over goroutines costs more
// than it saves (a wake-up is a few microseconds).
const serialFLOPs = 400_000

func (s *gemmStep) implicit() bool {
	return s.conv != nil && !s.conv.pointwise() && s.fam.implicit != nil
}

func (s *gemmStep) prepare(m *Model) {
	k, mr, nr := s.w.k, s.fam.mr, s.fam.nr
	s.flops = 2 * int64(s.m) * int64(k) * int64(s.w.n)
	need := mr * nr // the right-edge tile
	switch {
	case s.implicit():
		g := s.conv
		s.delta = make([]int, k)
		offset := func(i int) int { // patch value i = (ky, kx, ci) in the padded image
			ky, rest := i/(g.k*g.c), i%(g.k*g.c)
			return (ky*g.wp)*g.c + rest
		}
		for i := 0; i < k-1; i++ {
			s.delta[i] = 4 * (offset(i+1) - offset(i))
		}
		s.rowBlock = max(1, 64/g.wo)
		s.groups = (g.wo + mr - 1) / mr
		if g.padded() {
			m.padSize = max(m.padSize, g.hp*g.wp*g.c)
		}
	case s.conv != nil:
		// Patches of a row block stay in the L1/L2 cache while every panel
		// passes over them.
		s.rowBlock = max(mr, min(512, 16384/k/mr*mr))
		if !s.conv.pointwise() {
			need += s.rowBlock * k
		}
	default:
		s.rowBlock = 4 * mr
	}
	m.scratch = max(m.scratch, need)
}

// gemmCall is one call's view of a gemmStep: the job handed to workers.
type gemmCall struct {
	s      *gemmStep
	m      *Model
	ws     *workspace
	rows   int // total output rows (image rows for an implicit convolution)
	groups int // panel groups per row block (dense)
}

func (s *gemmStep) run(m *Model, ws *workspace) {
	workers := ws.workers
	if s.flops*int64(ws.n) < serialFLOPs {
		workers = 1
	}
	if s.implicit() && s.conv.padded() {
		pc := &ws.calls.pad
		*pc = padCall{g: s.conv, in: ws.bufs[s.in], out: ws.padded}
		padWorkers := workers
		if g := s.conv; ws.n*g.hp*g.wp*g.c < serialPad {
			padWorkers = 1
		}
		parallel(pc, ws.n*s.conv.hp, padWorkers, &ws.gate)
	}
	call := &ws.calls.gemm
	*call = gemmCall{s: s, m: m, ws: ws, rows: ws.n * s.m, groups: 1}
	if s.implicit() {
		call.rows = ws.n * s.conv.ho
	}
	blocks := (call.rows + s.rowBlock - 1) / s.rowBlock
	if workers > 1 {
		call.groups = min(s.w.count(), max(1, (2*workers+blocks-1)/blocks))
	}
	parallel(call, blocks*call.groups, workers, &ws.gate)
}

func (c *gemmCall) run(task, worker int) {
	s, f := c.s, c.s.fam
	block, group := task/c.groups, task%c.groups
	r0 := block * s.rowBlock
	r1 := min(r0+s.rowBlock, c.rows)
	np := s.w.count()
	p0, p1 := group*np/c.groups, (group+1)*np/c.groups
	n := s.w.n
	out := c.ws.bufs[s.out]
	// Output rows (positions) of this task.
	o0, o1 := r0, r1
	if s.implicit() {
		o0, o1 = r0*s.conv.wo, r1*s.conv.wo
	}
	c0, c1 := p0*f.nr, min(p1*f.nr, n) // its columns
	flags := 0
	if s.act == "relu" {
		flags |= flagRelu
	}
	if s.residual >= 0 {
		flags |= flagAccumulate
		res := c.ws.bufs[s.residual]
		for r := o0; r < o1; r++ {
			copy(out[r*n+c0:r*n+c1], res[r*n+c0:])
		}
	}
	scratch := c.ws.scratch[worker]
	tile := scratch[:f.mr*f.nr]
	in := c.ws.bufs[s.in]
	k := s.w.k
	if s.conv != nil && !s.conv.pointwise() && !s.implicit() {
		patches := scratch[f.mr*f.nr:]
		s.conv.im2col(in, patches, r0, r1)
		in, out, r0, r1 = patches, out[r0*n:], 0, r1-r0
	}
	// Panel by panel: a panel's weights (k·nr floats) stay in the cache
	// while every row of the task passes over them. (Rows outside, the
	// weights would stream in again for each row: at batch 1 ResNet-18's
	// last stage reads 9 MB a layer 4 times. Blocking k as well, to keep
	// a block of the panel in L1, measured no faster.)
	for p := p0; p < p1; p++ {
		b, bias := &s.w.panels[p*k*f.nr], &s.w.bias[p*f.nr]
		if s.implicit() {
			g := s.conv
			img := in
			if g.padded() {
				img = c.ws.padded
			}
			rowStep := g.stride * g.c // floats between neighbouring output positions' patches
			for r := r0; r < r1; r++ {
				im, oy := r/g.ho, r%g.ho
				base := ((im*g.hp + oy*g.stride) * g.wp) * g.c
				for gi := range s.groups {
					ox := gi * g.wo / s.groups
					rows := (gi+1)*g.wo/s.groups - ox
					f.panel(f.implicit[rows-1], rows, k, &img[base+ox*rowStep], rowStep, b, bias, out[(r*g.wo+ox)*n:], n, p, flags, tile, &s.delta[0])
				}
			}
			continue
		}
		for i := r0; i < r1; i += f.mr {
			rows := min(f.mr, r1-i)
			f.panel(f.micro[rows-1], rows, k, &in[i*k], k, b, bias, out[i*n:], n, p, flags, tile, nil)
		}
	}
	if s.act != "" && s.act != "relu" {
		for r := o0; r < o1; r++ {
			activate(s.act, out[r*n+c0:r*n+c1])
		}
	}
}

// padCall copies images into the zero-padded buffer, one padded row per
// task (so that each worker pads the rows its share of the convolution
// reads).
type padCall struct {
	g       *convGeom
	in, out []float32
}

func (p *padCall) run(task, _ int) {
	g := p.g
	c := g.c
	img, y := task/g.hp, task%g.hp
	row := p.out[(img*g.hp+y)*g.wp*c : (img*g.hp+y+1)*g.wp*c]
	iy := y - g.padTop
	if iy < 0 || iy >= g.h {
		clear(row)
		return
	}
	clear(row[:g.padLeft*c])
	copy(row[g.padLeft*c:(g.padLeft+g.w)*c], p.in[((img*g.h+iy)*g.w)*c:])
	clear(row[(g.padLeft+g.w)*c:])
}

// im2col writes the patches of output rows [r0, r1) (over the batch) into
// dst, one row of k·k·c values per output position, zeros where the patch
// hangs over the padding.
func (g *convGeom) im2col(in, dst []float32, r0, r1 int) {
	k, c := g.k, g.c
	run := k * c
	row := 0
	for r := r0; r < r1; r, row = r+1, row+1 {
		img := r / (g.ho * g.wo)
		pos := r % (g.ho * g.wo)
		oy, ox := pos/g.wo, pos%g.wo
		iy0, ix0 := oy*g.stride-g.padTop, ox*g.stride-g.padLeft
		d := dst[row*k*run : (row+1)*k*run]
		for ky := 0; ky < k; ky++ {
			seg := d[ky*run : (ky+1)*run]
			iy := iy0 + ky
			if iy < 0 || iy >= g.h {
				clear(seg)
				continue
			}
			base := (img*g.h + iy) * g.w
			if ix0 >= 0 && ix0+k <= g.w {
				copy(seg, in[(base+ix0)*c:(base+ix0+k)*c])
				continue
			}
			for kx := 0; kx < k; kx++ {
				ix := ix0 + kx
				if ix < 0 || ix >= g.w {
					clear(seg[kx*c : (kx+1)*c])
				} else {
					copy(seg[kx*c:(kx+1)*c], in[(base+ix)*c:(base+ix+1)*c])
				}
			}
		}
	}
}

// maxPoolStep takes the maximum over window×window tiles (floor mode).
// A NaN in a tile wins, as XLA's max does.
type maxPoolStep struct {
	in, out int
	h, w, c int
	window  int
}

func (s *maxPoolStep) run(m *Model, ws *workspace) {
	call := &ws.calls.pool
	*call = poolCall{s: s, max: m.kern.max, in: ws.bufs[s.in], out: ws.bufs[s.out], scratch: ws.scratch}
	workers := ws.workers
	if s.h*s.w*s.c*ws.n < 50_000 {
		workers = 1
	}
	parallel(call, ws.n, workers, &ws.gate)
}

// poolCall pools one image per task.
type poolCall struct {
	s       *maxPoolStep
	max     func(dst, a, b []float32)
	in, out []float32
	scratch [][]float32
}

func (p *poolCall) run(img, worker int) {
	s := p.s
	ho, wo, c, k := s.h/s.window, s.w/s.window, s.c, s.window
	rowLen := s.w * c
	in := p.in[img*s.h*rowLen : (img+1)*s.h*rowLen]
	out := p.out[img*ho*wo*c : (img+1)*ho*wo*c]
	for oy := 0; oy < ho; oy++ {
		poolRow(out[oy*wo*c:(oy+1)*wo*c], in[oy*k*rowLen:(oy+1)*k*rowLen], s.w, c, k, p.scratch[worker], p.max)
	}
}

// poolRow writes one row of max-pooled outputs (⌊w/k⌋ pixels of c values)
// from the k input rows of w pixels it covers, in two vector passes: down
// the rows, then across, each position against the next k−1 pixels (c
// apart), so that a layer of few channels (6 in LeNet-5) still fills
// vectors; the windows' maxima are every k-th pixel of that. scratch
// holds 2·w·c floats.
func poolRow[T float32 | int32](dst, rows []T, w, c, k int, scratch []T, maxOf func(dst, a, b []T)) {
	rowLen, wo := w*c, w/k
	down := rows[:rowLen]
	if k > 1 {
		down = scratch[:rowLen]
		maxOf(down, rows[:rowLen], rows[rowLen:2*rowLen])
		for ky := 2; ky < k; ky++ {
			maxOf(down, down, rows[ky*rowLen:(ky+1)*rowLen])
		}
	}
	span := ((wo-1)*k + 1) * c // up to the last window's first pixel
	across := down[:span]
	if k > 1 {
		across = scratch[rowLen : rowLen+span]
		maxOf(across, down[:span], down[c:c+span])
		for kx := 2; kx < k; kx++ {
			maxOf(across, across, down[kx*c:kx*c+span])
		}
	}
	for ox := 0; ox < wo; ox++ {
		copy(dst[ox*c:(ox+1)*c], across[ox*k*c:])
	}
}

// avgPoolStep averages every channel over all positions.
type avgPoolStep struct {
	in, out      int
	positions, c int
}

func (s *avgPoolStep) run(m *Model, ws *workspace) {
	in, out := ws.bufs[s.in], ws.bufs[s.out]
	inv := 1 / float32(s.positions)
	for img := 0; img < ws.n; img++ {
		dst := out[img*s.c : (img+1)*s.c]
		clear(dst)
		for p := 0; p < s.positions; p++ {
			src := in[(img*s.positions+p)*s.c:][:s.c]
			for j, v := range src {
				dst[j] += v
			}
		}
		for j := range dst {
			dst[j] *= inv
		}
	}
}

// addStep adds two values (a residual addition the planner could not fuse).
type addStep struct {
	a, b, out int
	size      int
	act       string
}

func (s *addStep) run(m *Model, ws *workspace) {
	a, b, out := ws.bufs[s.a], ws.bufs[s.b], ws.bufs[s.out]
	n := ws.n * s.size
	for i := 0; i < n; i++ {
		out[i] = a[i] + b[i]
	}
	activate(s.act, out[:n])
}

// reluInPlace zeroes v's negative values with no branch on each value's
// sign: on real activations that branch mispredicts, and it took half of
// an int8 ResNet-8's time at batch 64 (the int8 path adds a residual and
// applies the ReLU after its epilogue). NaN stays NaN; −0 becomes +0.
func reluInPlace(v []float32) {
	for i, x := range v {
		b := math.Float32bits(x)
		negative := uint32(int32(b) >> 31)                        // all ones when the sign is set
		notNaN := ^uint32(int32(0x7f800000-(b&0x7fffffff)) >> 31) // all ones unless NaN
		v[i] = math.Float32frombits(b &^ (negative & notNaN))
	}
}

// addRelu sets out to relu(out + res), as reluInPlace does.
func addRelu(out, res []float32) {
	res = res[:len(out)]
	for i, x := range out {
		b := math.Float32bits(x + res[i])
		negative := uint32(int32(b) >> 31)
		notNaN := ^uint32(int32(0x7f800000-(b&0x7fffffff)) >> 31)
		out[i] = math.Float32frombits(b &^ (negative & notNaN))
	}
}

// activate applies a named activation in place, with GoMLX's definitions.
func activate(name string, v []float32) {
	switch name {
	case "":
	case "relu":
		reluInPlace(v)
	case "tanh":
		for i, x := range v {
			v[i] = float32(math.Tanh(float64(x)))
		}
	case "sigmoid":
		for i, x := range v {
			v[i] = sigmoid(x)
		}
	case "swish":
		for i, x := range v {
			v[i] = x * sigmoid(x)
		}
	case "gelu":
		for i, x := range v {
			v[i] = float32(0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2)))
		}
	case "leaky_relu":
		for i, x := range v {
			if !(x >= 0) && x == x {
				v[i] = 0.3 * x
			}
		}
	case "selu":
		const alpha, scale = 1.67326324, 1.05070098
		for i, x := range v {
			if x > 0 {
				v[i] = scale * x
			} else if x == x {
				v[i] = float32(scale * alpha * math.Expm1(float64(x)))
			}
		}
	}
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

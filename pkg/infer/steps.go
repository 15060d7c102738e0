package infer

import "math"

// convGeom is a convolution's geometry (per example, NHWC).
type convGeom struct {
	h, w, c, k, stride int
	padTop, padLeft    int
	ho, wo             int
}

// pointwise reports whether the input rows are the patches already (a 1×1
// convolution with stride 1).
func (g *convGeom) pointwise() bool { return g.k == 1 && g.stride == 1 }

// gemmStep is a dense layer or a convolution (im2col by row blocks, then
// the packed GEMM), with its bias, activation and a residual addend fused.
type gemmStep struct {
	w        *packed
	m        int // output rows per example: 1 (dense) or ho·wo (conv)
	act      string
	in, out  int
	residual int // slot added to the output before the activation; -1 none
	conv     *convGeom

	rowBlock int   // rows per task
	flops    int64 // per example
}

// serialFLOPs is the work below which splitting over goroutines costs more
// than it saves (a wake-up is a few microseconds).
const serialFLOPs = 400_000

func (s *gemmStep) prepare(m *Model) {
	k := s.w.k
	mr := m.kern.mr
	s.flops = 2 * int64(s.m) * int64(k) * int64(s.w.n)
	if s.conv != nil {
		// Patches of a row block stay in the L1/L2 cache while every panel
		// passes over them.
		s.rowBlock = max(mr, min(512, 16384/k/mr*mr))
	} else {
		s.rowBlock = 4 * mr
	}
	need := m.kern.mr * m.kern.nr
	if s.conv != nil && !s.conv.pointwise() {
		need += s.rowBlock * k
	}
	m.scratch = max(m.scratch, need)
}

// gemmCall is one call's view of a gemmStep: the job handed to workers.
type gemmCall struct {
	s      *gemmStep
	m      *Model
	ws     *workspace
	rows   int // total output rows
	groups int // panel groups per row block (dense)
}

func (s *gemmStep) run(m *Model, ws *workspace) {
	call := &ws.calls.gemm
	*call = gemmCall{s: s, m: m, ws: ws, rows: ws.n * s.m, groups: 1}
	blocks := (call.rows + s.rowBlock - 1) / s.rowBlock
	workers := Workers()
	if s.flops*int64(ws.n) < serialFLOPs {
		workers = 1
	}
	if s.conv == nil && workers > 1 {
		call.groups = min(s.w.count(), max(1, (2*workers+blocks-1)/blocks))
	}
	parallel(call, blocks*call.groups, workers, &ws.next, &ws.pending)
}

func (c *gemmCall) run(task, worker int) {
	s, ks := c.s, c.m.kern
	block, group := task/c.groups, task%c.groups
	r0 := block * s.rowBlock
	r1 := min(r0+s.rowBlock, c.rows)
	np := s.w.count()
	p0, p1 := group*np/c.groups, (group+1)*np/c.groups
	n := s.w.n
	out := c.ws.bufs[s.out]
	flags := 0
	if s.act == "relu" {
		flags |= flagRelu
	}
	if s.residual >= 0 {
		flags |= flagAccumulate
		res := c.ws.bufs[s.residual]
		for r := r0; r < r1; r++ {
			copy(out[r*n+p0*ks.nr:r*n+min(p1*ks.nr, n)], res[r*n+p0*ks.nr:])
		}
	}
	scratch := c.ws.scratch[worker]
	tile := scratch[:ks.mr*ks.nr]
	in := c.ws.bufs[s.in]
	k := s.w.k
	switch {
	case s.conv == nil || s.conv.pointwise():
		ks.gemmRows(in, k, s.w, out, n, r0, r1, p0, p1, flags, tile)
	default:
		patches := scratch[ks.mr*ks.nr:]
		s.conv.im2col(in, patches, r0, r1)
		ks.gemmRows(patches, k, s.w, out[r0*n:], n, 0, r1-r0, p0, p1, flags, tile)
	}
	if s.act != "" && s.act != "relu" {
		for r := r0; r < r1; r++ {
			activate(s.act, out[r*n+p0*ks.nr:r*n+min(p1*ks.nr, n)])
		}
	}
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
	in, out     int
	h, w, c     int
	window      int
}

func (s *maxPoolStep) run(m *Model, ws *workspace) {
	in, out := ws.bufs[s.in], ws.bufs[s.out]
	ho, wo, c, k := s.h/s.window, s.w/s.window, s.c, s.window
	o := 0
	for img := 0; img < ws.n; img++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				dst := out[o : o+c]
				o += c
				first := ((img*s.h+oy*k)*s.w + ox*k) * c
				copy(dst, in[first:first+c])
				for ky := 0; ky < k; ky++ {
					for kx := 0; kx < k; kx++ {
						src := in[((img*s.h+oy*k+ky)*s.w+ox*k+kx)*c:][:c]
						for j, v := range src {
							if v > dst[j] || v != v {
								dst[j] = v
							}
						}
					}
				}
			}
		}
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

// activate applies a named activation in place, with GoMLX's definitions.
func activate(name string, v []float32) {
	switch name {
	case "":
	case "relu":
		for i, x := range v {
			if x < 0 {
				v[i] = 0
			}
		}
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

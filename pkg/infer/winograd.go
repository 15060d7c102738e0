package infer

// winogradStep is a 3×3, stride-1, zero-padded ("same") float convolution
// computed as Winograd's F(2×2, 3×3) (Lavin & Gray 2016): each 2×2 tile of
// outputs comes from a 4×4 tile of the padded input, transformed (V =
// Bᵀ·d·B), multiplied channel by channel with the transformed filters (U
// = G·g·Gᵀ) in sixteen matrix products — 16 multiplies where the direct
// convolution makes 36 — and transformed back (Y = Aᵀ·M·A) with the bias,
// the residual addend and the ReLU. The products run on the GEMM kernels;
// the transforms on the kernel set's AVX-512 ones, 16 channels at a time.
//
// The planner takes it where it pays: channels in and out multiples of
// 16, any size (an odd one's last tiles hang over the edge), and
// transformed filters of at most 16·256·256 floats (ResNet-18's last
// stage keeps the direct convolution). Filters whose transform outgrows
// the L2 cache (above 16·128·128 floats) keep the direct convolution too,
// for calls of few tiles (direct): at batch 1 reading 16 filter values
// per channel pair instead of 9 costs more than the products save
// (ResNet-18 at 32×32, batch 1: 3.8 ms against 4.0 with Winograd
// everywhere; batch 64: 155 against 168 ms with it only below
// 16·128·128). Its outputs differ from the direct convolution's by
// rounding only (the transforms add and subtract a few values; U's
// halves are exact).
type winogradStep struct {
	fam               *family
	u                 [16]*packed // U's element ξ for every (input, output) channel pair: [c, n]
	bias              []float32
	conv              *convGeom
	in, out, residual int
	relu              bool
	tw, tiles         int // tiles per output row, per example
	flops             int64
	kern              *kernels
	// direct is the same convolution computed directly, for calls of
	// fewer than winoMinTiles tiles; nil where Winograd always runs.
	direct *gemmStep
}

// winoMinTiles is the fewest tiles a call of a winogradStep with a direct
// twin needs to run as Winograd's.
const winoMinTiles = 64

// winoCacheFloats bounds the transformed filters that always run as
// Winograd's: 16·128·128 floats, 1 MiB, an L2 cache.
const winoCacheFloats = 16 * 128 * 128

// winoTilesPerTask is the tiles one task transforms and multiplies: 32
// rows for the GEMM kernels (4 blocks of 8), whose transformed inputs and
// products (16·32·c floats each) stay in the L2 cache.
const winoTilesPerTask = 32

// winogradFits says whether a convolution of geometry g with n outputs
// runs as winogradStep on kernel set ks.
func winogradFits(ks *kernels, g *convGeom, n int) bool {
	return ks.winoInput != nil && g.k == 3 && g.stride == 1 && g.padTop == 1 && g.padLeft == 1 &&
		g.ho == g.h && g.wo == g.w &&
		g.c%16 == 0 && n%16 == 0 && 16*g.c*n <= 16*256*256
}

// winogradFilters transforms w ([3, 3, c, n], HWIO) into U: for each
// (input, output) channel pair, G·g·Gᵀ with G = [1 0 0; ½ ½ ½; ½ −½ ½;
// 0 0 1], in float64, rounded once.
func winogradFilters(w []float32, c, n int) [16][]float32 {
	var u [16][]float32
	for xi := range u {
		u[xi] = make([]float32, c*n)
	}
	G := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	for ci := 0; ci < c; ci++ {
		for co := 0; co < n; co++ {
			var g [3][3]float64
			for y := 0; y < 3; y++ {
				for x := 0; x < 3; x++ {
					g[y][x] = float64(w[((y*3+x)*c+ci)*n+co])
				}
			}
			var gg [4][3]float64 // G·g
			for i := 0; i < 4; i++ {
				for x := 0; x < 3; x++ {
					for y := 0; y < 3; y++ {
						gg[i][x] += G[i][y] * g[y][x]
					}
				}
			}
			for i := 0; i < 4; i++ {
				for j := 0; j < 4; j++ {
					var v float64 // (G·g·Gᵀ)[i][j]
					for x := 0; x < 3; x++ {
						v += gg[i][x] * G[j][x]
					}
					u[i*4+j][ci*n+co] = float32(v)
				}
			}
		}
	}
	return u
}

func (s *winogradStep) prepare(m *Model) {
	if s.direct != nil {
		s.direct.prepare(m)
	}
	// Its own geometry: an odd size's last tile hangs over the image by a
	// row or column, which the padded copy fills with zeros (padCall
	// clears what lies past the image) and the output leaves out.
	g := *s.conv
	s.tw = (g.wo + 1) / 2
	s.tiles = ((g.ho + 1) / 2) * s.tw
	g.hp, g.wp = 2*((g.ho+1)/2)+2, 2*s.tw+2
	s.conv = &g
	s.flops = 2 * int64(g.ho*g.wo) * int64(9*g.c) * int64(len(s.bias))
	m.padSize = max(m.padSize, g.hp*g.wp*g.c)
	// Per task: the transformed inputs, the products, the right-edge
	// tile, and an edge tile's outputs and residual (2×2 each).
	m.scratch = max(m.scratch, 16*winoTilesPerTask*(g.c+len(s.bias))+s.fam.mr*s.fam.nr+8*len(s.bias))
}

func (s *winogradStep) run(m *Model, ws *workspace) {
	if s.direct != nil && ws.n*s.tiles < winoMinTiles {
		s.direct.run(m, ws)
		return
	}
	workers := ws.workers
	if s.flops*int64(ws.n) < serialFLOPs {
		workers = 1
	}
	g := s.conv
	pc := &ws.calls.pad
	*pc = padCall{g: g, in: ws.bufs[s.in], out: ws.padded}
	padWorkers := workers
	if ws.n*g.hp*g.wp*g.c < serialPad {
		padWorkers = 1
	}
	parallel(pc, ws.n*g.hp, padWorkers, &ws.gate)
	call := &ws.calls.wino
	*call = winoCall{s: s, ws: ws, total: ws.n * s.tiles}
	parallel(call, (call.total+winoTilesPerTask-1)/winoTilesPerTask, workers, &ws.gate)
}

// winoCall is one call's view of a winogradStep: a task is a block of
// winoTilesPerTask tiles, counted over the batch's images in order.
type winoCall struct {
	s     *winogradStep
	ws    *workspace
	total int
}

func (c *winoCall) run(task, worker int) {
	s, g, f := c.s, c.s.conv, c.s.fam
	t0 := task * winoTilesPerTask
	t1 := min(t0+winoTilesPerTask, c.total)
	tiles := t1 - t0
	cin, n := g.c, len(s.bias)
	scratch := c.ws.scratch[worker]
	v := scratch[:16*tiles*cin]                      // [ξ][tile][c]
	prod := scratch[16*tiles*cin : 16*tiles*(cin+n)] // [ξ][tile][n]
	tile := scratch[16*winoTilesPerTask*(cin+n):]
	img := c.ws.padded
	rowBytes, pixBytes := 4*g.wp*cin, 4*cin
	for t := t0; t < t1; t++ {
		im, rest := t/s.tiles, t%s.tiles
		ty, tx := rest/s.tw, rest%s.tw
		src := ((im*g.hp+2*ty)*g.wp + 2*tx) * cin
		s.kern.winoInput(&img[src], rowBytes, pixBytes, &v[(t-t0)*cin], 4*tiles*cin, cin/16)
	}
	for xi := 0; xi < 16; xi++ {
		a := v[xi*tiles*cin:]
		out := prod[xi*tiles*n:]
		u := s.u[xi]
		for i := 0; i < tiles; i += f.mr {
			rows := min(f.mr, tiles-i)
			for p := 0; p < u.count(); p++ {
				f.panel(f.micro[rows-1], rows, cin, &a[i*cin], cin, &u.panels[p*cin*f.nr], &u.bias[p*f.nr], out[i*n:], n, p, 0, tile, nil)
			}
		}
	}
	flags := 0
	if s.relu {
		flags |= flagRelu
	}
	dst := c.ws.bufs[s.out]
	res := dst // not read without flagAccumulate
	if s.residual >= 0 {
		flags |= flagAccumulate
		res = c.ws.bufs[s.residual]
	}
	outRow, outPix := 4*g.wo*n, 4*n
	edge := tile[s.fam.mr*s.fam.nr:]
	for t := t0; t < t1; t++ {
		im, rest := t/s.tiles, t%s.tiles
		ty, tx := rest/s.tw, rest%s.tw
		at := ((im*g.ho+2*ty)*g.wo + 2*tx) * n
		rows, cols := min(2, g.ho-2*ty), min(2, g.wo-2*tx)
		if rows == 2 && cols == 2 {
			s.kern.winoOutput(&prod[(t-t0)*n], 4*tiles*n, &s.bias[0], &res[at], &dst[at], outRow, outPix, n/16, flags)
			continue
		}
		// A tile over the edge: its 2×2 outputs through scratch, the
		// ones inside the image copied out (and its residual in).
		out, add := edge[:4*n], edge[4*n:8*n]
		for y := range rows {
			for x := range cols {
				if s.residual >= 0 {
					copy(add[(y*2+x)*n:(y*2+x+1)*n], res[at+(y*g.wo+x)*n:])
				}
			}
		}
		s.kern.winoOutput(&prod[(t-t0)*n], 4*tiles*n, &s.bias[0], &add[0], &out[0], 8*n, 4*n, n/16, flags)
		for y := range rows {
			for x := range cols {
				copy(dst[at+(y*g.wo+x)*n:at+(y*g.wo+x+1)*n], out[(y*2+x)*n:])
			}
		}
	}
}

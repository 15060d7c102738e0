package gocompute_test

// Op-by-op comparison of the gocompute adapter against GoMLX's own pure-Go
// backend (simplego), the reference. Each table case builds one small graph,
// runs it on both backends from the same Go-slice inputs, and compares every
// output element with the tolerance the case states:
//
//	|got - want| <= atol + rtol·|want|   (NaN must meet NaN, ±Inf the same ±Inf)
//
// Ops simplego lacks (Pad, Reverse, DynamicSlice, DynamicUpdateSlice,
// SelectAndScatterMax, hence the gradients of Convolve and MaxPool) are checked
// against plain-Go references in ref_test.go instead, never against the adapter.
//
// Run with GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd so that compute's SIMD
// kernels are the ones tested.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lathe-ml/lathe/pkg/gocompute"
)

// ---------------------------------------------------------------------------
// Backends: one instance of each, shared by the whole package's tests.

var (
	backendsOnce sync.Once
	adapterB     backends.Backend
	referenceB   backends.Backend
	backendsErr  error
)

func testBackends(t *testing.T) (adapter, reference backends.Backend) {
	t.Helper()
	backendsOnce.Do(func() {
		var b *gocompute.Backend
		b, backendsErr = gocompute.New("")
		if backendsErr != nil {
			return
		}
		adapterB = b
		referenceB, backendsErr = backends.NewWithConfig("go")
	})
	if backendsErr != nil {
		t.Fatalf("opening backends: %v", backendsErr)
	}
	return adapterB, referenceB
}

func TestKernels(t *testing.T) {
	a, r := testBackends(t)
	t.Logf("adapter: %s (SIMDBuilt=%v, kernels %q)", a.Description(), gocompute.SIMDBuilt, a.(*gocompute.Backend).Kernels())
	t.Logf("reference: %s", r.Description())
}

// ---------------------------------------------------------------------------
// Inputs: Go slices with dimensions; a fresh tensor is made for each backend.

type arg struct {
	dims []int
	flat any // []float32, []float64, []bfloat16.BFloat16, []int32, []bool, []uint64
}

func size(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

func (a arg) tensor() *tensors.Tensor {
	switch v := a.flat.(type) {
	case []float32:
		return tensors.FromFlatDataAndDimensions(v, a.dims...)
	case []float64:
		return tensors.FromFlatDataAndDimensions(v, a.dims...)
	case []bfloat16.BFloat16:
		return tensors.FromFlatDataAndDimensions(v, a.dims...)
	case []int32:
		return tensors.FromFlatDataAndDimensions(v, a.dims...)
	case []bool:
		return tensors.FromFlatDataAndDimensions(v, a.dims...)
	case []uint64:
		return tensors.FromFlatDataAndDimensions(v, a.dims...)
	}
	panic(fmt.Sprintf("arg: unsupported flat type %T", a.flat))
}

// floats returns the arg's values as float64 (for plain-Go references).
func (a arg) floats() []float64 {
	return toFloats(a.flat)
}

func toFloats(flat any) []float64 {
	switch v := flat.(type) {
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return slices.Clone(v)
	case []bfloat16.BFloat16:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x.Float32())
		}
		return out
	case []int32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []int64:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []uint32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []uint64:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []uint8:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []bool:
		out := make([]float64, len(v))
		for i, x := range v {
			if x {
				out[i] = 1
			}
		}
		return out
	}
	panic(fmt.Sprintf("toFloats: unsupported flat type %T", flat))
}

// gen makes deterministic pseudo-random inputs.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) gen { return gen{rand.New(rand.NewPCG(seed, 0x1a7e))} }

func (g gen) uniform(lo, hi float64) float64 { return lo + (hi-lo)*g.r.Float64() }

func (g gen) f32(lo, hi float64, dims ...int) arg {
	v := make([]float32, size(dims))
	for i := range v {
		v[i] = float32(g.uniform(lo, hi))
	}
	return arg{dims, v}
}

func (g gen) f64(lo, hi float64, dims ...int) arg {
	v := make([]float64, size(dims))
	for i := range v {
		v[i] = g.uniform(lo, hi)
	}
	return arg{dims, v}
}

func (g gen) bf16(lo, hi float64, dims ...int) arg {
	v := make([]bfloat16.BFloat16, size(dims))
	for i := range v {
		v[i] = bfloat16.FromFloat64(g.uniform(lo, hi))
	}
	return arg{dims, v}
}

// float makes inputs of a float dtype (Float32, Float64 or BFloat16).
func (g gen) float(dtype dtypes.DType, lo, hi float64, dims ...int) arg {
	switch dtype {
	case dtypes.Float32:
		return g.f32(lo, hi, dims...)
	case dtypes.Float64:
		return g.f64(lo, hi, dims...)
	case dtypes.BFloat16:
		return g.bf16(lo, hi, dims...)
	}
	panic("gen.float: " + dtype.String())
}

// i32 returns values in [lo, hi).
func (g gen) i32(lo, hi int, dims ...int) arg {
	v := make([]int32, size(dims))
	for i := range v {
		v[i] = int32(lo + g.r.IntN(hi-lo))
	}
	return arg{dims, v}
}

// levels returns small integers in [0, n) of the given dtype: many ties.
func (g gen) levels(dtype dtypes.DType, n int, dims ...int) arg {
	a := g.i32(0, n, dims...)
	vals := a.flat.([]int32)
	switch dtype {
	case dtypes.Int32:
		return a
	case dtypes.Float32:
		v := make([]float32, len(vals))
		for i, x := range vals {
			v[i] = float32(x)
		}
		return arg{dims, v}
	case dtypes.BFloat16:
		v := make([]bfloat16.BFloat16, len(vals))
		for i, x := range vals {
			v[i] = bfloat16.FromFloat32(float32(x))
		}
		return arg{dims, v}
	}
	panic("gen.levels: " + dtype.String())
}

func (g gen) boolean(dims ...int) arg {
	v := make([]bool, size(dims))
	for i := range v {
		v[i] = g.r.IntN(2) == 1
	}
	return arg{dims, v}
}

// signed returns values in ±[lo, hi): away from zero (for denominators).
func (g gen) signed(lo, hi float64, dims ...int) arg {
	v := make([]float32, size(dims))
	for i := range v {
		x := float32(g.uniform(lo, hi))
		if g.r.IntN(2) == 0 {
			x = -x
		}
		v[i] = x
	}
	return arg{dims, v}
}

// ---------------------------------------------------------------------------
// Execution and comparison.

type graphFn func(g *graph.Graph, x []*graph.Node) []*graph.Node

// result is one output: its shape and its values as float64.
type result struct {
	shape shapes.Shape
	vals  []float64
	flat  any
}

// execute builds fn on backend b, feeds it fresh tensors of args and returns
// its outputs; a panic while building or running is returned as an error.
func execute(b backends.Backend, fn graphFn, args []arg) (res []result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	var exec *graph.Exec
	if len(args) == 0 {
		exec, err = graph.NewExec(b, func(g *graph.Graph) []*graph.Node { return fn(g, nil) })
	} else {
		exec, err = graph.NewExec(b, func(x []*graph.Node) []*graph.Node { return fn(x[0].Graph(), x) })
	}
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	inputs := make([]any, len(args))
	for i, a := range args {
		inputs[i] = a.tensor()
	}
	outs, err := exec.Exec(inputs...)
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		var r result
		r.shape = o.Shape()
		if err := o.ConstFlatData(func(flat any) {
			r.vals = toFloats(flat)
			r.flat = copyFlat(flat)
		}); err != nil {
			return nil, err
		}
		res = append(res, r)
		_ = o.FinalizeAll()
	}
	return res, nil
}

func copyFlat(flat any) any {
	switch v := flat.(type) {
	case []float32:
		return slices.Clone(v)
	case []float64:
		return slices.Clone(v)
	case []bfloat16.BFloat16:
		return slices.Clone(v)
	case []int32:
		return slices.Clone(v)
	case []int64:
		return slices.Clone(v)
	case []uint32:
		return slices.Clone(v)
	case []uint64:
		return slices.Clone(v)
	case []bool:
		return slices.Clone(v)
	}
	return nil
}

// tol is an elementwise tolerance: |got-want| <= atol + rtol·|want|.
type tol struct{ rtol, atol float64 }

var (
	exact   = tol{}
	tolF32  = tol{1e-5, 1e-6}   // float32 elementwise
	tolF64  = tol{1e-12, 1e-12} // float64 elementwise
	tolBF16 = tol{1e-2, 1e-3}   // bfloat16: one ulp is 2⁻⁷ relative at most; GoMLX truncates, compute rounds
)

// tolSum is the tolerance of a sum (or matmul) of k terms of magnitude ≲ 1.
func tolSum(dtype dtypes.DType, k int) tol {
	switch dtype {
	case dtypes.BFloat16:
		return tol{1e-2, 1e-2}
	case dtypes.Float64:
		return tol{1e-12, 1e-13 * float64(k)}
	}
	return tol{1e-5, 1e-6 * float64(k)}
}

func closeTo(got, want float64, tl tol) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	case math.IsNaN(got) || math.IsInf(got, 0):
		return false
	}
	return math.Abs(got-want) <= tl.atol+tl.rtol*math.Abs(want)
}

// compareValues reports (once) the mismatches of got against want.
func compareValues(t *testing.T, what string, got, want []float64, tl tol) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return false
	}
	bad, worst, worstErr := 0, -1, -1.0
	for i := range got {
		if closeTo(got[i], want[i], tl) {
			continue
		}
		bad++
		e := math.Abs(got[i] - want[i])
		if math.IsNaN(e) || math.IsInf(e, 0) {
			e = math.Inf(1)
		}
		if e > worstErr {
			worst, worstErr = i, e
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ beyond (rtol %g, atol %g); worst at flat index %d: got %g, want %g",
			what, bad, len(got), tl.rtol, tl.atol, worst, got[worst], want[worst])
		return false
	}
	return true
}

func compareResults(t *testing.T, got, want []result, tl tol) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("adapter returned %d outputs, reference %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].shape.Equal(want[i].shape) {
			t.Errorf("output #%d: shape %s, reference %s", i, got[i].shape, want[i].shape)
			continue
		}
		compareValues(t, fmt.Sprintf("output #%d %s", i, got[i].shape), got[i].vals, want[i].vals, tl)
	}
}

// cmpCase is one graph run on both backends and compared.
type cmpCase struct {
	name string
	args []arg
	fn   graphFn
	tol  tol
}

func runCmpCases(t *testing.T, cases []cmpCase) {
	t.Helper()
	adapter, reference := testBackends(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := execute(reference, c.fn, c.args)
			if err != nil {
				t.Fatalf("reference (simplego) failed: %v", err)
			}
			got, err := execute(adapter, c.fn, c.args)
			if err != nil {
				t.Fatalf("adapter failed: %v", err)
			}
			compareResults(t, got, want, c.tol)
		})
	}
}

// one wraps a single-output graph function.
func one(f func(g *graph.Graph, x []*graph.Node) *graph.Node) graphFn {
	return func(g *graph.Graph, x []*graph.Node) []*graph.Node { return []*graph.Node{f(g, x)} }
}

func dimsName(dims ...[]int) string {
	s := ""
	for i, d := range dims {
		if i > 0 {
			s += "·"
		}
		s += fmt.Sprint(d)
	}
	return s
}

// ---------------------------------------------------------------------------
// DotGeneral and Dot.

func TestDotGeneral(t *testing.T) {
	g := newGen(1)
	type dg struct {
		name           string
		lhs, rhs       []int
		lc, lb, rc, rb []int
		k              int // contracted size, for the tolerance
	}
	shapesTable := []dg{
		{"2d", []int{7, 33}, []int{33, 9}, []int{1}, nil, []int{0}, nil, 33},
		{"1xN", []int{1, 33}, []int{33, 7}, []int{1}, nil, []int{0}, nil, 33},
		{"Nx1", []int{33, 7}, []int{7, 1}, []int{1}, nil, []int{0}, nil, 7},
		{"1x1", []int{1, 1}, []int{1, 1}, []int{1}, nil, []int{0}, nil, 1},
		{"K=1", []int{7, 1}, []int{1, 33}, []int{1}, nil, []int{0}, nil, 1},
		{"narrow3", []int{129, 3}, []int{3, 2}, []int{1}, nil, []int{0}, nil, 3},
		{"lhsContractFirst", []int{33, 7}, []int{33, 9}, []int{0}, nil, []int{0}, nil, 33},
		{"rhsContractLast", []int{7, 33}, []int{9, 33}, []int{1}, nil, []int{1}, nil, 33},
		{"bothTransposed", []int{33, 7}, []int{9, 33}, []int{0}, nil, []int{1}, nil, 33},
		{"vector·vector", []int{129}, []int{129}, []int{0}, nil, []int{0}, nil, 129},
		{"matrix·vector", []int{7, 33}, []int{33}, []int{1}, nil, []int{0}, nil, 33},
		{"large129x257x65", []int{129, 257}, []int{257, 65}, []int{1}, nil, []int{0}, nil, 257},
		{"large129x257x65/transposed", []int{257, 129}, []int{65, 257}, []int{0}, nil, []int{1}, nil, 257},
		{"batch", []int{3, 7, 33}, []int{3, 33, 9}, []int{2}, []int{0}, []int{1}, []int{0}, 33},
		{"batch/contractFirst", []int{3, 33, 7}, []int{3, 9, 33}, []int{1}, []int{0}, []int{2}, []int{0}, 33},
		{"batch/1row", []int{5, 1, 17}, []int{5, 17, 3}, []int{2}, []int{0}, []int{1}, []int{0}, 17},
		{"batch/axisMiddle", []int{7, 3, 33}, []int{33, 3, 9}, []int{2}, []int{1}, []int{0}, []int{1}, 33},
		{"batch/attention", []int{2, 4, 7, 16}, []int{2, 4, 9, 16}, []int{3}, []int{0, 1}, []int{3}, []int{0, 1}, 16},
		{"multiContract", []int{2, 5, 3, 4}, []int{2, 3, 4, 6}, []int{2, 3}, []int{0}, []int{1, 2}, []int{0}, 12},
		{"multiCross", []int{2, 3, 33}, []int{33, 5, 2}, []int{2}, nil, []int{0}, nil, 33},
	}
	var cases []cmpCase
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16, dtypes.Float64} {
		for _, s := range shapesTable {
			if dtype == dtypes.Float64 && s.k > 40 {
				continue // float64 only where cheap
			}
			s := s
			cases = append(cases, cmpCase{
				name: fmt.Sprintf("%s/%s/%s", dtype, s.name, dimsName(s.lhs, s.rhs)),
				args: []arg{g.float(dtype, -1, 1, s.lhs...), g.float(dtype, -1, 1, s.rhs...)},
				fn: one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
					return graph.DotGeneral(x[0], s.lc, s.lb, x[1], s.rc, s.rb)
				}),
				tol: tolSum(dtype, s.k),
			})
		}
	}
	runCmpCases(t, cases)
}

func TestDot(t *testing.T) {
	g := newGen(2)
	dot := one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.Dot(x[0], x[1]) })
	var cases []cmpCase
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		for _, s := range [][2][]int{
			{{129}, {129}},
			{{7, 33}, {33}},
			{{1, 3}, {3, 129}},
			{{33, 1}, {1, 7}},
			{{65, 129}, {129, 33}},
		} {
			cases = append(cases, cmpCase{
				name: fmt.Sprintf("%s/%s", dtype, dimsName(s[0], s[1])),
				args: []arg{g.float(dtype, -1, 1, s[0]...), g.float(dtype, -1, 1, s[1]...)},
				fn:   dot,
				tol:  tolSum(dtype, s[1][0]),
			})
		}
	}
	runCmpCases(t, cases)
}

// ---------------------------------------------------------------------------
// Convolution (forward; gradients are in ref_test.go) and MaxPool (forward).

// convCase is an NHWC convolution with a [k,k,cin,cout] kernel.
type convCase struct {
	batch, h, w, cin, k, cout, stride int
	same                              bool
}

func (c convCase) String() string {
	pad := "valid"
	if c.same {
		pad = "same"
	}
	return fmt.Sprintf("b%d_%dx%dx%d_k%d_cout%d_s%d_%s", c.batch, c.h, c.w, c.cin, c.k, c.cout, c.stride, pad)
}

func (c convCase) convolve(x, kernel *graph.Node) *graph.Node {
	b := graph.Convolve(x, kernel).StridePerAxis(c.stride, c.stride)
	if c.same {
		b = b.PadSame()
	} else {
		b = b.NoPadding()
	}
	return b.Done()
}

var convCases = []convCase{
	{1, 7, 7, 1, 3, 4, 1, true},
	{1, 7, 7, 1, 3, 4, 1, false},
	{3, 9, 8, 3, 3, 5, 2, true},
	{3, 9, 8, 3, 3, 5, 2, false},
	{1, 8, 8, 3, 5, 2, 1, false},
	{1, 8, 8, 3, 5, 2, 1, true},
	{3, 11, 9, 1, 5, 4, 2, true},
	{3, 11, 9, 1, 5, 4, 2, false},
	{2, 1, 9, 3, 3, 4, 1, true},  // one-row images
	{1, 5, 5, 3, 5, 1, 1, false}, // 1x1 output, one output channel
}

func TestConvolve(t *testing.T) {
	g := newGen(3)
	var cases []cmpCase
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		for i, c := range convCases {
			if dtype == dtypes.BFloat16 && i%3 != 0 {
				continue
			}
			c := c
			cases = append(cases, cmpCase{
				name: fmt.Sprintf("%s/%s", dtype, c),
				args: []arg{g.float(dtype, -1, 1, c.batch, c.h, c.w, c.cin), g.float(dtype, -1, 1, c.k, c.k, c.cin, c.cout)},
				fn:   one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return c.convolve(x[0], x[1]) }),
				tol:  tolSum(dtype, c.k*c.k*c.cin),
			})
		}
	}
	runCmpCases(t, cases)
}

func TestMaxPool(t *testing.T) {
	g := newGen(4)
	pool := one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.MaxPool(x[0]).Window(2).Done() })
	var cases []cmpCase
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		for _, dims := range [][]int{{1, 4, 4, 1}, {3, 7, 7, 3}, {2, 2, 6, 2}, {1, 28, 28, 8}} {
			cases = append(cases, cmpCase{
				name: fmt.Sprintf("%s/%v", dtype, dims),
				args: []arg{g.float(dtype, -3, 3, dims...)},
				fn:   pool,
				tol:  exact,
			})
		}
	}
	runCmpCases(t, cases)
}

// ---------------------------------------------------------------------------
// Reductions, shape ops.

func TestReduce(t *testing.T) {
	g := newGen(5)
	type red struct {
		name string
		f    func(x *graph.Node, axes ...int) *graph.Node
	}
	reds := []red{{"Sum", graph.ReduceSum}, {"Max", graph.ReduceMax}, {"Min", graph.ReduceMin}}
	var cases []cmpCase
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16, dtypes.Int32, dtypes.Float64} {
		for _, s := range []struct {
			dims []int
			axes []int
		}{
			{[]int{3, 7, 33}, []int{0}},
			{[]int{3, 7, 33}, []int{1}},
			{[]int{3, 7, 33}, []int{2}},
			{[]int{3, 7, 33}, []int{0, 2}},
			{[]int{3, 7, 33}, []int{1, 2}},
			{[]int{3, 7, 33}, nil}, // all axes
			{[]int{1, 129}, []int{1}},
			{[]int{129, 1}, []int{0}},
			{[]int{129, 3}, []int{0}},
			{[]int{2, 5, 4, 3}, []int{1, 2}},
		} {
			if dtype == dtypes.Float64 && len(s.axes) != 2 {
				continue
			}
			for _, r := range reds {
				r, s := r, s
				var in arg
				if dtype == dtypes.Int32 {
					in = g.i32(-100, 100, s.dims...)
				} else {
					in = g.float(dtype, -1, 1, s.dims...)
				}
				n := size(s.dims)
				if s.axes != nil {
					n = 1
					for _, a := range s.axes {
						n *= s.dims[a]
					}
				}
				if r.name == "Sum" && dtype == dtypes.BFloat16 {
					// simplego accumulates bf16 sums in bf16, truncating after each
					// addition: no reference. See TestReduceSumBFloat16.
					continue
				}
				tl := exact
				if r.name == "Sum" && dtype != dtypes.Int32 {
					tl = tolSum(dtype, n)
				}
				cases = append(cases, cmpCase{
					name: fmt.Sprintf("%s/%s/%v/axes%v", r.name, dtype, s.dims, s.axes),
					args: []arg{in},
					fn:   one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return r.f(x[0], s.axes...) }),
					tol:  tl,
				})
			}
		}
	}
	runCmpCases(t, cases)
}

func TestShapeOps(t *testing.T) {
	g := newGen(6)
	var cases []cmpCase
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16, dtypes.Int32, dtypes.Bool} {
		in := func(dims ...int) arg {
			switch dtype {
			case dtypes.Int32:
				return g.i32(-1000, 1000, dims...)
			case dtypes.Bool:
				return g.boolean(dims...)
			}
			return g.float(dtype, -1, 1, dims...)
		}
		add := func(name string, fn graphFn, args ...arg) {
			cases = append(cases, cmpCase{name: fmt.Sprintf("%s/%s", name, dtype), args: args, fn: fn, tol: exact})
		}
		// BroadcastInDim, through GoMLX's broadcasting helpers.
		add("Broadcast/[1,33]->[7,33]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.BroadcastToDims(x[0], 7, 33)
		}), in(1, 33))
		add("Broadcast/[7]->[7,33]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.ExpandAndBroadcast(x[0], []int{7, 33}, []int{1})
		}), in(7))
		add("Broadcast/[33]->[7,3,33]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.ExpandAndBroadcast(x[0], []int{7, 3, 33}, []int{0, 1})
		}), in(33))
		add("Broadcast/prefix[3]->[5,3]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.BroadcastPrefix(x[0], 5)
		}), in(3))
		add("Broadcast/scalar->[3,7]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.BroadcastToDims(x[0], 3, 7)
		}), in())
		// Transpose.
		add("Transpose/[3,7,33]perm201", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.TransposeAllDims(x[0], 2, 0, 1)
		}), in(3, 7, 33))
		add("Transpose/[129,3]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Transpose(x[0], 0, 1)
		}), in(129, 3))
		add("Transpose/[1,7]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Transpose(x[0], 0, 1)
		}), in(1, 7))
		add("Transpose/[2,3,4,5]perm3102", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.TransposeAllDims(x[0], 3, 1, 0, 2)
		}), in(2, 3, 4, 5))
		// Reshape, also of a transposed value.
		add("Reshape/[3,7,33]->[21,33]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Reshape(x[0], 21, 33)
		}), in(3, 7, 33))
		add("Reshape/transposed[7,33]->[231]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Reshape(graph.Transpose(x[0], 0, 1), 231)
		}), in(7, 33))
		add("Reshape/[1,3]->[3,1,1]", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Reshape(x[0], 3, 1, 1)
		}), in(1, 3))
		// Slice.
		add("Slice/[7,33]rows1:5cols2:31:3", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Slice(x[0], graph.AxisRange(1, 5), graph.AxisRange(2, 31).Stride(3))
		}), in(7, 33))
		add("Slice/[1,3]cols1:3", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Slice(x[0], graph.AxisRange(), graph.AxisRange(1, 3))
		}), in(1, 3))
		add("Slice/[3,7,33]elem1", one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Slice(x[0], graph.AxisElem(1), graph.AxisRange().Stride(2), graph.AxisRange(32))
		}), in(3, 7, 33))
		// Concatenate.
		add("Concatenate/axis1/[7,3]+[7,33]+[7,1]", func(_ *graph.Graph, x []*graph.Node) []*graph.Node {
			return []*graph.Node{graph.Concatenate(x, 1)}
		}, in(7, 3), in(7, 33), in(7, 1))
		add("Concatenate/axis0/[1,33]+[6,33]", func(_ *graph.Graph, x []*graph.Node) []*graph.Node {
			return []*graph.Node{graph.Concatenate(x, 0)}
		}, in(1, 33), in(6, 33))
		add("Concatenate/axis1/[3,2,5]+[3,7,5]", func(_ *graph.Graph, x []*graph.Node) []*graph.Node {
			return []*graph.Node{graph.Concatenate(x, 1)}
		}, in(3, 2, 5), in(3, 7, 5))
	}
	runCmpCases(t, cases)
}

// ---------------------------------------------------------------------------
// Gather and ScatterSum (the gradient of Gather).

func TestGatherScatter(t *testing.T) {
	g := newGen(7)
	gather := one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.Gather(x[0], x[1]) })
	gatherGrad := func(_ *graph.Graph, x []*graph.Node) []*graph.Node {
		y := graph.Gather(x[0], x[1])
		loss := graph.ReduceAllSum(graph.Mul(y, x[2]))
		return graph.Gradient(loss, x[0])
	}
	scatter := one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
		return graph.ScatterSum(x[0], x[1], x[2], false, false)
	})
	var cases []cmpCase
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16, dtypes.Int32} {
		p := func(dims ...int) arg {
			if dtype == dtypes.Int32 {
				return g.i32(-1000, 1000, dims...)
			}
			return g.float(dtype, -1, 1, dims...)
		}
		cases = append(cases,
			cmpCase{fmt.Sprintf("Gather/%s/[10,7]by[5,1]", dtype), []arg{p(10, 7), g.i32(0, 10, 5, 1)}, gather, exact},
			cmpCase{fmt.Sprintf("Gather/%s/[10,7]by[2,3,1]", dtype), []arg{p(10, 7), g.i32(0, 10, 2, 3, 1)}, gather, exact},
			cmpCase{fmt.Sprintf("Gather/%s/[10,3,4]by[4,2]", dtype), []arg{p(10, 3, 4), {[]int{4, 2}, []int32{0, 0, 9, 2, 3, 1, 9, 2}}}, gather, exact},
			cmpCase{fmt.Sprintf("Gather/%s/[129,1]by[33,1]", dtype), []arg{p(129, 1), g.i32(0, 129, 33, 1)}, gather, exact},
			cmpCase{fmt.Sprintf("ScatterSum/%s/[10,7]by[6,1]dups", dtype),
				[]arg{p(10, 7), {[]int{6, 1}, []int32{3, 0, 3, 9, 3, 0}}, p(6, 7)}, scatter, tolSum(dtype, 4)},
		)
		if dtype != dtypes.Int32 {
			cases = append(cases,
				cmpCase{fmt.Sprintf("GatherGrad/%s/[10,7]by[12,1]", dtype),
					[]arg{p(10, 7), g.i32(0, 10, 12, 1), p(12, 7)}, gatherGrad, tolSum(dtype, 12)},
				cmpCase{fmt.Sprintf("GatherGrad/%s/[33,5]by[4,9,1]", dtype),
					[]arg{p(33, 5), g.i32(0, 33, 4, 9, 1), p(4, 9, 5)}, gatherGrad, tolSum(dtype, 36)},
			)
		}
	}
	runCmpCases(t, cases)
}

// ---------------------------------------------------------------------------
// Elementwise.

func TestUnary(t *testing.T) {
	g := newGen(8)
	ops := []struct {
		name   string
		f      func(*graph.Node) *graph.Node
		lo, hi float64
	}{
		{"Exp", graph.Exp, -10, 10},
		{"Log", graph.Log, 0.01, 10},
		{"Tanh", graph.Tanh, -8, 8},
		{"Logistic", graph.Logistic, -12, 12},
		{"Sqrt", graph.Sqrt, 0, 10},
		{"Rsqrt", graph.Rsqrt, 0.01, 10},
		{"Abs", graph.Abs, -5, 5},
		{"Neg", graph.Neg, -5, 5},
	}
	var cases []cmpCase
	for _, op := range ops {
		for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16, dtypes.Float64} {
			tl := map[dtypes.DType]tol{dtypes.Float32: tolF32, dtypes.BFloat16: tolBF16, dtypes.Float64: tolF64}[dtype]
			for _, dims := range [][]int{{1, 1}, {1, 3}, {7, 33}, {129}} {
				if dtype == dtypes.Float64 && len(dims) != 1 {
					continue
				}
				f := op.f
				cases = append(cases, cmpCase{
					name: fmt.Sprintf("%s/%s/%v", op.name, dtype, dims),
					args: []arg{g.float(dtype, op.lo, op.hi, dims...)},
					fn:   one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return f(x[0]) }),
					tol:  tl,
				})
			}
		}
	}
	runCmpCases(t, cases)
}

func TestBinary(t *testing.T) {
	g := newGen(9)
	ops := []struct {
		name string
		f    func(a, b *graph.Node) *graph.Node
		ints bool
	}{
		{"Add", graph.Add, true}, {"Sub", graph.Sub, true}, {"Mul", graph.Mul, true},
		{"Div", graph.Div, false}, {"Max", graph.Max, true}, {"Min", graph.Min, true}, {"Pow", graph.Pow, false},
	}
	shapePairs := [][2][]int{
		{{7, 33}, {7, 33}},
		{{7, 1}, {1, 33}},       // both sides broadcast
		{{3, 7, 33}, {1, 7, 1}}, // rhs broadcast on two axes
		{{1, 3}, {1, 3}},
		{{129}, {129}},
		{{7, 33}, {}},  // rhs scalar
		{{}, {1, 129}}, // lhs scalar
	}
	var cases []cmpCase
	for _, op := range ops {
		for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16, dtypes.Int32} {
			if dtype == dtypes.Int32 && !op.ints {
				continue
			}
			tl := map[dtypes.DType]tol{dtypes.Float32: tolF32, dtypes.BFloat16: tolBF16, dtypes.Int32: exact}[dtype]
			if op.name == "Pow" && dtype == dtypes.Float32 {
				tl = tol{1e-5, 1e-5}
			}
			for _, sp := range shapePairs {
				var a, b arg
				switch {
				case dtype == dtypes.Int32:
					a, b = g.i32(-1000, 1000, sp[0]...), g.i32(-1000, 1000, sp[1]...)
				case op.name == "Pow":
					a, b = g.float(dtype, 0.1, 3, sp[0]...), g.float(dtype, -2, 2, sp[1]...)
				case op.name == "Div":
					a, b = g.float(dtype, -3, 3, sp[0]...), convertArg(g.signed(0.25, 2, sp[1]...), dtype)
				default:
					a, b = g.float(dtype, -3, 3, sp[0]...), g.float(dtype, -3, 3, sp[1]...)
				}
				f := op.f
				cases = append(cases, cmpCase{
					name: fmt.Sprintf("%s/%s/%s", op.name, dtype, dimsName(sp[0], sp[1])),
					args: []arg{a, b},
					fn:   one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return f(x[0], x[1]) }),
					tol:  tl,
				})
			}
		}
	}
	runCmpCases(t, cases)
}

// convertArg converts a float32 arg to dtype.
func convertArg(a arg, dtype dtypes.DType) arg {
	v := a.flat.([]float32)
	switch dtype {
	case dtypes.Float32:
		return a
	case dtypes.BFloat16:
		out := make([]bfloat16.BFloat16, len(v))
		for i, x := range v {
			out[i] = bfloat16.FromFloat32(x)
		}
		return arg{a.dims, out}
	case dtypes.Float64:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return arg{a.dims, out}
	}
	panic("convertArg: " + dtype.String())
}

func TestCompareAndWhere(t *testing.T) {
	g := newGen(10)
	cmps := []struct {
		name string
		f    func(a, b *graph.Node) *graph.Node
	}{
		{"Equal", graph.Equal}, {"NotEqual", graph.NotEqual},
		{"GreaterThan", graph.GreaterThan}, {"GreaterOrEqual", graph.GreaterOrEqual},
		{"LessThan", graph.LessThan}, {"LessOrEqual", graph.LessOrEqual},
	}
	var cases []cmpCase
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16, dtypes.Int32} {
		for _, c := range cmps {
			f := c.f
			for _, sp := range [][2][]int{{{7, 33}, {7, 33}}, {{7, 33}, {7, 1}}, {{1, 3}, {}}} {
				cases = append(cases, cmpCase{
					name: fmt.Sprintf("%s/%s/%s", c.name, dtype, dimsName(sp[0], sp[1])),
					args: []arg{g.levels(dtype, 4, sp[0]...), g.levels(dtype, 4, sp[1]...)}, // many ties
					fn:   one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return f(x[0], x[1]) }),
					tol:  exact,
				})
			}
		}
		// Where with a bool input, with a condition computed in-graph, and with a scalar branch.
		branch := func(dims ...int) arg {
			if dtype == dtypes.Int32 {
				return g.i32(-1000, 1000, dims...)
			}
			return g.float(dtype, -1, 1, dims...)
		}
		where := one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.Where(x[0], x[1], x[2]) })
		cases = append(cases,
			cmpCase{fmt.Sprintf("Where/%s/[7,33]", dtype), []arg{g.boolean(7, 33), branch(7, 33), branch(7, 33)}, where, exact},
			cmpCase{fmt.Sprintf("Where/%s/[1,3]", dtype), []arg{g.boolean(1, 3), branch(1, 3), branch(1, 3)}, where, exact},
			cmpCase{fmt.Sprintf("Where/%s/scalarOnFalse", dtype), []arg{g.boolean(129), branch(129), branch()}, where, exact},
			cmpCase{fmt.Sprintf("Where/%s/prefixCondition", dtype), []arg{g.boolean(7), branch(7, 3), branch(7, 3)}, where, exact},
			cmpCase{fmt.Sprintf("Where/%s/relu", dtype), []arg{branch(7, 33)},
				one(func(g *graph.Graph, x []*graph.Node) *graph.Node {
					zero := graph.ScalarZero(g, x[0].DType())
					return graph.Where(graph.GreaterThan(x[0], zero), x[0], zero)
				}), exact},
		)
	}
	logical := func(_ *graph.Graph, x []*graph.Node) []*graph.Node {
		return []*graph.Node{graph.LogicalAnd(x[0], x[1]), graph.LogicalOr(x[0], x[1]), graph.LogicalNot(x[0])}
	}
	cases = append(cases, cmpCase{"Logical/bool/[7,33]", []arg{g.boolean(7, 33), g.boolean(7, 33)}, logical, exact})
	runCmpCases(t, cases)
}

// ---------------------------------------------------------------------------
// ConvertDType, Iota, ArgMinMax.

func TestConvertIotaArgMinMax(t *testing.T) {
	g := newGen(11)
	conv := func(to dtypes.DType) graphFn {
		return one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.ConvertDType(x[0], to) })
	}
	// float→int conversions: values with fractions, negative, and halves.
	fracs := arg{[]int{12}, []float32{-2.7, -2.5, -1.5, -0.5, -0.2, 0, 0.2, 0.5, 1.5, 2.5, 2.7, 1000.9}}
	bf16Tol := tol{8e-3, 0} // simplego truncates float32→bfloat16, compute rounds to nearest even: ≤1 ulp
	cases := []cmpCase{
		{"Convert/f32->bf16/[7,33]", []arg{g.f32(-100, 100, 7, 33)}, conv(dtypes.BFloat16), bf16Tol},
		{"Convert/f32->bf16/[1,3]", []arg{g.f32(-1, 1, 1, 3)}, conv(dtypes.BFloat16), bf16Tol},
		{"Convert/bf16->f32/[7,33]", []arg{g.bf16(-100, 100, 7, 33)}, conv(dtypes.Float32), exact},
		{"Convert/f32->int32/fractions", []arg{fracs}, conv(dtypes.Int32), exact},
		{"Convert/f32->int32/[129]", []arg{g.f32(-1e6, 1e6, 129)}, conv(dtypes.Int32), exact},
		{"Convert/bf16->int32/[7,33]", []arg{g.bf16(-300, 300, 7, 33)}, conv(dtypes.Int32), exact},
		{"Convert/int32->f32/[7,33]", []arg{g.i32(-1<<20, 1<<20, 7, 33)}, conv(dtypes.Float32), exact},
		{"Convert/int32->bf16/small", []arg{g.i32(-256, 256, 129)}, conv(dtypes.BFloat16), exact},
		{"Convert/int32->bf16/large", []arg{g.i32(-1<<20, 1<<20, 7, 33)}, conv(dtypes.BFloat16), bf16Tol},
		{"Convert/f32->f64/[7,33]", []arg{g.f32(-1, 1, 7, 33)}, conv(dtypes.Float64), exact},
		{"Convert/f64->f32/[7,33]", []arg{g.f64(-1, 1, 7, 33)}, conv(dtypes.Float32), exact},
		{"Convert/bool->f32/[7,33]", []arg{g.boolean(7, 33)}, conv(dtypes.Float32), exact},
		{"Convert/bool->int32/[1,3]", []arg{g.boolean(1, 3)}, conv(dtypes.Int32), exact},
		{"Convert/f32->bool/[7,33]", []arg{g.levels(dtypes.Float32, 2, 7, 33)}, conv(dtypes.Bool), exact},
		{"Convert/f32->bf16->f32/[129]", []arg{g.f32(-1, 1, 129)},
			one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
				return graph.ConvertDType(graph.ConvertDType(x[0], dtypes.BFloat16), dtypes.Float32)
			}), bf16Tol},
	}
	for _, s := range []struct {
		dtype dtypes.DType
		dims  []int
		axis  int
	}{
		{dtypes.Int32, []int{7, 33}, 0}, {dtypes.Int32, []int{7, 33}, 1}, {dtypes.Int32, []int{1, 129}, 1},
		{dtypes.Float32, []int{3, 7, 5}, 1}, {dtypes.Float32, []int{1, 3}, 1}, {dtypes.BFloat16, []int{3, 7}, 0},
		{dtypes.Float64, []int{2, 9}, 1},
	} {
		s := s
		cases = append(cases, cmpCase{
			name: fmt.Sprintf("Iota/%s/%v/axis%d", s.dtype, s.dims, s.axis),
			fn: one(func(g *graph.Graph, _ []*graph.Node) *graph.Node {
				return graph.Iota(g, shapes.Make(s.dtype, s.dims...), s.axis)
			}),
			tol: exact,
		})
	}
	for _, s := range []struct {
		in     arg
		axis   int
		isMin  bool
		detail string
	}{
		{g.f32(-1, 1, 7, 33), 1, false, ""},
		{g.f32(-1, 1, 7, 33), 0, true, ""},
		{g.levels(dtypes.Float32, 3, 7, 33), 1, false, "ties"},
		{g.levels(dtypes.Float32, 3, 7, 33), 0, true, "ties"},
		{g.f32(-1, 1, 7, 1), 1, false, ""},
		{g.f32(-1, 1, 1, 129), 1, true, ""},
		{g.bf16(-1, 1, 3, 129), 1, false, ""},
		{g.levels(dtypes.BFloat16, 5, 3, 129), 1, true, "ties"},
		{g.i32(-1000, 1000, 3, 7, 5), 2, false, ""},
		{g.levels(dtypes.Int32, 4, 3, 7, 5), 1, true, "ties"},
	} {
		s := s
		name := "ArgMax"
		if s.isMin {
			name = "ArgMin"
		}
		cases = append(cases, cmpCase{
			name: fmt.Sprintf("%s/%T/%v/axis%d%s", name, s.in.flat, s.in.dims, s.axis, s.detail),
			args: []arg{s.in},
			fn: one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
				if s.isMin {
					return graph.ArgMin(x[0], s.axis, dtypes.Int32)
				}
				return graph.ArgMax(x[0], s.axis, dtypes.Int32)
			}),
			tol: exact,
		})
	}
	runCmpCases(t, cases)
}

// ---------------------------------------------------------------------------
// NaN and ±Inf propagate as on simplego.

func TestNaNInf(t *testing.T) {
	g := newGen(12)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	specials := func(a arg, at map[int]float32) arg {
		v := a.flat.([]float32)
		for i, x := range at {
			v[i] = x
		}
		return a
	}
	// x: [4,5] with NaN, +Inf, -Inf; row 3 is all -Inf.
	x := specials(g.f32(-1, 1, 4, 5), map[int]float32{1: nan, 7: inf, 8: -inf, 15: -inf, 16: -inf, 17: -inf, 18: -inf, 19: -inf})
	y := specials(g.f32(-1, 1, 4, 5), map[int]float32{2: inf, 7: -inf, 9: nan, 13: 0})
	zeros := specials(g.f32(-1, 1, 4, 5), map[int]float32{0: 0, 1: 0, 2: 0, 3: 0})
	w := specials(g.f32(-1, 1, 5, 3), map[int]float32{4: inf, 6: nan})
	big := specials(g.f32(-1, 1, 33, 65), map[int]float32{100: nan, 500: inf, 501: -inf, 2000: inf})
	bigR := g.f32(-1, 1, 65, 9)
	xbf := convertArg(x, dtypes.BFloat16)
	// Large enough for compute's SIMD reductions: NaN/±Inf scattered over rows and columns.
	wide := g.f32(-1, 1, 33, 1000)
	for i, v := range wide.flat.([]float32) {
		switch {
		case i%977 == 5:
			wide.flat.([]float32)[i] = nan
		case i%1409 == 3:
			wide.flat.([]float32)[i] = inf
		case i%1201 == 7:
			wide.flat.([]float32)[i] = -inf
		default:
			wide.flat.([]float32)[i] = v
		}
	}
	wideBF := convertArg(wide, dtypes.BFloat16)
	image := specials(g.f32(-1, 1, 2, 8, 8, 3), map[int]float32{0: nan, 50: nan, 100: inf, 200: -inf, 301: nan})
	binary := func(f func(a, b *graph.Node) *graph.Node) graphFn {
		return one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return f(x[0], x[1]) })
	}
	reduceMax := func(axes ...int) graphFn {
		return one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.ReduceMax(x[0], axes...) })
	}
	matmul := one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.Dot(x[0], x[1]) })
	cases := []cmpCase{
		{"Add", []arg{x, y}, binary(graph.Add), tolF32},
		{"Add/scalarInf", []arg{x, {nil, []float32{-inf}}}, binary(graph.Add), tolF32},
		{"Mul", []arg{x, y}, binary(graph.Mul), tolF32},
		{"Mul/Inf*0", []arg{x, zeros}, binary(graph.Mul), tolF32},
		{"Max", []arg{x, y}, binary(graph.Max), exact},
		{"Max/swapped", []arg{y, x}, binary(graph.Max), exact},
		{"Min", []arg{x, y}, binary(graph.Min), exact},
		{"Min/swapped", []arg{y, x}, binary(graph.Min), exact},
		{"Max/relu", []arg{x}, one(func(g *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Max(x[0], graph.ScalarZero(g, dtypes.Float32))
		}), exact},
		// A constant operand skips the NaN check only when it holds no NaN.
		{"Max/constantNaN", []arg{x}, one(func(g *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Max(graph.Const(g, [][]float32{{0, nan, 1, -inf, 2}}), x[0])
		}), exact},
		{"Min/zerosLike", []arg{x}, one(func(_ *graph.Graph, x []*graph.Node) *graph.Node {
			return graph.Min(graph.ZerosLike(x[0]), x[0])
		}), exact},
		{"Max/bf16", []arg{xbf, convertArg(y, dtypes.BFloat16)}, binary(graph.Max), exact},
		{"ReduceMax/axis1", []arg{x}, reduceMax(1), exact},
		{"ReduceMax/axis0", []arg{x}, reduceMax(0), exact},
		{"ReduceMax/all", []arg{x}, reduceMax(), exact},
		{"ReduceMax/bf16/axis1", []arg{xbf}, reduceMax(1), exact},
		{"ReduceMax/wide/axis1", []arg{wide}, reduceMax(1), exact},
		{"ReduceMax/wide/axis0", []arg{wide}, reduceMax(0), exact},
		{"ReduceMax/wide/all", []arg{wide}, reduceMax(), exact},
		{"ReduceMax/wide/bf16/axis1", []arg{wideBF}, reduceMax(1), exact},
		{"ReduceMax/wide/bf16/axis0", []arg{wideBF}, reduceMax(0), exact},
		{"ReduceSum/wide/axis1", []arg{wide}, one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.ReduceSum(x[0], 1) }), tolSum(dtypes.Float32, 1000)},
		{"MaxPool", []arg{image}, one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.MaxPool(x[0]).Window(2).Done() }), exact},
		{"ReduceSum/axis1", []arg{x}, one(func(_ *graph.Graph, x []*graph.Node) *graph.Node { return graph.ReduceSum(x[0], 1) }), tolSum(dtypes.Float32, 5)},
		{"DotGeneral/[4,5]·[5,3]", []arg{x, w}, matmul, tolSum(dtypes.Float32, 5)},
		{"DotGeneral/[33,65]·[65,9]", []arg{big, bigR}, matmul, tolSum(dtypes.Float32, 65)},
		{"IsNaN/IsFinite", []arg{x}, func(_ *graph.Graph, x []*graph.Node) []*graph.Node {
			return []*graph.Node{graph.IsNaN(x[0]), graph.IsFinite(x[0])}
		}, exact},
	}
	runCmpCases(t, cases)
}

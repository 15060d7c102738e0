package ops

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// MatMul contracts x's last axis with w's first: x [..., in] · w [in, out]
// → [..., out]. Its gradient is computed as two matmuls, dX = dY·Wᵀ and
// dW = Xᵀ·dY.
//
// GoMLX's public hook for a custom gradient, IdentityWithCustomGradient,
// has one input and sees only the gradient of its own output, while dX and
// dW need dY, the gradient of the product. MatMul therefore computes the
// product without gradient and adds to it a zero-valued "slot" that depends
// on identities of x and w:
//
//	y    = Dot(StopGradient(x), StopGradient(w)) + slot
//	slot = identity(broadcast(Where(false, x̃[0] + w̃[0], 0)))   x̃, w̃: identities of x and w
//
// GoMLX back-propagates in reverse order of node creation, so the slot's
// custom gradient runs first and records dY; the gradients of x̃ and w̃, run
// after, ignore their (zero) incoming gradient and return the two matmuls.
// Where with a constant false condition makes the slot exactly zero, NaN or
// not in x. Back-propagation skips x̃ when nothing upstream of x needs a
// gradient (the model's input data), so dX is then never computed.
func MatMul(x, w *graph.Node) *graph.Node {
	if w.Rank() != 2 {
		panic(fmt.Errorf("ops.MatMul: weights must be [in, out], got %s", w.Shape()))
	}
	in, out := w.Shape().Dimensions[0], w.Shape().Dimensions[1]
	if x.Rank() < 1 || x.Shape().Dimensions[x.Rank()-1] != in {
		panic(fmt.Errorf("ops.MatMul: x %s does not end in %d (weights %s)", x.Shape(), in, w.Shape()))
	}
	lead := x.Shape().Dimensions[:x.Rank()-1]
	x2 := graph.Reshape(x, -1, in)
	n := x2.Shape().Dimensions[0]
	g, dtype := x.Graph(), x.DType()

	var dy *graph.Node // set by the slot's gradient, read by x̃'s and w̃'s
	upstream := func() *graph.Node {
		if dy == nil {
			panic(fmt.Errorf("ops.MatMul: the gradient of the product was not seen before its operands' (GoMLX changed its back-propagation order?)"))
		}
		return dy
	}
	xTracked := graph.IdentityWithCustomGradient(x2, func(_, _ *graph.Node) *graph.Node {
		return graph.DotGeneral(upstream(), []int{1}, nil, w, []int{1}, nil) // [n, in] = dY·Wᵀ
	})
	wTracked := graph.IdentityWithCustomGradient(w, func(_, _ *graph.Node) *graph.Node {
		return graph.DotGeneral(x2, []int{0}, nil, upstream(), []int{0}, nil) // [in, out] = Xᵀ·dY
	})
	anchor := graph.Add(firstElement(xTracked), firstElement(wTracked))
	zero := graph.Where(graph.Const(g, false), anchor, graph.ScalarZero(g, dtype))
	slot := graph.IdentityWithCustomGradient(graph.BroadcastToDims(zero, n, out), func(_, v *graph.Node) *graph.Node {
		dy = v
		return v
	})

	y := graph.Add(graph.StopGradient(product(graph.StopGradient(x2), graph.StopGradient(w))), slot)
	return graph.Reshape(y, append(append([]int{}, lead...), out)...)
}

// GoMLX's pure-Go backend (v0.26.0) multiplies in 32×32 blocks once a
// product has more than 16·32·32 outputs (per batch entry), padding both
// operands to whole blocks.
const (
	blockDim       = 32
	blockedOutputs = 16 * blockDim * blockDim
)

// product is x [n, in] · w [in, out] without gradient. On the pure-Go
// backend a tall product with few columns — an im2col convolution with few
// filters over many pixels — would take the blocked kernel and cost as if
// it had 32 columns: 3–10× the time of its plain kernel (LeNet-5's conv1 at
// batch 64: 48 ms against 14). Splitting the rows into a batch of products
// small enough for the plain kernel gives that time back and makes it
// follow the number of columns, which is what structured pruning removes.
func product(x, w *graph.Node) *graph.Node {
	n, in, out := x.Shape().Dimensions[0], w.Shape().Dimensions[0], w.Shape().Dimensions[1]
	if out >= blockDim || n*out <= blockedOutputs || ChoosePath(x.Graph().Backend().Capabilities()) != Portable {
		return graph.Dot(x, w)
	}
	rows := blockedOutputs / out
	chunks := (n + rows - 1) / rows
	if pad := chunks*rows - n; pad > 0 {
		x = graph.Concatenate([]*graph.Node{x, graph.Zeros(x.Graph(), shapes.Make(x.DType(), pad, in))}, 0)
	}
	batched := graph.Reshape(x, chunks, rows, in)
	ws := graph.BroadcastToDims(graph.Reshape(w, 1, in, out), chunks, in, out)
	y := graph.Reshape(graph.DotGeneral(batched, []int{2}, []int{0}, ws, []int{1}, []int{0}), chunks*rows, out)
	if chunks*rows > n {
		y = graph.Slice(y, graph.AxisRange(0, n))
	}
	return y
}

// firstElement is x's first value as a scalar, through Gather: its gradient
// (ScatterSum) exists on every backend, Slice's does not.
func firstElement(x *graph.Node) *graph.Node {
	flat := graph.Reshape(x, x.Shape().Size())
	idx := graph.Zeros(x.Graph(), shapes.Make(dtypes.Int32, 1))
	return graph.Reshape(graph.Gather(flat, idx, true))
}

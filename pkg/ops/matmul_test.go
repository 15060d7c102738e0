package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// matmulGradients returns y, dL/dx and dL/dw for L = Σ y⊙r with y = mm(x, w).
func matmulGradients(t *testing.T, mm func(x, w *graph.Node) *graph.Node, x, w, r *tensors.Tensor) [3][]float32 {
	t.Helper()
	exec := graph.MustNewExec(goBackend(), func(x, w, r *graph.Node) []*graph.Node {
		y := mm(x, w)
		loss := graph.ReduceAllSum(graph.Mul(y, r))
		grads := graph.Gradient(loss, x, w)
		return []*graph.Node{y, grads[0], grads[1]}
	})
	out := exec.MustExec(x, w, r)
	return [3][]float32{flat(out[0]), flat(out[1]), flat(out[2])}
}

// nativeMatMul is GoMLX's own contraction of x's last axis with w's first.
func nativeMatMul(x, w *graph.Node) *graph.Node {
	return graph.DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{0}, nil)
}

// TestMatMulGradientsMatchGoMLX compares values and both gradients with
// GoMLX's native DotGeneral, to 1e-5 relative, for 2-D and batched 3-D inputs.
func TestMatMulGradientsMatchGoMLX(t *testing.T) {
	cases := []struct {
		name  string
		xDims []int
		in    int
		out   int
	}{
		{"dense [32,20]·[20,7]", []int{32, 20}, 20, 7},
		{"single row", []int{1, 5}, 5, 3},
		{"attention-style [4,6,16]·[16,8]", []int{4, 6, 16}, 16, 8},
		{"rank 4 [2,3,4,5]·[5,2]", []int{2, 3, 4, 5}, 5, 2},
		// Tall and narrow: split into a batch of row blocks, the last padded.
		{"tall [20000,9]·[9,3]", []int{20000, 9}, 9, 3},
		{"tall [4,3001,6]·[6,5]", []int{4, 3001, 6}, 6, 5},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := randomTensor(rng, c.xDims...)
			w := randomTensor(rng, c.in, c.out)
			yDims := append(append([]int{}, c.xDims[:len(c.xDims)-1]...), c.out)
			r := randomTensor(rng, yDims...)
			got := matmulGradients(t, MatMul, x, w, r)
			want := matmulGradients(t, nativeMatMul, x, w, r)
			for i, what := range []string{"y", "dx", "dw"} {
				assertClose(t, what, got[i], want[i], 1e-5)
			}
		})
	}
}

// TestMatMulSkipsInputGradient: with x behind StopGradient, the weights'
// gradient is unchanged and x gets none.
func TestMatMulSkipsInputGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, w, r := randomTensor(rng, 8, 5), randomTensor(rng, 5, 3), randomTensor(rng, 8, 3)
	stopped := func(x, w *graph.Node) *graph.Node { return MatMul(graph.StopGradient(x), w) }
	got := matmulGradients(t, stopped, x, w, r)
	want := matmulGradients(t, nativeMatMul, x, w, r)
	assertClose(t, "y", got[0], want[0], 1e-5)
	assertClose(t, "dw", got[2], want[2], 1e-5)
	assertClose(t, "dx", got[1], make([]float32, len(want[1])), 0)
}

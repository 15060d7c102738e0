package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// TestBatchNormGradientSeesTheStatistics: in training, batch norm's output
// does not change when a constant is added to one channel of every
// example (the batch mean absorbs it), so the gradient of any loss with
// respect to the input sums to zero over each channel's values (Ioffe &
// Szegedy 2015, the backward pass through μ_B). Stopping the gradient at
// the batch statistics, as GoMLX's plain-ops layer does, breaks this: the
// sums are then Σ r·scale/σ, far from zero.
func TestBatchNormGradientSeesTheStatistics(t *testing.T) {
	const n, h, w, c = 6, 3, 3, 2
	rng := rand.New(rand.NewPCG(7, 11))
	xs, rs := make([]float32, n*h*w*c), make([]float32, n*h*w*c)
	for i := range xs {
		xs[i], rs[i] = float32(3*rng.NormFloat64()+1), float32(rng.NormFloat64())
	}
	ctx := context.New().Checked(false)
	exec := context.MustNewExec(goBackend(t), ctx, func(ctx *context.Context, x, r *graph.Node) *graph.Node {
		ctx.SetTraining(x.Graph(), true)
		bd := newBuilder(x.Graph(), Spec{}, x.DType(), 0)
		y := bd.batchNorm(ctx.In("bn"), x)
		loss := graph.ReduceAllSum(graph.Mul(y, r))
		return graph.Gradient(loss, x)[0]
	})
	grad := tensors.MustCopyFlatData[float32](exec.MustExec(
		tensors.FromFlatDataAndDimensions(xs, n, h, w, c), tensors.FromFlatDataAndDimensions(rs, n, h, w, c))[0])
	for ch := range c {
		sum, size := 0.0, 0.0
		for i := ch; i < len(grad); i += c {
			sum += float64(grad[i])
			size += math.Abs(float64(grad[i]))
		}
		if math.Abs(sum) > 1e-4*size {
			t.Errorf("channel %d: the input gradient sums to %g (Σ|g| = %g), want 0", ch, sum, size)
		}
	}
}

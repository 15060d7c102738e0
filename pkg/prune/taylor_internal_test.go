package prune

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// TestBatchGradientsMatchFiniteDifferences: the gradients Taylor scores
// use equal central differences of the loss, weight by weight.
func TestBatchGradientsMatchFiniteDifferences(t *testing.T) {
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	m := models.Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{3}, Activation: "tanh"}}
	modelFn, err := m.ModelFn(3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := gomlxctx.New().Checked(false)
	x := tensors.FromFlatDataAndDimensions([]float32{0.5, -1, 1.5, 0.25, -0.75, 2, 1, 1}, 4, 2)
	y := tensors.FromFlatDataAndDimensions([]int32{0, 2, 1, 2}, 4, 1)
	lossExec, err := gomlxctx.NewExec(b, ctx, func(ctx *gomlxctx.Context, x, y *graph.Node) *graph.Node {
		logits := modelFn(ctx, nil, []*graph.Node{x})[0]
		return graph.ReduceAllMean(losses.SparseCategoricalCrossEntropyLogits([]*graph.Node{y}, []*graph.Node{logits}))
	})
	if err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		out, err := lossExec.Exec(x, y)
		if err != nil {
			t.Fatal(err)
		}
		return float64(tensors.MustCopyFlatData[float32](out[0])[0])
	}
	loss() // creates the variables
	var grads map[string][]float32
	err = batchGradients(b, ctx, m, 3, losses.SparseCategoricalCrossEntropyLogits, []*tensors.Tensor{x}, []*tensors.Tensor{y},
		func(g map[string][]float32) { grads = g })
	if err != nil {
		t.Fatal(err)
	}
	const eps = 1e-2
	for _, layer := range []string{"fc1", "logits"} {
		v := ctx.GetVariableByScopeAndName("/mlp/"+layer, "weights")
		orig, _, err := read(ctx, "/mlp/"+layer, "weights")
		if err != nil {
			t.Fatal(err)
		}
		for i := range orig {
			at := func(delta float32) float64 {
				w := append([]float32(nil), orig...)
				w[i] += delta
				if err := v.SetValue(tensors.FromFlatDataAndDimensions(w, v.Shape().Dimensions...)); err != nil {
					t.Fatal(err)
				}
				return loss()
			}
			want := (at(eps) - at(-eps)) / (2 * eps)
			at(0)
			if got := float64(grads[layer][i]); math.Abs(got-want) > 1e-3+1e-2*math.Abs(want) {
				t.Errorf("%s weight %d: gradient %g, finite difference %g", layer, i, got, want)
			}
		}
	}
}

// TestTaylorScoresSquarePerBatch: Molchanov et al. 2019's scores, worked
// by hand on two batches whose gradients cancel. Averaging the gradient
// first (what Lathe did before) scores every weight 0; the paper's
// mean_b (g·w)² does not.
func TestTaylorScoresSquarePerBatch(t *testing.T) {
	// Two weights of one output channel each ([in 1, out 2]), and a layer
	// with both weights in one channel ([in 2, out 1]).
	w := []float32{1, -2}
	batches := [][]float32{{0.5, 0.5}, {-0.5, -0.5}}
	perWeight := make([]float64, 2)
	perChannel := make([]float64, 2)
	oneChannel := make([]float64, 1)
	for _, g := range batches {
		addWeightTaylor(perWeight, w, g, len(batches))
		addChannelTaylor(perChannel, w, g, 2, len(batches))
		addChannelTaylor(oneChannel, w, g, 1, len(batches))
	}
	// w1: ((0.5·1)² + (−0.5·1)²)/2 = 0.25; w2: ((0.5·−2)² + (−0.5·−2)²)/2 = 1.
	for name, got := range map[string][]float64{"per weight": perWeight, "per channel": perChannel} {
		if got[0] != 0.25 || got[1] != 1 {
			t.Errorf("%s: %v, want [0.25 1]", name, got)
		}
	}
	// One channel: batch 1 sums 0.5 − 1 = −0.5, batch 2 sums 0.5: (0.25 + 0.25)/2.
	if oneChannel[0] != 0.25 {
		t.Errorf("one channel: %v, want 0.25", oneChannel[0])
	}
}

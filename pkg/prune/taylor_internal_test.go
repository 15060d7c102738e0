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

// TestMeanGradientsMatchFiniteDifferences: the gradients Taylor scores use
// equal central differences of the loss, weight by weight.
func TestMeanGradientsMatchFiniteDifferences(t *testing.T) {
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
	grads, err := meanGradients(b, ctx, m, 3, losses.SparseCategoricalCrossEntropyLogits, []*tensors.Tensor{x}, []*tensors.Tensor{y})
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

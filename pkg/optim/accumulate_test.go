package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
)

// TestAccumulationEqualsBigBatch: one Adam update on a batch of 16 and four
// accumulated micro-batches of 4 (the same 16 examples) give the same
// weights, since the mean of the four mean losses is the big batch's mean.
func TestAccumulationEqualsBigBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, 16*3)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	y := make([]float32, 16)
	for i := range y {
		y[i] = rng.Float32()
	}
	model := func(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
		return []*graph.Node{layers.DenseWithBias(ctx.In("linear"), inputs[0], 1)}
	}
	weights := func(accumulate int) []float32 {
		ctx := context.New()
		ctx.SetParam(initializers.ParamInitialSeed, int64(1))
		opt, err := New(Config{Name: "adam", LearningRate: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		trainer := train.NewTrainer(goBackend(), ctx, model, losses.MeanSquaredError, opt, nil, nil)
		micro := 16
		if accumulate > 1 {
			if err := trainer.AccumulateGradients(accumulate); err != nil {
				t.Fatal(err)
			}
			micro = 16 / accumulate
		}
		for start := 0; start < 16; start += micro {
			in := tensors.FromFlatDataAndDimensions(append([]float32(nil), x[start*3:(start+micro)*3]...), micro, 3)
			lb := tensors.FromFlatDataAndDimensions(append([]float32(nil), y[start:start+micro]...), micro, 1)
			if _, err := trainer.TrainStep(nil, []*tensors.Tensor{in}, []*tensors.Tensor{lb}); err != nil {
				t.Fatal(err)
			}
		}
		w := ctx.InAbsPath("/linear/dense").GetVariable("weights")
		return tensors.MustCopyFlatData[float32](w.MustValue())
	}
	// Same initial weights: both contexts draw them from the same seed.
	big, accumulated := weights(1), weights(4)
	for i := range big {
		if math.Abs(float64(big[i]-accumulated[i])) > 1e-6 {
			t.Fatalf("weight %d: big batch %g, accumulated %g", i, big[i], accumulated[i])
		}
	}
}

package quant

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestStraightThroughGradient: with the observed range [-1, 3] (frozen:
// not training), the grid is scale 4/127, zero 32, reaching
// [−32·s, 95·s] = [−1.008, 2.992]. The forward pass rounds onto it; the
// gradient is 1 inside and 0 outside.
func TestStraightThroughGradient(t *testing.T) {
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	ctx := mlctx.New()
	layer := ctx.In("layer").In(qatScope)
	layer.VariableWithValue(qatMin, float32(-1))
	layer.VariableWithValue(qatMax, float32(3))
	layer.VariableWithValue(qatSteps, float32(1))
	x := []float32{-2, -1, 0, 0.5, 2.9, 3.5, 10}
	exec, err := mlctx.NewExec(b, ctx, func(ctx *mlctx.Context, x *graph.Node) []*graph.Node {
		y := fakeQuantInput(ctx.In("layer").In(qatScope).Checked(false), x, QATOptions{})
		return []*graph.Node{y, graph.Gradient(graph.ReduceAllSum(y), x)[0]}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, len(x)))
	if err != nil {
		t.Fatal(err)
	}
	y, grad := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	s := 4.0 / 127
	for i, v := range x {
		q := math.Min(127, math.Max(0, math.RoundToEven(float64(v)/s)+32))
		if want := (q - 32) * s; math.Abs(float64(y[i])-want) > 1e-6 {
			t.Errorf("fake quant of %v: %v, want %v", v, y[i], want)
		}
		inside := float64(v) >= -32*s && float64(v) <= 95*s
		if want := map[bool]float32{true: 1, false: 0}[inside]; grad[i] != want {
			t.Errorf("gradient at %v: %v, want %v", v, grad[i], want)
		}
	}
}

// TestQATStage: fake quantization while fine-tuning, then conversion with
// the learned ranges: every layer's range comes from QAT, and the integer
// model agrees with the QAT graph (which fake-quantizes as it does).
func TestQATStage(t *testing.T) {
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := stageBase + "  - quantize: {mode: qat, freeze_after: 20}\n" +
		"  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.001}}\n" +
		"  - quantize: {mode: ptq, name: qat}\n"
	rec, err := recipe.Parse("q.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Stages[len(res.Stages)-1].Metrics
	if got["qat_ranges"] != 3 {
		t.Errorf("qat_ranges %g, want all 3 layers", got["qat_ranges"])
	}
	if got["int8_agreement"] < 0.995 || got["int8_fakequant_agreement"] < 0.995 {
		t.Errorf("agreement with the QAT graph %g, with the fake-quantized file %g; want ≥ 0.995", got["int8_agreement"], got["int8_fakequant_agreement"])
	}
}

// TestBadQATKeys: qat's observer runs in the graph; freeze_after is qat's.
func TestBadQATKeys(t *testing.T) {
	for keys, want := range map[string]string{
		"{mode: qat, observer: mse}": "q.yaml:8:37: quantize: qat observes in the training graph",
		"{freeze_after: 10}":         "q.yaml:8:30: quantize: freeze_after applies to mode qat",
	} {
		if _, err := recipe.Parse("q.yaml", []byte(stageBase+"  - quantize: "+keys+"\n")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", keys, err, want)
		}
	}
}

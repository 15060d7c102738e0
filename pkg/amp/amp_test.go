package amp

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/pkg/optim"
)

var goBackend = sync.OnceValue(func() backends.Backend {
	b, err := backends.NewWithConfig("go")
	if err != nil {
		panic(err)
	}
	return b
})

func TestResolveOnPureGo(t *testing.T) {
	b := goBackend()
	if p, notice, err := Resolve("bf16", "", b); err != nil || p != BF16 || notice != "" {
		t.Errorf("bf16: %v %q %v", p, notice, err)
	}
	_, _, err := Resolve("fp16", "", b)
	if err == nil || !strings.Contains(err.Error(), "no float16") || !strings.Contains(err.Error(), "precision_fallback: f32") {
		t.Errorf("fp16 without fallback: want a clear refusal, got %v", err)
	}
	p, notice, err := Resolve("fp16", "f32", b)
	if err != nil || p != F32 || !strings.Contains(notice, "training in f32") {
		t.Errorf("fp16 with fallback: %v %q %v", p, notice, err)
	}
	if _, _, err := Resolve("fp8", "", b); err == nil {
		t.Errorf("fp8: want an error")
	}
}

// TestLossScalerSkipsOverflow feeds a finite step, an overflowing one and
// two finite ones through SGD with loss scaling (GradScaler semantics with
// growth every 2 clean steps) and checks: the overflowing step changes no
// weight and no optimizer step count, halves the scale and counts one
// skipped step; two clean steps later the scale doubles back.
func TestLossScalerSkipsOverflow(t *testing.T) {
	ctx := context.New()
	w := ctx.In("model").VariableWithValue("w", []float32{1, 2, 3})
	opt, err := optim.New(optim.Config{Name: "sgd", LearningRate: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	scaled := WithLossScaling(opt, Scaler{Init: 1024, GrowthFactor: 2, GrowthInterval: 2, BackoffFactor: 0.5})
	exec := context.MustNewExec(goBackend(), ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
		loss := graph.ReduceAllSum(graph.Mul(w.ValueGraph(x.Graph()), x))
		scaled.UpdateGraph(ctx, x.Graph(), loss)
		return loss
	})
	read := func(scope, name string) float32 {
		return ctx.InAbsPath(scope).GetVariable(name).MustValue().Value().(float32)
	}
	weights := func() []float32 { return tensors.MustCopyFlatData[float32](w.MustValue()) }
	inf := float32(math.Inf(1))

	steps := []struct {
		x            []float32
		wantW        []float32
		scale        float32
		skipped      float32
		optimizerRun float32 // the optimizer's own step count
	}{
		{[]float32{1, 1, 1}, []float32{0.9, 1.9, 2.9}, 1024, 0, 1},
		{[]float32{inf, 1, 1}, []float32{0.9, 1.9, 2.9}, 512, 1, 1}, // overflow: skipped, scale halved
		{[]float32{1, 1, 1}, []float32{0.8, 1.8, 2.8}, 512, 1, 2},
		{[]float32{1, 1, 1}, []float32{0.7, 1.7, 2.7}, 1024, 1, 3}, // 2 clean steps: scale doubled
	}
	for i, s := range steps {
		exec.MustExec(s.x)
		got := weights()
		for j := range got {
			if math.Abs(float64(got[j]-s.wantW[j])) > 1e-6 {
				t.Fatalf("step %d: weights %v, want %v", i+1, got, s.wantW)
			}
		}
		if v := read("/"+Scope, LossScaleVar); v != s.scale {
			t.Errorf("step %d: loss scale %g, want %g", i+1, v, s.scale)
		}
		if v := read("/"+Scope, SkippedStepsVar); v != s.skipped {
			t.Errorf("step %d: skipped steps %g, want %g", i+1, v, s.skipped)
		}
		if v := read("/optimizers/sgd", "global_step"); v != s.optimizerRun {
			t.Errorf("step %d: optimizer step count %g, want %g", i+1, v, s.optimizerRun)
		}
	}
}

// TestSkipWrapsAnyGradientOptimizer: the scaler wraps an optimizer it
// knows only as GoMLX's optimizers.Interface (here GoMLX's own SGD, which
// takes gradients but cannot skip by itself). With SkipNonFinite the scale
// stays 1, a step with an infinite gradient leaves the weights as they
// were (w - 0.1·x by hand for the others) and is counted.
func TestSkipWrapsAnyGradientOptimizer(t *testing.T) {
	ctx := context.New()
	w := ctx.In("model").VariableWithValue("w", []float32{1, 2, 3})
	scaled := WithLossScaling(optimizers.StochasticGradientDescent().WithDecay(false).WithLearningRate(0.1).Done(), SkipNonFinite)
	exec := context.MustNewExec(goBackend(), ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
		loss := graph.ReduceAllSum(graph.Mul(w.ValueGraph(x.Graph()), x))
		scaled.UpdateGraph(ctx, x.Graph(), loss)
		return loss
	})
	inf := float32(math.Inf(1))
	for i, s := range []struct{ x, want []float32 }{
		{[]float32{1, 1, 1}, []float32{0.9, 1.9, 2.9}},
		{[]float32{inf, 1, 1}, []float32{0.9, 1.9, 2.9}},
		{[]float32{1, 2, 1}, []float32{0.8, 1.7, 2.8}},
	} {
		exec.MustExec(s.x)
		got := tensors.MustCopyFlatData[float32](w.MustValue())
		for j := range got {
			if math.Abs(float64(got[j]-s.want[j])) > 1e-6 {
				t.Fatalf("step %d: weights %v, want %v", i+1, got, s.want)
			}
		}
	}
	scale := ctx.InAbsPath("/" + Scope).GetVariable(LossScaleVar).MustValue().Value().(float32)
	skipped := ctx.InAbsPath("/" + Scope).GetVariable(SkippedStepsVar).MustValue().Value().(float32)
	if scale != 1 || skipped != 1 {
		t.Errorf("scale %g, skipped %g; want 1 and 1", scale, skipped)
	}
}

package prune_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/prune"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// forward runs the model built from m on x in ctx (inference: batch norm
// uses its moving statistics) and returns the logits.
func forward(t *testing.T, b backends.Backend, ctx *gomlxctx.Context, m spec.Model, x *tensors.Tensor) []float32 {
	t.Helper()
	return forwardWith(t, b, ctx, models.Spec{Model: m}, x)
}

// TestShrinkMatchesTheMaskedModel: the rebuilt (smaller) model's outputs
// equal those of the full-size model with the same channels silenced, for
// an MLP (with a sigmoid, whose silenced neurons pass 0.5 on), LeNet-5
// (convolutions read flattened by a dense layer) and ResNet-8 (residual
// additions and batch norm with non-trivial statistics).
func TestShrinkMatchesTheMaskedModel(t *testing.T) {
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		model   spec.Model
		example []int
	}{
		{spec.Model{Arch: "mlp", Hidden: []int{24, 12}, Activation: "sigmoid"}, []int{6}},
		{spec.Model{Arch: "lenet5"}, []int{28, 28, 1}},
		{spec.Model{Arch: "resnet8"}, []int{16, 16, 3}},
	}
	for _, c := range cases {
		t.Run(c.model.Arch, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := randomBatch(rng, 3, c.example)
			ctx := gomlxctx.New().Checked(false)
			full := forward(t, b, ctx, c.model, x) // creates the variables
			// Random batch-norm statistics and biases, so nothing is 0 by luck.
			for v := range ctx.IterVariables() {
				switch v.Name() {
				case "mean", "offset", "biases", "variance", "scale":
					values := make([]float32, v.Shape().Size())
					for i := range values {
						values[i] = float32(rng.NormFloat64()) * 0.3
						if v.Name() == "variance" || v.Name() == "scale" {
							values[i] = 0.5 + float32(rng.Float64())
						}
					}
					if err := v.SetValue(tensors.FromFlatDataAndDimensions(values, v.Shape().Dimensions...)); err != nil {
						t.Fatal(err)
					}
				}
			}
			plan, err := prune.PlanChannels(ctx, c.model, prune.L1, nil, func(spec.ChannelGroup) (float64, bool) { return 0.5, true })
			if err != nil {
				t.Fatal(err)
			}
			if plan.Removed() == 0 {
				t.Fatal("the plan removes nothing")
			}
			if err := prune.ZeroChannels(ctx, plan); err != nil {
				t.Fatal(err)
			}
			masked := forward(t, b, ctx, c.model, x)
			if slices.Equal(masked, full) {
				t.Fatal("silencing half the channels changed no output")
			}
			small, err := prune.Shrink(ctx, plan, c.model.ActivationAtZero())
			if err != nil {
				t.Fatal(err)
			}
			got := forward(t, b, ctx, small, x)
			for i := range got {
				if d := math.Abs(float64(got[i] - masked[i])); d > 1e-5*math.Max(1, math.Abs(float64(masked[i]))) {
					t.Fatalf("output %d: rebuilt %g, masked %g", i, got[i], masked[i])
				}
			}
			// Every resized layer's weights are smaller, as the plan says.
			for _, l := range small.Architecture(c.example) {
				v := ctx.GetVariableByScopeAndName("/"+c.model.Arch+"/"+l.Name, "weights")
				if got := v.Shape().Dimensions; got[len(got)-2] != l.In || l.Name != "logits" && got[len(got)-1] != l.Out {
					t.Errorf("%s: weights %v, want in %d out %d", l.Name, got, l.In, l.Out)
				}
			}
			if fb, fs := c.model.FLOPs(c.example, 10), small.FLOPs(c.example, 10); fs*2 > fb {
				t.Errorf("FLOPs %d → %d: halving every group should cut them by more than half", fb, fs)
			}
		})
	}
}

// TestPlanRanksByNorm: on weights set by hand, L1 and L2 disagree about
// which neuron is smallest, and each plan drops the one its norm ranks last.
func TestPlanRanksByNorm(t *testing.T) {
	ctx := gomlxctx.New().Checked(false)
	// fc1 [3 inputs, 4 neurons]; by column: L1 3, 2.5, 6, 9; L2 √3, 2.5, …
	w := []float32{
		1, 2.5, 2, 3,
		1, 0, 2, 3,
		1, 0, 2, 3,
	}
	ctx.InAbsPath("/mlp/fc1").VariableWithValue("weights", tensors.FromFlatDataAndDimensions(w, 3, 4))
	m := spec.Model{Arch: "mlp", Hidden: []int{4}}
	for criterion, dropped := range map[string]int{prune.L1: 1, prune.L2: 0} {
		plan, err := prune.PlanChannels(ctx, m, criterion, nil, func(spec.ChannelGroup) (float64, bool) { return 0.25, true })
		if err != nil {
			t.Fatal(err)
		}
		if keep := plan.Keep[0]; slices.Contains(keep, dropped) || len(keep) != 3 {
			t.Errorf("%s keeps %v, want all but %d", criterion, keep, dropped)
		}
	}
	if _, err := prune.PlanChannels(ctx, m, prune.L1, nil, func(spec.ChannelGroup) (float64, bool) { return 0.9, true }); err == nil {
		t.Error("pruning 0.9 of 4 neurons removes all 4: want an error")
	}
}

// TestChannelMasksSilenceChannels: with channel masks on, a model whose
// silenced channels' variables have moved off 0 (as an optimizer's state
// would move them) computes what the model with those channels zeroed
// computes, batch norm included — the masks reach every variable that
// makes a channel — and the rebuilt model agrees with both.
func TestChannelMasksSilenceChannels(t *testing.T) {
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		model   spec.Model
		example []int
	}{
		{spec.Model{Arch: "lenet5"}, []int{28, 28, 1}},
		{spec.Model{Arch: "resnet8"}, []int{16, 16, 3}},
	} {
		t.Run(c.model.Arch, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			x := randomBatch(rng, 2, c.example)
			ctx := gomlxctx.New().Checked(false)
			forward(t, b, ctx, c.model, x) // creates the variables
			masks := prune.NewChannelMasks(c.model, func(spec.ChannelGroup) bool { return true })
			plan, err := prune.PlanChannels(ctx, c.model, prune.L1, nil, func(spec.ChannelGroup) (float64, bool) { return 0.5, true })
			if err != nil {
				t.Fatal(err)
			}
			if err := masks.Apply(ctx, plan); err != nil {
				t.Fatal(err)
			}
			zeroed := forward(t, b, ctx, c.model, x)
			// Every variable moves off its value, silenced channels too.
			for v := range ctx.IterVariables() {
				if !v.Trainable {
					continue
				}
				values := tensors.MustCopyFlatData[float32](v.MustValue())
				for i := range values {
					values[i] += 0.1 + 0.2*float32(rng.Float64())
				}
				if err := v.SetValue(tensors.FromFlatDataAndDimensions(values, v.Shape().Dimensions...)); err != nil {
					t.Fatal(err)
				}
			}
			withMasks := forwardWith(t, b, ctx, models.Spec{Model: c.model, Hooks: masks.Hooks()}, x)
			if err := prune.ZeroChannels(ctx, plan); err != nil {
				t.Fatal(err)
			}
			want := forward(t, b, ctx, c.model, x)
			if slices.Equal(want, zeroed) {
				t.Fatal("moving the variables changed no output")
			}
			for i := range want {
				if d := math.Abs(float64(withMasks[i] - want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("output %d: masked %g, zeroed %g", i, withMasks[i], want[i])
				}
			}
			// The masks stand for the plan they were set from.
			got, err := masks.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := range plan.Keep {
				if !slices.Equal(got.Keep[i], plan.Keep[i]) {
					t.Fatalf("group %d: masks keep %v, the plan %v", i, got.Keep[i], plan.Keep[i])
				}
			}
		})
	}
}

// forwardWith is forward for a spec with hooks.
func forwardWith(t *testing.T, b backends.Backend, ctx *gomlxctx.Context, s models.Spec, x *tensors.Tensor) []float32 {
	t.Helper()
	fn, err := s.ModelFn(10)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := gomlxctx.NewExec(b, ctx, func(ctx *gomlxctx.Context, x *graph.Node) *graph.Node {
		return fn(ctx, nil, []*graph.Node{x})[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

// randomBatch is a batch of examples of normal random values.
func randomBatch(rng *rand.Rand, batch int, example []int) *tensors.Tensor {
	size := batch
	for _, d := range example {
		size *= d
	}
	data := make([]float32, size)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(data, append([]int{batch}, example...)...)
}

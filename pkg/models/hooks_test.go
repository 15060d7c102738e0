package models

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// TestHooksSeeEveryWeight: the weight hook sees every variable the model
// reads (batch norm's included) and its result is what the model uses; the
// activation hook sees the input and every layer's output.
func TestHooksSeeEveryWeight(t *testing.T) {
	b := goBackend(t)
	seen := map[string]bool{}
	layers := map[string]bool{}
	zeroLogits := false
	s := Spec{Model: spec.Model{Arch: "resnet8"}, Hooks: Hooks{
		Weight: func(ctx *context.Context, v *context.Variable, w *graph.Node) *graph.Node {
			seen[v.ScopeAndName()] = true
			if zeroLogits && v.Scope() == "/resnet8/logits" {
				return graph.ZerosLike(w)
			}
			return w
		},
		Activation: func(ctx *context.Context, name string, x *graph.Node) *graph.Node {
			layers[name] = true
			return x
		},
	}}
	forward := func() []float32 {
		fn, err := s.ModelFn(10)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.New().Checked(false)
		exec := context.MustNewExec(b, ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
			return fn(ctx, nil, []*graph.Node{x})[0]
		})
		x := tensors.FromShape(shapeOf(2, []int{16, 16, 3}))
		out := exec.MustExec(x)[0]
		var flat []float32
		for _, row := range out.Value().([][]float32) {
			flat = append(flat, row...)
		}
		// Every weight of the context went through the hook (batch norm's
		// step counter and the random state are no weights).
		for v := range ctx.IterVariables() {
			if v.Name() == "avg_weight" || strings.HasPrefix(v.Name(), "#") {
				continue
			}
			if !seen[v.ScopeAndName()] {
				t.Errorf("variable %s never reached the weight hook", v.ScopeAndName())
			}
		}
		return flat
	}
	forward()
	for _, want := range []string{"/resnet8/stem/bn/batch_normalization/scale", "/resnet8/stem/bn/batch_normalization/mean", "/resnet8/logits/weights"} {
		if !seen[want] {
			t.Errorf("weight hook did not see %s", want)
		}
	}
	for _, want := range []string{"input", "/resnet8/stem/conv", "/resnet8/logits"} {
		if !layers[want] {
			t.Errorf("activation hook did not see %s (saw %v)", want, layers)
		}
	}
	// A hook that zeroes the classifier's weights and bias makes every logit 0.
	zeroLogits = true
	for i, v := range forward() {
		if v != 0 {
			t.Fatalf("logit %d is %g with the classifier zeroed by the hook", i, v)
		}
	}
}

// TestInputHook: the input hook sees what each dense and conv layer of
// LeNet-5 multiplies — the image, the pooled feature maps, the flattened
// 5×5×16 map and the hidden layers — under the layer's scope.
func TestInputHook(t *testing.T) {
	b := goBackend(t)
	seen := map[string][]int{}
	s := Spec{Model: spec.Model{Arch: "lenet5"}, Hooks: Hooks{
		Input: func(ctx *context.Context, name string, x *graph.Node) *graph.Node {
			seen[name] = x.Shape().Dimensions
			return x
		},
	}}
	fn, err := s.ModelFn(10)
	if err != nil {
		t.Fatal(err)
	}
	exec := context.MustNewExec(b, context.New().Checked(false), func(ctx *context.Context, x *graph.Node) *graph.Node {
		return fn(ctx, nil, []*graph.Node{x})[0]
	})
	exec.MustExec(tensors.FromShape(shapeOf(2, []int{28, 28, 1})))
	want := map[string][]int{
		"/lenet5/conv1": {2, 28, 28, 1}, "/lenet5/conv2": {2, 14, 14, 6},
		"/lenet5/fc1": {2, 400}, "/lenet5/fc2": {2, 120}, "/lenet5/logits": {2, 84},
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("input hook saw %v, want %v", seen, want)
	}
}

package models

import (
	"slices"
	"strings"

	"github.com/lathe-ml/lathe/pkg/spec"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

func goBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestZooForward builds each model on the pure-Go backend, runs a forward
// pass and checks the logits' shape, the parameter count and the scopes.
func TestZooForward(t *testing.T) {
	b := goBackend(t)
	cases := []struct {
		spec      Spec
		dims      []int // one example
		params    int   // trainable parameters, 0: not checked
		wantScope string
	}{
		{Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{128}}}, []int{28, 28, 1}, 784*128 + 128 + 128*10 + 10, "/mlp/fc1"},
		{Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{16, 8}, Activation: "tanh", Dropout: 0.1}}, []int{2}, 2*16 + 16 + 16*8 + 8 + 8*10 + 10, "/mlp/fc2"},
		// LeNet-5's classic 61,706 parameters.
		{Spec{Model: spec.Model{Arch: "lenet5"}}, []int{28, 28, 1}, 61706, "/lenet5/conv2"},
		{Spec{Model: spec.Model{Arch: "resnet8"}}, []int{32, 32, 3}, 0, "/resnet8/stage3/block1/shortcut/conv"},
		{Spec{Model: spec.Model{Arch: "resnet20"}}, []int{28, 28, 1}, 0, "/resnet20/stage2/block3/b"},
		// Resized by structured pruning: LeNet-5 with 3 and 8 filters and
		// 60 and 42 neurons has 3·25+3 + 3·25·8+8 + 200·60+60 + 60·42+42 +
		// 42·10+10 parameters.
		{Spec{Model: spec.Model{Arch: "lenet5", Widths: map[string]int{"conv1": 3, "conv2": 8, "fc1": 60, "fc2": 42}}}, []int{28, 28, 1},
			78 + 608 + 12060 + 2562 + 430, "/lenet5/fc2"},
		{Spec{Model: spec.Model{Arch: "resnet8", Widths: map[string]int{"stem/conv": 5, "stage1/block1/b/conv": 5, "stage2/block1/a/conv": 7,
			"stage3/block1/shortcut/conv": 9, "stage3/block1/b/conv": 9}}}, []int{28, 28, 1}, 0, "/resnet8/stage3/block1/b"},
	}
	if !testing.Short() {
		cases = append(cases, struct {
			spec      Spec
			dims      []int
			params    int
			wantScope string
		}{Spec{Model: spec.Model{Arch: "resnet18"}}, []int{32, 32, 3}, 0, "/resnet18/stage4/block2/a"})
	}
	for _, c := range cases {
		t.Run(c.spec.Arch, func(t *testing.T) {
			fn, err := c.spec.ModelFn(10)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.New()
			const batch = 2
			x := tensors.FromShape(shapeOf(batch, c.dims))
			exec := context.MustNewExec(b, ctx.Checked(false), func(ctx *context.Context, x *graph.Node) *graph.Node {
				return fn(ctx, nil, []*graph.Node{x})[0]
			})
			out := exec.MustExec(x)[0]
			if got := out.Shape().Dimensions; len(got) != 2 || got[0] != batch || got[1] != 10 {
				t.Fatalf("logits shape %v, want [%d 10]", got, batch)
			}
			params, scopes := 0, map[string]bool{}
			var layers []string // scopes of weights, under the model's
			arch := map[string]spec.Layer{}
			for _, l := range c.spec.Architecture(c.dims) {
				arch[l.Name] = l
			}
			for v := range ctx.IterVariables() {
				if v.Trainable {
					params += v.Shape().Size()
				}
				scopes[v.Scope()] = true
				if v.Name() == "weights" {
					name := strings.TrimPrefix(v.Scope(), "/"+c.spec.Arch+"/")
					layers = append(layers, name)
					// spec.Architecture sizes every layer without a graph.
					l := arch[name]
					want := []int{l.In, l.Out}
					if name == "logits" {
						want[1] = 10
					}
					if l.Conv {
						want = []int{l.Kernel, l.Kernel, l.In, l.Out}
					}
					if got := v.Shape().Dimensions; !slices.Equal(got, want) {
						t.Errorf("%s: weights %v, spec.Architecture says %v", name, got, want)
					}
				}
			}
			// spec.Layers names them without building a graph.
			if want := c.spec.Layers(); strings.Join(sortedCopy(layers), ",") != strings.Join(sortedCopy(want), ",") {
				t.Errorf("weights in %v; spec.Layers says %v", layers, want)
			}
			if c.params != 0 && params != c.params {
				t.Errorf("trainable parameters %d, want %d", params, c.params)
			}
			found := false
			for s := range scopes {
				if strings.HasPrefix(s, c.wantScope) {
					found = true
				}
			}
			if !found {
				t.Errorf("no variable under scope %s; scopes: %v", c.wantScope, scopes)
			}
		})
	}
}

func sortedCopy(list []string) []string {
	out := append([]string(nil), list...)
	slices.Sort(out)
	return out
}

func TestValidate(t *testing.T) {
	bad := []Spec{{Model: spec.Model{Arch: "vgg"}}, {Model: spec.Model{Arch: "mlp", Hidden: []int{0}}}, {Model: spec.Model{Arch: "mlp", Activation: "relu6"}}, {Model: spec.Model{Arch: "mlp", Dropout: 1}}}
	for _, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v: want an error", s)
		}
	}
}

func shapeOf(batch int, dims []int) shapes.Shape {
	return shapes.Make(dtypes.Float32, append([]int{batch}, dims...)...)
}

// TestMixedPrecisionGraph: with ComputeDType bf16 the matmuls run in
// bfloat16, the variables stay float32 and the logits come back float32.
func TestMixedPrecisionGraph(t *testing.T) {
	b := goBackend(t)
	fn, err := (Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{8}}, ComputeDType: dtypes.BFloat16}).ModelFn(3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	var bf16Dots, f32Dots int
	exec := context.MustNewExec(b, ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
		logits := fn(ctx, nil, []*graph.Node{x})[0]
		for _, n := range x.Graph().Nodes() {
			if n.Type() == graph.NodeTypeDot || n.Type() == graph.NodeTypeDotGeneral {
				if n.DType() == dtypes.BFloat16 {
					bf16Dots++
				} else {
					f32Dots++
				}
			}
		}
		return logits
	})
	out := exec.MustExec(tensors.FromShape(shapes.Make(dtypes.Float32, 4, 5)))[0]
	if out.DType() != dtypes.Float32 || bf16Dots != 2 || f32Dots != 0 {
		t.Errorf("logits %s; matmuls in bf16: %d, in other types: %d (want 2 and 0)", out.DType(), bf16Dots, f32Dots)
	}
	for v := range ctx.IterVariables() {
		if v.Trainable && v.Shape().DType != dtypes.Float32 {
			t.Errorf("variable %s is %s, want float32 master weights", v.ScopeAndName(), v.Shape().DType)
		}
	}
}

package export_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	onnxgomlx "github.com/gomlx/onnx-gomlx/onnx"
	"github.com/lathe-ml/lathe/pkg/backend"
	_ "github.com/lathe-ml/lathe/pkg/distill"
	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/onnx"
	_ "github.com/lathe-ml/lathe/pkg/prune"
	_ "github.com/lathe-ml/lathe/pkg/quant"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// Two architectures defined through the public API, as a program or a
// notebook would: a small CNN (a plain convolution, pooling, a strided
// valid convolution with batch norm, a dense layer) and an MLP with an
// identity and a projected residual block.
func init() {
	spec.Register("export-test-cnn", func(m spec.Model) spec.Net {
		act := m.ActivationName()
		return spec.Net{
			spec.Conv("conv1", 6, 3).WithActivation(act),
			spec.MaxPool("pool1", 2),
			spec.Conv("conv2", 8, 3).WithPadding(spec.Valid).WithStride(2).WithBatchNorm().WithActivation(act),
			spec.Flatten("flatten"),
			spec.Dense("fc1", 16).WithActivation(act),
			spec.Logits(),
		}
	})
	spec.Register("export-test-resmlp", func(m spec.Model) spec.Net {
		act := m.ActivationName()
		return spec.Net{
			spec.Flatten("flatten"),
			spec.Dense("fc1", 12).WithActivation(act),
			spec.Residual("res1", spec.Net{spec.Dense("a", 10).WithActivation(act), spec.Dense("b", 12)}, nil).WithActivation(act),
			spec.Residual("res2", spec.Net{spec.Dense("a", 8).WithActivation(act), spec.Dense("b", 6)}, spec.Net{spec.Dense("proj", 6)}),
			spec.Logits(),
		}
	})
}

// TestRegisteredNetsExport: a registered net builds a GoMLX graph with the
// variables its description names (every one through the weight hook),
// and its exported file computes in the runtime (and as ONNX, in
// onnx-gomlx) the logits the GoMLX graph computes, within 1e-4, on both
// convolution paths.
func TestRegisteredNetsExport(t *testing.T) {
	t.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	cases := []struct {
		model   spec.Model
		example []int
		vars    string // variable: shape, in creation order
		ops     string // the exported graph's ops
	}{
		{spec.Model{Arch: "export-test-cnn"}, []int{12, 12, 2},
			// 12×12 → pool 6×6 → 3×3 valid, stride 2: 2×2×8 = 32 features.
			"conv1/weights:[3 3 2 6] conv1/biases:[6] conv2/conv/weights:[3 3 6 8] " +
				"conv2/bn/batch_normalization/{scale,offset,mean,variance,avg_weight}:[8] fc1/weights:[32 16] fc1/biases:[16] logits/weights:[16 4] logits/biases:[4]",
			"conv2d:conv1 max_pool:pool1 conv2d:conv2 flatten:flatten dense:fc1 dense:logits"},
		{spec.Model{Arch: "export-test-cnn", Activation: "tanh", Widths: map[string]int{"conv1": 3, "conv2/conv": 5}}, []int{12, 12, 1},
			"conv1/weights:[3 3 1 3] conv1/biases:[3] conv2/conv/weights:[3 3 3 5] " +
				"conv2/bn/batch_normalization/{scale,offset,mean,variance,avg_weight}:[5] fc1/weights:[20 16] fc1/biases:[16] logits/weights:[16 4] logits/biases:[4]",
			"conv2d:conv1 max_pool:pool1 conv2d:conv2 flatten:flatten dense:fc1 dense:logits"},
		{spec.Model{Arch: "export-test-resmlp"}, []int{5},
			"fc1/weights:[5 12] fc1/biases:[12] res1/a/weights:[12 10] res1/a/biases:[10] res1/b/weights:[10 12] res1/b/biases:[12] " +
				"res2/a/weights:[12 8] res2/a/biases:[8] res2/b/weights:[8 6] res2/b/biases:[6] res2/proj/weights:[12 6] res2/proj/biases:[6] logits/weights:[6 4] logits/biases:[4]",
			// The projection first: the runtime folds a sum into the
			// layer before it when the other addend exists.
			"dense:fc1 dense:res1/a dense:res1/b add:res1/add dense:res2/proj dense:res2/a dense:res2/b add:res2/add dense:logits"},
		{spec.Model{Arch: "export-test-resmlp", Activation: "gelu"}, []int{3, 3, 1},
			"fc1/weights:[9 12] fc1/biases:[12] res1/a/weights:[12 10] res1/a/biases:[10] res1/b/weights:[10 12] res1/b/biases:[12] " +
				"res2/a/weights:[12 8] res2/a/biases:[8] res2/b/weights:[8 6] res2/b/biases:[6] res2/proj/weights:[12 6] res2/proj/biases:[6] logits/weights:[6 4] logits/biases:[4]",
			"flatten:flatten dense:fc1 dense:res1/a dense:res1/b add:res1/add dense:res2/proj dense:res2/a dense:res2/b add:res2/add dense:logits"},
	}
	classes := []string{"a", "b", "c", "d"}
	for _, backendName := range []string{"go", "simplego"} {
		opened, err := backend.Open(backendName)
		if err != nil {
			t.Fatal(err)
		}
		b := opened.Backend
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%s-%s-%v", backendName, c.model.Arch, c.model.ActivationName(), c.example), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, 8))
				const n, mean, std = 3, 0.25, 0.5
				size := 1
				for _, d := range c.example {
					size *= d
				}
				raw, normalized := make([]float32, n*size), make([]float32, n*size)
				for i := range raw {
					raw[i] = float32(rng.Float64())
					normalized[i] = (raw[i] - mean) / std
				}
				dims := append([]int{n}, c.example...)
				hooked := map[string]bool{}
				var outputs, inputs []string // what the activation and input hooks saw
				s := models.Spec{Model: c.model, Hooks: models.Hooks{
					Weight: func(ctx *gomlxctx.Context, v *gomlxctx.Variable, w *graph.Node) *graph.Node {
						hooked[v.ScopeAndName()] = true
						return w
					},
					Activation: func(ctx *gomlxctx.Context, name string, x *graph.Node) *graph.Node {
						outputs = append(outputs, name)
						return x
					},
					Input: func(ctx *gomlxctx.Context, name string, x *graph.Node) *graph.Node {
						inputs = append(inputs, name)
						return x
					},
				}}
				ctx := gomlxctx.New().Checked(false)
				logits := func() []float32 {
					fn, err := s.ModelFn(len(classes))
					if err != nil {
						t.Fatal(err)
					}
					out, err := gomlxctx.ExecOnce(b, ctx, func(ctx *gomlxctx.Context, x *graph.Node) *graph.Node {
						return fn(ctx, nil, []*graph.Node{x})[0]
					}, tensors.FromFlatDataAndDimensions(normalized, dims...))
					if err != nil {
						t.Fatal(err)
					}
					return tensors.MustCopyFlatData[float32](out)
				}
				logits() // creates the variables
				// Every layer's input and output passes the hooks, by its scope.
				var layers []string
				for _, l := range c.model.Layers() {
					layers = append(layers, "/"+c.model.Arch+"/"+l)
				}
				if want := strings.Join(layers, " "); strings.Join(inputs, " ") != want || strings.Join(outputs, " ") != "input "+want {
					t.Errorf("the input hook saw %v and the activation hook %v; want the layers %v", inputs, outputs, layers)
				}
				var vars []string
				for v := range ctx.IterVariables() {
					if strings.HasPrefix(v.Name(), "#") {
						continue // the initializers' random state
					}
					name := strings.TrimPrefix(v.ScopeAndName(), "/"+c.model.Arch+"/")
					vars = append(vars, fmt.Sprintf("%s:%v", name, v.Shape().Dimensions))
					if !hooked[v.ScopeAndName()] && v.Name() != "avg_weight" {
						t.Errorf("%s never reached the weight hook", v.ScopeAndName())
					}
					randomize(t, v, rng) // so that biases and batch norm's folding count
				}
				if got := collapseBatchNorm(strings.Join(vars, " ")); got != c.vars {
					t.Errorf("variables\n%s\nwant\n%s", got, c.vars)
				}
				want := logits()

				file, err := export.Build(export.Source{Backend: b, Ctx: ctx, Spec: models.Spec{Model: c.model}, Example: c.example, Classes: classes, Mean: mean, Std: std})
				if err != nil {
					t.Fatal(err)
				}
				g, err := infer.GraphOf(file)
				if err != nil {
					t.Fatal(err)
				}
				var ops []string
				for _, op := range g.Ops {
					ops = append(ops, op.Op+":"+op.Name)
				}
				if got := strings.Join(ops, " "); got != c.ops {
					t.Errorf("exported ops\n%s\nwant\n%s", got, c.ops)
				}
				var buf bytes.Buffer
				if err := file.Encode(&buf); err != nil {
					t.Fatal(err)
				}
				decoded, err := infer.DecodeFile(buf.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				m, err := infer.New(decoded)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]float32, n*len(classes))
				if err := m.Predict(raw, n, got); err != nil {
					t.Fatal(err)
				}
				// And its ONNX file, read by onnx-gomlx (an independent reader).
				data, err := onnx.Encode(g, decoded.Tensors)
				if err != nil {
					t.Fatal(err)
				}
				om, err := onnxgomlx.Parse(data)
				if err != nil {
					t.Fatal(err)
				}
				octx := gomlxctx.New()
				if err := om.VariablesToContext(octx); err != nil {
					t.Fatal(err)
				}
				out, err := gomlxctx.ExecOnce(b, octx, func(ctx *gomlxctx.Context, x *graph.Node) *graph.Node {
					return om.CallGraph(ctx, x.Graph(), map[string]*graph.Node{"input": x}, "logits")[0]
				}, tensors.FromFlatDataAndDimensions(raw, dims...))
				if err != nil {
					t.Fatal(err)
				}
				for what, got := range map[string][]float32{"runtime": got, "ONNX": tensors.MustCopyFlatData[float32](out)} {
					for i := range want {
						if d := math.Abs(float64(got[i]-want[i])) / math.Max(1, math.Abs(float64(want[i]))); !(d <= 1e-4) {
							t.Errorf("logit %d: %s %g, GoMLX graph %g", i, what, got[i], want[i])
						}
					}
				}
			})
		}
	}
}

// randomize gives a variable random values: batch norm's variance and
// scale in [0.5, 1.5), everything else around 0.
func randomize(t *testing.T, v *gomlxctx.Variable, rng *rand.Rand) {
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

// collapseBatchNorm writes a batch norm's five variables as one entry.
func collapseBatchNorm(vars string) string {
	fields := strings.Fields(vars)
	var out []string
	for i := 0; i < len(fields); i++ {
		if scope, shape, ok := strings.Cut(fields[i], "batch_normalization/scale:"); ok && i+4 < len(fields) {
			out = append(out, scope+"batch_normalization/{scale,offset,mean,variance,avg_weight}:"+shape)
			i += 4
			continue
		}
		out = append(out, fields[i])
	}
	return strings.Join(out, " ")
}

// TestRegisteredNetInARecipe: a recipe run by a program names its
// registered architecture like a zoo one, and the techniques work on it:
// training, distillation into it, structured pruning (its channel groups
// come from the description), quantization-aware training, int8 and f32
// export, whose runtime agrees with the graph.
func TestRegisteredNetInARecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	t.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	for _, c := range []struct{ arch, data string }{
		{"export-test-cnn", "{dataset: synthetic-images, batch_size: 32, validation: 64, train_size: 320, test_size: 64}"},
		{"export-test-resmlp", "{dataset: blobs, batch_size: 32, validation: 64, train_size: 320, test_size: 64}"},
	} {
		t.Run(c.arch, func(t *testing.T) {
			src := `name: registered
seed: 3
backend: go
data: ` + c.data + `
model: {arch: ` + c.arch + `}
stages:
  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}
  - distill: {teacher: {stage: 1}, student: {arch: ` + c.arch + `}, temperature: 4, alpha: 0.5, hint: {teacher: features, student: features, weight: 1}, epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}
  - prune: {structure: channels, target_sparsity: 0.5}
  - evaluate: {split: test}
  - export: {formats: [safetensors, onnx], name: small}
  - quantize: {mode: qat, observer: moving_average_minmax}
  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 1e-3}}
  - quantize: {mode: ptq, name: small.int8}
`
			rec, err := recipe.Parse("r.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			store, err := runs.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Stages) != 8 || res.Stages[4].Kind != "export" || res.Stages[7].Kind != "quantize" {
				t.Fatalf("stages %+v", res.Stages)
			}
			if got := res.Stages[4].Metrics; got["export_agreement"] != 1 || !(got["export_max_diff"] <= 1e-4) {
				t.Errorf("export check: agreement %g, max diff %g", got["export_agreement"], got["export_max_diff"])
			}
			// The int8 file (from the QAT model) computes what its fake-quantized graph does.
			if got := res.Stages[7].Metrics; got["int8_fakequant_agreement"] != 1 {
				t.Errorf("int8 model: agreement with the fake-quantized graph %g", got["int8_fakequant_agreement"])
			}
			dir := store.RunDir(res.RunID)
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, want := range []string{"small.safetensors", "small.onnx", "small.int8.safetensors"} {
				if !slices.Contains(files, filepath.Join(dir, want)) {
					t.Errorf("no %s among the run's files %v", want, files)
				}
			}
			// The pruned model exported at its smaller widths: half of fc1's
			// 16 neurons (12 for the MLP's fc1, whose group includes res1/b).
			f, err := os.ReadFile(filepath.Join(dir, "small.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			file, err := infer.DecodeFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if w := file.Tensors["fc1/weights"].Shape; w[len(w)-1] != map[string]int{"export-test-cnn": 8, "export-test-resmlp": 6}[c.arch] {
				t.Errorf("fc1/weights %v: want half the outputs after pruning", w)
			}
		})
	}
}

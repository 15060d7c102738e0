package onnximport

import (
	"encoding/json"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	gg "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/internal/torchzoo"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// logits runs the imported model's GoMLX graph (pkg/models, as training
// and evaluation build it) with the imported weights.
func logits(t *testing.T, m *Model, input []float32, dims ...int) []float32 {
	t.Helper()
	backend, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	fn, err := models.Spec{Model: spec.Model{Arch: m.Arch}}.ModelFn(m.Classes)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New().Checked(false)
	for key, w := range m.Weights { // as the runner does (assignImported)
		scope, name := path.Split(key)
		ctx.InAbsPath(path.Join("/", m.Arch, scope)).VariableWithValue(name, tensors.FromFlatDataAndDimensions(w.Values, w.Shape...))
	}
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *gg.Node) *gg.Node {
		return fn(ctx, nil, []*gg.Node{x})[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(input, dims...))
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

// TestImportComputesPyTorchsLogits: each net of the zoo, imported, gives
// the logits PyTorch gave on the same inputs (the final softmax of the
// MLP aside, which the import drops), through batch norms left in the file
// and folded, a residual net, and a flatten of several channels.
func TestImportComputesPyTorchsLogits(t *testing.T) {
	dir := torchzoo.Dir(t)
	var index map[string]struct {
		Input   []int
		Classes int
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mlp", "cnn", "cnn_bn", "resnet"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join(dir, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			info := index[name]
			if m.Classes != info.Classes {
				t.Fatalf("classes %d, want %d", m.Classes, info.Classes)
			}
			input := torchzoo.ReadF32(t, filepath.Join(dir, name+".input.f32"))
			dims := info.Input
			if len(dims) == 4 {
				input = torchzoo.NHWC(input, dims[0], dims[1], dims[2], dims[3])
				dims = []int{dims[0], dims[2], dims[3], dims[1]}
			}
			if want := append([]int{dims[0]}, m.Example...); !equal(want, dims) {
				t.Fatalf("example shape %v, want %v", m.Example, dims[1:])
			}
			got := logits(t, m, input, dims...)
			want := torchzoo.ReadF32(t, filepath.Join(dir, name+".logits.f32"))
			if name == "mlp" { // PyTorch's output is the softmax of the logits
				got = softmax(got, m.Classes)
			}
			if len(got) != len(want) {
				t.Fatalf("%d logits, want %d", len(got), len(want))
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("logit %d: %g, PyTorch %g\nnet: %+v", i, got[i], want[i], m.Net)
				}
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func softmax(x []float32, width int) []float32 {
	out := make([]float32, len(x))
	for r := 0; r < len(x); r += width {
		row := x[r : r+width]
		top := row[0]
		for _, v := range row {
			top = max(top, v)
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - top))
		}
		for j, v := range row {
			out[r+j] = float32(math.Exp(float64(v-top)) / sum)
		}
	}
	return out
}

// TestImportNamesWhatItRefuses: ops Lathe lacks are named with their
// nodes, all in one error; a setting it lacks names its node.
func TestImportNamesWhatItRefuses(t *testing.T) {
	dir := torchzoo.Dir(t)
	for name, want := range map[string][]string{
		"gelu":  {"gelu.onnx: ", "ops Lathe cannot run", `Erf (node "/2/Erf")`, `Div (node "/2/Div")`},
		"leaky": {"leaky.onnx: ", `node LeakyRelu "/2/LeakyRelu": alpha 0.01`},
	} {
		_, err := Read(filepath.Join(dir, name+".onnx"))
		if err == nil {
			t.Fatalf("%s: imported", name)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", name, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
}

// TestImportRefusesBrokenFiles: bytes that are not a model, and a model
// without a graph, are one-line errors.
func TestImportRefusesBrokenFiles(t *testing.T) {
	for data, want := range map[string]string{
		"not a model at all\xff": "not an ONNX model",
		"":                       "holds no graph",
	} {
		if _, err := Decode("onnx-x", []byte(data)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", data, err, want)
		}
	}
}

// FuzzDecode: no file makes the import panic or hang.
func FuzzDecode(f *testing.F) {
	// Run it with -fuzzminimizetime 0 (or a few seconds): minimizing each
	// new input of these seeds takes the default minute, and the fuzzer
	// reports a handful of executions meanwhile.
	if dir, ok := torchzoo.Written(); ok {
		for _, name := range []string{"cnn_bn", "resnet", "gelu", "leaky"} {
			if data, err := os.ReadFile(filepath.Join(dir, name+".onnx")); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode("onnx-fuzz", data)
		if err == nil && (len(m.Net) == 0 || m.Classes < 1) {
			t.Fatalf("imported an empty model: %+v", m)
		}
	})
}

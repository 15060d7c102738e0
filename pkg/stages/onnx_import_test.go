package stages_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/internal/imagetest"
	"github.com/lathe-ml/lathe/internal/torchzoo"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	_ "github.com/lathe-ml/lathe/pkg/stages"
)

// runRecipe parses and runs a recipe with a store of its own, and returns
// the result (nil and the error when it fails) and the store.
func runRecipe(t *testing.T, file, src string) (*runner.Result, *runs.Store, error) {
	t.Helper()
	rec, err := recipe.Parse(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
	return res, store, err
}

// TestImportedModelGoesThroughEveryStage: a PyTorch CNN imported from
// ONNX is exported unchanged before any stage (its model file computes
// PyTorch's logits on PyTorch's inputs, in Lathe's runtime), then pruned,
// fine-tuned, quantized and exported as int8 and ONNX; and the imported
// model, as it was at stage 1, teaches a student.
func TestImportedModelGoesThroughEveryStage(t *testing.T) {
	zoo := torchzoo.Dir(t)
	src := `name: imported
backend: go
data: {dataset: fashion-mnist, train_size: 600, test_size: 200, validation: 100, batch_size: 50, normalize: false}
model: {onnx: ` + filepath.Join(zoo, "cnn.onnx") + `}
stages:
  - evaluate: {split: test}
  - export: {name: imported}
  - prune: {schedule: oneshot, target_sparsity: 0.5}
  - train: {steps: 3, optimizer: {name: adam, learning_rate: 1e-4}}
  - quantize: {mode: ptq, calibration_batches: 2, name: imported.int8, formats: [safetensors, onnx]}
  - distill: {teacher: {stage: 1}, student: {arch: mlp, hidden: [8]}, steps: 3}
`
	res, store, err := runRecipe(t, "imported.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	dir := store.RunDir(res.RunID)
	f, err := infer.ReadFile(filepath.Join(dir, "imported.safetensors"), 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := infer.New(f)
	if err != nil {
		t.Fatal(err)
	}
	// normalize: false, so the file takes PyTorch's inputs as they are.
	x := torchzoo.NHWC(torchzoo.ReadF32(t, filepath.Join(zoo, "cnn.input.f32")), 5, 1, 28, 28)
	want := torchzoo.ReadF32(t, filepath.Join(zoo, "cnn.logits.f32"))
	got := make([]float32, len(want))
	if err := m.Predict(x, 5, got); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("logit %d in Lathe's runtime: %g, PyTorch %g", i, got[i], want[i])
		}
	}
	for _, name := range []string{"imported.int8.safetensors", "imported.int8.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the quantize stage wrote no %s: %v", name, err)
		}
	}
	if got, want := res.Final["teacher_test_accuracy"], res.Stages[0].Metrics["test_accuracy"]; math.Abs(got-want) > 0.011 {
		t.Errorf("the teacher (the import at stage 1) scores %.3f in the runtime, the import %.3f in the graph", got, want)
	}
	if s := res.Stages[2].Metrics["sparsity"]; math.Abs(s-0.5) > 0.01 {
		t.Errorf("sparsity %g, want 0.5", s)
	}
}

// TestImportErrorsAreOneLineBeforeAnyRun: an ONNX file Lathe cannot run,
// or one that does not fit the data, is refused when the recipe is read,
// at the recipe's onnx key, naming the file and the node.
func TestImportErrorsAreOneLineBeforeAnyRun(t *testing.T) {
	zoo := torchzoo.Dir(t)
	head := "name: bad\nbackend: go\ndata: {dataset: fashion-mnist}\n"
	stages := "stages:\n  - evaluate: {}\n"
	for model, want := range map[string][]string{
		"{onnx: " + filepath.Join(zoo, "gelu.onnx") + "}":           {"b.yaml:4:15: model.onnx: ", "gelu.onnx: ", `Erf (node "/2/Erf")`},
		"{onnx: " + filepath.Join(zoo, "leaky.onnx") + "}":          {"b.yaml:4:15: ", `node LeakyRelu "/2/LeakyRelu": alpha 0.01`},
		"{onnx: " + filepath.Join(zoo, "resnet.onnx") + "}":         {"b.yaml:4:15: model.onnx ", "takes examples of shape [16 16 3]", "gives [28 28 1]"},
		"{onnx: " + filepath.Join(zoo, "missing.onnx") + "}":        {"b.yaml:4:15: model.onnx: ", "missing.onnx: no such file"},
		"{onnx: " + filepath.Join(zoo, "cnn.onnx") + ", arch: mlp}": {"does not apply to an imported model"},
		"{onnx: " + filepath.Join(zoo, "cnn.input.f32") + "}":       {"cnn.input.f32: not an ONNX model"},
	} {
		_, err := recipe.Parse("b.yaml", []byte(head+"model: "+model+"\n"+stages))
		if err == nil {
			t.Errorf("%s: parsed", model)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", model, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", model, err)
		}
	}
	// The classes are the data's, checked when it loads, before the run is
	// recorded: the CNN has 10 outputs, the folder 2 classes.
	images := t.TempDir()
	imagetest.Bars(t, images, 10, 1)
	src := "name: bad\nbackend: go\ndata: {dataset: imagefolder, dir: " + images + ", size: [28, 28], channels: 1, batch_size: 4}\nmodel: {onnx: " + filepath.Join(zoo, "cnn.onnx") + "}\n" + stages
	_, store, err := runRecipe(t, "b.yaml", src)
	if err == nil || !strings.Contains(err.Error(), "has 10 outputs, but data imagefolder has 2 classes") {
		t.Errorf("classes: %v", err)
	}
	if list, _ := store.List(); len(list) != 0 {
		t.Errorf("a run was recorded: %v", list)
	}
}

package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/datasets"
)

// TestExportPredictBench: a recipe with an export stage writes a model
// file and an ONNX file into its run folder and checks them; `lathe
// export` writes the same model from the stored run; `lathe predict`
// classifies MNIST test images and a PNG with it; `lathe bench infer`
// times it against the GoMLX backend; and wrong inputs are one-line errors.
func TestExportPredictBench(t *testing.T) {
	dir := t.TempDir()
	recipe := "name: deploy\nseed: 1\nbackend: go\ndata: {dataset: mnist, batch_size: 64, validation: 1000}\n" +
		"model: {arch: mlp, hidden: [32]}\nstages:\n  - train: {steps: 150}\n  - evaluate: {split: test}\n" +
		"  - export: {formats: [safetensors, onnx]}\n"
	if err := os.WriteFile(filepath.Join(dir, "deploy.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runLathe(t, dir, "run", "deploy.yaml"); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	r := runLathe(t, dir, "show", "deploy", "--json")
	var run runView
	if err := json.Unmarshal([]byte(r.stdout), &run); err != nil {
		t.Fatalf("show --json: %v: %s", err, r.stdout)
	}
	exported := run.Stages[len(run.Stages)-1].Metrics
	if exported["export_agreement"] != 1 || !(exported["safetensors_bytes"] > 0) || !(exported["onnx_bytes"] > 0) {
		t.Errorf("export stage results %v: want agreement 1 and both files' sizes", exported)
	}
	stageFile := filepath.Join(dir, "runs", run.ID, "model.safetensors")
	if _, err := os.Stat(stageFile); err != nil {
		t.Fatal(err)
	}

	model := filepath.Join(dir, "mlp.safetensors")
	r = runLathe(t, dir, "export", "deploy", "-o", model)
	if r.code != 0 || !strings.Contains(r.stdout, "same class as the graph 100.00%") {
		t.Fatalf("export: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	a, _ := os.ReadFile(stageFile)
	b, _ := os.ReadFile(model)
	if len(a) == 0 || len(a) != len(b) {
		t.Errorf("lathe export wrote %d bytes, the export stage %d", len(b), len(a))
	}

	// The run's manifest lists both files with their sizes; export -o
	// never overwrites the store, a checkpoint or a file a stage wrote,
	// and overwrites another existing file only with --force.
	files := map[string]int64{}
	for _, f := range run.Files {
		files[f.Name] = f.Bytes
	}
	if float64(files["model.safetensors"]) != exported["safetensors_bytes"] || float64(files["model.onnx"]) != exported["onnx_bytes"] {
		t.Errorf("recorded files %v, the stage wrote %v and %v bytes", run.Files, exported["safetensors_bytes"], exported["onnx_bytes"])
	}
	db := filepath.Join(dir, "runs", "runs.db")
	before, _ := os.ReadFile(db)
	ckpts, _ := filepath.Glob(filepath.Join(dir, "runs", run.ID, "checkpoint", "*"))
	if len(ckpts) == 0 {
		t.Fatal("no checkpoint files")
	}
	for target, want := range map[string]string{
		db:        "is the run store's database",
		ckpts[0]:  "checkpoints",
		stageFile: "wrote",
		model:     "the file exists; add --force",
	} {
		r = runLathe(t, dir, "export", "deploy", "-o", target, "--check", "none")
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("export -o %s: exit %d, %q; want a one-line error saying %q", target, r.code, r.stderr, want)
		}
	}
	if after, _ := os.ReadFile(db); len(before) == 0 || string(after) != string(before) {
		t.Errorf("the store changed under a refused export (%d bytes before, %d after)", len(before), len(after))
	}
	if r = runLathe(t, dir, "export", "deploy", "-o", model, "--check", "none", "--force"); r.code != 0 {
		t.Errorf("export -o over an existing file with --force: exit %d: %s", r.code, r.stderr)
	}

	// A PNG of test image 0 ("7") must get the class mnist:test:0 gets.
	r = runLathe(t, dir, "predict", model, "mnist:test:0-2", "--json")
	var preds []prediction
	if err := json.Unmarshal([]byte(r.stdout), &preds); err != nil || len(preds) != 3 {
		t.Fatalf("predict --json: %v: %s%s", err, r.stdout, r.stderr)
	}
	if preds[0].Label == nil || *preds[0].Label != 7 || len(preds[0].Top) != 3 {
		t.Errorf("predict mnist:test:0: %+v, want label 7 and 3 classes", preds[0])
	}
	pngPath := filepath.Join(dir, "seven.png")
	writePNGOfMNISTTest0(t, pngPath)
	r = runLathe(t, dir, "predict", model, pngPath, "--top", "1", "--json")
	var fromPNG []prediction
	if err := json.Unmarshal([]byte(r.stdout), &fromPNG); err != nil || len(fromPNG) != 1 {
		t.Fatalf("predict PNG: %v: %s%s", err, r.stdout, r.stderr)
	}
	if fromPNG[0].Top[0].Class != preds[0].Top[0].Class {
		t.Errorf("the PNG of test image 0 is classified %s, the IDX image %s", fromPNG[0].Top[0].Class, preds[0].Top[0].Class)
	}

	r = runLathe(t, dir, "bench", "infer", model, "--batch", "1,8", "--seconds", "0.2", "--json")
	var rep inferReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Results) != 4 {
		t.Fatalf("bench infer --json: %v: %s%s", err, r.stdout, r.stderr)
	}
	for _, res := range rep.Results {
		if strings.HasPrefix(res.Engine, "lathe") && res.AllocsPerCall != 0 {
			t.Errorf("%s at batch %d: %.1f allocations per call", res.Engine, res.Batch, res.AllocsPerCall)
		}
	}

	small := filepath.Join(dir, "small.png")
	writePNG(t, small, 10, 10)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"predict", model, small}, "small.png: a 10×10 image; the model takes 28×28"},
		{[]string{"predict", model, "fashion-mnist:test:100000"}, "index 100000: the split has 10000 examples"},
		{[]string{"predict", model, "mnist:test:x"}, `indices "x"`},
		{[]string{"predict", pngPath, "mnist:test:0"}, "not a safetensors file"},
		{[]string{"predict", filepath.Join("runs", run.ID, "model.onnx"), "mnist:test:0"}, "model.onnx: an ONNX file"},
		{[]string{"bench", "infer", filepath.Join("runs", run.ID, "model.onnx")}, "model.onnx: an ONNX file"},
		{[]string{"predict", model, "nothing-here"}, `input "nothing-here": neither a file, a folder nor a selection`},
		{[]string{"export", "no-such-run"}, "no-such-run"},
	} {
		r := runLathe(t, dir, c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("lathe %s: exit %d, stderr %q: want one line containing %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}
}

// writePNGOfMNISTTest0 writes MNIST's first test image as a grayscale PNG.
func writePNGOfMNISTTest0(t *testing.T, path string) {
	t.Helper()
	_, test, err := datasets.Load("mnist", datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i, v := range test.Example(0) { // pixels/255, exactly
		img.SetGray(i%28, i/28, color.Gray{Y: uint8(math.Round(float64(v) * 255))})
	}
	savePNG(t, path, img)
}

func writePNG(t *testing.T, path string, w, h int) {
	savePNG(t, path, image.NewGray(image.Rect(0, 0, w, h)))
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

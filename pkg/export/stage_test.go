package export_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
	_ "github.com/lathe-ml/lathe/pkg/prune"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

const stageBase = `name: export-test
seed: 3
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 200}
model: {arch: mlp, hidden: [32, 16]}
stages:
  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 0.01}}
`

// TestExportStage: after a structured prune halves the hidden layers, the
// export stage writes both files into the run's folder at the smaller
// widths, reports their sizes as they are on disk, and the runtime agrees
// with the graph on every test example.
func TestExportStage(t *testing.T) {
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := stageBase + "  - prune: {structure: channels, target_sparsity: 0.5}\n" +
		"  - evaluate: {split: test}\n  - export: {formats: [safetensors, onnx], name: small}\n"
	rec, err := recipe.Parse("e.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Stages[len(res.Stages)-1].Metrics
	// blobs: 2 features, 4 classes; hidden 32 and 16 become 16 and 8.
	params := 2*16 + 16 + 16*8 + 8 + 8*4 + 4
	if got["export_weight_bytes"] != float64(4*params) {
		t.Errorf("export_weight_bytes %g, want 4 × %d parameters of the pruned model", got["export_weight_bytes"], params)
	}
	for _, format := range export.Formats {
		info, err := os.Stat(filepath.Join(store.RunDir(res.RunID), "small."+format))
		if err != nil {
			t.Fatal(err)
		}
		if got[format+"_bytes"] != float64(info.Size()) {
			t.Errorf("%s_bytes %g, the file has %d", format, got[format+"_bytes"], info.Size())
		}
	}
	graphAccuracy := res.Stages[len(res.Stages)-2].Metrics["test_accuracy"]
	if got["export_agreement"] != 1 || !(got["export_max_diff"] <= 1e-5) || math.Abs(got["export_test_accuracy"]-graphAccuracy) > 1e-6 {
		t.Errorf("check: agreement %g, max diff %g, runtime test accuracy %g (the graph's: %g)",
			got["export_agreement"], got["export_max_diff"], got["export_test_accuracy"], graphAccuracy)
	}
	m, err := infer.Load(filepath.Join(store.RunDir(res.RunID), "small.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if m.InputSize() != 2 || m.Classes() != 4 {
		t.Errorf("the file takes %d features to %d classes, want 2 to 4", m.InputSize(), m.Classes())
	}
}

// TestBadExportKeys: mistakes are positioned errors before any work.
func TestBadExportKeys(t *testing.T) {
	cases := map[string]string{
		"{formats: [tflite]}":                `e.yaml:8:24: unknown format "tflite"; allowed: safetensors, onnx`,
		"{formats: []}":                      "e.yaml:8:23: formats must list at least one",
		"{formats: [onnx, onnx]}":            "e.yaml:8:30: format onnx is listed twice",
		"{dtype: int4}":                      `e.yaml:8:21: unknown dtype "int4"; allowed: f32, bf16`,
		"{name: ../model}":                   `e.yaml:8:20: name "../model": want a file name without a folder`,
		"{check: holdout}":                   `e.yaml:8:21: unknown check "holdout"; allowed: none, test, validation, train`,
		"{formats: [onnx], dtype: bf16}":     "dtype bf16 applies to the safetensors file",
		"{format: onnx}":                     `unknown key "format" in export stage`,
		"{check: validation, name: ok.v1-2}": "",
	}
	for stage, want := range cases {
		_, err := recipe.Parse("e.yaml", []byte(stageBase+"  - export: "+stage+"\n"))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", stage, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", stage, err, want)
		}
	}
	noValidation := strings.Replace(stageBase, "validation: 100", "validation: 0", 1)
	if _, err := recipe.Parse("e.yaml", []byte(noValidation+"  - export: {check: validation}\n")); err == nil ||
		!strings.Contains(err.Error(), "export checks on the validation split but data.validation is 0") {
		t.Errorf("check: validation without a validation split: %v", err)
	}
}

package quant

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

const stageBase = `name: quantize-test
seed: 3
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 400}
model: {arch: mlp, hidden: [64, 32]}
stages:
  - train: {epochs: 3, optimizer: {name: adam, learning_rate: 0.01}}
`

// TestPTQStage: the stage writes the float and the int8 file into the
// run's folder, reports their sizes as on disk, and the int8 model agrees
// with the float graph on the test split.
func TestPTQStage(t *testing.T) {
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec, err := recipe.Parse("q.yaml", []byte(stageBase+"  - quantize: {mode: ptq, observer: minmax, calibration_batches: 4}\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Stages[len(res.Stages)-1].Metrics
	dir := store.RunDir(res.RunID)
	for key, name := range map[string]string{"f32_bytes": "model.int8.f32.safetensors", "int8_bytes": "model.int8.safetensors"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got[key] != float64(info.Size()) {
			t.Errorf("%s %g, the file has %d bytes", key, got[key], info.Size())
		}
	}
	if got["int8_agreement"] < 0.995 {
		t.Errorf("int8 agreement %g, want ≥ 0.995", got["int8_agreement"])
	}
	if got["int8_fakequant_agreement"] < 0.995 {
		t.Errorf("int8 runtime and fake-quantized graph agree on %g, want ≥ 0.995", got["int8_fakequant_agreement"])
	}
	// 8-bit weights on well-spread data: about 6 dB a bit, far above 30.
	for _, layer := range []string{"fc1", "fc2", "logits"} {
		if !(got["weight_sqnr_db/"+layer] > 30) || !(got["input_sqnr_db/"+layer] > 30) {
			t.Errorf("%s: weight SQNR %.1f dB, input %.1f dB; want both above 30", layer, got["weight_sqnr_db/"+layer], got["input_sqnr_db/"+layer])
		}
	}
	// The file on disk reloads and gives the same logits as the model the
	// stage measured (rebuilt here from the same file).
	m, err := infer.Load(filepath.Join(dir, "model.int8.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Graph.Ops[0].Quantized(nil) && m.Graph.Ops[0].InputScale == 0 {
		t.Error("the reloaded file's first layer is not int8")
	}
	x := []float32{0.5, -1, 2, 0.25}
	a, b := make([]float32, 8), make([]float32, 8)
	if err := m.Predict(x, 2, a); err != nil {
		t.Fatal(err)
	}
	again, err := infer.Load(filepath.Join(dir, "model.int8.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Predict(x, 2, b); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("two loads of the file predict %v and %v", a, b)
		}
	}
}

// TestBadQuantizeKeys: mistakes are positioned errors before any work.
func TestBadQuantizeKeys(t *testing.T) {
	cases := map[string]string{
		"{observer: kl}":           `q.yaml:8:26: unknown observer "kl"`,
		"{mode: awq}":              `q.yaml:8:22: unknown mode "awq"`,
		"{calibration_batches: 0}": "q.yaml:8:37: calibration_batches must be at least 1",
		"{exclude: [conv9]}":       `q.yaml:8:26: quantize: exclude names no layer of the mlp model: "conv9"`,
		"{name: a/b}":              `q.yaml:8:22: name "a/b": want a file name without a folder`,
		"{bits: 3}":                "q.yaml:8:22: bits 3: want 8",
		"{weights: per_row}":       `q.yaml:8:25: unknown weights "per_row"`,
		"{bit: 8}":                 `q.yaml:8:16: unknown key "bit" in quantize stage (did you mean "bits"?)`,
	}
	for keys, want := range cases {
		_, err := recipe.Parse("q.yaml", []byte(stageBase+"  - quantize: "+keys+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", keys, err, want)
		}
	}
}

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
	for _, layer := range []string{"fc1", "fc2", "out"} {
		t.Logf("%s: weight %.1f dB input %.1f dB", layer, got["weight_sqnr_db/"+layer], got["input_sqnr_db/"+layer])
	}
	t.Logf("%v", got)
	m, err := infer.Load(filepath.Join(dir, "model.int8.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	_ = m
	_ = strings.Contains
}

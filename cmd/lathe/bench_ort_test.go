package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/lathe-ml/lathe/pkg/bench"
)

// TestBenchInferVersusONNXRuntime: --ort times ONNX Runtime on the same
// model's ONNX file at each batch size and gives the runtime's ratio to
// it. ONNX Runtime is a reference installed by setup.sh: without it the
// test skips (it is never part of the lathe binary).
func TestBenchInferVersusONNXRuntime(t *testing.T) {
	if err := bench.ORTAvailable("../../scripts/ort-infer.js"); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	recipe := "name: ort\nseed: 1\nbackend: go\ndata: {dataset: mnist, batch_size: 64, validation: 1000}\n" +
		"model: {arch: lenet5}\nstages:\n  - train: {steps: 20}\n  - export: {name: m, check: none}\n"
	if err := os.WriteFile(filepath.Join(dir, "ort.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runLathe(t, dir, "run", "ort.yaml"); r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	model, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "m.safetensors"))
	if len(model) != 1 {
		t.Fatalf("model files %v", model)
	}
	script, _ := filepath.Abs("../../scripts/ort-infer.js")
	r := runLathe(t, dir, "bench", "infer", model[0], "--ort", "--ort-script", script, "--seconds", "0.2", "--batch", "1,8", "--json")
	var rep inferReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bench infer --ort: exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	rows := 0
	for _, res := range rep.Results {
		if res.Engine == "onnxruntime 1.30.0" && res.Quant == "f32" && res.P50Ms > 0 && res.Calls >= 20 {
			rows++
		}
	}
	if rows != 2 || !(rep.VsORT["1"] > 0) || !(rep.VsORT["8"] > 0) {
		t.Errorf("ONNX Runtime rows %d, ratios %v: want both batch sizes", rows, rep.VsORT)
	}
	t.Logf("runtime / ONNX Runtime p50: batch 1 %.2f, batch 8 %.2f", rep.VsORT["1"], rep.VsORT["8"])
}

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/infer"
)

// TestBenchInferInt8: a run whose quantize stage wrote an int8 model and
// its float twin is timed side by side — the runtime in float32 and in
// int8, GoMLX on the float twin — by run name and by file; a lone int8
// file and a float model of another shape are one-line errors; and with
// python3-torch at hand, PyTorch's float and int8 versions join them.
func TestBenchInferInt8(t *testing.T) {
	dir := t.TempDir()
	recipe := "name: q8\nseed: 1\nbackend: go\ndata: {dataset: mnist, batch_size: 64, validation: 1000}\n" +
		"model: {arch: mlp, hidden: [32]}\nstages:\n  - train: {steps: 20}\n  - quantize: {mode: ptq, calibration_batches: 2}\n"
	if err := os.WriteFile(filepath.Join(dir, "q8.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runLathe(t, dir, "run", "q8.yaml"); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	r := runLathe(t, dir, "show", "q8", "--json")
	var run runView
	if err := json.Unmarshal([]byte(r.stdout), &run); err != nil {
		t.Fatalf("show --json: %v: %s", err, r.stdout)
	}
	int8File := filepath.Join("runs", run.ID, "model.int8.safetensors")
	twin := filepath.Join("runs", run.ID, "model.int8.f32.safetensors")

	r = runLathe(t, dir, "bench", "infer", "q8", "--batch", "1,4", "--seconds", "0.2")
	if r.code != 0 {
		t.Fatalf("bench infer q8: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"model.int8.safetensors vs model.int8.f32.safetensors", "gomlx go", "lathe runtime f32 (", "lathe runtime int8 (", "INT8 SPEED-UP", "RUNTIME INT8 MS"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("bench infer q8: no %q in\n%s", want, r.stdout)
		}
	}
	// The side-by-side table: a row per batch size ending in the speed-up.
	for _, batch := range []string{"1 ", "4 "} {
		found := false
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(line, batch) && strings.HasSuffix(strings.TrimSpace(line), "×") {
				found = true
			}
		}
		if !found {
			t.Errorf("bench infer q8: no side-by-side row for batch %s with a speed-up in\n%s", batch, r.stdout)
		}
	}

	r = runLathe(t, dir, "bench", "infer", int8File, "--batch", "1,4", "--seconds", "0.2", "--json")
	var rep inferReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Results) != 6 {
		t.Fatalf("bench infer %s --json: %v: %s%s", int8File, err, r.stdout, r.stderr)
	}
	if rep.F32Model != twin || rep.Int8Model != int8File || rep.Int8Kernels == "" {
		t.Errorf("report names f32 %q, int8 %q, int8 kernels %q: want the twin %s beside %s", rep.F32Model, rep.Int8Model, rep.Int8Kernels, twin, int8File)
	}
	for _, b := range []string{"1", "4"} {
		if !(rep.Int8Speedup[b] > 0) || !(rep.Speedup[b] > 0) {
			t.Errorf("batch %s: int8 speed-up %v, speed-up vs GoMLX %v", b, rep.Int8Speedup[b], rep.Speedup[b])
		}
	}
	for i, res := range rep.Results {
		want := []string{"gomlx", "lathe runtime f32", "lathe runtime int8"}[i%3]
		if !strings.HasPrefix(res.Engine, want) || res.Quant != []string{"f32", "f32", "int8"}[i%3] {
			t.Errorf("result %d: %s (%s), want %s", i, res.Engine, res.Quant, want)
		}
		if strings.HasPrefix(res.Engine, "lathe") && res.AllocsPerCall != 0 {
			t.Errorf("%s at batch %d: %.1f allocations per call", res.Engine, res.Batch, res.AllocsPerCall)
		}
	}

	// Bad input: an int8 file without its twin; a float model of other shapes.
	lone := filepath.Join(dir, "lone.safetensors")
	data, err := os.ReadFile(filepath.Join(dir, int8File))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lone, data, 0o644); err != nil {
		t.Fatal(err)
	}
	narrow := filepath.Join(dir, "narrow.safetensors")
	writeNarrowerTwin(t, filepath.Join(dir, twin), narrow, 24)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "infer", lone}, "lone.safetensors is an int8 model and its float twin"},
		{[]string{"bench", "infer", int8File, "--vs", narrow}, `is not the float twin of ` + int8File + `: op 2 (dense "fc1") has weights [784 24], the int8 model's [784 32]`},
		{[]string{"bench", "infer", int8File, "--vs", lone}, "is an int8 model too"},
		{[]string{"bench", "infer", "q8", "--vs", twin}, "--vs " + twin + ": goes with a model file"},
	} {
		r := runLathe(t, dir, c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("lathe %s: exit %d, stderr %q: want one line containing %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}

	// PyTorch, where Debian's python3-torch is installed.
	probe, err := exec.Command("/usr/bin/python3", "-c", "import torch; print(' '.join(torch.backends.quantized.supported_engines))").Output()
	if err != nil {
		t.Log("python3-torch is not importable: the PyTorch part is skipped")
		return
	}
	engines := strings.Fields(string(probe))
	script, err := filepath.Abs("../../scripts/torch-infer-ref.py")
	if err != nil {
		t.Fatal(err)
	}
	engine := ""
	for _, e := range []string{"fbgemm", "onednn", "qnnpack"} {
		if slices.Contains(engines, e) {
			engine = e
			break
		}
	}
	if engine != "fbgemm" {
		// Debian's torch has no FBGEMM: asking for it is one line naming what it has.
		r := runLathe(t, dir, "bench", "infer", "q8", "--batch", "1", "--seconds", "0.1", "--torch", "--torch-script", script, "--torch-qengine", "fbgemm")
		if r.code == 0 || !strings.Contains(r.stderr, "fbgemm") || !strings.Contains(r.stderr, "--torch-qengine") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("--torch-qengine fbgemm (engines %v): exit %d, stderr %q: want a line naming fbgemm and --torch-qengine", engines, r.code, r.stderr)
		}
	}
	if engine == "" {
		t.Logf("torch has no quantized engine of fbgemm, onednn, qnnpack (%v): the PyTorch int8 part is skipped", engines)
		return
	}
	// The default engine, auto, is the first of fbgemm, onednn, qnnpack it has.
	r = runLathe(t, dir, "bench", "infer", "q8", "--batch", "1", "--seconds", "0.1", "--torch", "--torch-script", script, "--json")

	rep = inferReport{}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Results) != 5 {
		t.Fatalf("bench infer --torch --json: %v: %s%s", err, r.stdout, r.stderr)
	}
	if want := "int8 dynamic " + engine; rep.TorchInt8 != want || !(rep.Int8VsTorch["1"] > 0) || !(rep.VsTorch["1"] > 0) {
		t.Errorf("PyTorch int8 %q (want %q), int8 runtime / PyTorch int8 %v, f32 runtime / PyTorch %v", rep.TorchInt8, want, rep.Int8VsTorch, rep.VsTorch)
	}
	if q := rep.Results[3].Quant + "," + rep.Results[4].Quant; q != "f32,int8 dynamic "+engine {
		t.Errorf("PyTorch rows are %s", q)
	}
}

// writeNarrowerTwin writes a copy of an MLP's float model (one hidden
// layer, fc1 then logits) with hidden units narrowed to hidden.
func writeNarrowerTwin(t *testing.T, from, to string, hidden int) {
	t.Helper()
	f, err := infer.ReadFile(from, 0)
	if err != nil {
		t.Fatal(err)
	}
	in := f.Tensors["fc1/weights"].Shape[0]
	classes := f.Tensors["logits/weights"].Shape[1]
	f.Tensors["fc1/weights"] = infer.F32Tensor(make([]float32, in*hidden), in, hidden)
	f.Tensors["fc1/biases"] = infer.F32Tensor(make([]float32, hidden), hidden)
	f.Tensors["logits/weights"] = infer.F32Tensor(make([]float32, hidden*classes), hidden, classes)
	if err := f.WriteFile(to); err != nil {
		t.Fatal(err)
	}
}

// TestBenchInferDenseVsPruned: two float models — a dense MLP and its
// structured-pruned rebuild — timed side by side: a row per batch size
// with each one's p50 in the runtime and on GoMLX and the pruned model's
// speed-up, which is the ratio of those p50s.
func TestBenchInferDenseVsPruned(t *testing.T) {
	dir := t.TempDir()
	recipe := "name: pr\nseed: 1\nbackend: go\ndata: {dataset: mnist, batch_size: 64, validation: 1000}\n" +
		"model: {arch: mlp, hidden: [256, 256]}\nstages:\n  - train: {steps: 10}\n  - export: {name: dense}\n" +
		"  - prune: {structure: channels, schedule: oneshot, target_sparsity: 0.75}\n  - export: {name: pruned}\n"
	if err := os.WriteFile(filepath.Join(dir, "pr.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runLathe(t, dir, "run", "pr.yaml"); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	r := runLathe(t, dir, "show", "pr", "--json")
	var run runView
	if err := json.Unmarshal([]byte(r.stdout), &run); err != nil {
		t.Fatalf("show --json: %v: %s", err, r.stdout)
	}
	dense, pruned := filepath.Join("runs", run.ID, "dense.safetensors"), filepath.Join("runs", run.ID, "pruned.safetensors")
	r = runLathe(t, dir, "bench", "infer", dense, "--vs", pruned, "--batch", "1,64", "--seconds", "0.2", "--json")
	var rep struct {
		Model, Versus string
		Rows          []versusRow `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Rows) != 2 {
		t.Fatalf("bench infer --vs --json: %v: %s%s", err, r.stdout, r.stderr)
	}
	for _, row := range rep.Rows {
		if row.RuntimeSpeedup != row.RuntimeMs/row.VsRuntimeMs || row.GoMLXSpeedup != row.GoMLXMs/row.VsGoMLXMs || !(row.RuntimeMs > 0) || !(row.GoMLXMs > 0) {
			t.Errorf("row %+v", row)
		}
	}
	// A quarter of the neurons left: the 256-256 MLP's work is 784·256 +
	// 256·256 + 256·10 = 268,544 multiply-adds, the 64-64 one's 54,912,
	// 4.9× less; at batch 64 the runtime should show most of that.
	if rep.Rows[1].RuntimeSpeedup < 1.5 {
		t.Errorf("pruned to a quarter of its neurons, the MLP ran only %.2f× faster at batch 64", rep.Rows[1].RuntimeSpeedup)
	}
	r = runLathe(t, dir, "bench", "infer", dense, "--vs", pruned, "--batch", "4", "--seconds", "0.1")
	if r.code != 0 || !strings.Contains(r.stdout, "B SPEED-UP") || !strings.Contains(r.stdout, dense+" (A) vs "+pruned+" (B)") {
		t.Errorf("bench infer --vs: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportCommand: `lathe run` of a recipe ending in a report stage
// prints the report; `lathe report RUN` prints it again from the run's
// folder, `lathe show` includes it, --measure measures the files anew, two
// runs are measured side by side into --out, and a run without model
// files is a one-line error.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	const head = "seed: 3\nbackend: go\ndata: {dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 300}\n" +
		"model: {arch: mlp, hidden: [32, 32]}\nstages:\n  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 0.01}}\n"
	pipeline := "name: rp\n" + head + "  - export: {name: baseline}\n  - prune: {structure: channels, schedule: oneshot, target_sparsity: 0.5}\n" +
		"  - train: {epochs: 1}\n  - quantize: {mode: ptq, name: combined, calibration_batches: 2}\n" +
		"  - report: {models: {baseline: baseline, combined: combined}, seconds: 0.1, train_steps: 2}\n"
	plain := "name: plain\n" + head + "  - evaluate: {split: test}\n"
	other := "name: other\n" + head + "  - export: {name: small}\n"
	for name, text := range map[string]string{"rp.yaml": pipeline, "plain.yaml": plain, "other.yaml": other} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runLathe(t, dir, "run", "rp.yaml")
	if r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"trade-off report", "VARIANT", "baseline", "combined", "Model size −50% with high accuracy", "report: runs/"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("run's summary lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runLathe(t, dir, "report", "rp")
	if r.code != 0 || !strings.Contains(r.stdout, "Inference time −80% (int8 + ONNX inference)") {
		t.Fatalf("report rp: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if s := runLathe(t, dir, "show", "rp"); !strings.Contains(s.stdout, "trade-off report") {
		t.Errorf("show rp lacks the report:\n%s", s.stdout)
	}
	var js struct {
		Variants []struct {
			Role, Name string
		} `json:"variants"`
	}
	r = runLathe(t, dir, "report", "rp", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || len(js.Variants) != 2 || js.Variants[1].Role != "combined" {
		t.Fatalf("report --json: %v %+v\n%s", err, js, r.stdout)
	}
	// --measure: every model file of the run, oldest first, float twins left out.
	r = runLathe(t, dir, "report", "rp", "--measure", "--seconds", "0.1", "--train-steps", "0", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || len(js.Variants) != 2 || js.Variants[0].Name != "baseline" || js.Variants[1].Name != "combined" {
		t.Fatalf("report --measure: %v %+v\n%s%s", err, js, r.stdout, r.stderr)
	}
	// Two runs: their files side by side, named by run.
	if r := runLathe(t, dir, "run", "other.yaml"); r.code != 0 {
		t.Fatalf("run other: %s", r.stderr)
	}
	out := filepath.Join(dir, "both")
	r = runLathe(t, dir, "report", "rp", "other", "--out", out, "--seconds", "0.1", "--train-steps", "0")
	if r.code != 0 {
		t.Fatalf("report rp other: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"rp/baseline", "rp/combined", "other/small"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("two-run report lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, f := range []string{"report.md", "report.json", "accuracy_size.png", "accuracy_latency.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// A run that wrote no model file.
	if r := runLathe(t, dir, "run", "plain.yaml"); r.code != 0 {
		t.Fatalf("run plain: %s", r.stderr)
	}
	r = runLathe(t, dir, "report", "plain")
	if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "holds no model file") {
		t.Errorf("report plain: exit %d, stderr %q", r.code, r.stderr)
	}
}

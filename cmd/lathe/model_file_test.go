package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/infer"
)

// tinyModel writes a model file of a 2×2 grayscale image, flattened, and
// one dense layer of 3 classes (a, b, c): weights [4, 3] and biases [3].
func tinyModel(t *testing.T, path string, weights, biases []float32) {
	t.Helper()
	f := &infer.File{Tensors: map[string]infer.Tensor{
		"fc/weights": infer.F32Tensor(weights, 4, 3),
		"fc/biases":  infer.F32Tensor(biases, 3),
	}, Metadata: map[string]string{}}
	g := &infer.Graph{Format: infer.FormatName, Version: infer.FormatVersion, Input: infer.Input{Shape: []int{2, 2, 1}, Std: 1},
		Ops: []infer.Op{
			{Op: "flatten", Name: "flat", Inputs: []string{infer.InputValue}},
			{Op: "dense", Name: "fc", Inputs: []string{"flat"}, Weights: "fc/weights", Bias: "fc/biases"},
		}, Output: "fc", Classes: []string{"a", "b", "c"}}
	text, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f.Metadata[infer.GraphKey] = text
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// runLatheWithin is runLathe that kills lathe after limit (a read that
// blocks forever must fail the test, not hang it) and reports how long
// it ran.
func runLatheWithin(t *testing.T, dir string, limit time.Duration, args ...string) (result, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, lathe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=", "LATHE_RUNS=")
	start := time.Now()
	r := runCommand(t, cmd)
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Errorf("lathe %s: still running after %v", strings.Join(args, " "), limit)
	}
	return r, took
}

// oneLine checks a failed command's stderr: one line, containing want.
func oneLine(t *testing.T, r result, what, want string) {
	t.Helper()
	if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("%s: exit %d, stderr %q: want one line containing %q", what, r.code, r.stderr, want)
	}
}

// TestNamedPipeAsAModelFile (issue 29): a FIFO given where a model file
// (or predict's PNG) goes is refused at once by what it is; `lathe
// predict` and `bench infer --vs` blocked forever opening it, and `bench
// infer FIFO` called it "no such file".
func TestNamedPipeAsAModelFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.safetensors")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	model := filepath.Join(dir, "m.safetensors")
	tinyModel(t, model, make([]float32, 12), make([]float32, 3))
	writePNG(t, filepath.Join(dir, "x.png"), 2, 2)
	for _, args := range [][]string{
		{"predict", fifo, "x.png"},
		{"predict", model, fifo}, // an input image, opened the same way
		{"bench", "infer", fifo},
		{"bench", "infer", model, "--vs", fifo},
	} {
		r, took := runLatheWithin(t, dir, 20*time.Second, args...)
		t.Logf("lathe %s: exit %d in %v", strings.Join(args, " "), r.code, took.Round(time.Millisecond))
		oneLine(t, r, "lathe "+strings.Join(args, " "), fifo+": not a regular file (a named pipe)")
		if took > 5*time.Second {
			t.Errorf("lathe %s took %v", strings.Join(args, " "), took)
		}
	}
}

// TestPredictNaNModel (issue 29): a model file holding NaN and infinite
// weights is run with a one-line warning naming them; where the outputs
// are NaN the text says NaN (not "a NaN%") and --json stays valid JSON,
// each probability the string "NaN" (it failed with "json: unsupported
// value: NaN").
func TestPredictNaNModel(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "x.png"), 2, 2)
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	bad := filepath.Join(dir, "bad.safetensors")
	tinyModel(t, bad, []float32{0, 0, 0, inf, 0, 0, 0, 0, 0, 0, 0, 0}, []float32{0, nan, 0})
	warning := bad + ": tensors fc/biases (1) and fc/weights (1) hold non-finite values (NaN or ±Inf): its outputs may be NaN\n"

	r := runLathe(t, dir, "predict", bad, "x.png")
	if r.code != 0 || r.stderr != warning || r.stdout != "x.png: NaN (the model's outputs are not numbers: no class)\n" {
		t.Errorf("predict: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runLathe(t, dir, "predict", bad, "x.png", "--json", "--top", "2")
	var raw []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); r.code != 0 || err != nil || r.stderr != warning {
		t.Fatalf("predict --json: exit %d, %v: stdout %q, stderr %q", r.code, err, r.stdout, r.stderr)
	}
	top, _ := raw[0]["top"].([]any)
	if len(top) != 2 {
		t.Fatalf("predict --json: %v, want two classes", raw)
	}
	for _, c := range top {
		if p := c.(map[string]any)["probability"]; p != "NaN" {
			t.Errorf("probability %v (%T), want the string \"NaN\"", p, p)
		}
	}

	// A finite model: no warning, numbers as before. Zero weights and
	// biases (0, ln 3, 0) give probabilities 1/5, 3/5, 1/5 whatever the
	// image: b 60%, then a and c at 20% (the first of equals first).
	good := filepath.Join(dir, "good.safetensors")
	tinyModel(t, good, make([]float32, 12), []float32{0, float32(math.Log(3)), 0})
	r = runLathe(t, dir, "predict", good, "x.png")
	if r.code != 0 || r.stderr != "" || r.stdout != "x.png: b 60.0%, a 20.0%, c 20.0%\n" {
		t.Errorf("predict a finite model: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runLathe(t, dir, "predict", good, "x.png", "--json", "--top", "1")
	var preds []prediction
	if err := json.Unmarshal([]byte(r.stdout), &preds); err != nil || len(preds) != 1 || len(preds[0].Top) != 1 {
		t.Fatalf("predict --json: %v: %q", err, r.stdout)
	}
	if c := preds[0].Top[0]; c.Class != "b" || math.Abs(float64(c.Probability)-0.6) > 1e-6 || !strings.Contains(r.stdout, `"probability": 0.6`) {
		t.Errorf("predict --json of a finite model: %s", r.stdout)
	}

	// bench infer runs it too, with the same warning.
	r = runLathe(t, dir, "bench", "infer", bad, "--batch", "1", "--seconds", "0.05", "--json")
	if r.code != 0 || !strings.Contains(r.stderr, warning) {
		t.Errorf("bench infer: exit %d, stderr %q, want the warning %q", r.code, r.stderr, warning)
	}
}

// TestBenchInferFlags (issue 29): every numeric flag of bench infer is
// checked before anything runs; --seconds 1e12, nan or -1 exited 0 after
// 20 calls.
func TestBenchInferFlags(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.safetensors")
	tinyModel(t, model, make([]float32, 12), make([]float32, 3))
	seconds := "want a number of seconds above 0 and at most 600"
	batch := "want whole numbers from 1 to 65536, comma-separated"
	for _, c := range []struct {
		flag, value, want string
	}{
		{"--seconds", "1e12", "--seconds 1e+12: " + seconds},
		{"--seconds", "nan", "--seconds NaN: " + seconds},
		{"--seconds", "-1", "--seconds -1: " + seconds},
		{"--seconds", "0", "--seconds 0: " + seconds},
		{"--seconds", "+Inf", "--seconds +Inf: " + seconds},
		{"--seconds", "600.5", "--seconds 600.5: " + seconds},
		{"--batch", "0", `--batch "0": "0" is not a batch size: ` + batch},
		{"--batch", "1,-4", `--batch "1,-4": "-4" is not a batch size`},
		{"--batch", "65537", `"65537" is not a batch size`},
		{"--batch", "1,,8", `"" is not a batch size`},
		{"--batch", "1.5", `"1.5" is not a batch size`},
		{"--batch", "8,8", `--batch "8,8": batch size 8 is given twice`},
		{"--batch", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "17 batch sizes, more than the 16 one run times"},
		{"--torch-qengine", "x86", `--torch-qengine "x86": want one of auto, fbgemm, onednn, qnnpack`},
	} {
		r, _ := runLatheWithin(t, dir, 60*time.Second, "bench", "infer", model, c.flag, c.value)
		oneLine(t, r, c.flag+" "+c.value, c.want)
	}
}

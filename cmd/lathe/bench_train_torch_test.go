package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// TestBenchVersusTorchAlternates: Lathe's and PyTorch's rounds alternate
// (Lathe, PyTorch, Lathe, …), each side's median is taken over its own
// rounds, and the ratio is Lathe's over PyTorch's. A stand-in script
// plays PyTorch, logging each call so the order can be checked.
func TestBenchVersusTorchAlternates(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	script := filepath.Join(dir, "fake-torch.py")
	// PyTorch's rounds take 4, 8 and 6 ms: median 6.
	src := `import json
log = "` + log + `"
with open(log, "a") as f:
    f.write("torch\n")
n = sum(1 for _ in open(log))
ms = [4.0, 8.0, 6.0][(n - 1) // 2 % 3]
print(json.dumps({"engine": "torch fake", "ms_per_step": ms, "threads": 2, "blas": "openblas"}))
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	latheMs := []float64{3, 1, 2} // median 2
	round := 0
	lathe := func() (*bench.Result, error) {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := f.WriteString("lathe\n"); err != nil {
			return nil, err
		}
		r := &bench.Result{Model: "mlp-8", Precision: "f32", Batch: 4, MsPerStep: latheMs[round]}
		round++
		return r, nil
	}
	v, err := benchVersusTorch(lathe, script, nil, 3, "compute SIMD (test)")
	if err != nil {
		t.Fatal(err)
	}
	calls, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(calls)); strings.Join(got, " ") != "lathe torch lathe torch lathe torch" {
		t.Errorf("rounds ran in the order %v, want them alternating", got)
	}
	if v.LatheMedian != 2 || v.TorchMedian != 6 || v.Ratio != 2.0/6.0 {
		t.Errorf("medians %v and %v, ratio %v; want 2, 6 and 1/3", v.LatheMedian, v.TorchMedian, v.Ratio)
	}
	if v.Torch != "torch fake" || v.TorchBLAS != "openblas" || v.Kernels != "compute SIMD (test)" {
		t.Errorf("sides described as %+v", v)
	}
}

// TestTorchArgsDescribeTheModel: the script is told the model, its input
// shape, batch, precision, steps and every core; an MLP's widths too.
func TestTorchArgsDescribeTheModel(t *testing.T) {
	mlp := models.Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{256, 128}}}
	got := strings.Join(torchArgs(mlp, []int{28, 28, 1}, 128, 20, "bf16"), " ")
	for _, want := range []string{"--model mlp", "--input 28x28x1", "--batch 128", "--precision bf16", "--steps 20", "--hidden 256,128", "--device cpu"} {
		if !strings.Contains(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
	lenet := strings.Join(torchArgs(models.Spec{Model: spec.Model{Arch: "lenet5"}}, []int{28, 28, 1}, 64, 5, "f32"), " ")
	if strings.Contains(lenet, "--hidden") {
		t.Errorf("LeNet-5 args %q carry MLP widths", lenet)
	}
}

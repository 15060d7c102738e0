package quant

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestInt8ONNXRunsInONNXRuntime: a trained LeNet-5's and ResNet-8's int8
// files written as ONNX (QDQ) pass onnx.checker's full check and, in ONNX
// Runtime, pick the class Lathe's int8 runtime picks on ≥ 99.5% of 1,000
// MNIST test images. The checker and ONNX Runtime are references that
// setup.sh installs; without them the test skips those parts.
func TestInt8ONNXRunsInONNXRuntime(t *testing.T) {
	_, test, err := datasets.Load("mnist", datasets.Options{})
	if err != nil {
		t.Skipf("MNIST: %v", err)
	}
	const n = 1000
	per := len(test.Features) / test.Len()
	raw := test.Features[:n*per]
	for _, arch := range []string{"lenet5", "resnet8"} {
		t.Run(arch, func(t *testing.T) {
			src := "name: int8-onnx\nseed: 1\nbackend: go\ndata: {dataset: mnist, batch_size: 64, validation: 1000}\n" +
				"model: {arch: " + arch + "}\nstages:\n  - train: {steps: 120, optimizer: {name: adam, learning_rate: 0.002}}\n" +
				"  - quantize: {mode: ptq, name: q, calibration_batches: 4, formats: [safetensors, onnx], check: none}\n"
			rec, err := recipe.Parse("o.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			store, err := runs.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
			if err != nil {
				t.Fatal(err)
			}
			dir := store.RunDir(res.RunID)
			model := filepath.Join(dir, "q.onnx")
			if info, err := os.Stat(model); err != nil || float64(info.Size()) != res.Final["int8_onnx_bytes"] {
				t.Fatalf("q.onnx: %v (recorded %v bytes)", err, res.Final["int8_onnx_bytes"])
			}
			checkONNX(t, model)

			m, err := infer.Load(filepath.Join(dir, "q.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			logits := make([]float32, n*m.Classes())
			if err := m.Predict(raw, n, logits); err != nil {
				t.Fatal(err)
			}
			classes := ortClasses(t, model, raw, m.Graph.Input.Shape)
			same := 0
			for i := range n {
				best := 0
				for j := range m.Classes() {
					if logits[i*m.Classes()+j] > logits[i*m.Classes()+best] {
						best = j
					}
				}
				if best == classes[i] {
					same++
				}
			}
			if agree := float64(same) / n; agree < 0.995 {
				t.Errorf("ONNX Runtime picks Lathe's int8 class on %.1f%% of %d images, want ≥ 99.5%%", 100*agree, n)
			} else {
				t.Logf("%s int8: ONNX Runtime agrees with Lathe's int8 runtime on %d of %d images", arch, same, n)
			}
		})
	}
}

// checkONNX runs onnx.checker's full check (Debian's python3-onnx).
func checkONNX(t *testing.T, path string) {
	t.Helper()
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import onnx").Run() != nil {
		t.Log("python3-onnx is not installed: onnx.checker skipped")
		return
	}
	out, err := exec.Command(py, "-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
}

// ortClasses runs the ONNX file in ONNX Runtime (scripts/ort-infer.js)
// on raw examples of shape, and returns the class it picks for each.
func ortClasses(t *testing.T, model string, raw []float32, shape []int) []int {
	t.Helper()
	dir := os.Getenv("LATHE_ORT_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "lathe", "ort")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("Node.js is not installed: ONNX Runtime skipped")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node")); err != nil {
		t.Skipf("ONNX Runtime is not installed in %s (scripts/setup.sh installs it)", dir)
	}
	input := filepath.Join(t.TempDir(), "x.bin")
	buf := make([]byte, 4*len(raw))
	for i, v := range raw {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(input, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	var dims []string
	for _, d := range shape {
		dims = append(dims, strconv.Itoa(d))
	}
	cmd := exec.Command("node", "../../scripts/ort-infer.js", "--model", model, "--shape", strings.Join(dims, ","), "--predict", input, "--threads", "2")
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v: %s", err, stderr.String())
	}
	var r struct{ Classes []int }
	if err := json.Unmarshal(out, &r); err != nil || len(r.Classes) != len(raw)/size(shape) {
		t.Fatalf("ONNX Runtime printed %q (%v)", out, err)
	}
	return r.Classes
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

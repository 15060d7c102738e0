package bench

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/onnx"
	"github.com/lathe-ml/lathe/pkg/timing"
)

// ONNX Runtime is a reference peer, like PyTorch: never a dependency of
// the lathe binary (no cgo), reached through Node.js and the CPU build
// npm serves (onnxruntime-node), which setup.sh installs into ORTDir.

// ORTEngine begins the engine name ONNX Runtime's rows carry.
const ORTEngine = "onnxruntime"

// ORTScript is the reference script's path in the repository.
const ORTScript = "scripts/ort-infer.js"

// ORTDir is where setup.sh installs onnxruntime-node: $LATHE_ORT_DIR, or
// ~/.cache/lathe/ort.
func ORTDir() string {
	if d := os.Getenv("LATHE_ORT_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "lathe", "ort")
}

// ORTAvailable says what is missing to run script, in one line.
func ORTAvailable(script string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("Node.js (node) is not on PATH: install it (Debian: nodejs) and run scripts/setup.sh")
	}
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("%s not found (run from the repository)", script)
	}
	if _, err := os.Stat(filepath.Join(ORTDir(), "node_modules", "onnxruntime-node")); err != nil {
		return fmt.Errorf("ONNX Runtime is not installed in %s: run scripts/setup.sh (npm install --ignore-scripts onnxruntime-node@1.30.0 there)", ORTDir())
	}
	return nil
}

// RunORT writes a model file as ONNX (an int8 one in QDQ form) and times
// ONNX Runtime on it with script at each batch size, with threads
// threads, for at least seconds each; the rows carry quant ("f32" or
// "int8", whose engine says "int8 (QDQ)").
func RunORT(script string, file *infer.File, quant string, batches []int, threads int, seconds float64) ([]InferResult, error) {
	dir, path, shape, _, err := writeORTModel(file)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sizes := make([]string, len(batches))
	for i, n := range batches {
		sizes[i] = strconv.Itoa(n)
	}
	args := []string{script, "--model", path, "--shape", shape, "--batch", strings.Join(sizes, ","), "--threads", strconv.Itoa(threads)}
	if seconds > 0 {
		args = append(args, "--min-seconds", strconv.FormatFloat(seconds, 'g', -1, 64))
	}
	var stderr bytes.Buffer
	c := exec.Command("node", args...)
	c.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(ORTDir(), "node_modules"))
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %s", script, err, strings.TrimSpace(LastLine(stderr.String())))
	}
	rows, err := ReferenceRows("ONNX Runtime", script, out)
	for i := range rows {
		rows[i].Quant = quant
		if quant == "int8" {
			rows[i].Engine += " int8 (QDQ)"
		}
	}
	return rows, err
}

// TimeAlone times m on n examples the way scripts/ort-infer.js times
// ONNX Runtime: on its own, 3 calls to warm up, then back-to-back calls
// for at least minTime (and 20 calls), on ort-infer.js's input. Its p50
// is what compares with ONNX Runtime's: interleaved with other engines,
// as `lathe bench infer` and the report time the runtime, every call
// would start with caches the other engines had just emptied, which
// ONNX Runtime's calls never do.
func TimeAlone(m *infer.Model, n int, minTime time.Duration) (p50, p99 float64, calls int, err error) {
	x := make([]float32, n*m.InputSize())
	for j := range x {
		x[j] = float32(j%17) / 17
	}
	logits := make([]float32, n*m.Classes())
	times, _, err := timing.Calls([]timing.Engine{{Call: func() error { return m.Predict(x, n, logits) }}}, false, minTime)
	if err != nil {
		return 0, 0, 0, err
	}
	return timing.Percentile(times[0], 0.5), timing.Percentile(times[0], 0.99), len(times[0]), nil
}

// PredictORT writes a model file as ONNX (an int8 one in QDQ form) and
// returns the class ONNX Runtime picks for each of the raw examples in
// features (script's --predict), so its accuracy can be set beside the
// runtime's.
func PredictORT(script string, file *infer.File, features []float32, threads int) ([]int, error) {
	dir, model, shape, size, err := writeORTModel(file)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "input.f32")
	raw := make([]byte, 4*len(features))
	for i, v := range features {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(input, raw, 0o600); err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	c := exec.Command("node", script, "--model", model, "--shape", shape, "--predict", input, "--threads", strconv.Itoa(threads))
	c.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(ORTDir(), "node_modules"))
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %s", script, err, strings.TrimSpace(LastLine(stderr.String())))
	}
	var r struct{ Classes []int }
	if err := json.Unmarshal(out, &r); err != nil || len(r.Classes) != len(features)/size {
		return nil, fmt.Errorf("%s: printed %.80q, not %d classes", script, out, len(features)/size)
	}
	return r.Classes, nil
}

// writeORTModel writes a model file as ONNX (QDQ for int8) into a new
// temporary folder, which the caller removes, and gives its input shape
// as the script takes it ("28,28,1") and its values per example.
func writeORTModel(file *infer.File) (dir, path, shape string, size int, err error) {
	graph, err := infer.GraphOf(file)
	if err != nil {
		return "", "", "", 0, err
	}
	if dir, err = os.MkdirTemp("", "lathe-ort-"); err != nil {
		return "", "", "", 0, err
	}
	path = filepath.Join(dir, "model.onnx")
	if err := onnx.WriteFile(path, graph, file.Tensors); err != nil {
		os.RemoveAll(dir)
		return "", "", "", 0, err
	}
	dims := make([]string, len(graph.Input.Shape))
	size = 1
	for i, d := range graph.Input.Shape {
		dims[i] = strconv.Itoa(d)
		size *= d
	}
	return dir, path, strings.Join(dims, ","), size, nil
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/onnx"
)

// ONNX Runtime is a reference peer, like PyTorch: never a dependency of
// the lathe binary (no cgo), reached through Node.js and the CPU build
// npm serves (onnxruntime-node), which setup.sh installs into ortDir.

// ortEngine begins the engine name ONNX Runtime's rows carry.
const ortEngine = "onnxruntime"

// ortDir is where setup.sh installs onnxruntime-node: $LATHE_ORT_DIR, or
// ~/.cache/lathe/ort.
func ortDir() string {
	if d := os.Getenv("LATHE_ORT_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "lathe", "ort")
}

// ortAvailable says what is missing for --ort, in one line.
func ortAvailable(script string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("--ort: Node.js (node) is not on PATH: install it (Debian: nodejs) and run scripts/setup.sh")
	}
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("--ort: %s not found (run from the repository, or give --ort-script)", script)
	}
	if _, err := os.Stat(filepath.Join(ortDir(), "node_modules", "onnxruntime-node")); err != nil {
		return fmt.Errorf("--ort: ONNX Runtime is not installed in %s: run scripts/setup.sh (npm install --ignore-scripts onnxruntime-node@1.30.0 there)", ortDir())
	}
	return nil
}

// runORT writes the float model as ONNX and times ONNX Runtime on it at
// each batch size, with the runtime's threads.
func runORT(script string, file *infer.File, batches string, threads int, seconds float64) ([]bench.InferResult, error) {
	graph, err := infer.GraphOf(file)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lathe-ort-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.onnx")
	if err := onnx.WriteFile(path, graph, file.Tensors); err != nil {
		return nil, fmt.Errorf("--ort: %w", err)
	}
	shape := make([]string, len(graph.Input.Shape))
	for i, d := range graph.Input.Shape {
		shape[i] = strconv.Itoa(d)
	}
	args := []string{script, "--model", path, "--shape", strings.Join(shape, ","), "--batch", batches, "--threads", strconv.Itoa(threads)}
	if seconds > 0 {
		args = append(args, "--min-seconds", strconv.FormatFloat(seconds, 'g', -1, 64))
	}
	var stderr bytes.Buffer
	c := exec.Command("node", args...)
	c.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(ortDir(), "node_modules"))
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("--ort: %s: %v: %s", script, err, strings.TrimSpace(lastLine(stderr.String())))
	}
	return referenceRows("--ort", script, out)
}

// addORT adds ONNX Runtime's results and the float runtime's ratios to
// them (the runtime's float row is the second of each batch's rows).
func (rep *inferReport) addORT(ortResults []bench.InferResult) {
	k := rep.stride()
	rep.VsORT = map[string]float64{}
	for _, o := range ortResults {
		for i := 0; i+k <= len(rep.Results); i += k {
			if rep.Results[i].Batch == o.Batch {
				rep.VsORT[strconv.Itoa(o.Batch)] = rep.Results[i+1].P50Ms / o.P50Ms
			}
		}
	}
	rep.Results = append(rep.Results, ortResults...)
}

// printORT says how the float runtime compares with ONNX Runtime.
func (rep *inferReport) printORT() {
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Engine, ortEngine) {
			fmt.Printf("batch %d: runtime f32 p50 / %s p50 = %.2f (the same model as ONNX, same session, %d threads)\n",
				r.Batch, r.Engine, rep.VsORT[strconv.Itoa(r.Batch)], rep.Threads)
		}
	}
}

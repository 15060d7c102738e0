package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/onnx"
	"github.com/lathe-ml/lathe/pkg/timing"
)

// ONNX Runtime is a reference peer, like PyTorch: never a dependency of
// the lathe binary (no cgo), reached through Node.js and the CPU build
// npm serves (onnxruntime-node), which setup.sh installs into ortDir.

// ortEngine begins the engine name ONNX Runtime's rows carry; aloneEngine
// marks the runtime's rows timed on their own for the comparison.
const (
	ortEngine   = "onnxruntime"
	aloneEngine = " alone ("
)

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

// runORT writes a model file as ONNX (an int8 one in QDQ form) and times
// ONNX Runtime on it at each batch size, with the runtime's threads; its
// rows carry quant ("f32" or "int8").
func runORT(script string, file *infer.File, quant, batches string, threads int, seconds float64) ([]bench.InferResult, error) {
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
	rows, err := referenceRows("--ort", script, out)
	for i := range rows {
		rows[i].Quant = quant
		if quant == "int8" {
			rows[i].Engine += " int8 (QDQ)"
		}
	}
	return rows, err
}

// runtimeAlone times the runtime on the float model (and the int8 one,
// if any) the way scripts/ort-infer.js times ONNX Runtime: each model on
// its own, 3 calls to warm up, then back-to-back calls for seconds (at
// least 20), p50. Interleaved with GoMLX, as the main table is, every
// runtime call would start with caches GoMLX's call (and the collection
// after it) had just emptied, which ONNX Runtime's calls never do.
func runtimeAlone(pair *benchPair, sizes []int, seconds float64) ([]bench.InferResult, error) {
	files := []*infer.File{pair.f32}
	if pair.int8 != nil {
		files = append(files, pair.int8)
	}
	var out []bench.InferResult
	for i, f := range files {
		m, err := infer.New(f)
		if err != nil {
			return nil, err
		}
		engine, quant := "lathe runtime f32"+aloneEngine+m.Kernels()+")", "f32"
		if i == 1 {
			engine, quant = "lathe runtime int8"+aloneEngine+m.Int8Kernels()+")", "int8"
		}
		for _, n := range sizes {
			x := make([]float32, n*m.InputSize())
			for j := range x {
				x[j] = float32(j%17) / 17 // ort-infer.js's input
			}
			logits := make([]float32, n*m.Classes())
			times, _, err := timing.Calls([]timing.Engine{{Call: func() error { return m.Predict(x, n, logits) }}}, false, time.Duration(seconds*float64(time.Second)))
			if err != nil {
				return nil, err
			}
			p50 := timing.Percentile(times[0], 0.5)
			out = append(out, bench.InferResult{Engine: engine, Quant: quant, Batch: n, P50Ms: p50, P99Ms: timing.Percentile(times[0], 0.99),
				SamplesPerS: float64(n) / (p50 / 1000), Calls: len(times[0])})
		}
	}
	return out, nil
}

// addORT adds the runtime's lone rows and ONNX Runtime's, and the ratios
// of the two (the runtime's p50 over ONNX Runtime's, float to float and
// int8 to int8).
func (rep *inferReport) addORT(alone, ortResults []bench.InferResult) {
	rep.VsORT = map[string]float64{}
	for _, o := range ortResults {
		for _, a := range alone {
			if a.Batch != o.Batch || a.Quant != o.Quant {
				continue
			}
			if o.Quant == "int8" {
				if rep.Int8VsORT == nil {
					rep.Int8VsORT = map[string]float64{}
				}
				rep.Int8VsORT[strconv.Itoa(o.Batch)] = a.P50Ms / o.P50Ms
			} else {
				rep.VsORT[strconv.Itoa(o.Batch)] = a.P50Ms / o.P50Ms
			}
		}
	}
	rep.Results = append(rep.Results, alone...)
	rep.Results = append(rep.Results, ortResults...)
}

// printORT says how the runtime compares with ONNX Runtime.
func (rep *inferReport) printORT() {
	for _, r := range rep.Results {
		if !strings.HasPrefix(r.Engine, ortEngine) {
			continue
		}
		if r.Quant == "int8" {
			fmt.Printf("batch %d: runtime int8 p50 / %s p50 = %.2f (Lathe's int8 file as ONNX QDQ; each timed alone, same session, %d threads)\n",
				r.Batch, r.Engine, rep.Int8VsORT[strconv.Itoa(r.Batch)], rep.Threads)
			continue
		}
		fmt.Printf("batch %d: runtime f32 p50 / %s p50 = %.2f (the same model as ONNX; each timed alone, same session, %d threads)\n",
			r.Batch, r.Engine, rep.VsORT[strconv.Itoa(r.Batch)], rep.Threads)
	}
}

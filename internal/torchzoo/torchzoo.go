// Package torchzoo gives tests PyTorch's side of an ONNX import: the nets
// scripts/torch-cnn.py's zoo writes (random weights, exported with
// torch.onnx.export), their inputs and PyTorch's logits for them.
package torchzoo

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// write runs the script once per test binary.
var write = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lathe-torch-zoo-")
	if err != nil {
		return "", err
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "torch-cnn.py")
	if out, err := exec.Command("/usr/bin/python3", script, "zoo", dir).CombinedOutput(); err != nil {
		return "", &scriptError{strings.TrimSpace(string(out))}
	}
	return dir, nil
})

type scriptError struct{ out string }

func (e *scriptError) Error() string { return "scripts/torch-cnn.py zoo: " + e.out }

// Dir is the zoo's folder: <name>.onnx, <name>.input.f32 (NCHW),
// <name>.logits.f32 and index.json. Without PyTorch the test skips, but
// not under CI, where scripts/setup.sh installs it.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := write()
	if err != nil {
		if os.Getenv("CI") == "" && strings.Contains(err.Error(), "No module named 'torch'") {
			t.Skip("PyTorch is not installed (Debian's python3-torch; scripts/setup.sh installs it)")
		}
		t.Fatal(err)
	}
	return dir
}

// Written is the zoo's folder if it could be written, for fuzz seeds.
func Written() (string, bool) {
	dir, err := write()
	return dir, err == nil
}

// ReadF32 reads little-endian float32 values.
func ReadF32(t testing.TB, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// NHWC turns PyTorch's [n, c, h, w] images into Lathe's [n, h, w, c].
func NHWC(x []float32, n, c, h, w int) []float32 {
	out := make([]float32, len(x))
	for b := range n {
		for ch := range c {
			for y := range h {
				for xx := range w {
					out[((b*h+y)*w+xx)*c+ch] = x[((b*c+ch)*h+y)*w+xx]
				}
			}
		}
	}
	return out
}

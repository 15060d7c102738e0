package infer

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

// TestLeNetMatchesPyTorch: LeNet-5 with weights from integer formulas has
// the logits PyTorch 1.13 computed for it (scripts/lenet-torch-ref.py,
// values in testdata/lenet5_torch.json), on every kernel set.
func TestLeNetMatchesPyTorch(t *testing.T) {
	data, err := os.ReadFile("testdata/lenet5_torch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Mean, Std float32
		Batch     int
		Logits    []float64
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	// The script's tensors, in its order: each one's index seeds its formula.
	tensors := []struct {
		name  string
		shape []int
	}{
		{"conv1/weights", []int{5, 5, 1, 6}}, {"conv1/biases", []int{6}},
		{"conv2/weights", []int{5, 5, 6, 16}}, {"conv2/biases", []int{16}},
		{"fc1/weights", []int{400, 120}}, {"fc1/biases", []int{120}},
		{"fc2/weights", []int{120, 84}}, {"fc2/biases", []int{84}},
		{"logits/weights", []int{84, 10}}, {"logits/biases", []int{10}},
	}
	f := &File{Tensors: map[string]Tensor{}, Metadata: map[string]string{}}
	for layer, tt := range tensors {
		n := 1
		for _, d := range tt.shape {
			n *= d
		}
		scale := 3000.0
		if strings.HasPrefix(tt.name, "conv") {
			scale = 1500.0
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(float64((i*7919+131*layer)%1000-500) / scale)
		}
		f.Tensors[tt.name] = F32Tensor(v, tt.shape...)
	}
	layer := func(op, name, in string, extra Op) Op {
		extra.Op, extra.Name, extra.Inputs = op, name, []string{in}
		if op == "dense" || op == "conv2d" {
			extra.Weights, extra.Bias = name+"/weights", name+"/biases"
		}
		return extra
	}
	g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{28, 28, 1}, Mean: ref.Mean, Std: ref.Std},
		Ops: []Op{
			layer("conv2d", "conv1", InputValue, Op{Kernel: 5, Padding: "same", Activation: "relu"}),
			layer("max_pool", "pool1", "conv1", Op{Window: 2}),
			layer("conv2d", "conv2", "pool1", Op{Kernel: 5, Padding: "valid", Activation: "relu"}),
			layer("max_pool", "pool2", "conv2", Op{Window: 2}),
			layer("flatten", "flat", "pool2", Op{}),
			layer("dense", "fc1", "flat", Op{Activation: "relu"}),
			layer("dense", "fc2", "fc1", Op{Activation: "relu"}),
			layer("dense", "logits", "fc2", Op{}),
		}, Output: "logits"}
	for i := 0; i < 10; i++ {
		g.Classes = append(g.Classes, fmt.Sprint(i))
	}
	f.Metadata[GraphKey], _ = g.Marshal()
	x := make([]float32, ref.Batch*784)
	for i := range x {
		x[i] = float32(float64((i*31+7)%256) / 255)
	}
	onEveryKernelPath(t, f, func(kernels string, m *Model) {
		got := make([]float32, ref.Batch*10)
		if err := m.Predict(x, ref.Batch, got); err != nil {
			t.Fatal(err)
		}
		for i, want := range ref.Logits {
			if d := math.Abs(float64(got[i])-want) / math.Max(1e-2, math.Abs(want)); d > 1e-4 {
				t.Errorf("%s: logit %d = %.7g, PyTorch %.7g (relative difference %.2g)", kernels, i, got[i], want, d)
			}
		}
	})
}

package infer_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/lathe-ml/lathe/pkg/infer"
)

// A model file written by hand — what `lathe export` writes for a trained
// model — loaded and run: a dense layer telling whether x > y.
func Example() {
	dir, err := os.MkdirTemp("", "infer-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	graph := infer.Graph{Format: infer.FormatName, Version: infer.FormatVersion,
		Input:   infer.Input{Shape: []int{2}, Mean: 0, Std: 1},
		Ops:     []infer.Op{{Op: "dense", Name: "logits", Inputs: []string{infer.InputValue}, Weights: "w"}},
		Output:  "logits",
		Classes: []string{"x > y", "x ≤ y"}}
	text, err := graph.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	file := infer.File{
		Tensors:  map[string]infer.Tensor{"w": infer.F32Tensor([]float32{1, -1, -1, 1}, 2, 2)},
		Metadata: map[string]string{infer.GraphKey: text},
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := file.WriteFile(path); err != nil {
		log.Fatal(err)
	}

	m, err := infer.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	x := []float32{3, 1, 0, 2} // two examples: (3, 1) and (0, 2)
	probs := make([]float32, 2*m.Classes())
	if err := m.PredictProba(x, 2, probs); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		p := probs[2*i : 2*i+2]
		best := 0
		if p[1] > p[0] {
			best = 1
		}
		fmt.Printf("(%g, %g): %s, p=%.4f\n", x[2*i], x[2*i+1], graph.Classes[best], p[best])
	}
	// Output:
	// (3, 1): x > y, p=0.9820
	// (0, 2): x ≤ y, p=0.9820
}

package infer

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestChunksMatchLayerByLayer: a batch run in chunks (Predict, batches of
// at least two examples per worker) gives the very logits of the same
// batch run layer by layer (Trace), float and int8, for batch sizes that
// split evenly and not. Each example's arithmetic does not depend on its
// neighbours, so the two agree bit for bit.
func TestChunksMatchLayerByLayer(t *testing.T) {
	if Workers() < 2 {
		t.Skip("one worker: Predict never chunks")
	}
	lenet := lenetFile(t, 6, 16)
	files := map[string]*File{"mlp": mlpFile(t, 784, 64, 10), "lenet": lenet, "lenet int8": int8Twin(t, lenet)}
	for name, f := range files {
		m, err := New(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{2 * Workers(), 7, 64} {
			if m.chunkSize(n) >= n {
				t.Fatalf("%s: batch %d does not run in chunks", name, n)
			}
			x := randomFloats(rand.New(rand.NewPCG(uint64(n), 9)), n*m.InputSize())
			got, want := make([]float32, n*m.Classes()), make([]float32, n*m.Classes())
			if err := m.Predict(x, n, got); err != nil {
				t.Fatal(err)
			}
			if err := m.Trace(x, n, want, func(string, []float32) {}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s, batch %d: chunked logits differ from layer by layer", name, n)
			}
		}
	}
}

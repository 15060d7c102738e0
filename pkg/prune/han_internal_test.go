package prune

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// TestHanThresholdsPerLayer works Han et al.'s rule by hand on two small
// layers. dense [1, −2, 3, −4]: mean −0.5, σ = √7.25 = 2.6926; scores
// |w|/σ = 0.371, 0.743, 1.114, 1.486. conv [0.1, 0.2, −0.3, 0.4] at
// relative quality 0.5: mean 0.1, σ = √0.065 = 0.25495, q·σ = 0.12748;
// scores 0.784, 1.569, 2.353, 3.138. Half of the 8 weights go: the four
// lowest scores are dense 1, −2, 3 and conv 0.1 — one threshold (the
// quality parameter) but each layer's own cut. A plain global magnitude
// threshold would take all four conv weights instead.
func TestHanThresholdsPerLayer(t *testing.T) {
	ctx := gomlxctx.New()
	layer := func(name string, w []float32) Layer {
		c := ctx.In(name)
		ones := []float32{1, 1, 1, 1}
		return Layer{Name: name,
			weights: c.VariableWithValue("weights", tensors.FromFlatDataAndDimensions(w, 4)),
			mask:    c.VariableWithValue(maskName, tensors.FromFlatDataAndDimensions(ones, 4)).SetTrainable(false)}
	}
	layers := []Layer{layer("conv1", []float32{0.1, 0.2, -0.3, 0.4}), layer("fc1", []float32{1, -2, 3, -4})}
	scores, err := hanScores(layers, map[string]bool{"conv1": true}, map[string]float64{"conv": 0.5, "dense": 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{"fc1": {0.37139, 0.74278, 1.11417, 1.48556}, "conv1": {0.78446, 1.56893, 2.35339, 3.13786}}
	for name, w := range want {
		for i := range w {
			if math.Abs(float64(scores[name][i])-w[i]) > 1e-4 {
				t.Errorf("%s score %d: %g, want %g", name, i, scores[name][i], w[i])
			}
		}
	}
	// A layer's own quality wins over its kind's: fc1 at 2 halves its
	// scores.
	own, err := hanScores(layers, map[string]bool{"conv1": true}, map[string]float64{"conv": 0.5, "dense": 1, "fc1": 2})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(own["fc1"][3])-1.48556/2) > 1e-4 || own["conv1"][0] != scores["conv1"][0] {
		t.Errorf("fc1 at its own quality 2: %v; conv1 %v", own["fc1"], own["conv1"])
	}
	if err := Apply(layers, Targets{Global: true, Sparsity: 0.5, Scores: scores}); err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		got := tensors.MustCopyFlatData[float32](must(l.weights.Value()))
		var wantW []float32
		if l.Name == "fc1" {
			wantW = []float32{0, 0, 0, -4}
		} else {
			wantW = []float32{0, 0.2, -0.3, 0.4}
		}
		for i := range got {
			if got[i] != wantW[i] {
				t.Errorf("%s after pruning %v, want %v", l.Name, got, wantW)
				break
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

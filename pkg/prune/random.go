package prune

import (
	"hash/fnv"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Random is the control criterion: weights or channels ranked by a random
// score instead of by what they contribute. Pruning at random to the same
// sparsity shows what a criterion buys (PyTorch's random_unstructured
// plays the same part in its pruning tutorial).
const Random = "random"

// randomScores are n scores in (0, 1], the same for a layer and seed on
// every call, so a gradual schedule that recomputes its masks keeps
// removing the same order of weights.
func randomScores(seed int64, layer string, n int) []float64 {
	h := fnv.New64a()
	h.Write([]byte(layer))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	out := make([]float64, n)
	for i := range out {
		out[i] = 1 - rng.Float64() // never 0: a pruned weight's score is 0
	}
	return out
}

// randomWeightScores rank each layer's weights at random; a weight pruned
// already (0) scores 0, so it stays pruned.
func randomWeightScores(seed int64, layers []Layer) (map[string][]float32, error) {
	out := map[string][]float32{}
	for _, l := range layers {
		w, err := l.weights.Value()
		if err != nil {
			return nil, err
		}
		values := tensors.MustCopyFlatData[float32](w)
		r := randomScores(seed, l.Name, len(values))
		scores := make([]float32, len(values))
		for i, x := range values {
			if x != 0 {
				scores[i] = float32(r[i])
			}
		}
		out[l.Name] = scores
	}
	return out, nil
}

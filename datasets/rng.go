package datasets

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// Independent random streams drawn from one user seed, so that, for example,
// the training and test halves of a synthetic set never share samples.
const (
	streamSplit     uint64 = 1
	streamTrainData uint64 = 2
	streamTestData  uint64 = 3
	streamEpoch     uint64 = 1 << 32 // + epoch number
	streamAugment   uint64 = 2 << 32 // + epoch number
)

// rng is a seeded PCG generator with its own bounded-integer, uniform and
// normal draws. math/rand/v2 documents PCG's output but not how Shuffle,
// IntN or NormFloat64 consume it, so deriving those here keeps splits,
// shuffles and synthetic sets identical across Go releases.
type rng struct {
	source     *rand.PCG
	spare      float64 // second value of the last Box–Muller pair
	spareValid bool
}

func newRNG(seed int64, stream uint64) *rng {
	return &rng{source: rand.NewPCG(uint64(seed), stream)}
}

// intN returns a uniform int in [0, n), n > 0, by Lemire's multiply-shift
// method with rejection (unbiased).
func (r *rng) intN(n int) int {
	bound := uint64(n)
	high, low := bits.Mul64(r.source.Uint64(), bound)
	if low < bound {
		threshold := -bound % bound
		for low < threshold {
			high, low = bits.Mul64(r.source.Uint64(), bound)
		}
	}
	return int(high)
}

// float64 returns a uniform value in [0, 1).
func (r *rng) float64() float64 {
	return float64(r.source.Uint64()>>11) * 0x1p-53
}

// normal returns a standard normal value (Box–Muller).
func (r *rng) normal() float64 {
	if r.spareValid {
		r.spareValid = false
		return r.spare
	}
	radius := math.Sqrt(-2 * math.Log(1-r.float64())) // 1-u is in (0,1]: no log(0)
	angle := 2 * math.Pi * r.float64()
	r.spare, r.spareValid = radius*math.Sin(angle), true
	return radius * math.Cos(angle)
}

// permutation returns a uniform random permutation of 0..n-1 (Fisher–Yates).
func (r *rng) permutation(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intN(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	return order
}

package ops

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/lathe-ml/lathe/pkg/gocompute"
)

// goBackend is one pure-Go backend for the package's tests: a tensor that
// went to one backend's device cannot be fed to another backend.
var goBackend = sync.OnceValue(func() backends.Backend {
	b, err := backends.NewWithConfig("go")
	if err != nil {
		panic(err)
	}
	return b
})

// computeBackend is compute's Go backend through Lathe's adapter, where
// ChoosePath picks the native convolution and pooling.
var computeBackend = sync.OnceValue(func() backends.Backend {
	b, err := gocompute.New("")
	if err != nil {
		panic(err)
	}
	return b
})

// randomTensor is a float32 tensor of the given shape with values in [-1, 1).
func randomTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = 2*rng.Float32() - 1
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

func flat(t *tensors.Tensor) []float32 {
	return tensors.MustCopyFlatData[float32](t)
}

// assertClose fails when got and want differ by more than tol relative to
// the larger magnitude of want (so tiny entries are not over-weighted).
func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	scale = math.Max(scale, 1e-6)
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i]-want[i])) / scale; d > worst {
			worst, at = d, i
		}
	}
	if worst > tol {
		t.Errorf("%s: relative error %.3g at %d (got %g, want %g), tolerance %g", what, worst, at, got[at], want[at], tol)
	}
}

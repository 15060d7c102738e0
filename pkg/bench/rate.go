package bench

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// rates caches MatmulRate per backend: it takes a second to measure.
var rates sync.Map

// MatmulRate measures the backend's f32 matmul rate in GFLOP/s on a
// 512×512·512×512 product (median of repeated runs after warm-up).
func MatmulRate(backend backends.Backend) (float64, error) {
	if r, ok := rates.Load(backend); ok {
		return r.(float64), nil
	}
	const n = 512
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]float32, n*n)
	for i := range data {
		data[i] = rng.Float32()
	}
	a := tensors.FromFlatDataAndDimensions(data, n, n)
	exec, err := graph.NewExec(backend, func(a *graph.Node) *graph.Node { return graph.Dot(a, a) })
	if err != nil {
		return 0, err
	}
	run := func() (time.Duration, error) {
		start := time.Now()
		out, err := exec.Exec(a)
		if err != nil {
			return 0, err
		}
		_ = out[0].Value()
		d := time.Since(start)
		out[0].FinalizeAll()
		return d, nil
	}
	var times []time.Duration
	for i := 0; i < 12; i++ {
		d, err := run()
		if err != nil {
			return 0, err
		}
		if i >= 2 {
			times = append(times, d)
		}
	}
	slices.Sort(times)
	rate := 2 * n * n * n / times[len(times)/2].Seconds() / 1e9
	rates.Store(backend, rate)
	return rate, nil
}

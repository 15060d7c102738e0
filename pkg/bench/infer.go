package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
)

// InferResult is one engine's inference timing at one batch size. Times
// in milliseconds.
type InferResult struct {
	Engine      string  `json:"engine"`
	Batch       int     `json:"batch"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	SamplesPerS float64 `json:"samples_per_s"`
	// AllocsPerCall counts heap allocations per call (Go engines only).
	AllocsPerCall float64 `json:"allocs_per_call"`
	// CompileS is the GoMLX graph's compile time, apart from the calls.
	CompileS float64 `json:"compile_s,omitempty"`
	Calls    int     `json:"calls"`
}

// InferConfig says what to compare.
type InferConfig struct {
	Batch []int
	// MinTime is how long each batch size is timed (both engines
	// together); default 3 s.
	MinTime time.Duration
}

// Infer times a model file on a GoMLX backend (the file built as a GoMLX
// graph, compiled once) and on the runtime (package infer), interleaved
// call by call in one process so that the machine's load falls on both
// alike: two results per batch size, GoMLX's first.
func Infer(b backends.Backend, backendName string, file *infer.File, cfg InferConfig) ([]InferResult, error) {
	if cfg.MinTime == 0 {
		cfg.MinTime = 3 * time.Second
	}
	m, err := infer.New(file)
	if err != nil {
		return nil, err
	}
	fn, err := export.GraphFn(file)
	if err != nil {
		return nil, err
	}
	var out []InferResult
	for _, n := range cfg.Batch {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x := make([]float32, n*m.InputSize())
		for i := range x {
			x[i] = rng.Float32()
		}
		logits := make([]float32, n*m.Classes())
		exec, err := graph.NewExec(b, fn)
		if err != nil {
			return nil, err
		}
		input := tensors.FromFlatDataAndDimensions(x, append([]int{n}, m.Graph.Input.Shape...)...)
		callGraph := func() error {
			res, err := exec.Exec(input)
			if err != nil {
				return err
			}
			res[0].FinalizeAll()
			return nil
		}
		start := time.Now()
		if err := callGraph(); err != nil { // compiles
			exec.Finalize()
			return nil, fmt.Errorf("the GoMLX graph: %w", err)
		}
		compile := time.Since(start).Seconds()
		callRuntime := func() error { return m.Predict(x, n, logits) }
		engines := []func() error{callGraph, callRuntime}
		for _, call := range engines { // warm-up
			for i := 0; i < 3; i++ {
				if err := call(); err != nil {
					exec.Finalize()
					return nil, err
				}
			}
		}
		times := make([][]float64, 2)
		allocs := make([]uint64, 2)
		var ms runtime.MemStats
		start = time.Now()
		for round := 0; round < 20 || time.Since(start) < cfg.MinTime; round++ {
			for e, call := range engines {
				runtime.ReadMemStats(&ms)
				before := ms.Mallocs
				t0 := time.Now()
				err := call()
				elapsed := time.Since(t0)
				runtime.ReadMemStats(&ms)
				if err != nil {
					exec.Finalize()
					return nil, err
				}
				allocs[e] += ms.Mallocs - before
				times[e] = append(times[e], float64(elapsed.Nanoseconds())/1e6)
			}
			if round >= 100_000 {
				break
			}
		}
		exec.Finalize()
		for e, name := range []string{"gomlx " + backendName, "lathe runtime (" + m.Kernels() + ")"} {
			r := InferResult{Engine: name, Batch: n, Calls: len(times[e]), AllocsPerCall: float64(allocs[e]) / float64(len(times[e]))}
			r.P50Ms, r.P99Ms = percentile(times[e], 0.5), percentile(times[e], 0.99)
			r.SamplesPerS = float64(n) / (r.P50Ms / 1000)
			if e == 0 {
				r.CompileS = compile
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

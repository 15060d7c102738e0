package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/timing"
)

// InferResult is one engine's inference timing at one batch size. Times
// in milliseconds.
type InferResult struct {
	Engine string `json:"engine"`
	// Quant is what the engine computed in: "f32", "int8", or for
	// PyTorch's quantized model e.g. "int8 static fbgemm".
	Quant       string  `json:"quant,omitempty"`
	Batch       int     `json:"batch"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	SamplesPerS float64 `json:"samples_per_s"`
	// AllocsPerCall counts heap allocations per call (Go engines only),
	// counted apart from the timed calls as testing.AllocsPerRun does.
	AllocsPerCall float64 `json:"allocs_per_call"`
	// CompileS is the GoMLX graph's compile time, apart from the calls.
	CompileS float64 `json:"compile_s,omitempty"`
	Calls    int     `json:"calls"`
}

// InferConfig says what to compare.
type InferConfig struct {
	Batch []int
	// MinTime is how long each batch size is timed (all engines
	// together); default 3 s.
	MinTime time.Duration
	// Int8, when set, is an int8 model quantized from the file: the
	// runtime runs it too, a third result per batch size. GoMLX never
	// sees it (integer matmuls crash its pure-Go backend).
	Int8 *infer.File
}

// Infer times a model file on a GoMLX backend (the file built as a GoMLX
// graph, compiled once) and on the runtime (package infer), interleaved
// call by call in one process so that the machine's load falls on all
// alike: per batch size GoMLX's result, the runtime's, and with
// cfg.Int8 the runtime's on the int8 model.
func Infer(b backends.Backend, backendName string, file *infer.File, cfg InferConfig) ([]InferResult, error) {
	if cfg.MinTime == 0 {
		cfg.MinTime = 3 * time.Second
	}
	m, err := infer.New(file)
	if err != nil {
		return nil, err
	}
	names := []string{"gomlx " + backendName, "lathe runtime (" + m.Kernels() + ")"}
	var q *infer.Model
	if cfg.Int8 != nil {
		if q, err = infer.New(cfg.Int8); err != nil {
			return nil, err
		}
		if q.InputSize() != m.InputSize() || q.Classes() != m.Classes() {
			return nil, fmt.Errorf("the int8 model takes %d values to %d classes, the float one %d to %d", q.InputSize(), q.Classes(), m.InputSize(), m.Classes())
		}
		names = []string{names[0], "lathe runtime f32 (" + m.Kernels() + ")", "lathe runtime int8 (" + q.Int8Kernels() + ")"}
	}
	var out []InferResult
	for _, n := range cfg.Batch {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x := make([]float32, n*m.InputSize())
		for i := range x {
			x[i] = rng.Float32()
		}
		logits := make([]float32, n*m.Classes())
		start := time.Now()
		graphEngine, release, err := GraphEngine(b, file, x, n) // compiles
		if err != nil {
			return nil, fmt.Errorf("the GoMLX graph: %w", err)
		}
		compile := time.Since(start).Seconds()
		engines := []timing.Engine{graphEngine, {Call: func() error { return m.Predict(x, n, logits) }}}
		if q != nil {
			engines = append(engines, timing.Engine{Call: func() error { return q.Predict(x, n, logits) }})
		}
		times, allocs, err := timing.Calls(engines, true, cfg.MinTime)
		release()
		if err != nil {
			return nil, err
		}
		for e, name := range names {
			r := InferResult{Engine: name, Quant: "f32", Batch: n, Calls: len(times[e]), AllocsPerCall: allocs[e]}
			if e == 2 {
				r.Quant = "int8"
			}
			r.P50Ms, r.P99Ms = timing.Percentile(times[e], 0.5), timing.Percentile(times[e], 0.99)
			r.SamplesPerS = float64(n) / (r.P50Ms / 1000)
			if e == 0 {
				r.CompileS = compile
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// GraphEngine compiles a float model file as a GoMLX graph on b for a
// batch of n examples x (compiling once, untimed) and returns its call
// as an Engine, and how to release the compiled graph.
func GraphEngine(b backends.Backend, f *infer.File, x []float32, n int) (timing.Engine, func(), error) {
	fn, err := export.GraphFn(f)
	if err != nil {
		return timing.Engine{}, nil, err
	}
	g, err := infer.GraphOf(f)
	if err != nil {
		return timing.Engine{}, nil, err
	}
	exec, err := graph.NewExec(b, fn)
	if err != nil {
		return timing.Engine{}, nil, err
	}
	input := tensors.FromFlatDataAndDimensions(x, append([]int{n}, g.Input.Shape...)...)
	call := func() error {
		res, err := exec.Exec(input)
		if err != nil {
			return err
		}
		res[0].FinalizeAll()
		return nil
	}
	if err := call(); err != nil {
		exec.Finalize()
		return timing.Engine{}, nil, err
	}
	return timing.Engine{Call: call, GoMLX: true}, exec.Finalize, nil
}

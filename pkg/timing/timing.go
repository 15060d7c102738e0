// Package timing times ways of running one thing against each other in
// one process: in turn, after a warm-up, so a shared machine's load falls
// on all alike — each turn an untimed call, then a timed one that finds
// the caches warm from its own engine — and reports medians (or every
// call's time). It is what every comparison of latencies in Lathe uses — `lathe
// bench infer`, the quantize stage's f32 against int8 file, structured
// pruning's model before and after, the trade-off report — and imports
// nothing of Lathe, so any package may.
//
// Example:
//
//	ms, err := timing.Interleave([]timing.Engine{
//		{Call: func() error { return a.Predict(x, n, out) }},
//		{Call: func() error { return b.Predict(x, n, out) }},
//	}, time.Second)
package timing

import (
	"runtime"
	"slices"
	"time"
)

// Engine is one way of running a model, to be timed against others.
type Engine struct {
	Call func() error
	// GoMLX engines allocate their buffers on every call: the collector
	// runs after theirs, untimed, rather than on the calls after them.
	GoMLX bool
}

// Interleave times engines in turn (see Calls), after a warm-up, for at
// least 20 rounds and minTime, so the machine's load falls on all alike:
// each one's median call time in ms.
func Interleave(engines []Engine, minTime time.Duration) ([]float64, error) {
	times, _, err := Calls(engines, false, minTime)
	if err != nil {
		return nil, err
	}
	p50 := make([]float64, len(times))
	for i, ts := range times {
		p50[i] = Percentile(ts, 0.5)
	}
	return p50, nil
}

// Calls warms the engines up, then takes them in turn for at least 20
// rounds and minTime, each turn an untimed call and a timed one: each
// engine's timed calls in ms, and its heap allocations per call when
// countAllocs is set. After a GoMLX engine's calls it runs the garbage
// collector, untimed.
func Calls(engines []Engine, countAllocs bool, minTime time.Duration) ([][]float64, []float64, error) {
	for _, e := range engines {
		for i := 0; i < 3; i++ {
			if err := e.Call(); err != nil {
				return nil, nil, err
			}
		}
	}
	times := make([][]float64, len(engines))
	start := time.Now()
	for round := 0; round < 20 || time.Since(start) < minTime; round++ {
		for e, engine := range engines {
			// An untimed call first: the timed one then finds the caches
			// as its own last call left them, as a model serving calls
			// back to back does, not as the other engines' calls did (a
			// small int8 model's call right after a float one's took
			// half as long again).
			if err := call(engine); err != nil {
				return nil, nil, err
			}
			t0 := time.Now()
			err := engine.Call()
			elapsed := time.Since(t0)
			if err != nil {
				return nil, nil, err
			}
			times[e] = append(times[e], float64(elapsed.Nanoseconds())/1e6)
			afterCall(engine)
		}
		if round >= 100_000 {
			break
		}
	}
	allocs := make([]float64, len(engines))
	for e, engine := range engines {
		if !countAllocs {
			break
		}
		a, err := allocsPerCall(engine.Call)
		if err != nil {
			return nil, nil, err
		}
		allocs[e] = a
	}
	return times, allocs, nil
}

// call makes one untimed call.
func call(e Engine) error {
	err := e.Call()
	afterCall(e)
	return err
}

// afterCall collects a GoMLX engine's garbage, untimed: it allocates its
// buffers per call (a thousand at batch 64), and the collector would run
// on the cores of the calls after it.
func afterCall(e Engine) {
	if e.GoMLX {
		runtime.GC()
	}
}

// allocsPerCall counts a call's heap allocations the way
// testing.AllocsPerRun does: on one P, over 50 calls, rounded down. The
// process-wide malloc count also sees other goroutines (GoMLX's, the
// garbage collector's finalizers); reading it around each timed call once
// reported 0.02 allocations for a runtime that makes none.
func allocsPerCall(call func() error) (float64, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const calls = 50
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < calls; i++ {
		if err := call(); err != nil {
			return 0, err
		}
	}
	runtime.ReadMemStats(&after)
	return float64((after.Mallocs - before.Mallocs) / calls), nil
}

// Percentile is the p-quantile (0–1) of xs, by rank.
func Percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"text/tabwriter"
	"time"

	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/timing"
)

// versusRow is one batch size of `lathe bench infer A --vs B` for two
// float models: each one's median in the runtime and on GoMLX, and B's
// speed-up over A in each.
type versusRow struct {
	Batch          int     `json:"batch"`
	RuntimeMs      float64 `json:"runtime_ms"`
	VsRuntimeMs    float64 `json:"vs_runtime_ms"`
	RuntimeSpeedup float64 `json:"runtime_speedup"`
	GoMLXMs        float64 `json:"gomlx_ms"`
	VsGoMLXMs      float64 `json:"vs_gomlx_ms"`
	GoMLXSpeedup   float64 `json:"gomlx_speedup"`
}

// benchVersus times two float models (a dense one and its pruned
// rebuild, say) in the runtime and as GoMLX graphs, all four interleaved
// call by call at each batch size.
func benchVersus(opened *backend.Opened, pair *benchPair, sizes []int, minTime time.Duration, asJSON bool) error {
	a, err := infer.New(pair.f32)
	if err != nil {
		return err
	}
	b, err := infer.New(pair.versus)
	if err != nil {
		return err
	}
	if a.InputSize() != b.InputSize() || a.Classes() != b.Classes() {
		return fmt.Errorf("--vs %s takes %d values to %d classes, %s %d to %d: not the same task", pair.versusName, b.InputSize(), b.Classes(), pair.f32Name, a.InputSize(), a.Classes())
	}
	var rows []versusRow
	for _, n := range sizes {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x := make([]float32, n*a.InputSize())
		for i := range x {
			x[i] = rng.Float32()
		}
		la, lb := make([]float32, n*a.Classes()), make([]float32, n*b.Classes())
		ga, releaseA, err := bench.GraphEngine(opened.Backend, pair.f32, x, n)
		if err != nil {
			return fmt.Errorf("%s as a GoMLX graph: %w", pair.f32Name, err)
		}
		gb, releaseB, err := bench.GraphEngine(opened.Backend, pair.versus, x, n)
		if err != nil {
			releaseA()
			return fmt.Errorf("%s as a GoMLX graph: %w", pair.versusName, err)
		}
		p50, err := timing.Interleave([]timing.Engine{
			{Call: func() error { return a.Predict(x, n, la) }}, {Call: func() error { return b.Predict(x, n, lb) }}, ga, gb}, minTime)
		releaseA()
		releaseB()
		if err != nil {
			return err
		}
		rows = append(rows, versusRow{Batch: n, RuntimeMs: p50[0], VsRuntimeMs: p50[1], RuntimeSpeedup: p50[0] / p50[1],
			GoMLXMs: p50[2], VsGoMLXMs: p50[3], GoMLXSpeedup: p50[2] / p50[3]})
	}
	if asJSON {
		return writeJSON(os.Stdout, struct {
			Model   string      `json:"model"`
			Versus  string      `json:"versus"`
			Backend string      `json:"backend"`
			Kernels string      `json:"kernels"`
			Rows    []versusRow `json:"results"`
		}{pair.f32Name, pair.versusName, opened.Name(), a.Kernels(), rows})
	}
	fmt.Printf("%s (A) vs %s (B); runtime kernels %s; GoMLX on %s\n", pair.f32Name, pair.versusName, a.Kernels(), opened.Name())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BATCH\tRUNTIME A MS\tRUNTIME B MS\tB SPEED-UP\tGOMLX A MS\tGOMLX B MS\tB SPEED-UP")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%.3f\t%.3f\t%.2f×\t%.3f\t%.3f\t%.2f×\n", r.Batch, r.RuntimeMs, r.VsRuntimeMs, r.RuntimeSpeedup, r.GoMLXMs, r.VsGoMLXMs, r.GoMLXSpeedup)
	}
	tw.Flush()
	fmt.Println("p50 ms, all four interleaved call by call in one process; speed-up: A's p50 over B's")
	return nil
}

package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/infer"
)

// aloneEngine marks the runtime's rows timed on their own for the
// comparison with ONNX Runtime (bench.TimeAlone).
const aloneEngine = " alone ("

// runtimeAlone times the runtime on the float model (and the int8 one, if
// any) on its own, as ONNX Runtime is timed (bench.TimeAlone).
func runtimeAlone(pair *benchPair, sizes []int, seconds float64) ([]bench.InferResult, error) {
	files := []*infer.File{pair.f32}
	if pair.int8 != nil {
		files = append(files, pair.int8)
	}
	var out []bench.InferResult
	for i, f := range files {
		m, err := infer.New(f)
		if err != nil {
			return nil, err
		}
		engine, quant := "lathe runtime f32"+aloneEngine+m.Kernels()+")", "f32"
		if i == 1 {
			engine, quant = "lathe runtime int8"+aloneEngine+m.Int8Kernels()+")", "int8"
		}
		for _, n := range sizes {
			p50, p99, calls, err := bench.TimeAlone(m, n, time.Duration(seconds*float64(time.Second)))
			if err != nil {
				return nil, err
			}
			out = append(out, bench.InferResult{Engine: engine, Quant: quant, Batch: n, P50Ms: p50, P99Ms: p99, SamplesPerS: float64(n) / (p50 / 1000), Calls: calls})
		}
	}
	return out, nil
}

// addORT adds the runtime's lone rows and ONNX Runtime's, and the ratios
// of the two (the runtime's p50 over ONNX Runtime's, float to float and
// int8 to int8).
func (rep *inferReport) addORT(alone, ortResults []bench.InferResult) {
	rep.VsORT = map[string]float64{}
	for _, o := range ortResults {
		for _, a := range alone {
			if a.Batch != o.Batch || a.Quant != o.Quant {
				continue
			}
			if o.Quant == "int8" {
				if rep.Int8VsORT == nil {
					rep.Int8VsORT = map[string]float64{}
				}
				rep.Int8VsORT[strconv.Itoa(o.Batch)] = a.P50Ms / o.P50Ms
			} else {
				rep.VsORT[strconv.Itoa(o.Batch)] = a.P50Ms / o.P50Ms
			}
		}
	}
	rep.Results = append(rep.Results, alone...)
	rep.Results = append(rep.Results, ortResults...)
}

// printORT says how the runtime compares with ONNX Runtime.
func (rep *inferReport) printORT() {
	for _, r := range rep.Results {
		if !strings.HasPrefix(r.Engine, bench.ORTEngine) {
			continue
		}
		if r.Quant == "int8" {
			fmt.Printf("batch %d: runtime int8 p50 / %s p50 = %.2f (Lathe's int8 file as ONNX QDQ; each timed alone, same session, %d threads)\n",
				r.Batch, r.Engine, rep.Int8VsORT[strconv.Itoa(r.Batch)], rep.Threads)
			continue
		}
		fmt.Printf("batch %d: runtime f32 p50 / %s p50 = %.2f (the same model as ONNX; each timed alone, same session, %d threads)\n",
			r.Batch, r.Engine, rep.VsORT[strconv.Itoa(r.Batch)], rep.Threads)
	}
}

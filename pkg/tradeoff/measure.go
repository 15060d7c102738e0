// Package tradeoff measures model variants side by side — accuracy on the
// test split, parameters and non-zeros, bytes on disk, FLOPs, latency in
// Lathe's runtime and as a GoMLX graph — in one process, so every ratio
// compares figures taken under the same load; and it runs the `report`
// recipe stage, which writes the trade-off report (package report) into
// the run's folder.
//
// Example, in a recipe:
//
//   - report: {models: {baseline: baseline, quantized: baseline.int8, pruned: pruned, combined: combined}}
//
// or from Go:
//
//	t, err := tradeoff.Measure(models, tradeoff.Options{Backend: b, BackendName: "go", Features: raw, Labels: labels, Split: "test"})
//	err = report.WriteFiles(dir, t)
package tradeoff

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/timing"
)

// Model is a model file to measure, and what it stands for.
type Model struct {
	Role string // one of report.Roles, or ""
	Name string // base name, for the table
	Run  string
	Path string // the .safetensors file
	// TrainS is the training time behind it (NaN when unknown).
	TrainS float64
}

// Options say what to measure the models on.
type Options struct {
	Title string
	// Backend runs the float files as GoMLX graphs; BackendName names it.
	Backend     backends.Backend
	BackendName string
	// Features are the split's raw examples (model files standardize
	// their inputs themselves), Labels their classes.
	Features []float32
	Labels   []int32
	Split    string
	// MinTime is how long each batch size is timed, all engines in turn;
	// default 2 s.
	MinTime   time.Duration
	MaxDropPP float64
	// ORTScript, when set, also times ONNX Runtime with that script
	// (bench.ORTScript) on the baseline's and the combined model's ONNX
	// form, beside the runtime timed the same way (Tradeoff.Peer).
	ORTScript string
}

// Batches are the batch sizes every latency is taken at.
var Batches = []int{1, 64}

// Measure reads the models and measures them; the report's Training is
// left for the caller (see TrainSteps).
func Measure(list []Model, opts Options) (*report.Tradeoff, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("report: no model files to measure")
	}
	if opts.MinTime == 0 {
		opts.MinTime = 2 * time.Second
	}
	t := &report.Tradeoff{Title: opts.Title, Split: opts.Split, Examples: len(opts.Labels), Backend: opts.BackendName, MaxDropPP: opts.MaxDropPP}
	var basePicks []int
	files := make([]*infer.File, len(list))
	runtimes := make([]*infer.Model, len(list))
	for i, m := range list {
		f, err := infer.ReadFile(m.Path, 0)
		if err != nil {
			return nil, err
		}
		rt, err := infer.New(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Path, err)
		}
		files[i], runtimes[i] = f, rt
		if i == 0 { // the baseline's classes: what chance accuracy is
			t.Classes = rt.Classes()
		}
		v, err := describe(m, f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Path, err)
		}
		picks, err := predict(rt, opts.Features, len(opts.Labels))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Path, err)
		}
		if basePicks == nil {
			basePicks = picks
		}
		v.Accuracy, v.Agreement = fraction(picks, func(i, c int) bool { return c == int(opts.Labels[i]) }),
			fraction(picks, func(i, c int) bool { return c == basePicks[i] })
		t.Variants = append(t.Variants, v)
		kernels := rt.Kernels()
		if v.Weights == "int8" {
			kernels = rt.Int8Kernels()
		}
		if !strings.Contains(t.Kernels, kernels) {
			t.Kernels = strings.TrimPrefix(t.Kernels+", "+kernels, ", ")
		}
	}
	if err := timeAll(t, files, runtimes, opts); err != nil {
		return nil, err
	}
	if opts.ORTScript != "" {
		t.Peer = timeORT(t, files, runtimes, opts)
	}
	return t, nil
}

// timeORT times the baseline and the combined model in ONNX Runtime and,
// the same way, in Lathe's runtime. ONNX Runtime is a reference the
// report can do without: what stops it is the Peer's Missing, not an
// error.
func timeORT(t *report.Tradeoff, files []*infer.File, runtimes []*infer.Model, opts Options) *report.Peer {
	peer := &report.Peer{}
	if err := bench.ORTAvailable(opts.ORTScript); err != nil {
		peer.Missing = err.Error()
		return peer
	}
	picks := []int{roleIndex(t, "baseline", 0), roleIndex(t, "combined", len(t.Variants)-1)}
	if picks[1] == picks[0] {
		picks = picks[:1]
	}
	seconds := opts.MinTime.Seconds() / 2
	for _, i := range picks {
		v := t.Variants[i]
		quant := "f32"
		if v.Weights == "int8" {
			quant = "int8"
		}
		rows, err := bench.RunORT(opts.ORTScript, files[i], quant, Batches, runtime.GOMAXPROCS(0), seconds)
		if err != nil {
			return &report.Peer{Missing: fmt.Sprintf("%s: %v", v.Label(), err)}
		}
		for _, r := range rows {
			ms, _, _, err := bench.TimeAlone(runtimes[i], r.Batch, time.Duration(seconds*float64(time.Second)))
			if err != nil {
				return &report.Peer{Missing: fmt.Sprintf("%s in the runtime: %v", v.Label(), err)}
			}
			peer.Engine = strings.TrimSuffix(r.Engine, " int8 (QDQ)")
			peer.Rows = append(peer.Rows, report.PeerRow{Variant: v.Label(), Weights: v.Weights, Batch: r.Batch, RuntimeMs: ms, PeerMs: r.P50Ms})
		}
		classes, err := bench.PredictORT(opts.ORTScript, files[i], opts.Features, runtime.GOMAXPROCS(0))
		if err != nil {
			return &report.Peer{Missing: fmt.Sprintf("%s's classes: %v", v.Label(), err)}
		}
		ours, err := predict(runtimes[i], opts.Features, len(opts.Labels))
		if err != nil {
			return &report.Peer{Missing: fmt.Sprintf("%s in the runtime: %v", v.Label(), err)}
		}
		peer.Accuracy = append(peer.Accuracy, report.PeerAccuracy{Variant: v.Label(), Weights: v.Weights, Runtime: v.Accuracy,
			Peer:      fraction(classes, func(j, c int) bool { return c == int(opts.Labels[j]) }),
			Agreement: fraction(classes, func(j, c int) bool { return c == ours[j] })})
	}
	return peer
}

// roleIndex is the index of the variant in role, else fallback.
func roleIndex(t *report.Tradeoff, role string, fallback int) int {
	for i, v := range t.Variants {
		if v.Role == role {
			return i
		}
	}
	return fallback
}

// describe reads what a file is without running it: weights, parameters,
// non-zeros, bytes on disk (and its ONNX twin's), FLOPs per example.
func describe(m Model, f *infer.File) (report.Variant, error) {
	v := report.Variant{Role: m.Role, Name: m.Name, Run: m.Run, Weights: "f32", TrainS: m.TrainS,
		ONNXBytes: math.NaN(), BackendMs1: math.NaN(), BackendMs64: math.NaN(), RuntimeMs1: math.NaN(), RuntimeMs64: math.NaN()}
	info, err := os.Stat(m.Path)
	if err != nil {
		return v, err
	}
	v.Bytes = float64(info.Size())
	if info, err := os.Stat(strings.TrimSuffix(m.Path, infer.Ext) + ".onnx"); err == nil {
		v.ONNXBytes = float64(info.Size())
	}
	g, err := infer.GraphOf(f)
	if err != nil {
		return v, err
	}
	shapes, err := g.Shapes(f.Tensors)
	if err != nil {
		return v, err
	}
	for _, op := range g.Ops {
		if op.Weights == "" {
			continue
		}
		w := f.Tensors[op.Weights]
		switch w.DType {
		case infer.I8:
			v.Weights = "int8"
		case infer.BF16:
			v.Weights = "bf16"
		}
		for _, name := range []string{op.Weights, op.Bias} {
			if name == "" {
				continue
			}
			t := f.Tensors[name]
			v.Params += float64(t.Size())
			v.NonZero += float64(nonZero(t))
		}
		out := shapes[op.Name]
		switch op.Op {
		case "dense": // [in, out]
			v.FLOPs += 2 * float64(w.Shape[0]*w.Shape[1])
		case "conv2d": // [K, K, C, O], each of the output's positions
			v.FLOPs += 2 * float64(w.Size()*out[0]*out[1])
		}
	}
	return v, nil
}

// nonZero counts a tensor's elements that are not zero (−0 counts as zero).
func nonZero(t infer.Tensor) int {
	n := 0
	switch t.DType {
	case infer.I8:
		for _, b := range t.Data {
			if b != 0 {
				n++
			}
		}
	case infer.I32, infer.F32:
		mask := uint32(0xffffffff)
		if t.DType == infer.F32 {
			mask = 0x7fffffff // the sign bit alone is −0
		}
		for i := 0; i+4 <= len(t.Data); i += 4 {
			if binary.LittleEndian.Uint32(t.Data[i:])&mask != 0 {
				n++
			}
		}
	case infer.BF16:
		for i := 0; i+2 <= len(t.Data); i += 2 {
			if binary.LittleEndian.Uint16(t.Data[i:])&0x7fff != 0 {
				n++
			}
		}
	}
	return n
}

// predict is the class the model picks (its largest logit) for each of
// n examples.
func predict(m *infer.Model, features []float32, n int) ([]int, error) {
	size, classes := m.InputSize(), m.Classes()
	if n == 0 || len(features) != n*size {
		return nil, fmt.Errorf("%d values for %d examples of %d", len(features), n, size)
	}
	const batch = 256
	logits := make([]float32, batch*classes)
	picks := make([]int, n)
	for start := 0; start < n; start += batch {
		k := min(batch, n-start)
		if err := m.Predict(features[start*size:(start+k)*size], k, logits[:k*classes]); err != nil {
			return nil, err
		}
		for i := range k {
			picks[start+i] = infer.Argmax(logits[i*classes : (i+1)*classes])
		}
	}
	return picks, nil
}

// fraction is the share of picks for which ok holds.
func fraction(picks []int, ok func(i, class int) bool) float64 {
	n := 0
	for i, c := range picks {
		if ok(i, c) {
			n++
		}
	}
	return float64(n) / float64(len(picks))
}

// timeAll takes every latency: per batch size, every model in the
// runtime and every float model as a GoMLX graph, interleaved call by
// call. Inputs are the split's first examples.
func timeAll(t *report.Tradeoff, files []*infer.File, runtimes []*infer.Model, opts Options) error {
	size := runtimes[0].InputSize()
	for _, n := range Batches {
		if len(opts.Features) < n*size {
			continue
		}
		x := opts.Features[:n*size]
		var engines []timing.Engine
		var sinks []*float64
		var releases []func()
		for i, rt := range runtimes {
			if rt.InputSize() != size {
				return fmt.Errorf("%s takes %d values per example, %s %d", t.Variants[i].Name, rt.InputSize(), t.Variants[0].Name, size)
			}
			logits := make([]float32, n*rt.Classes())
			engines = append(engines, timing.Engine{Call: func() error { return rt.Predict(x, n, logits) }})
			sinks = append(sinks, pick(&t.Variants[i], n, false))
			if t.Variants[i].Weights == "int8" || opts.Backend == nil {
				continue // integer products crash GoMLX's pure-Go backend; int8 runs in the runtime only
			}
			engine, release, err := bench.GraphEngine(opts.Backend, files[i], x, n)
			if err != nil {
				return fmt.Errorf("%s as a GoMLX graph: %w", t.Variants[i].Name, err)
			}
			releases = append(releases, release)
			engines = append(engines, engine)
			sinks = append(sinks, pick(&t.Variants[i], n, true))
		}
		p50, err := timing.Interleave(engines, opts.MinTime)
		for _, release := range releases {
			release()
		}
		if err != nil {
			return err
		}
		for i, p := range p50 {
			*sinks[i] = p
		}
	}
	return nil
}

func pick(v *report.Variant, batch int, gomlx bool) *float64 {
	switch {
	case gomlx && batch == 1:
		return &v.BackendMs1
	case gomlx:
		return &v.BackendMs64
	case batch == 1:
		return &v.RuntimeMs1
	}
	return &v.RuntimeMs64
}

// Package bench measures training speed: the time of one train step of a
// zoo model on a backend, and how it compares with the step's matmul and
// convolution FLOPs at the backend's measured matmul rate.
//
// Timings are medians of repeated steps after warm-up (the first step
// compiles), so a noisy, shared machine moves them less than means.
//
// Example:
//
//	res, err := bench.TrainStep(backend, bench.Config{Model: models.Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{256, 256, 256}}}, Batch: 128})
//	fmt.Printf("%.1f ms/step, %.0f samples/s, %.0f%% of the matmul bound\n", res.MsPerStep, res.SamplesPerS, 100*res.MatmulEfficiency)
package bench

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/pkg/models"
)

// Config says what to measure.
type Config struct {
	Model   models.Spec
	Batch   int
	Example []int // one example's shape; default [28, 28, 1]
	Classes int   // default 10
	Warmup  int   // steps not timed after the compiling one; default 3
	Steps   int   // timed steps; default 20
	// WrapOptimizer, if set, wraps the Adam optimizer (a technique acting
	// on the update, such as pruning's masks); Label then names the variant
	// in the result's model description.
	WrapOptimizer func(optimizers.Interface) optimizers.Interface
	Label         string
	// SkipRate leaves out the FLOP count and the backend's matmul rate
	// (MatmulGFLOP and the fields after it stay 0): seconds saved where
	// only the step time is wanted.
	SkipRate bool
	// Phases also times the forward pass alone and forward + backward
	// (loss and gradients, no update), each as its own compiled graph:
	// beside the step's time they tell how it splits into forward,
	// backward and optimizer update.
	Phases bool
	// Profile, if set, receives a pprof CPU profile of the timed steps.
	Profile io.Writer
}

// Result of a train-step measurement. Times in milliseconds.
type Result struct {
	Model       string  `json:"model"`
	Precision   string  `json:"precision"`
	Batch       int     `json:"batch"`
	Backend     string  `json:"backend"`
	MsPerStep   float64 `json:"ms_per_step"`
	SamplesPerS float64 `json:"samples_per_s"`
	CompileS    float64 `json:"compile_s"`
	Steps       int     `json:"steps"`
	// MatmulGFLOP is the matmul and convolution work of one train step
	// (forward and backward), counted from the step's graph.
	MatmulGFLOP float64 `json:"matmul_gflop_per_step"`
	// MatmulRate is the backend's measured rate on a square f32 matmul.
	MatmulRate float64 `json:"matmul_gflops"`
	// MatmulBoundMs is MatmulGFLOP at MatmulRate: the step's time if it
	// were nothing but matmuls at that rate.
	MatmulBoundMs float64 `json:"matmul_bound_ms"`
	// MatmulEfficiency is MatmulBoundMs / MsPerStep.
	MatmulEfficiency float64 `json:"matmul_efficiency"`
	// With Config.Phases: the median time of a graph computing the loss
	// alone, and of one computing the loss and every gradient. Each is its
	// own executable (its own variable transfers and scheduling), so the
	// differences from MsPerStep are estimates of the backward pass and the
	// update, not exact shares.
	ForwardMs         float64 `json:"forward_ms,omitempty"`
	ForwardBackwardMs float64 `json:"forward_backward_ms,omitempty"`
}

func (c *Config) defaults() {
	if len(c.Example) == 0 {
		c.Example = []int{28, 28, 1}
	}
	if c.Classes == 0 {
		c.Classes = 10
	}
	if c.Warmup == 0 {
		c.Warmup = 3
	}
	if c.Steps == 0 {
		c.Steps = 20
	}
}

// TrainStep times Adam train steps of cfg.Model on random data (the cost of
// a step does not depend on the values) and counts its FLOPs.
func TrainStep(backend backends.Backend, cfg Config) (res *Result, err error) {
	cfg.defaults()
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("batch must be at least 1, got %d", cfg.Batch)
	}
	modelFn, err := cfg.Model.ModelFn(cfg.Classes)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("benchmark of %s: %v", cfg.Model.Arch, p)
		}
	}()
	inputs, labels := randomBatch(cfg)
	ctx := context.New()
	var opt optimizers.Interface = optimizers.Adam().Done()
	if cfg.WrapOptimizer != nil {
		opt = cfg.WrapOptimizer(opt)
	}
	trainer := train.NewTrainer(backend, ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits, opt, nil, nil)
	step := func() (time.Duration, error) {
		start := time.Now()
		metrics, err := trainer.TrainStep(nil, []*tensors.Tensor{inputs}, []*tensors.Tensor{labels})
		if err != nil {
			return 0, err
		}
		_ = metrics[0].Value() // wait for the step to finish
		elapsed := time.Since(start)
		for _, m := range metrics {
			m.FinalizeAll()
		}
		return elapsed, nil
	}
	compile, err := step()
	if err != nil {
		return nil, err
	}
	for range cfg.Warmup {
		if _, err := step(); err != nil {
			return nil, err
		}
	}
	if cfg.Profile != nil {
		if err := pprof.StartCPUProfile(cfg.Profile); err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
	}
	durations := make([]time.Duration, cfg.Steps)
	for i := range durations {
		if durations[i], err = step(); err != nil {
			break
		}
	}
	if cfg.Profile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	median := medianOf(durations)

	model := describe(cfg.Model)
	if cfg.Label != "" {
		model += " " + cfg.Label
	}
	res = &Result{Model: model, Precision: precisionName(cfg.Model.ComputeDType), Batch: cfg.Batch, Backend: backend.String(), Steps: cfg.Steps,
		MsPerStep: ms(median), SamplesPerS: float64(cfg.Batch) / median.Seconds(), CompileS: compile.Seconds()}
	if cfg.Phases {
		fwd, fwdBwd, err := timePhases(backend, cfg, modelFn)
		if err != nil {
			return nil, err
		}
		res.ForwardMs, res.ForwardBackwardMs = ms(fwd), ms(fwdBwd)
	}
	if cfg.SkipRate {
		return res, nil
	}
	if res.MatmulGFLOP, err = trainStepFLOPs(backend, cfg, modelFn); err != nil {
		return nil, err
	}
	if res.MatmulRate, err = MatmulRate(backend); err != nil {
		return nil, err
	}
	res.MatmulBoundMs = res.MatmulGFLOP / res.MatmulRate * 1000
	res.MatmulEfficiency = res.MatmulBoundMs / res.MsPerStep
	return res, nil
}

func precisionName(dt dtypes.DType) string {
	switch dt {
	case dtypes.BFloat16:
		return "bf16"
	case dtypes.Float16:
		return "fp16"
	}
	return "f32"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func describe(s models.Spec) string {
	if s.Arch != "mlp" {
		return s.Arch
	}
	name := "mlp"
	hidden := s.Hidden
	if len(hidden) == 0 {
		hidden = []int{128}
	}
	for _, h := range hidden {
		name += fmt.Sprintf("-%d", h)
	}
	if s.GoMLXDense {
		name += " (gomlx dense)"
	}
	return name
}

func randomBatch(cfg Config) (inputs, labels *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	size := cfg.Batch
	for _, d := range cfg.Example {
		size *= d
	}
	x := make([]float32, size)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, cfg.Batch)
	for i := range y {
		y[i] = int32(rng.IntN(cfg.Classes))
	}
	return tensors.FromFlatDataAndDimensions(x, append([]int{cfg.Batch}, cfg.Example...)...),
		tensors.FromFlatDataAndDimensions(y, cfg.Batch, 1)
}

func medianOf(durations []time.Duration) time.Duration {
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// lossAndGradients is the graph of one step without its update: the
// training loss of a batch and the gradient of every trainable variable
// (summed into the output, so none is pruned away).
func lossAndGradients(modelFn train.ModelFn, backward bool) func(ctx *context.Context, x, y *graph.Node) *graph.Node {
	return func(ctx *context.Context, x, y *graph.Node) *graph.Node {
		g := x.Graph()
		ctx.SetTraining(g, true)
		logits := modelFn(ctx, nil, []*graph.Node{x})
		loss := graph.ReduceAllMean(losses.SparseCategoricalCrossEntropyLogits([]*graph.Node{y}, logits))
		if !backward {
			return loss
		}
		var vars []*graph.Node
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				vars = append(vars, v.ValueGraph(g))
			}
		}
		out := loss
		for _, gr := range graph.Gradient(loss, vars...) {
			out = graph.Add(out, graph.ReduceAllSum(gr))
		}
		return out
	}
}

// timePhases times the forward pass alone and forward + backward, each
// compiled on its own, medians over cfg.Steps runs after warm-up.
func timePhases(backend backends.Backend, cfg Config, modelFn train.ModelFn) (fwd, fwdBwd time.Duration, err error) {
	inputs, labels := randomBatch(cfg)
	timeGraph := func(backward bool) (time.Duration, error) {
		ctx := context.New()
		exec, err := context.NewExec(backend, ctx, lossAndGradients(modelFn, backward))
		if err != nil {
			return 0, err
		}
		durations := make([]time.Duration, 0, cfg.Steps)
		for i := range 1 + cfg.Warmup + cfg.Steps {
			start := time.Now()
			out, err := exec.Exec(inputs, labels)
			if err != nil {
				return 0, err
			}
			_ = out[0].Value()
			if i > cfg.Warmup {
				durations = append(durations, time.Since(start))
			}
			for _, t := range out {
				t.FinalizeAll()
			}
		}
		return medianOf(durations), nil
	}
	if fwd, err = timeGraph(false); err != nil {
		return 0, 0, err
	}
	fwdBwd, err = timeGraph(true)
	return fwd, fwdBwd, err
}

// trainStepFLOPs builds the forward and backward graph of one step (loss
// and gradients of every trainable variable, as the trainer does) and adds
// up its matmul and convolution FLOPs, in GFLOP.
func trainStepFLOPs(backend backends.Backend, cfg Config, modelFn train.ModelFn) (float64, error) {
	inputs, labels := randomBatch(cfg)
	var total float64
	ctx := context.New()
	step := lossAndGradients(modelFn, true)
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x, y *graph.Node) *graph.Node {
		out := step(ctx, x, y)
		total = countFLOPs(x.Graph())
		return out
	})
	if err != nil {
		return 0, err
	}
	if _, err := exec.Exec(inputs, labels); err != nil { // building the graph runs the counter
		return 0, err
	}
	return total / 1e9, nil
}

// countFLOPs adds 2·M·K·N for every matmul (Dot, DotGeneral without batch
// axes: K = √(|lhs|·|rhs|/|out|)) and 2·|out|·|kernel|/channels_out for every
// convolution in the graph.
func countFLOPs(g *graph.Graph) float64 {
	var flops float64
	for _, n := range g.Nodes() {
		switch n.Type() {
		case graph.NodeTypeDot, graph.NodeTypeDotGeneral:
			in := n.Inputs()
			out := float64(n.Shape().Size())
			k := math.Sqrt(float64(in[0].Shape().Size()) * float64(in[1].Shape().Size()) / out)
			flops += 2 * out * math.Round(k)
		case graph.NodeTypeConvGeneral:
			in := n.Inputs()
			outDims := n.Shape().Dimensions
			flops += 2 * float64(n.Shape().Size()) * float64(in[1].Shape().Size()) / float64(outDims[len(outDims)-1])
		}
	}
	return flops
}

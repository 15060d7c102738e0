package quant

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/lathe-ml/lathe/pkg/infer"
)

// PTQOptions configure post-training quantization of a model file.
type PTQOptions struct {
	// Observer names how activation ranges are found: minmax,
	// moving_average_minmax, percentile or mse (NewObserver).
	Observer string
	// Exclude names layers (ops) to leave in float32.
	Exclude []string
	// Batch is the calibration batch size (64 by default).
	Batch int
	// PerTensorWeights gives each layer's weights one scale instead of one
	// per output channel.
	PerTensorWeights bool
	// Ranges fixes the input ranges of the layers it names (what
	// quantization-aware training learned) instead of observing them.
	Ranges map[string][2]float32
}

// LayerReport is what quantizing one layer did.
type LayerReport struct {
	Layer string `json:"layer"`
	// Min and Max are the input's observed range; Scale and Zero its
	// quantization (7-bit activations: [0, 127]).
	Min, Max float32
	Scale    float32
	Zero     int32
	// WeightSQNR is the weights' signal-to-quantization-noise ratio in dB
	// (per-channel symmetric int8).
	WeightSQNR float64
	// InputSQNR is the calibration inputs' SQNR in dB after quantizing them
	// with Scale and Zero.
	InputSQNR float64
}

// activationConfig is how the int8 runtime takes activations: affine,
// unsigned, 7 bits ([0, 127], fbgemm's reduce_range).
var activationConfig = Config{Bits: 8, Unsigned: true, ReduceRange: true}

// weightConfig is how it takes weights: symmetric per output channel,
// narrow range [-127, 127].
var weightConfig = Config{Bits: 8, Symmetric: true, NarrowRange: true}

// PTQ quantizes every dense and conv2d layer of a float model file to
// int8 (weights per output channel, activations per tensor), calibrating
// the activations' ranges on examples — calib holds n×InputSize raw
// values, as Predict takes them — run through the float model. The result
// is a new file; f is not changed.
func PTQ(f *infer.File, calib []float32, n int, opt PTQOptions) (*infer.File, []LayerReport, error) {
	if opt.Observer == "" {
		opt.Observer = "minmax"
	}
	if opt.Batch <= 0 {
		opt.Batch = 64
	}
	m, err := infer.New(f)
	if err != nil {
		return nil, nil, err
	}
	if n < 1 || len(calib) != n*m.InputSize() {
		return nil, nil, fmt.Errorf("quantize: %d calibration values for %d examples of %d", len(calib), n, m.InputSize())
	}
	g := *m.Graph
	g.Ops = slices.Clone(g.Ops)
	for _, name := range opt.Exclude {
		if !slices.ContainsFunc(g.Ops, func(op infer.Op) bool { return op.Name == name && quantizable(op) }) {
			return nil, nil, fmt.Errorf("quantize: exclude names no dense or conv2d layer: %q", name)
		}
	}
	// One observer per value a layer to quantize reads.
	observers := map[string]Observer{}
	samples := map[string][]float32{} // a sample of each, for its SQNR
	var layers []int
	for i, op := range g.Ops {
		if !quantizable(op) || slices.Contains(opt.Exclude, op.Name) {
			continue
		}
		layers = append(layers, i)
		if _, ok := observers[op.Inputs[0]]; !ok {
			obs, err := NewObserver(opt.Observer, activationConfig)
			if err != nil {
				return nil, nil, fmt.Errorf("quantize: %w", err)
			}
			observers[op.Inputs[0]] = obs
		}
	}
	if len(layers) == 0 {
		return nil, nil, fmt.Errorf("quantize: no dense or conv2d layer left to quantize")
	}
	logits := make([]float32, opt.Batch*m.Classes())
	size := m.InputSize()
	for start := 0; start < n; start += opt.Batch {
		b := min(opt.Batch, n-start)
		err := m.Trace(calib[start*size:(start+b)*size], b, logits, func(value string, data []float32) {
			if obs, ok := observers[value]; ok {
				obs.Observe(data)
				if len(samples[value]) < 1<<16 {
					samples[value] = append(samples[value], data[:min(len(data), 1<<16-len(samples[value]))]...)
				}
			}
		})
		if err != nil {
			return nil, nil, err
		}
	}

	out := &infer.File{Tensors: maps.Clone(f.Tensors), Metadata: maps.Clone(f.Metadata)}
	var reports []LayerReport
	for _, i := range layers {
		op := &g.Ops[i]
		lo, hi, ok := observers[op.Inputs[0]].Range()
		if r, fixed := opt.Ranges[op.Name]; fixed {
			lo, hi, ok = r[0], r[1], true
		}
		if !ok {
			return nil, nil, fmt.Errorf("quantize: layer %q saw no finite input in calibration", op.Name)
		}
		act, err := ChooseParams(lo, hi, activationConfig)
		if err != nil {
			return nil, nil, fmt.Errorf("quantize: layer %q: %w", op.Name, err)
		}
		rep := LayerReport{Layer: op.Name, Min: lo, Max: hi, Scale: act.Scale, Zero: act.ZeroPoint}
		rep.InputSQNR = SQNR(samples[op.Inputs[0]], fakeQuantAll(samples[op.Inputs[0]], act, activationConfig))
		if rep.WeightSQNR, err = quantizeLayer(out, op, act, opt.PerTensorWeights); err != nil {
			return nil, nil, fmt.Errorf("quantize: layer %q: %w", op.Name, err)
		}
		reports = append(reports, rep)
	}
	g.Version = infer.FormatVersion
	text, err := g.Marshal()
	if err != nil {
		return nil, nil, err
	}
	out.Metadata[infer.GraphKey] = text
	if _, err := infer.New(out); err != nil { // the runtime must take what we wrote
		return nil, nil, fmt.Errorf("quantize: the int8 model: %w", err)
	}
	return out, reports, nil
}

func quantizable(op infer.Op) bool { return op.Op == "dense" || op.Op == "conv2d" }

func fakeQuantAll(x []float32, p Params, c Config) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = FakeQuant(v, p, c)
	}
	return out
}

// quantizeLayer replaces op's float weights and bias in f by int8 weights
// (per output channel), their scales and an int32 bias, and sets op's
// input quantization; it returns the weights' SQNR.
func quantizeLayer(f *infer.File, op *infer.Op, act Params, perTensor bool) (float64, error) {
	wt := f.Tensors[op.Weights]
	w, err := wt.Float32s()
	if err != nil {
		return 0, err
	}
	shape := wt.Shape
	out := shape[len(shape)-1]
	params, err := ChooseParamsPerChannel(w, shape, len(shape)-1, weightConfig)
	if err != nil {
		return 0, err
	}
	if perTensor { // the widest channel's scale for all
		widest := params[0]
		for _, p := range params {
			widest.Scale = max(widest.Scale, p.Scale)
		}
		for j := range params {
			params[j] = widest
		}
	}
	q := make([]byte, len(w))
	deq := make([]float32, len(w))
	for i, v := range w {
		p := params[i%out]
		qi := int8(QuantizeValue(v, p, weightConfig))
		q[i] = byte(qi)
		deq[i] = float32(qi) * p.Scale
	}
	scales := make([]float32, out)
	for j, p := range params {
		scales[j] = p.Scale
	}
	base := op.Weights
	f.Tensors[base] = infer.Tensor{DType: infer.I8, Shape: slices.Clone(shape), Data: q}
	op.WeightScales = base + ".scales"
	f.Tensors[op.WeightScales] = infer.F32Tensor(scales, out)
	if op.Bias != "" {
		b, err := f.Tensors[op.Bias].Float32s()
		if err != nil {
			return 0, err
		}
		data := make([]byte, 4*out)
		for j, v := range b {
			r := math.RoundToEven(float64(v) / (float64(act.Scale) * float64(scales[j])))
			binary.LittleEndian.PutUint32(data[4*j:], uint32(int32(max(math.MinInt32, min(math.MaxInt32, r)))))
		}
		f.Tensors[op.Bias] = infer.Tensor{DType: infer.I32, Shape: []int{out}, Data: data}
	}
	op.InputScale, op.InputZero = act.Scale, act.ZeroPoint
	return SQNR(w, deq), nil
}

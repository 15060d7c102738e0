package gocompute

import (
	"github.com/gomlx/compute"
	cdtypes "github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// The ops whose arguments differ between GoMLX v0.26 and compute only in
// type (dtypes, shapes, configs, enums with the same numbering), and Dot,
// which compute dropped.

func (f *function) ArgMinMax(x backends.Op, axis int, outputDType dtypes.DType, isMin bool) (backends.Op, error) {
	return f.fn.ArgMinMax(x, axis, cdtypes.DType(outputDType), isMin)
}

func (f *function) Bitcast(x backends.Op, targetDType dtypes.DType) (backends.Op, error) {
	return f.fn.Bitcast(x, cdtypes.DType(targetDType))
}

func (f *function) BroadcastInDim(x backends.Op, outputShape shapes.Shape, broadcastAxes []int) (backends.Op, error) {
	v, err := f.fn.BroadcastInDim(x, toShape(outputShape), broadcastAxes)
	f.markNotNaN(v, x)
	return v, err
}

func (f *function) ConvertDType(x backends.Op, dtype dtypes.DType) (backends.Op, error) {
	v, err := f.fn.ConvertDType(x, cdtypes.DType(dtype))
	f.markNotNaN(v, x)
	return v, err
}

func (f *function) Reshape(x backends.Op, dimensions ...int) (backends.Op, error) {
	v, err := f.fn.Reshape(x, dimensions...)
	f.markNotNaN(v, x)
	return v, err
}

func (f *function) Iota(shape shapes.Shape, iotaAxis int) (backends.Op, error) {
	return f.fn.Iota(toShape(shape), iotaAxis)
}

// RNGBitGenerator: GoMLX v0.26 knows one algorithm, Philox with a [3]uint64
// state, which compute names explicitly.
func (f *function) RNGBitGenerator(state backends.Op, shape shapes.Shape) (newState backends.Op, values backends.Op, err error) {
	return f.fn.RNGBitGenerator(state, toShape(shape), compute.RNGPhilox)
}

func (f *function) FFT(operand backends.Op, fftType backends.FFTType, fftLength []int) (backends.Op, error) {
	return f.fn.FFT(operand, compute.FFTType(fftType), fftLength)
}

func (f *function) Pad(x, fillValue backends.Op, axesConfig ...backends.PadAxis) (backends.Op, error) {
	caxes := make([]compute.PadAxis, len(axesConfig))
	for i, a := range axesConfig {
		caxes[i] = compute.PadAxis{Start: a.Start, End: a.End, Interior: a.Interior}
	}
	return f.fn.Pad(x, fillValue, caxes...)
}

func (f *function) ReduceWindow(x backends.Op, reductionType backends.ReduceOpType,
	windowDimensions, strides, baseDilations, windowDilations []int, paddings [][2]int) (backends.Op, error) {
	return f.inFloat32(func(ops ...backends.Op) (compute.Value, error) {
		return f.fn.ReduceWindow(ops[0], compute.ReduceOpType(reductionType), windowDimensions, strides, baseDilations, windowDilations, paddings)
	}, x)
}

func (f *function) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int, paddings [][2]int,
	inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (backends.Op, error) {
	caxes := compute.ConvolveAxesConfig{
		InputBatch: axes.InputBatch, InputChannels: axes.InputChannels, InputSpatial: axes.InputSpatial,
		KernelInputChannels: axes.KernelInputChannels, KernelOutputChannels: axes.KernelOutputChannels, KernelSpatial: axes.KernelSpatial,
		OutputBatch: axes.OutputBatch, OutputChannels: axes.OutputChannels, OutputSpatial: axes.OutputSpatial,
	}
	return f.inFloat32(func(ops ...backends.Op) (compute.Value, error) {
		return f.fn.ConvGeneral(ops[0], ops[1], caxes, strides, paddings, inputDilations, kernelDilations, channelGroupCount, batchGroupCount)
	}, input, kernel)
}

// SelectAndScatterMax (max-pooling's gradient) and ReduceWindow (the
// pooling) run in float32 for half-precision inputs: see inFloat32.
func (f *function) SelectAndScatterMax(operand, source backends.Op, windowDimensions, windowStrides []int, paddings [][2]int) (backends.Op, error) {
	return f.inFloat32(func(ops ...backends.Op) (compute.Value, error) {
		return f.fn.SelectAndScatterMax(ops[0], ops[1], windowDimensions, windowStrides, paddings)
	}, operand, source)
}

// inFloat32 runs op on float32 copies of half-precision (bfloat16,
// float16) operands and converts its result back. compute v0.1.35 has SIMD
// kernels for float32 convolutions and windowed reductions only; in bf16
// they fall to generic Go loops, 5–40× slower than the float32 kernels
// (LeNet-5's bf16 step took 300 ms against 13 ms in f32), while the
// conversions cost a pass over memory. XLA on CPU does the same
// upcasting for bf16 convolutions. Other dtypes pass unchanged.
func (f *function) inFloat32(op func(ops ...backends.Op) (compute.Value, error), operands ...backends.Op) (backends.Op, error) {
	s, err := f.fn.Shape(operands[0])
	if err != nil {
		return nil, err
	}
	half := s.DType
	if half != cdtypes.BFloat16 && half != cdtypes.Float16 {
		return op(operands...)
	}
	wide := make([]backends.Op, len(operands))
	for i, x := range operands {
		if wide[i], err = f.fn.ConvertDType(x, cdtypes.Float32); err != nil {
			return nil, err
		}
	}
	out, err := op(wide...)
	if err != nil {
		return nil, err
	}
	return f.fn.ConvertDType(out, half)
}

// DotGeneral keeps GoMLX v0.26's meaning: the output has the inputs' dtype.
// A half-precision product accumulates in float32 (compute's bf16 kernels
// do so natively; XLA does the same for GoMLX on CPU and GPU).
func (f *function) DotGeneral(lhs backends.Op, lhsContractingAxes, lhsBatchAxes []int,
	rhs backends.Op, rhsContractingAxes, rhsBatchAxes []int) (backends.Op, error) {
	var cfg compute.DotGeneralConfig
	if s, err := f.fn.Shape(lhs); err == nil && (s.DType == cdtypes.BFloat16 || s.DType == cdtypes.Float16) {
		cfg = compute.DotGeneralConfig{AccumulatorDType: cdtypes.Float32, OutputDType: s.DType}
	}
	return f.fn.DotGeneral(lhs, lhsContractingAxes, lhsBatchAxes, rhs, rhsContractingAxes, rhsBatchAxes, cfg)
}

// Dot is GoMLX v0.26's vector/matrix product: [n]·[n], [m,n]·[n] or
// [m,n]·[n,k], each a DotGeneral contracting lhs's last axis with rhs's first.
func (f *function) Dot(lhs, rhs backends.Op) (backends.Op, error) {
	ls, err := f.fn.Shape(lhs)
	if err != nil {
		return nil, err
	}
	return f.DotGeneral(lhs, []int{ls.Rank() - 1}, nil, rhs, []int{0}, nil)
}

// Identity returns its operand's node: graphs are values, so the output of
// an identity may be the same node. compute's Identity copies its input
// whenever another op still reads it, which Lathe's ops.MatMul (whose
// custom gradient routes both operands through identities) paid for on
// every weight: 10% of an MLP's train step.
func (f *function) Identity(x backends.Op) (backends.Op, error) {
	if _, err := f.fn.Shape(x); err != nil {
		return nil, err
	}
	return x, nil
}

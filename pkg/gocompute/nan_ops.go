package gocompute

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/x448/float16"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/backends"
)

// compute's SIMD kernels for Max, Min, ReduceMax and ReduceMin follow the
// x86 MAXPS/MINPS rule and drop a NaN in the first operand (Max(NaN, 0) = 0,
// so a ReLU hides NaNs), whereas GoMLX — simplego and XLA alike — propagates
// NaN. For float dtypes these wrappers put the NaNs back.
//
// Operands known to hold no NaN — constants without one, and their
// broadcasts, reshapes and conversions (ReLU's zeros) — need no check:
// function.notNaN records them while the graph is built.

// markNotNaN records v as free of NaN when every one of from is.
func (f *function) markNotNaN(v compute.Value, from ...compute.Value) {
	if v == nil {
		return
	}
	for _, x := range from {
		if !f.notNaN[x] {
			return
		}
	}
	f.notNaN[v] = true
}

// constantHasNoNaN says whether a constant's flat data holds no NaN
// (integer and boolean data never do).
func constantHasNoNaN(flat any) bool {
	switch v := flat.(type) {
	case []float32:
		for _, x := range v {
			if x != x {
				return false
			}
		}
	case []float64:
		for _, x := range v {
			if x != x {
				return false
			}
		}
	case []bfloat16.BFloat16, []float16.Float16:
		return false // rare in graphs; not worth decoding
	}
	return true
}

func (f *function) Max(lhs, rhs backends.Op) (backends.Op, error) {
	return f.nanPropagatingBinary(lhs, rhs, f.fn.Max)
}

func (f *function) Min(lhs, rhs backends.Op) (backends.Op, error) {
	return f.nanPropagatingBinary(lhs, rhs, f.fn.Min)
}

func (f *function) ReduceMax(x backends.Op, axes ...int) (backends.Op, error) {
	return f.nanPropagatingReduce(x, axes, f.fn.ReduceMax)
}

func (f *function) ReduceMin(x backends.Op, axes ...int) (backends.Op, error) {
	return f.nanPropagatingReduce(x, axes, f.fn.ReduceMin)
}

func (f *function) nanPropagatingBinary(lhs, rhs compute.Value, op func(lhs, rhs compute.Value) (compute.Value, error)) (compute.Value, error) {
	res, err := op(lhs, rhs)
	if err != nil {
		return nil, err
	}
	s, err := f.fn.Shape(res)
	if err != nil || !s.DType.IsFloat() {
		return res, err
	}
	for _, x := range []compute.Value{rhs, lhs} {
		if f.notNaN[x] { // a constant such as ReLU's zeros: nothing to put back
			continue
		}
		xs, err := f.fn.Shape(x)
		if err != nil {
			return nil, err
		}
		if !xs.Equal(s) { // a scalar, or size-1 axes broadcast by op
			axes := make([]int, xs.Rank())
			for i := range axes {
				axes[i] = i
			}
			if x, err = f.fn.BroadcastInDim(x, s, axes); err != nil {
				return nil, err
			}
		}
		isNaN, err := f.fn.IsNaN(x)
		if err != nil {
			return nil, err
		}
		if res, err = f.fn.Where(isNaN, x, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (f *function) nanPropagatingReduce(x compute.Value, axes []int, op func(x compute.Value, axes ...int) (compute.Value, error)) (compute.Value, error) {
	res, err := op(x, axes...)
	if err != nil {
		return nil, err
	}
	s, err := f.fn.Shape(res)
	if err != nil || !s.DType.IsFloat() {
		return res, err
	}
	isNaN, err := f.fn.IsNaN(x)
	if err != nil {
		return nil, err
	}
	anyNaN, err := f.fn.ReduceLogicalOr(isNaN, axes...)
	if err != nil {
		return nil, err
	}
	nan, err := f.fn.Constant([]float32{float32(math.NaN())})
	if err != nil {
		return nil, err
	}
	if nan, err = f.fn.ConvertDType(nan, s.DType); err != nil {
		return nil, err
	}
	if nan, err = f.fn.Reshape(nan); err != nil { // scalar
		return nil, err
	}
	if nan, err = f.fn.BroadcastInDim(nan, s, nil); err != nil {
		return nil, err
	}
	return f.fn.Where(anyNaN, nan, res)
}

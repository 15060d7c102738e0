package gocompute

import (
	"errors"

	"github.com/gomlx/compute"
	cdtypes "github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/backends"
)

// DynamicSlice: compute's Go backend lacks it (v0.1.35); it is a Gather of
// one slice at the start indices, clamped as DynamicSlice clamps them.
func (f *function) DynamicSlice(operand backends.Op, startIndices []backends.Op, sliceDims []int) (backends.Op, error) {
	v, err := f.fn.DynamicSlice(operand, values(startIndices), sliceDims)
	if err == nil || !errors.Is(err, compute.ErrNotImplemented) {
		return v, err
	}
	s, err := f.fn.Shape(operand)
	if err != nil {
		return nil, err
	}
	rank := s.Rank()
	starts := make([]compute.Value, rank)
	limits := make([]int32, rank)
	for i, idx := range startIndices {
		if idx, err = f.fn.ConvertDType(idx, cdtypes.Int32); err != nil {
			return nil, err
		}
		if starts[i], err = f.fn.Reshape(idx, 1); err != nil {
			return nil, err
		}
		limits[i] = int32(s.Dimensions[i] - sliceDims[i])
	}
	index, err := f.fn.Concatenate(0, starts...)
	if err != nil {
		return nil, err
	}
	zero, err := f.fn.Constant(make([]int32, rank), rank)
	if err != nil {
		return nil, err
	}
	limit, err := f.fn.Constant(limits, rank)
	if err != nil {
		return nil, err
	}
	if index, err = f.fn.Clamp(zero, index, limit); err != nil {
		return nil, err
	}
	axes := make([]int, rank)
	for i := range axes {
		axes[i] = i
	}
	return f.fn.Gather(operand, index, 0, axes, nil, axes, sliceDims, false)
}

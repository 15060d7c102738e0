package quant

import (
	"fmt"
	"math"
)

// Per-channel quantization gives every slice along one axis its own
// params, PyTorch's per_channel_symmetric / per_channel_affine. Weights
// need it: output channels of one layer can differ in magnitude by orders,
// and a single scale would round the small ones to nothing.
//
// Tensors are flat row-major slices with a shape. lathe stores dense
// weights as [in, out] and conv kernels as [K, K, C, O]: the output channel
// is the last axis, so axis is len(shape)-1 (or -1) for weights. A negative
// axis counts from the end, as in PyTorch.

// channelLayout finds the channel of a flat index: the axis's stride is the
// product of the dimensions after it.
type channelLayout struct {
	channels, inner int
}

func (l channelLayout) channel(i int) int {
	return (i / l.inner) % l.channels
}

func newChannelLayout(n int, shape []int, axis int) (channelLayout, error) {
	if len(shape) == 0 {
		return channelLayout{}, fmt.Errorf("per-channel: shape is empty, want at least one axis")
	}
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		return channelLayout{}, fmt.Errorf("per-channel: axis out of range for shape %v", shape)
	}
	size, inner := 1, 1
	for i, d := range shape {
		if d <= 0 {
			return channelLayout{}, fmt.Errorf("per-channel: shape %v: dimension %d is %d, want > 0", shape, i, d)
		}
		if size > math.MaxInt/d {
			return channelLayout{}, fmt.Errorf("per-channel: shape %v overflows", shape)
		}
		size *= d
		if i > axis {
			inner *= d
		}
	}
	if size != n {
		return channelLayout{}, fmt.Errorf("per-channel: shape %v holds %d values, data has %d", shape, size, n)
	}
	return channelLayout{channels: shape[axis], inner: inner}, nil
}

// ChooseParamsPerChannel returns one Params per index along axis, each
// chosen by ChooseParams from that channel's own min and max. A NaN or
// infinite value is an error naming its channel: these are weights, and a
// non-finite weight is a broken model, not noise to skip.
func ChooseParamsPerChannel(x []float32, shape []int, axis int, c Config) ([]Params, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	l, err := newChannelLayout(len(x), shape, axis)
	if err != nil {
		return nil, err
	}
	mins := make([]float32, l.channels)
	maxs := make([]float32, l.channels)
	for ch := range mins {
		mins[ch] = float32(math.Inf(1))
		maxs[ch] = float32(math.Inf(-1))
	}
	for i, v := range x {
		ch := l.channel(i)
		if !finite(v) {
			return nil, fmt.Errorf("per-channel: channel %d: value %v at index %d", ch, v, i)
		}
		mins[ch] = min(mins[ch], v)
		maxs[ch] = max(maxs[ch], v)
	}
	ps := make([]Params, l.channels)
	for ch := range ps {
		if ps[ch], err = ChooseParams(mins[ch], maxs[ch], c); err != nil {
			return nil, fmt.Errorf("per-channel: channel %d: %w", ch, err)
		}
	}
	return ps, nil
}

// QuantizePerChannel quantizes x with ps[channel] for every value, into
// dst (signed grids: per-channel quantization is for weights).
func QuantizePerChannel(x []float32, shape []int, axis int, ps []Params, c Config, dst []int8) error {
	l, err := newChannelLayout(len(x), shape, axis)
	if err != nil {
		return err
	}
	if err := checkPerChannel(l, ps, len(x), len(dst)); err != nil {
		return err
	}
	for ch, p := range ps {
		if err := checkQuantize(0, 0, p, c, false); err != nil {
			return fmt.Errorf("per-channel: channel %d: %w", ch, err)
		}
	}
	for i, v := range x {
		dst[i] = int8(QuantizeValue(v, ps[l.channel(i)], c))
	}
	return nil
}

// DequantizePerChannel is the inverse of QuantizePerChannel.
func DequantizePerChannel(q []int8, shape []int, axis int, ps []Params, dst []float32) error {
	l, err := newChannelLayout(len(q), shape, axis)
	if err != nil {
		return err
	}
	if err := checkPerChannel(l, ps, len(q), len(dst)); err != nil {
		return err
	}
	for ch, p := range ps {
		if err := checkScale(p.Scale); err != nil {
			return fmt.Errorf("per-channel: channel %d: %w", ch, err)
		}
	}
	for i, v := range q {
		dst[i] = DequantizeValue(int32(v), ps[l.channel(i)])
	}
	return nil
}

func checkPerChannel(l channelLayout, ps []Params, n, nDst int) error {
	if len(ps) != l.channels {
		return fmt.Errorf("per-channel: %d params for %d channels", len(ps), l.channels)
	}
	if n != nDst {
		return fmt.Errorf("per-channel: dst has %d values for %d inputs", nDst, n)
	}
	return nil
}

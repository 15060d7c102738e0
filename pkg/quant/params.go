package quant

import (
	"fmt"
	"math"
)

// Eps is the smallest scale ChooseParams returns: float32's machine epsilon
// (2^-23), PyTorch's torch.finfo(torch.float32).eps. Without a floor an
// all-zero tensor would get scale 0 and every quantization would divide by
// zero.
const Eps float32 = 1.0 / (1 << 23)

// Params are the quantization parameters of one tensor or one channel:
// x̂ = Scale·(q − ZeroPoint).
type Params struct {
	// Scale is the real-valued step between two neighbouring integers.
	Scale float32
	// ZeroPoint is the integer that represents the real 0 exactly.
	ZeroPoint int32
}

// Validate reports whether p can be used with c: a finite, positive scale
// and a zero point on c's grid. Useful for params read from a file.
func (p Params) Validate(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := checkScale(p.Scale); err != nil {
		return err
	}
	qmin, qmax := c.Range()
	if p.ZeroPoint < qmin || p.ZeroPoint > qmax {
		return fmt.Errorf("zero point %d outside %v", p.ZeroPoint, c)
	}
	return nil
}

func checkScale(s float32) error {
	if !(s > 0) || math.IsInf(float64(s), 1) {
		return fmt.Errorf("scale %v: want finite and > 0", s)
	}
	return nil
}

// ChooseParams returns the params that map the observed range [min, max]
// onto c's grid, following PyTorch's UniformQuantizationObserverBase.
// _calculate_qparams step by step, in float32 as PyTorch computes it:
//
//   - the range is widened to include 0 (min = min(min, 0), max =
//     max(max, 0)), so that 0 (padding, ReLU outputs) is exact;
//   - symmetric: scale = max(−min, max) / ((qmax − qmin)/2); zero point 0
//     for signed grids, the middle (qmin + qmax + 1)/2 for unsigned ones
//     (128 for uint8, as PyTorch's quint8 symmetric);
//   - affine: scale = (max − min)/(qmax − qmin), zero point = qmin −
//     round(min/scale), clamped to [qmin, qmax];
//   - scale is floored at Eps, so an all-zero range gives scale Eps.
//
// NaN or infinite bounds, or min > max, are errors: there is no grid to
// choose for them.
func ChooseParams(min, max float32, c Config) (Params, error) {
	if err := c.Validate(); err != nil {
		return Params{}, err
	}
	if !finite(min) || !finite(max) {
		return Params{}, fmt.Errorf("range [%v, %v]: want finite bounds", min, max)
	}
	if min > max {
		return Params{}, fmt.Errorf("range [%v, %v]: min > max", min, max)
	}
	minNeg := float32(math.Min(float64(min), 0))
	maxPos := float32(math.Max(float64(max), 0))
	qmin, qmax := c.Range()

	if c.Symmetric {
		absMax := maxPos
		if -minNeg > absMax {
			absMax = -minNeg
		}
		scale := absMax / (float32(qmax-qmin) / 2)
		scale = floorScale(scale)
		var zp int32
		if c.Unsigned {
			zp = (qmin + qmax + 1) / 2
		}
		return Params{Scale: scale, ZeroPoint: zp}, nil
	}

	scale := (maxPos - minNeg) / float32(qmax-qmin)
	if math.IsInf(float64(scale), 1) {
		// The width of a range of float32 extremes overflows float32; the
		// step itself does not.
		scale = float32((float64(maxPos) - float64(minNeg)) / float64(qmax-qmin))
	}
	scale = floorScale(scale)
	zp := float64(qmin) - math.RoundToEven(float64(minNeg/scale))
	zp = math.Max(float64(qmin), math.Min(float64(qmax), zp))
	return Params{Scale: scale, ZeroPoint: int32(zp)}, nil
}

// floorScale is torch.max(scale, eps), and keeps the scale finite.
func floorScale(s float32) float32 {
	if s < Eps {
		return Eps
	}
	if math.IsInf(float64(s), 1) {
		return math.MaxFloat32
	}
	return s
}

func finite(x float32) bool {
	return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
}

package quant

import (
	"fmt"
	"math"
)

// QuantizeValue maps one real value onto the grid:
//
//	q = clamp(round(x/s) + z, qmin, qmax)
//
// x/s is computed in float32 and rounded half to even, as std::nearbyint
// does in PyTorch's kernels, so ties go the way PyTorch sends them. A NaN
// x maps to the zero point (it dequantizes to 0, which does the least
// harm downstream), ±Inf to the ends of the grid. p and c are assumed
// valid (see Params.Validate); the slice functions check them.
func QuantizeValue(x float32, p Params, c Config) int32 {
	qmin, qmax := c.Range()
	v := float64(x / p.Scale)
	if math.IsNaN(v) {
		return p.ZeroPoint
	}
	// Clamp in float64 before converting: converting an out-of-range float
	// to an integer is implementation-defined in Go.
	r := math.RoundToEven(v) + float64(p.ZeroPoint)
	r = math.Max(float64(qmin), math.Min(float64(qmax), r))
	return int32(r)
}

// DequantizeValue maps an integer back to a real value, x̂ = s·(q − z),
// in float32 as PyTorch's dequantize.
func DequantizeValue(q int32, p Params) float32 {
	return float32(q-p.ZeroPoint) * p.Scale
}

// FakeQuant is Dequantize(Quantize(x)): x moved to the nearest value the
// quantized model can represent, still as a float. Quantization-aware
// training applies it in the forward pass (with a straight-through
// gradient) so that the weights learn to live on the grid. Like
// QuantizeValue it assumes valid p and c.
func FakeQuant(x float32, p Params, c Config) float32 {
	return DequantizeValue(QuantizeValue(x, p, c), p)
}

// Quantize writes the signed quantization of x into dst (int8 holds both
// 8-bit and 4-bit values; pack the latter with PackInt4). c must be a
// signed Config, dst as long as x.
func Quantize(x []float32, p Params, c Config, dst []int8) error {
	if err := checkQuantize(len(x), len(dst), p, c, false); err != nil {
		return err
	}
	for i, v := range x {
		dst[i] = int8(QuantizeValue(v, p, c))
	}
	return nil
}

// QuantizeUint8 writes the unsigned quantization of x into dst, for
// activations (PyTorch's quint8). c must have Unsigned set.
func QuantizeUint8(x []float32, p Params, c Config, dst []uint8) error {
	if err := checkQuantize(len(x), len(dst), p, c, true); err != nil {
		return err
	}
	for i, v := range x {
		dst[i] = uint8(QuantizeValue(v, p, c))
	}
	return nil
}

// Dequantize writes s·(q − z) for every q into dst, as long as q.
func Dequantize(q []int8, p Params, dst []float32) error {
	if err := checkDequantize(len(q), len(dst), p); err != nil {
		return err
	}
	for i, v := range q {
		dst[i] = DequantizeValue(int32(v), p)
	}
	return nil
}

// DequantizeUint8 is Dequantize for unsigned values.
func DequantizeUint8(q []uint8, p Params, dst []float32) error {
	if err := checkDequantize(len(q), len(dst), p); err != nil {
		return err
	}
	for i, v := range q {
		dst[i] = DequantizeValue(int32(v), p)
	}
	return nil
}

func checkQuantize(n, nDst int, p Params, c Config, unsigned bool) error {
	if err := p.Validate(c); err != nil {
		return err
	}
	if c.Unsigned != unsigned {
		if unsigned {
			return fmt.Errorf("%v: QuantizeUint8 wants an unsigned config", c)
		}
		return fmt.Errorf("%v: Quantize wants a signed config; use QuantizeUint8", c)
	}
	if n != nDst {
		return fmt.Errorf("dst has %d values for %d inputs", nDst, n)
	}
	return nil
}

func checkDequantize(n, nDst int, p Params) error {
	if err := checkScale(p.Scale); err != nil {
		return err
	}
	if n != nDst {
		return fmt.Errorf("dst has %d values for %d inputs", nDst, n)
	}
	return nil
}

package quant

import "math"

// SQNR is the signal-to-quantization-noise ratio of an approximation xhat
// of x, in decibels:
//
//	SQNR = 10·log10(Σ x² / Σ (x − x̂)²)
//
// Higher is better; every bit of a uniform quantizer is worth about 6 dB
// (int8 on well-spread data lands near 40 dB). It is +Inf when xhat is
// exact (including empty slices), −Inf when x is all zero but xhat is not,
// and NaN when the lengths differ or a value is NaN. Sums run in float64 so
// that large tensors do not lose the small noise terms.
func SQNR(x, xhat []float32) float64 {
	if len(x) != len(xhat) {
		return math.NaN()
	}
	var signal, noise float64
	for i, v := range x {
		d := float64(v) - float64(xhat[i])
		signal += float64(v) * float64(v)
		noise += d * d
	}
	if math.IsNaN(signal) || math.IsNaN(noise) {
		return math.NaN()
	}
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(signal/noise)
}

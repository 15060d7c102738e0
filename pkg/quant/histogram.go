package quant

import "math"

// histogramBins is the resolution of the histogram observers, PyTorch
// HistogramObserver's and TensorRT's default.
const histogramBins = 2048

// histogram counts observed values in histogramBins equal bins starting at
// lo. When a batch falls outside the bins, the grid widens by a whole
// factor k, aligned so that every old bin lies inside one new bin and
// merging loses nothing but resolution (what PyTorch's HistogramObserver
// does with its downsample rate). The exact extremes are kept aside, so
// percentiles and clipping ranges never leave the data.
type histogram struct {
	counts  []float64 // nil until the first finite value
	lo      float64
	width   float64 // 0 while every value seen is the same one, lo
	min     float64 // exact extremes of the finite values seen
	max     float64
	total   float64
	skipped int
}

func (h *histogram) observe(x []float32) {
	lo32, hi32, skipped, ok := batchRange(x)
	h.skipped += skipped
	if !ok {
		return
	}
	lo, hi := float64(lo32), float64(hi32)
	switch {
	case h.counts == nil:
		h.counts = make([]float64, histogramBins)
		h.min, h.max = lo, hi
		h.lo, h.width = lo, (hi-lo)/histogramBins
	case h.width == 0 && (lo != h.lo || hi != h.lo):
		h.regrid(math.Min(lo, h.min), math.Max(hi, h.max))
	case h.width != 0 && (lo < h.min || hi > h.max):
		h.grow(lo, hi)
	}
	h.min, h.max = math.Min(h.min, lo), math.Max(h.max, hi)
	for _, v := range x {
		if finite(v) {
			h.counts[h.bin(float64(v))]++
			h.total++
		}
	}
}

// bin is the index of the bin holding v; values a rounding error past
// either end land in the end bins.
func (h *histogram) bin(v float64) int {
	if h.width == 0 {
		return 0
	}
	f := (v - h.lo) / h.width
	if !(f >= 0) {
		return 0
	}
	if f >= histogramBins {
		return histogramBins - 1
	}
	return int(f)
}

// edges is bin i's interval cut to the exact extremes of the data: the
// first and last bins are usually only partly filled.
func (h *histogram) edges(i int) (e0, e1 float64) {
	if h.width == 0 {
		return h.lo, h.lo
	}
	e0 = math.Max(h.lo+float64(i)*h.width, h.min)
	e1 = math.Min(h.lo+float64(i+1)*h.width, h.max)
	return e0, math.Max(e0, e1)
}

// grow widens the grid to cover [lo, hi] as well, merging bins k at a time.
func (h *histogram) grow(lo, hi float64) {
	const n = histogramBins
	end := h.lo + n*h.width
	below := math.Ceil(math.Max(0, h.lo-lo) / h.width) // old widths to add below
	above := math.Ceil(math.Max(0, hi-end) / h.width)  // and above
	k := math.Ceil((below + n + above) / n)            // old bins per new bin
	if k > 1<<40 || math.IsInf(k, 0) || math.IsNaN(k) {
		// The old grid is a speck on the new one: keep its mass as points.
		h.regrid(math.Min(lo, h.min), math.Max(hi, h.max))
		return
	}
	m := int(below)
	ki := int(k)
	counts := make([]float64, n)
	for i, c := range h.counts {
		counts[(m+i)/ki] += c
	}
	h.counts = counts
	h.lo -= below * h.width
	h.width *= k
}

// regrid lays a fresh grid over [lo, hi], moving each old bin's count to
// the bin of its centre (the point itself while width is 0).
func (h *histogram) regrid(lo, hi float64) {
	old, oldLo, oldWidth := h.counts, h.lo, h.width
	h.counts = make([]float64, histogramBins)
	h.lo, h.width = lo, (hi-lo)/histogramBins
	for i, c := range old {
		if c != 0 {
			h.counts[h.bin(oldLo+(float64(i)+0.5)*oldWidth)] += c
		}
	}
}

// quantile returns the value below which a fraction q of the observed
// values lie, interpolated linearly inside its bin.
func (h *histogram) quantile(q float64) float64 {
	target := q * h.total
	var cum float64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if cum+c >= target {
			e0, e1 := h.edges(i)
			frac := math.Max(0, math.Min(1, (target-cum)/c))
			return e0 + frac*(e1-e0)
		}
		cum += c
	}
	return h.max
}

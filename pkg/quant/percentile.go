package quant

import "fmt"

// DefaultPercentile is the percentile NewObserver's "percentile" uses.
const DefaultPercentile = 99.99

// Percentile proposes the range between the lower and upper percentiles of
// the observed values: for 99.99, the 0.01th and the 99.99th. Those few
// values outside are clipped, which keeps one outlier from stretching the
// grid over everyone else (the percentile calibration of TensorRT and
// NVIDIA's pytorch-quantization, taken on both tails rather than on |x| so
// that skewed activations keep their shape).
//
// Values are counted in a 2048-bin histogram over the observed range,
// coarsened when a batch falls outside it, as PyTorch's HistogramObserver;
// percentiles are interpolated within a bin. The zero value uses
// DefaultPercentile.
type Percentile struct {
	// Percentile is in [50, 100]. Zero, or a value outside [50, 100],
	// means DefaultPercentile; NewPercentile rejects such values instead.
	Percentile float64

	hist histogram
}

// NewPercentile returns a Percentile observer, or an error for a
// percentile outside [50, 100].
func NewPercentile(percentile float64) (*Percentile, error) {
	if !(percentile >= 50 && percentile <= 100) {
		return nil, fmt.Errorf("percentile %v: want [50, 100]", percentile)
	}
	return &Percentile{Percentile: percentile}, nil
}

func (o *Percentile) percentile() float64 {
	if !(o.Percentile >= 50 && o.Percentile <= 100) {
		return DefaultPercentile
	}
	return o.Percentile
}

// Observe implements Observer.
func (o *Percentile) Observe(x []float32) { o.hist.observe(x) }

// Range implements Observer.
func (o *Percentile) Range() (min, max float32, ok bool) {
	if o.hist.total == 0 {
		return 0, 0, false
	}
	p := o.percentile() / 100
	return float32(o.hist.quantile(1 - p)), float32(o.hist.quantile(p)), true
}

// Skipped implements Observer.
func (o *Percentile) Skipped() int { return o.hist.skipped }

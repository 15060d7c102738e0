package quant

import "math"

// mseSteps is how finely MSE searches: candidate ranges are [min, max]
// shrunk by i/mseSteps, i = 1..mseSteps.
const mseSteps = 200

// MSE proposes the range whose quantization, on the grid of its Config,
// has the least expected squared error over the observed values: the
// trade-off PyTorch's HistogramObserver and TensorRT's "mse" calibration
// make between rounding error (a finer grid for a narrower range) and
// clipping error (values outside the range are moved to its ends).
//
// For a candidate range, params come from ChooseParams, exactly as they
// will be used. With step Δ, each value inside the representable range
// costs Δ²/12 (uniform rounding error, whatever the histogram's bin width)
// and each value outside costs its squared distance to the nearer end,
// integrated over its bin. Candidates are [min, max] shrunk towards 0 in
// 200 steps; for affine grids each end is then refined on its own, since
// outliers often sit on one side only.
//
// Build it with NewMSE; the zero value searches a signed int8 affine grid.
type MSE struct {
	config Config
	hist   histogram
}

// NewMSE returns an MSE observer for grids of c.
func NewMSE(c Config) (*MSE, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &MSE{config: c}, nil
}

// Observe implements Observer.
func (o *MSE) Observe(x []float32) { o.hist.observe(x) }

// Skipped implements Observer.
func (o *MSE) Skipped() int { return o.hist.skipped }

// Range implements Observer.
func (o *MSE) Range() (min, max float32, ok bool) {
	h := &o.hist
	if h.total == 0 {
		return 0, 0, false
	}
	c := o.config
	if c.Validate() != nil {
		c = Config{Bits: 8}
	}
	// ChooseParams widens every range to include 0; search that range.
	lo, hi := math.Min(h.min, 0), math.Max(h.max, 0)
	if lo == hi {
		return float32(h.min), float32(h.max), true
	}
	bestLo, bestHi := lo, hi
	bestErr := o.expectedError(lo, hi, c)
	try := func(a, b float64) {
		if e := o.expectedError(a, b, c); e < bestErr {
			bestLo, bestHi, bestErr = a, b, e
		}
	}
	for i := mseSteps - 1; i >= 1; i-- {
		f := float64(i) / mseSteps
		try(lo*f, hi*f)
	}
	if !c.Symmetric {
		for round := 0; round < 2; round++ {
			a, b := bestLo, bestHi
			for i := mseSteps; i >= 0; i-- {
				try(lo*float64(i)/mseSteps, b)
			}
			a = bestLo
			for i := mseSteps; i >= 0; i-- {
				try(a, hi*float64(i)/mseSteps)
			}
		}
	}
	return float32(bestLo), float32(bestHi), true
}

// expectedError is the summed squared error of quantizing the observed
// values with the params ChooseParams gives [a, b] on c.
func (o *MSE) expectedError(a, b float64, c Config) float64 {
	p, err := ChooseParams(float32(a), float32(b), c)
	if err != nil {
		return math.Inf(1)
	}
	qmin, qmax := c.Range()
	s := float64(p.Scale)
	// The reals the grid reaches, which for a non-narrow signed grid is
	// one step further below 0 than above.
	ra := s * float64(qmin-p.ZeroPoint)
	rb := s * float64(qmax-p.ZeroPoint)
	rounding := s * s / 12

	h := &o.hist
	var sum float64
	for i, n := range h.counts {
		if n == 0 {
			continue
		}
		e0, e1 := h.edges(i)
		if e1 <= e0 {
			// A point mass: every value seen so far in this bin is e0.
			switch {
			case e0 < ra:
				sum += n * (ra - e0) * (ra - e0)
			case e0 > rb:
				sum += n * (e0 - rb) * (e0 - rb)
			default:
				sum += n * rounding
			}
			continue
		}
		density := n / (e1 - e0)
		if inside := math.Min(e1, rb) - math.Max(e0, ra); inside > 0 {
			sum += density * inside * rounding
		}
		if e1 > rb {
			from := math.Max(e0, rb) - rb
			to := e1 - rb
			sum += density * (to*to*to - from*from*from) / 3
		}
		if e0 < ra {
			from := ra - math.Min(e1, ra)
			to := ra - e0
			sum += density * (to*to*to - from*from*from) / 3
		}
	}
	return sum
}

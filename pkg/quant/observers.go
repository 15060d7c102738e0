package quant

import (
	"fmt"
	"math"
	"strings"
)

// Observer watches the values a tensor takes during calibration (or
// training) and proposes the range [min, max] to quantize it over, as
// PyTorch's observers do. ChooseParams (or ParamsFrom) turns the range into
// params.
//
// NaN and ±Inf values are skipped and counted rather than trusted or
// panicked on: a single Inf would otherwise make the range useless, and the
// count tells the caller that its data is not what it thought.
type Observer interface {
	// Observe takes one batch of values. An empty batch is a no-op.
	Observe(x []float32)
	// Range is the range to quantize over; ok is false until a finite
	// value has been observed.
	Range() (min, max float32, ok bool)
	// Skipped is how many NaN or infinite values Observe has ignored.
	Skipped() int
}

// observerNames are the names NewObserver knows, in the order it lists them.
var observerNames = []string{"minmax", "moving_average_minmax", "percentile", "mse"}

// ObserverNames returns the names NewObserver accepts.
func ObserverNames() []string {
	return append([]string(nil), observerNames...)
}

// NewObserver builds an observer by name, with PyTorch's defaults:
// "minmax" (MinMaxObserver), "moving_average_minmax" (averaging constant
// 0.01), "percentile" (99.99) and "mse" (which needs c to know the grid
// whose error it minimises). c is validated for every name, since the
// caller will choose params on it.
func NewObserver(name string, c Config) (Observer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch name {
	case "minmax":
		return &MinMax{}, nil
	case "moving_average_minmax":
		return &MovingAverageMinMax{Averaging: DefaultAveraging}, nil
	case "percentile":
		return &Percentile{Percentile: DefaultPercentile}, nil
	case "mse":
		return NewMSE(c)
	}
	return nil, fmt.Errorf("unknown observer %q: want one of %s", name, strings.Join(observerNames, ", "))
}

// ParamsFrom chooses params for c from what o has observed.
func ParamsFrom(o Observer, c Config) (Params, error) {
	min, max, ok := o.Range()
	if !ok {
		return Params{}, fmt.Errorf("observer has seen no finite values (%d skipped)", o.Skipped())
	}
	return ChooseParams(min, max, c)
}

// batchRange is the min and max of the finite values of x, and how many
// were not finite; ok is false when none was.
func batchRange(x []float32) (lo, hi float32, skipped int, ok bool) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		if !finite(v) {
			skipped++
			continue
		}
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi, skipped, lo <= hi
}

// MinMax is PyTorch's MinMaxObserver: the range is the running min and max
// of everything observed. Exact, and at the mercy of a single outlier. The
// zero value is ready to use.
type MinMax struct {
	min, max float32
	seen     bool
	skipped  int
}

// Observe implements Observer.
func (o *MinMax) Observe(x []float32) {
	lo, hi, skipped, ok := batchRange(x)
	o.skipped += skipped
	if !ok {
		return
	}
	if !o.seen {
		o.min, o.max, o.seen = lo, hi, true
		return
	}
	o.min = min(o.min, lo)
	o.max = max(o.max, hi)
}

// Range implements Observer.
func (o *MinMax) Range() (min, max float32, ok bool) { return o.min, o.max, o.seen }

// Skipped implements Observer.
func (o *MinMax) Skipped() int { return o.skipped }

// DefaultAveraging is PyTorch's averaging_constant for
// MovingAverageMinMaxObserver.
const DefaultAveraging float32 = 0.01

// MovingAverageMinMax is PyTorch's MovingAverageMinMaxObserver: the first
// batch sets min and max, each later batch pulls them towards its own:
//
//	min = min + Averaging·(batch_min − min)   (likewise max)
//
// It follows the typical batch rather than the most extreme one, which
// suits activations during quantization-aware training.
type MovingAverageMinMax struct {
	// Averaging is the weight of each new batch, in (0, 1]. Zero, or a
	// value outside (0, 1], means DefaultAveraging; NewMovingAverageMinMax
	// rejects such values instead.
	Averaging float32

	min, max float32
	seen     bool
	skipped  int
}

// NewMovingAverageMinMax returns an observer with the given averaging
// constant, which must be in (0, 1].
func NewMovingAverageMinMax(averaging float32) (*MovingAverageMinMax, error) {
	if !(averaging > 0 && averaging <= 1) {
		return nil, fmt.Errorf("averaging %v: want (0, 1]", averaging)
	}
	return &MovingAverageMinMax{Averaging: averaging}, nil
}

func (o *MovingAverageMinMax) averaging() float32 {
	if !(o.Averaging > 0 && o.Averaging <= 1) {
		return DefaultAveraging
	}
	return o.Averaging
}

// Observe implements Observer. A batch with no finite value leaves the
// range as it was.
func (o *MovingAverageMinMax) Observe(x []float32) {
	lo, hi, skipped, ok := batchRange(x)
	o.skipped += skipped
	if !ok {
		return
	}
	if !o.seen {
		o.min, o.max, o.seen = lo, hi, true
		return
	}
	c := o.averaging()
	o.min = o.min + c*(lo-o.min)
	o.max = o.max + c*(hi-o.max)
}

// Range implements Observer.
func (o *MovingAverageMinMax) Range() (min, max float32, ok bool) {
	return o.min, o.max, o.seen
}

// Skipped implements Observer.
func (o *MovingAverageMinMax) Skipped() int { return o.skipped }

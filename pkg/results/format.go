package results

import (
	"fmt"
	"math"
	"strconv"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// Format is how a result is printed. NaN and ±Inf print as they are
// (runs.FormatValue) in every format: they are data.
type Format int

const (
	// Auto prints as runs.FormatMetric does, by the result's name
	// (accuracies as percentages, _ms as milliseconds…).
	Auto Format = iota
	Percent
	Count   // 61.5k
	Times   // a ratio: 3.80×
	Signed  // a change: +0.12
	Fall    // a drop printed as the change it is: a 0.04 drop is -0.04
	DB      // a tenth of a decibel: 41.3
	Short   // three significant digits: -0.424, 2.82, 0.0127
	Seconds // 1.2s, 3m04s
)

// Print formats v; Auto without a name prints the plain value.
func (f Format) Print(v float64) string { return f.print("", v) }

// Print formats v as this result: by its format, or (Auto) its name.
func (r Result) Print(name string, v float64) string { return r.Format.print(name, v) }

func (f Format) print(name string, v float64) string {
	if f != Auto && f != Percent && f != Count && f != Seconds && (math.IsNaN(v) || math.IsInf(v, 0)) {
		return runs.FormatValue(v)
	}
	switch f {
	case Percent:
		return runs.FormatPercent(v)
	case Count:
		return runs.FormatCount(v)
	case Times:
		return fmt.Sprintf("%.2f×", v)
	case Fall:
		v = -v
		fallthrough
	case Signed:
		if v == 0 {
			v = 0 // not "-0.00"
		}
		return fmt.Sprintf("%+.2f", v)
	case DB:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case Short:
		return strconv.FormatFloat(v, 'g', 3, 64)
	case Seconds:
		return runs.FormatSeconds(v)
	}
	if name == "" {
		return runs.FormatValue(v)
	}
	return runs.FormatMetric(name, v)
}

package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/lathe-ml/lathe/pkg/runs"
	"gonum.org/v1/plot/plotter"
)

// chart is what a comparison plot of one metric shows, decided from the
// store before anything is drawn (so tests can read it): curves against
// the step, or, when every run has at most one value of the metric (a
// test accuracy recorded once at the end, or only as a final metric), one
// bar per run — a line through one point draws nothing.
type chart struct {
	metric string
	lines  []line
	bars   []bar
	// note says which runs or points were left out and why (no value,
	// NaN, ±Inf), so a missing bar or a shortened curve is not a mystery.
	note string
}

// line is one run's curve; color indexes plotutil's palette by the run's
// place in the list, so a run keeps its colour whatever else is left out.
type line struct {
	name  string
	color int
	xy    plotter.XYs
}

// bar is one run's single value.
type bar struct {
	label string
	value float64
	color int
}

// maxNoted bounds the note: it is a line of the title.
const maxNoted = 4

// newChart reads metric for every run of list and decides how to show it.
func newChart(store *runs.Store, list []*runs.Run, metric string) (*chart, error) {
	series := make([][]runs.Point, len(list))
	single := true
	for i, r := range list {
		pts, err := store.Series(r.ID, metric)
		if err != nil {
			return nil, err
		}
		series[i] = pts
		single = single && len(pts) <= 1
	}
	c := &chart{metric: metric}
	var left []string
	if single {
		labels := barLabels(list)
		for i, r := range list {
			v, ok := r.Final[metric]
			if len(series[i]) == 1 {
				// The recorded point is the value at its step; the final
				// metric stands in only for a run without one.
				v, ok = series[i][0].Value, true
			}
			switch {
			case !ok:
				left = append(left, labels[i]+" (no value)")
			case !finite(v):
				left = append(left, fmt.Sprintf("%s (%s)", labels[i], runs.FormatValue(v)))
			default:
				c.bars = append(c.bars, bar{label: labels[i], value: v, color: i})
			}
		}
	} else {
		for i, r := range list {
			if len(series[i]) == 0 {
				left = append(left, r.Name+" (no series)")
				continue
			}
			// NaN and ±Inf (a diverged run) have no place on an axis; the
			// comparison table shows them.
			xy := make(plotter.XYs, 0, len(series[i]))
			for _, pt := range series[i] {
				if finite(pt.Value) {
					xy = append(xy, plotter.XY{X: float64(pt.Step), Y: pt.Value})
				}
			}
			if n := len(series[i]) - len(xy); n > 0 {
				left = append(left, fmt.Sprintf("%s (%d non-finite point%s)", r.Name, n, plural(n)))
			}
			if len(xy) > 0 {
				c.lines = append(c.lines, line{name: r.Name, color: i, xy: xy})
			}
		}
	}
	if len(c.lines)+len(c.bars) == 0 {
		if anyValue(series, list, metric) {
			return nil, fmt.Errorf("no run has metric %q with a finite value: %s", metric, strings.Join(left, ", "))
		}
		return nil, fmt.Errorf("no run has metric %q", metric)
	}
	if len(left) > maxNoted {
		left = append(left[:maxNoted], fmt.Sprintf("%d more", len(left)-maxNoted))
	}
	if len(left) > 0 {
		c.note = "left out: " + strings.Join(left, ", ")
	}
	return c, nil
}

// anyValue reports whether some run recorded metric at all, finite or not.
func anyValue(series [][]runs.Point, list []*runs.Run, metric string) bool {
	for i, r := range list {
		if _, ok := r.Final[metric]; ok || len(series[i]) > 0 {
			return true
		}
	}
	return false
}

// barLabels names each run's bar: its variant when every run is a variant
// of one recipe (several runs, all named <recipe>/<variant>), else its
// name; a label two runs share gets the run id, so no two bars look alike.
func barLabels(list []*runs.Run) []string {
	prefix := recipePrefix(list)
	labels := make([]string, len(list))
	seen := map[string]int{}
	for i, r := range list {
		labels[i] = strings.TrimPrefix(r.Name, prefix)
		seen[labels[i]]++
	}
	for i, r := range list {
		if seen[labels[i]] > 1 {
			labels[i] += " " + r.ID
		}
	}
	return labels
}

// recipePrefix is "<recipe>/" when several runs are all variants of it.
func recipePrefix(list []*runs.Run) string {
	if len(list) < 2 {
		return ""
	}
	cut := strings.LastIndexByte(list[0].Name, '/')
	if cut < 0 {
		return ""
	}
	prefix := list[0].Name[:cut+1]
	for _, r := range list[1:] {
		if !strings.HasPrefix(r.Name, prefix) || strings.Contains(r.Name[len(prefix):], "/") {
			return ""
		}
	}
	return prefix
}

// finite reports whether every value is a number other than ±Inf.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

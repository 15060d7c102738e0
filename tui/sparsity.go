package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// The bars panel (results.Bars): what a pruned run's view shows of its
// pruning. The global sparsity is a curve like any series; each pruned
// layer is one bar at its latest value, since a ResNet's twenty layers
// cannot be told apart as curves on one chart, and what a reader asks of
// them is where each stands. The names are those the declaring kind
// (prune) gives.

const (
	percentW = len("100.00%") // runs.FormatPercent's widest usual value
	minBarW  = 8              // a shorter bar says little a percentage does not
	maxBarW  = 40             // past this a bar only pushes its percentage away
	// minCurveH is the least height of the curve above the bars: title,
	// legend, three rows of braille, the axis and its labels.
	minCurveH = 7
)

// layerValue is one layer's value as the panel shows it.
type layerValue struct {
	layer string // without the members' prefix
	value float64
}

// layerSparsities are the latest sparsity of every layer the run reports,
// in name order: final metrics once it ended, else the newest points.
func layerSparsities(p panel, r *runs.Run, set *seriesSet) []layerValue {
	prefix := p.decl.Bars.Members
	names := append([]string{}, p.layers...)
	for k := range r.Final {
		if strings.HasPrefix(k, prefix) && !contains(names, k) {
			names = append(names, k) // ended before its points were read
		}
	}
	sort.Strings(names)
	var out []layerValue
	for _, n := range names {
		if v, ok := latest(r, set, n); ok {
			out = append(out, layerValue{strings.TrimPrefix(n, prefix), v})
		}
	}
	return out
}

// weightsLeft says how many prunable weights are left, of how many:
// "4751 of 61.5k nonzero"; "" when the run reports neither.
func weightsLeft(b *results.Bars, r *runs.Run, set *seriesSet) string {
	left, ok := latest(r, set, b.Left)
	if !ok {
		return ""
	}
	if all, ok := latest(r, set, b.Of); ok {
		return runs.FormatCount(left) + " of " + runs.FormatCount(all) + " nonzero"
	}
	return runs.FormatCount(left) + " nonzero"
}

// sparsity draws the sparsity panel in exactly w×h: the global curve as
// spec draws charts, the weights left beside its title, and the layers'
// bars below it. The curve keeps a third of the height, and at least the
// lines that draw a readable one; the bars take what they need of the rest.
func (v runView) sparsity(p panel, set *seriesSet, r *runs.Run, st styles, w, h int, cache *chartCache) string {
	spec := v.spec(p, set)
	if left := weightsLeft(p.decl.Bars, r, set); left != "" {
		if spec.note != "" {
			left += " · " + spec.note
		}
		spec.note = left
	}
	vals := layerSparsities(p, r, set)
	barsH := min(max(1, len(vals)), h-max(minCurveH, h/3))
	if barsH < 1 {
		return cache.render(spec, w, h, st)
	}
	chart := cache.render(spec, w, h-barsH, st)
	return fit(chart+"\n"+strings.Join(sparsityBars(vals, st, w, barsH), "\n"), w, h)
}

// sparsityBars lays vals out in at most h lines of width w, one per layer:
// its name, a bar filled to its sparsity and the percentage. Names, bars
// and percentages each start in one column; a long name keeps its last
// part ("stage2/block1/sh…/conv"), which tells a network's layers apart.
// NaN and ±Inf are written as they are beside an empty bar, a value out of
// 0–1 beside an empty or a full one; layers that do not fit are counted.
func sparsityBars(vals []layerValue, st styles, w, h int) []string {
	if len(vals) == 0 {
		return []string{st.dim.Render(truncate("no layer's sparsity yet: recorded at each epoch's end", w))}
	}
	shown, more := vals, 0
	if len(vals) > h {
		shown = vals[:max(0, h-1)]
		more = len(vals) - len(shown)
	}
	nameW := 1
	for _, lv := range shown {
		nameW = max(nameW, ansi.StringWidth(lv.layer))
	}
	nameW = min(nameW, max(6, w-percentW-2-minBarW))
	barW := min(maxBarW, w-nameW-percentW-2)
	var out []string
	for _, lv := range shown {
		line := pad(shortenName(lv.layer, nameW), nameW) + " "
		if barW > 0 {
			full := 0
			if !math.IsNaN(lv.value) && !math.IsInf(lv.value, 0) {
				full = int(math.Round(math.Min(1, math.Max(0, lv.value)) * float64(barW)))
			}
			line += st.bar.Render(strings.Repeat("█", full)) + st.dim.Render(strings.Repeat("░", barW-full)) + " "
		}
		out = append(out, truncate(line+padLeft(runs.FormatPercent(lv.value), percentW), w))
	}
	if more > 0 {
		out = append(out, st.dim.Render(truncate(fmt.Sprintf("+%d more layers", more), w)))
	}
	return out
}

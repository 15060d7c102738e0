package tui

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// The quantization panel: what a quantized run's view shows of its int8
// model. A quantize stage measures once, when it converts, so these are
// the stage's results rather than series: a few lines of the trade-off
// (bytes, accuracy, latency) and a row per quantized layer with its
// signal-to-quantization-noise ratios and observed input range, which is
// where a reader looks for the layer that costs the accuracy. The names
// are those pkg/quant records; the dashboard does not import it (it links
// GoMLX), and it finds the results by their names, never by a stage kind's.
const (
	f32BytesMetric     = "f32_bytes"
	int8BytesMetric    = "int8_bytes"
	sizeRatioMetric    = "size_ratio"
	f32MsMetric        = "f32_batch64_ms"
	int8MsMetric       = "int8_batch64_ms"
	speedupMetric      = "int8_speedup"
	dropMetric         = "int8_accuracy_drop_pp" // percentage points, f32 − int8
	agreementMetric    = "int8_agreement"        // int8 picks the float model's class
	fakeQuantMetric    = "int8_fakequant_agreement"
	qatRangesMetric    = "qat_ranges" // layers whose input range QAT learned
	weightSQNRPrefix   = "weight_sqnr_db/"
	inputSQNRPrefix    = "input_sqnr_db/"
	inputMinPrefix     = "input_min/"
	inputMaxPrefix     = "input_max/"
	inputScalePrefix   = "input_scale/"
	f32AccuracyPrefix  = "f32_"  // + split + "_accuracy"
	int8AccuracyPrefix = "int8_" // + split + "_accuracy"
)

// quantColumns are the layer table's columns after the layer's name, in
// the order they give way when the panel is narrow: the scale follows
// from the range, and the range matters less than the SQNRs it explains.
var quantColumns = []struct {
	title, prefix string
	format        func(float64) string
	pair          bool // shown only with the next column: a range's two ends
}{
	{"W dB", weightSQNRPrefix, formatDB, false},
	{"IN dB", inputSQNRPrefix, formatDB, false},
	{"in min", inputMinPrefix, formatShort, true},
	{"in max", inputMaxPrefix, formatShort, false},
	{"scale", inputScalePrefix, formatShort, false},
}

// isQuantResult says whether a recorded metric is one only a conversion
// to int8 writes.
func isQuantResult(name string) bool {
	if name == int8BytesMetric {
		return true
	}
	for _, c := range quantColumns {
		if strings.HasPrefix(name, c.prefix) {
			return true
		}
	}
	return false
}

func hasQuantResults(m map[string]float64) bool {
	for k := range m {
		if isQuantResult(k) {
			return true
		}
	}
	return false
}

// quantResults are the results of run r's newest conversion to int8: its
// stage's metrics, recorded as the stage ends (so while later stages run),
// else the final metrics, which hold the same once the run ended; nil
// when the run converted nothing.
func quantResults(r *runs.Run) map[string]float64 {
	for i := len(r.Stages) - 1; i >= 0; i-- {
		if hasQuantResults(r.Stages[i].Metrics) {
			return r.Stages[i].Metrics
		}
	}
	if hasQuantResults(r.Final) {
		return r.Final
	}
	return nil
}

// quantValue is metric name of run r's conversion, as the compare table
// shows it: from the quantize stage's results, else the final metrics.
func quantValue(r *runs.Run, _ *seriesSet, name string) (float64, bool) {
	if m := quantResults(r); m != nil {
		if v, ok := m[name]; ok {
			return v, true
		}
	}
	v, ok := r.Final[name]
	return v, ok
}

// quantLayer is one quantized layer's row: its values by column prefix.
type quantLayer struct {
	name   string
	values map[string]float64
}

// quantLayers are the layers results m reports, in name order.
func quantLayers(m map[string]float64) []quantLayer {
	byName := map[string]map[string]float64{}
	for k, v := range m {
		for _, c := range quantColumns {
			if layer, ok := strings.CutPrefix(k, c.prefix); ok {
				if byName[layer] == nil {
					byName[layer] = map[string]float64{}
				}
				byName[layer][c.prefix] = v
			}
		}
	}
	out := make([]quantLayer, 0, len(byName))
	for n, vs := range byName {
		out = append(out, quantLayer{n, vs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// quantSummary is the trade-off in as many lines as results m holds
// figures for, most asked first: size, accuracy, agreement, latency.
func quantSummary(m map[string]float64) []string {
	get := func(k string) string {
		v, ok := m[k]
		switch {
		case !ok:
			return "-"
		case k == agreementMetric || k == fakeQuantMetric:
			return runs.FormatPercent(v) // fractions the name does not mark as one
		}
		return runs.FormatMetric(k, v)
	}
	has := func(ks ...string) bool {
		for _, k := range ks {
			if _, ok := m[k]; ok {
				return true
			}
		}
		return false
	}
	var out []string
	if has(f32BytesMetric, int8BytesMetric) {
		line := "size " + get(f32BytesMetric) + " → " + get(int8BytesMetric) + " bytes"
		if v, ok := m[sizeRatioMetric]; ok {
			line += " (" + formatTimes(v) + ")"
		}
		out = append(out, line)
	}
	// The split is the one the stage checked on: f32_<split>_accuracy.
	var splits []string
	for k := range m {
		if s, ok := strings.CutPrefix(k, f32AccuracyPrefix); ok && strings.HasSuffix(s, "_accuracy") {
			splits = append(splits, strings.TrimSuffix(s, "_accuracy"))
		}
	}
	sort.Strings(splits)
	for _, s := range splits {
		line := s + " acc " + get(f32AccuracyPrefix+s+"_accuracy") + " → " + get(int8AccuracyPrefix+s+"_accuracy")
		if v, ok := m[dropMetric]; ok {
			line += " (" + formatSigned(-v) + " pp)" // a drop reads as a fall: -0.04 pp
		}
		out = append(out, line)
	}
	if has(agreementMetric, fakeQuantMetric) {
		out = append(out, "agree f32 "+get(agreementMetric)+" · fake-quant "+get(fakeQuantMetric))
	}
	if has(f32MsMetric, int8MsMetric) {
		line := "batch 64 " + get(f32MsMetric) + " → " + get(int8MsMetric)
		if v, ok := m[speedupMetric]; ok {
			line += " (" + formatTimes(v) + ")"
		}
		out = append(out, line)
	}
	return out
}

// quantization draws the quantization panel of run r in exactly w×h: a
// title with the layers counted, the summary lines, then the layer table.
// When the height is short the summary lines give way from the end, so
// that the table keeps two lines: its header and a row, or the count.
func quantization(r *runs.Run, st styles, w, h int) string {
	m := quantResults(r)
	layers := quantLayers(m)
	note := fmt.Sprintf("int8 · %d layers", len(layers))
	if len(layers) == 1 {
		note = "int8 · 1 layer"
	}
	if v, ok := m[qatRangesMetric]; ok && v > 0 {
		note += " · " + runs.FormatCount(v) + " QAT ranges"
	}
	lines := []string{truncate(st.bold.Render("quantization")+" "+st.dim.Render(note), w)}
	summary := quantSummary(m)
	tableH := h - 1 - len(summary)
	if want := min(2, 1+len(layers)); tableH < want {
		keep := max(0, len(summary)-(want-tableH))
		summary, tableH = summary[:keep], h-1-keep
	}
	for _, s := range summary {
		lines = append(lines, truncate(s, w))
	}
	lines = append(lines, quantTable(layers, st, w, tableH)...)
	return fit(strings.Join(lines, "\n"), w, h)
}

// quantTable lays layers out in at most h lines of width w: a header and
// a row per layer, each column right-aligned under its title and as wide
// as its widest cell. Columns that do not fit give way from the right; a
// long name keeps its last part, as the sparsity bars do; layers that do
// not fit are counted.
func quantTable(layers []quantLayer, st styles, w, h int) []string {
	if h <= 0 {
		return nil
	}
	if len(layers) == 0 {
		return []string{st.dim.Render(truncate("no layer was quantized", w))}
	}
	shown, more := layers, 0
	if len(layers) > h-1 {
		shown = layers[:max(0, h-2)]
		more = len(layers) - len(shown)
	}
	// Widths are those of every layer, shown or not, so the columns stay
	// put when the panel's height changes.
	nameW := len("layer")
	for _, l := range layers {
		nameW = max(nameW, ansi.StringWidth(l.name))
	}
	cells := make([][]string, len(quantColumns)) // by column, then layer
	widths := make([]int, len(quantColumns))
	all := nameW
	for c, col := range quantColumns {
		widths[c] = ansi.StringWidth(col.title)
		for _, l := range layers {
			text := "-"
			if v, ok := l.values[col.prefix]; ok {
				text = col.format(v)
			}
			cells[c] = append(cells[c], text)
			widths[c] = max(widths[c], ansi.StringWidth(text))
		}
		all += 1 + widths[c]
	}
	// Names give up width first (down to ten cells, which keep a layer's
	// last part), then columns from the right.
	nameW = max(min(nameW, 10), nameW-max(0, all-w))
	cols, used := 0, nameW
	for cols < len(quantColumns) {
		need := 1 + widths[cols]
		if quantColumns[cols].pair {
			need += 1 + widths[cols+1]
		}
		if used+need > w {
			break
		}
		used += 1 + widths[cols]
		cols++
	}
	header := pad("layer", nameW)
	for c := range cols {
		header += " " + padLeft(quantColumns[c].title, widths[c])
	}
	out := []string{st.dim.Render(truncate(header, w))}
	for i, l := range shown {
		line := pad(shortenName(l.name, nameW), nameW)
		for c := range cols {
			line += " " + padLeft(cells[c][i], widths[c])
		}
		out = append(out, truncate(line, w))
	}
	if more > 0 {
		out = append(out, st.dim.Render(truncate(fmt.Sprintf("+%d more layers", more), w)))
	}
	return out
}

// formatDB prints an SQNR to a tenth of a decibel, which is as much as
// tells two quantizations apart; +Inf is a layer quantized exactly.
func formatDB(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return runs.FormatValue(v)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// formatShort prints a range end or a scale in three significant digits,
// narrower than runs.FormatValue's four, so the whole table fits a
// 40-cell panel: -0.424, 2.82, 0.0127.
func formatShort(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return runs.FormatValue(v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// formatTimes prints a ratio: 3.80×; NaN and infinities as they are.
func formatTimes(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return runs.FormatValue(v)
	}
	return fmt.Sprintf("%.2f×", v)
}

// formatSigned prints a change with its sign: +0.12, -0.04.
func formatSigned(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return runs.FormatValue(v)
	}
	if v == 0 {
		v = 0 // not "-0.00"
	}
	return fmt.Sprintf("%+.2f", v)
}

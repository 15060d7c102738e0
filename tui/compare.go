package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// compareView overlays one metric of several runs on one chart, above a
// table of their final metrics side by side.
type compareView struct {
	ids       []string
	metric    string // "" until the series arrive: the first preferred one present
	smoothing float64
	logY      bool
	colOffset int // first metric column shown in the table
	rowOffset int // first run shown in the table
}

// preferredMetrics are offered first, in this order, when runs have them.
var preferredMetrics = []string{"train_loss", "validation_loss", "loss", "validation_accuracy", "train_accuracy",
	"learning_rate", "samples_per_s"}

// tradeoffColumns lead the table when runs report them (a pruning,
// quantization or distillation report's trade-off), then the usual results.
var tradeoffColumns = []string{"test_accuracy", "accuracy", "params", "nonzeros", "size_bytes", "bytes", "latency_ms",
	"flops", "test_loss", "validation_accuracy", "wall_s", "samples_per_s", "ms_per_step"}

// metrics lists the series the compared runs have, preferred ones first.
func (c compareView) metrics(series map[string]*seriesSet) []string {
	have := map[string]bool{}
	for _, id := range c.ids {
		if s := series[id]; s != nil {
			for _, n := range s.names {
				have[n] = true
			}
		}
	}
	var out []string
	for _, n := range preferredMetrics {
		if have[n] {
			out = append(out, n)
			delete(have, n)
		}
	}
	rest := make([]string, 0, len(have))
	for n := range have {
		rest = append(rest, n)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func (c compareView) currentMetric(series map[string]*seriesSet) string {
	ms := c.metrics(series)
	if contains(ms, c.metric) {
		return c.metric
	}
	if len(ms) > 0 {
		return ms[0]
	}
	return ""
}

func (c compareView) update(msg tea.KeyMsg, k keyMap, series map[string]*seriesSet) (compareView, bool) {
	ms := c.metrics(series)
	cur := c.currentMetric(series)
	idx := 0
	for i, m := range ms {
		if m == cur {
			idx = i
		}
	}
	switch {
	case key.Matches(msg, k.NextMetric) && len(ms) > 0:
		c.metric = ms[(idx+1)%len(ms)]
	case key.Matches(msg, k.PrevMetric) && len(ms) > 0:
		c.metric = ms[(idx+len(ms)-1)%len(ms)]
	case key.Matches(msg, k.Smooth):
		c.smoothing = nextSmoothing(c.smoothing)
	case key.Matches(msg, k.LogScale):
		c.logY = !c.logY
	case key.Matches(msg, k.Down):
		c.rowOffset = min(c.rowOffset+1, max(0, len(c.ids)-1))
	case key.Matches(msg, k.Up):
		c.rowOffset = max(0, c.rowOffset-1)
	case msg.String() == "]":
		c.colOffset++
	case msg.String() == "[":
		c.colOffset = max(0, c.colOffset-1)
	default:
		return c, false
	}
	return c, true
}

// labels name the compared runs so they can be told apart: variant runs
// of one recipe ("optimizers-compare/adam") by their variant, other runs
// by name; runs that share a name by the recipe parameters that differ
// between them ("adam lr=1e-3", "sgd lr=0.1"), else by their id.
func labels(rs []*runs.Run) []string {
	out := make([]string, len(rs))
	prefix := commonGroupPrefix(rs)
	seen := map[string]int{}
	for i, r := range rs {
		out[i] = strings.TrimPrefix(r.Name, prefix)
		seen[out[i]]++
	}
	unique := true
	for _, n := range seen {
		unique = unique && n == 1
	}
	if unique {
		return out
	}

	differ := map[string]bool{}
	for _, a := range rs {
		for k, v := range a.Params {
			for _, b := range rs {
				if b.Params[k] != v {
					differ[k] = true
				}
			}
		}
	}
	keys := make([]string, 0, len(differ))
	for k := range differ {
		if !contains([]string{"name", "description", "group", "variant"}, k) {
			keys = append(keys, k)
		}
	}
	// Names of things (optimizer, model) read best first.
	sort.Slice(keys, func(i, j int) bool {
		ni, nj := strings.HasSuffix(keys[i], ".name"), strings.HasSuffix(keys[j], ".name")
		if ni != nj {
			return ni
		}
		return keys[i] < keys[j]
	})
	sameName := len(seen) == 1
	for i, r := range rs {
		var parts []string
		if !sameName || len(keys) == 0 {
			parts = append(parts, out[i])
		}
		for _, k := range keys {
			v, ok := r.Params[k]
			switch {
			case !ok:
			case strings.HasSuffix(k, ".name"):
				parts = append(parts, v) // "adam" says "optimizer=adam"
			default:
				parts = append(parts, shortParam(k)+"="+v)
			}
		}
		if len(keys) == 0 {
			parts = append(parts, shortID(r.ID))
		}
		out[i] = strings.Join(parts, " ")
	}
	return out
}

// commonGroupPrefix is "name/" when every run is a variant of recipe name.
func commonGroupPrefix(rs []*runs.Run) string {
	prefix := ""
	for i, r := range rs {
		j := strings.IndexByte(r.Name, '/')
		if j < 0 {
			return ""
		}
		if i == 0 {
			prefix = r.Name[:j+1]
		} else if r.Name[:j+1] != prefix {
			return ""
		}
	}
	return prefix
}

// paramAbbrev shortens the parameter names that label comparisons most.
var paramAbbrev = map[string]string{"learning_rate": "lr", "weight_decay": "wd", "batch_size": "batch"}

// shortParam keeps the informative end of a dotted parameter name:
// stages.0.train.optimizer.name -> optimizer, data.batch_size -> batch_size.
func shortParam(k string) string {
	parts := strings.Split(k, ".")
	last := parts[len(parts)-1]
	if last == "name" && len(parts) > 1 {
		return parts[len(parts)-2]
	}
	if a, ok := paramAbbrev[last]; ok {
		return a
	}
	return last
}

func (c compareView) view(rows map[string]runRow, series map[string]*seriesSet, serr map[string]error, st styles, w, h int, cache *chartCache) string {
	var rs []*runs.Run
	for _, id := range c.ids {
		if r, ok := rows[id]; ok {
			rs = append(rs, r.run)
		}
	}
	if len(rs) < 2 {
		return fit(st.dim.Render("Mark two or more runs with space in the runs view (a marks all shown), then press c."), w, h)
	}
	metric := c.currentMetric(series)
	labs := labels(rs)

	smoothing := "off"
	if c.smoothing > 0 {
		smoothing = fmt.Sprintf("%.1f", c.smoothing)
	}
	log := "off"
	if c.logY {
		log = "on"
	}
	head := st.bold.Render(fmt.Sprintf("Comparing %d runs", len(rs))) + st.dim.Render(" · metric ") +
		st.bold.Render("‹ "+runs.OrDash(metric)+" ›") + st.dim.Render(" ←/→ · smoothing "+smoothing+" · log scale "+log)

	tableH := min(len(rs)+1, max(3, h/3))
	chartH := h - 1 - tableH
	// Series that could not be read say so above the chart.
	for i, r := range rs {
		if err := serr[r.ID]; err != nil {
			head += "\n" + st.errorText.Render(truncate("cannot read metrics of "+labs[i]+": "+runs.FirstLine(err.Error()), w))
			chartH--
		}
	}
	spec := chartSpec{title: runs.OrDash(metric), logY: c.logY, empty: "no points of this metric yet", clampFraction: runs.IsFraction(metric)}
	if runs.IsFraction(metric) && !c.logY {
		spec.format = func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
	}
	for i, r := range rs {
		var pts []runs.Point
		if s := series[r.ID]; s != nil {
			pts = s.byName[metric]
		}
		line := chartLine{label: labs[i], style: seriesStyle(i), marker: seriesMarker(i)}
		if len(pts) > 0 {
			cv := finite(curve(pts))
			if len(cv) > 20 {
				cv = smooth(cv, c.smoothing)
			}
			if c.logY {
				cv = logScale(cv)
			}
			line.points = cv
			line.last = runs.FormatMetric(metric, pts[len(pts)-1].Value)
		}
		spec.lines = append(spec.lines, line)
	}
	chart := cache.render(spec, w, max(3, chartH), st)
	table := c.table(rs, labs, metric, series, st, w, tableH)
	return fit(head+"\n"+chart+"\n"+table, w, h)
}

// compareColumn is one column of the compare table: a value per run
// (ok false: the run has none, shown "-").
type compareColumn struct {
	title  string
	values []float64
	ok     []bool
	format func(float64) string
	dir    int // as higherIsBetter: which value is starred
}

// metricColumn is a column of metric name, formatted and starred by its name.
func metricColumn(title, name string) compareColumn {
	return compareColumn{title: title, format: func(v float64) string { return runs.FormatMetric(name, v) },
		dir: higherIsBetter(name)}
}

// summaryColumns are the table's own columns after the chosen metric's,
// as the registered stage kinds declare them (results.Column): a
// pruning's sparsity and the weights it left, which the trade-off of a
// pruned run against a dense one turns on; a quantization's int8 file
// size, shrinkage and latency; a distillation's gap closed. Each is shown
// when a compared run has it.
func summaryColumns() []results.Column {
	var out []results.Column
	for _, kind := range recipe.Kinds() {
		d, _ := recipe.Declared(kind)
		out = append(out, d.Compare...)
	}
	return out
}

// columnValue is a run's newest value of name: its final metric, else
// (while it runs) the newest point of the series, else the newest stage
// result — a quantize stage's, recorded before the run ends.
func columnValue(r *runs.Run, set *seriesSet, name string) (float64, bool) {
	if v, ok := latest(r, set, name); ok {
		return v, true
	}
	return stageResult(r, set, name)
}

// table: one row per run (its marker is the chart's legend), the chosen
// metric's last and best values, the summary columns, then final metrics
// with the best of each column marked.
func (c compareView) table(rs []*runs.Run, labs []string, metric string, series map[string]*seriesSet, st styles, w, h int) string {
	var cols []compareColumn
	last := metricColumn("last "+metric, metric)
	best := metricColumn("best "+metric, metric)
	higher := higherIsBetter(metric)
	for _, r := range rs {
		var pts []runs.Point
		if s := series[r.ID]; s != nil {
			pts = s.byName[metric]
		}
		if len(pts) == 0 {
			last.values, last.ok = append(last.values, 0), append(last.ok, false)
			best.values, best.ok = append(best.values, 0), append(best.ok, false)
			continue
		}
		// The best number seen: NaN only when every value is NaN.
		b := math.NaN()
		for _, p := range pts {
			if math.IsNaN(p.Value) {
				continue
			}
			if math.IsNaN(b) || (higher == 1 && p.Value > b) || (higher != 1 && p.Value < b) {
				b = p.Value
			}
		}
		last.values, last.ok = append(last.values, pts[len(pts)-1].Value), append(last.ok, true)
		best.values, best.ok = append(best.values, b), append(best.ok, true)
	}
	if metric != "" {
		cols = append(cols, last)
		if higher != 0 {
			cols = append(cols, best)
		}
	}
	declared := summaryColumns()
	for _, sc := range declared {
		cl := compareColumn{title: sc.Title, format: sc.Format.Print, dir: sc.Better}
		if sc.Format == results.Auto {
			name := sc.Name
			cl.format = func(v float64) string { return runs.FormatMetric(name, v) }
		}
		found := false
		for _, r := range rs {
			v, ok := columnValue(r, series[r.ID], sc.Name)
			cl.values, cl.ok = append(cl.values, v), append(cl.ok, ok)
			found = found || ok
		}
		if found {
			cols = append(cols, cl)
		}
	}
	// Final metrics present in any run, but those a summary column shows:
	// trade-off columns first.
	have := map[string]bool{}
	for _, r := range rs {
		for k := range r.Final {
			have[k] = true
		}
	}
	for _, sc := range declared {
		delete(have, sc.Name)
	}
	var finals []string
	for _, k := range tradeoffColumns {
		if have[k] {
			finals = append(finals, k)
			delete(have, k)
		}
	}
	var rest []string
	for k := range have {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	finals = append(finals, rest...)
	for _, k := range finals {
		cl := metricColumn(k, k)
		for _, r := range rs {
			v, ok := r.Final[k]
			cl.values, cl.ok = append(cl.values, v), append(cl.ok, ok)
		}
		cols = append(cols, cl)
	}

	labelW := 12
	for _, l := range labs {
		labelW = max(labelW, min(36, len([]rune(l))+2))
	}
	labelW = min(labelW, max(12, w/4))
	const statusW = 10
	colW := func(cl compareColumn) int { return max(9, min(20, len(cl.title))) }
	off := min(c.colOffset, max(0, len(cols)-1))
	avail := w - labelW - statusW - 2
	var shownCols []compareColumn
	for _, cl := range cols[off:] {
		if avail < colW(cl)+1 {
			break
		}
		avail -= colW(cl) + 1
		shownCols = append(shownCols, cl)
	}
	header := pad("  RUN", labelW) + " " + pad("STATUS", statusW)
	for _, cl := range shownCols {
		header += " " + padLeft(cl.title, colW(cl))
	}
	if hidden := len(cols) - off - len(shownCols); hidden > 0 || off > 0 {
		header += st.dim.Render(fmt.Sprintf(" [ ] +%d", hidden+off))
	}
	lines := []string{st.header.Render(truncate(header, w))}
	first := 0
	if len(rs) > h-1 {
		first = min(c.rowOffset, len(rs)-(h-2))
	}
	for i, r := range rs {
		if i < first {
			continue
		}
		line := seriesStyle(i).Render(string(seriesMarker(i))) + " " + pad(labs[i], labelW-2) + " " +
			st.status[r.Status].Render(pad(statusSymbol(r.Status)+" "+string(r.Status), statusW))
		for _, cl := range shownCols {
			text := "-"
			if cl.ok[i] {
				text = cl.format(cl.values[i])
				if isBest(cl.values, cl.ok, i, cl.dir) {
					text = st.bold.Render(text + "*")
				}
			}
			line += " " + padLeft(text, colW(cl))
		}
		lines = append(lines, line)
	}
	if len(lines) > h || first > 0 {
		shown := min(len(lines), h-1) - 1
		lines = append(lines[:shown+1], st.dim.Render(fmt.Sprintf("  ↕ runs %d–%d of %d (↑/↓)", first+1, first+shown, len(rs))))
	}
	return fit(strings.Join(lines, "\n"), w, h)
}

// higherIsBetter: 1 for accuracies and throughput, -1 for losses, times
// and sizes, 0 when the name does not say.
func higherIsBetter(name string) int {
	switch {
	case strings.Contains(name, "accuracy") || name == "samples_per_s":
		return 1
	case strings.Contains(name, "loss") || strings.HasSuffix(name, "_s") || strings.HasPrefix(name, "ms_") ||
		strings.HasSuffix(name, "_ms") || name == "params" || name == "nonzeros" || strings.HasSuffix(name, "bytes") ||
		name == "flops":
		return -1
	}
	return 0
}

// isBest says whether values[i] is the column's best (ties included) among
// two or more values that are not all equal; NaN is never best, nor
// compared.
func isBest(values []float64, ok []bool, i, dir int) bool {
	if dir == 0 {
		return false
	}
	if math.IsNaN(values[i]) {
		return false
	}
	n, differ := 0, false
	for j := range values {
		if !ok[j] || math.IsNaN(values[j]) {
			continue
		}
		n++
		differ = differ || values[j] != values[i]
		if (dir > 0 && values[j] > values[i]) || (dir < 0 && values[j] < values[i]) {
			return false
		}
	}
	return n >= 2 && differ
}

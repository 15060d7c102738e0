package tui

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// The table panel: what a kind whose stage measures once (a quantize
// stage converting to int8) declares to show of its results, since they
// are no series: a few headline lines of the trade-off and a row per
// member of its column families (a layer, with its SQNRs and input range),
// which is where a reader looks for the layer that costs the accuracy.
// Everything — names, formats, lines — comes from the kind's declaration
// (results.Table); the dashboard does not import the kind's package (it
// links GoMLX).

// tableResults are the results of run r's newest stage that recorded the
// table's (its stage's metrics, recorded as the stage ends, so while later
// stages run), else the final metrics, which hold the same once the run
// ended; nil when the run recorded none.
func tableResults(r *runs.Run, t *results.Table) map[string]float64 {
	for i := len(r.Stages) - 1; i >= 0; i-- {
		if hasTable(t, r.Stages[i].Metrics) {
			return r.Stages[i].Metrics
		}
	}
	if hasTable(t, r.Final) {
		return r.Final
	}
	return nil
}

// hasTable says whether results m are the table's: they hold its marker
// or a member of a column's family, which only its kind records.
func hasTable(t *results.Table, m map[string]float64) bool {
	if _, ok := m[t.Marker]; ok {
		return true
	}
	for k := range m {
		for _, c := range t.Columns {
			if strings.HasPrefix(k, c.Family) {
				return true
			}
		}
	}
	return false
}

// tableRow is one member's row (a layer): its values by column family.
type tableRow struct {
	name   string
	values map[string]float64
}

// tableRows are the members results m reports, in name order.
func tableRows(t *results.Table, m map[string]float64) []tableRow {
	byName := map[string]map[string]float64{}
	for k, v := range m {
		for _, c := range t.Columns {
			if member, ok := strings.CutPrefix(k, c.Family); ok {
				if byName[member] == nil {
					byName[member] = map[string]float64{}
				}
				byName[member][c.Family] = v
			}
		}
	}
	out := make([]tableRow, 0, len(byName))
	for n, vs := range byName {
		out = append(out, tableRow{n, vs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// placeholder is a {name} in a table line's text.
var placeholder = regexp.MustCompile(`\{[^{}]*(\{split\}[^{}]*)?\}`)

// tableLines are the declaration's headline lines that results m holds
// figures for, each placeholder printed in its result's declared format
// ("-" when m lacks it).
func tableLines(t *results.Table, declared []results.Result, m map[string]float64) []string {
	var out []string
	for _, l := range t.Lines {
		splits := []string{""}
		if l.PerSplit {
			splits = splitsOf(l.Needs[0], m)
		}
		for _, split := range splits {
			name := func(s string) string { return strings.ReplaceAll(s, "{split}", split) }
			present := false
			for _, n := range l.Needs {
				_, ok := m[name(n)]
				present = present || ok
			}
			if !present {
				continue
			}
			text := strings.ReplaceAll(l.Text, "{split} ", split+" ")
			text = placeholder.ReplaceAllStringFunc(text, func(p string) string {
				key := name(p[1 : len(p)-1])
				v, ok := m[key]
				if !ok {
					return "-"
				}
				r, _ := results.Lookup(declared, key)
				return r.Print(key, v)
			})
			out = append(out, text)
		}
	}
	return out
}

// splitsOf are the splits for which m holds a result named like pattern
// (f32_{split}_accuracy), in name order.
func splitsOf(pattern string, m map[string]float64) []string {
	before, after, _ := strings.Cut(pattern, "{split}")
	var out []string
	for k := range m {
		if s, ok := strings.CutPrefix(k, before); ok && strings.HasSuffix(s, after) && len(s) > len(after) {
			out = append(out, strings.TrimSuffix(s, after))
		}
	}
	sort.Strings(out)
	return out
}

// table draws a table panel of run r in exactly w×h: a title with the
// rows counted, the headline lines, then the rows. When the height is
// short the lines give way from the end, so that the table keeps two
// lines: its header and a row, or the count.
func table(p panel, r *runs.Run, st styles, w, h int) string {
	t := p.decl.Table
	m := tableResults(r, t)
	declared, _ := results.Allowed(recipe.Declared, p.kind, nil)
	rows := tableRows(t, m)
	note := fmt.Sprintf("%s · %d %ss", t.Note, len(rows), t.RowsName)
	if len(rows) == 1 {
		note = fmt.Sprintf("%s · 1 %s", t.Note, t.RowsName)
	}
	for _, item := range t.NoteItems {
		if v, ok := m[item.Name]; ok && v > 0 {
			note += " · " + item.Format.Print(v) + " " + item.Label
		}
	}
	lines := []string{truncate(st.bold.Render(p.title)+" "+st.dim.Render(note), w)}
	summary := tableLines(t, declared, m)
	tableH := h - 1 - len(summary)
	if want := min(2, 1+len(rows)); tableH < want {
		keep := max(0, len(summary)-(want-tableH))
		summary, tableH = summary[:keep], h-1-keep
	}
	for _, s := range summary {
		lines = append(lines, truncate(s, w))
	}
	lines = append(lines, tableBody(t, rows, st, w, tableH)...)
	return fit(strings.Join(lines, "\n"), w, h)
}

// tableBody lays rows out in at most h lines of width w: a header and
// a row per member, each column right-aligned under its title and as wide
// as its widest cell. Columns that do not fit give way from the right; a
// long name keeps its last part, as the sparsity bars do; layers that do
// not fit are counted.
func tableBody(t *results.Table, layers []tableRow, st styles, w, h int) []string {
	if h <= 0 {
		return nil
	}
	if len(layers) == 0 {
		return []string{st.dim.Render(truncate("no "+t.RowsName+" recorded", w))}
	}
	shown, more := layers, 0
	if len(layers) > h-1 {
		shown = layers[:max(0, h-2)]
		more = len(layers) - len(shown)
	}
	// Widths are those of every layer, shown or not, so the columns stay
	// put when the panel's height changes.
	nameW := len(t.RowsName)
	for _, l := range layers {
		nameW = max(nameW, ansi.StringWidth(l.name))
	}
	cells := make([][]string, len(t.Columns)) // by column, then row
	widths := make([]int, len(t.Columns))
	all := nameW
	for c, col := range t.Columns {
		widths[c] = ansi.StringWidth(col.Title)
		for _, l := range layers {
			text := "-"
			if v, ok := l.values[col.Family]; ok {
				text = col.Format.Print(v)
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
	for cols < len(t.Columns) {
		need := 1 + widths[cols]
		if t.Columns[cols].Pair {
			need += 1 + widths[cols+1]
		}
		if used+need > w {
			break
		}
		used += 1 + widths[cols]
		cols++
	}
	header := pad(t.RowsName, nameW)
	for c := range cols {
		header += " " + padLeft(t.Columns[c].Title, widths[c])
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
		out = append(out, st.dim.Render(truncate(fmt.Sprintf("+%d more %ss", more, t.RowsName), w)))
	}
	return out
}

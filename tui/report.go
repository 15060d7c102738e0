package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/charmbracelet/lipgloss"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// A run whose recipe ends in a report stage has a trade-off report in its
// folder (report.json, package report). The run view shows it in place of
// the charts (key r): the table's main columns, the seed's claims, and
// accuracy against model size drawn in the terminal, the Pareto front
// joined. The report is read by a poll, like everything else.

// reportRead is a run's report as a poll read it, or why it could not.
type reportRead struct {
	t   *report.Tradeoff
	err error
}

// hasReport tells from the store's record whether a stage of the run
// wrote a trade-off report (its results carry the claims).
func hasReport(r *runs.Run) bool {
	for _, st := range r.Stages {
		if _, ok := st.Metrics["claim_size_met"]; ok {
			return true
		}
	}
	return false
}

// reportBody draws the report in w×h.
func reportBody(rr *reportRead, st styles, w, h int) string {
	switch {
	case rr == nil:
		return st.dim.Render("no trade-off report for this run (a report stage writes one); r returns to the charts")
	case rr.err != nil:
		return st.errorText.Render(truncate("cannot read the trade-off report: "+runs.FirstLine(rr.err.Error()), w))
	}
	t := rr.t
	var lines []string
	var table strings.Builder
	if err := report.WriteText(&table, t); err != nil {
		return st.errorText.Render(err.Error())
	}
	for _, l := range strings.Split(strings.TrimRight(table.String(), "\n"), "\n") {
		if l == "" {
			break // the claims follow; drawn below with colour
		}
		lines = append(lines, truncate(l, w))
	}
	if len(lines) > 0 {
		lines[0] = st.header.Render(lines[0])
	}
	for _, c := range t.Claims() {
		verdict := st.ok.Render(c.Verdict())
		if !c.Met {
			verdict = st.errorText.Render(c.Verdict())
		}
		text := c.Detail
		if c.Why != "" {
			text += " " + c.Why
		}
		lines = append(lines, "", st.bold.Render(c.Seed)+" — "+verdict)
		lines = append(lines, strings.Split(lipgloss.NewStyle().Width(max(20, w-2)).Render(text), "\n")...)
	}
	top := strings.Join(lines, "\n")
	left := h - lipgloss.Height(top) - 1
	if left < 8 || w < 40 {
		return top
	}
	return top + "\n\n" + tradeoffChart(t, st, min(w, 100), min(left-1, 20))
}

// chartGlyphs marks each role's point: its initial; other models get digits.
var chartGlyphs = map[string]rune{"baseline": 'B', "quantized": 'Q', "pruned": 'P', "distilled": 'D', "combined": 'C'}

// tradeoffChart plots accuracy (%) against the model file's size (kB) in
// w×h cells, with a legend line.
func tradeoffChart(t *report.Tradeoff, st styles, w, h int) string {
	pts := report.PlotPoints(t, report.SizeAxis)
	var shown []report.PlotPoint
	for _, p := range pts {
		if p.Included {
			shown = append(shown, p)
		}
	}
	if len(shown) == 0 {
		return st.dim.Render("nothing to plot: no variant has both an accuracy and a size")
	}
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, p := range shown {
		x := p.X
		minX, maxX = math.Min(minX, x), math.Max(maxX, x)
		minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
	}
	padX, padY := math.Max((maxX-minX)*0.08, 0.05*maxX), math.Max((maxY-minY)*0.1, 0.1)
	chart := linechart.New(w, h-1, minX-padX, maxX+padX, minY-padY, maxY+padY,
		linechart.WithXYSteps(max(1, w/12), 2),
		linechart.WithXLabelFormatter(func(_ int, v float64) string { return runs.FormatCount(v) }),
		linechart.WithYLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%.2f", v) }))
	chart.DrawXYAxisAndLabel()
	var front []canvas.Float64Point
	for _, p := range shown {
		if p.OnFront {
			front = append(front, canvas.Float64Point{X: p.X, Y: p.Y})
		}
	}
	sort.Slice(front, func(i, j int) bool { return front[i].X < front[j].X })
	for i := 1; i < len(front); i++ {
		chart.DrawRuneLineWithStyle(front[i-1], front[i], '·', st.dim)
	}
	var legend []string
	digit := '1'
	for _, p := range shown {
		g, ok := chartGlyphs[p.Label]
		if !ok {
			g, digit = digit, digit+1
		}
		chart.DrawRuneWithStyle(canvas.Float64Point{X: p.X, Y: p.Y}, g, st.cursor)
		legend = append(legend, fmt.Sprintf("%c %s", g, p.Label))
	}
	caption := st.dim.Render(truncate(strings.Join(legend, "  ")+" · ··· Pareto front · accuracy (%) against model file (kB)", w))
	return chart.View() + "\n" + caption
}

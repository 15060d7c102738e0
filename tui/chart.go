package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/graph"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// chartLine is one series of a chart, already in chart coordinates.
type chartLine struct {
	label  string
	points []xy // x: step; y: value, log10(value) under a log scale
	last   string
	style  lipgloss.Style
	marker rune
}

// chartSpec is what to draw; renderChart draws it in a fixed box.
type chartSpec struct {
	title  string
	note   string // shown right of the title: smoothing, log scale
	lines  []chartLine
	logY   bool // y values are log10: axis labels show 10^y
	format func(float64) string
	legend bool // draw the legend above the plot
	empty  string
	// clampFraction keeps the y axis within 0–1 for fractions (accuracy,
	// sparsity), where padding past 100% would be meaningless.
	clampFraction bool
}

// chartCache memoizes drawn charts. View runs several times a second
// (ticks, polls, samples) while a chart changes only when its series grows,
// and drawing one costs a styled string per cell: keyed by everything the
// drawing depends on, an unchanged chart is drawn once. View and Update run
// on bubbletea's one event loop, so the cache needs no lock.
type chartCache struct {
	entries map[string]string
}

func newChartCache() *chartCache { return &chartCache{entries: map[string]string{}} }

func (c *chartCache) render(spec chartSpec, w, h int, st styles) string {
	if c == nil {
		return renderChart(spec, w, h, st)
	}
	k := spec.key(w, h)
	if s, ok := c.entries[k]; ok {
		return s
	}
	if len(c.entries) > 256 {
		clear(c.entries)
	}
	s := renderChart(spec, w, h, st)
	c.entries[k] = s
	return s
}

// key identifies what renderChart would draw: the points in full (by a
// checksum; series only grow, but smoothing rewrites them), sizes, labels.
func (spec chartSpec) key(w, h int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%v|%v|%v|%s|%d|%d|%v", spec.title, spec.note, spec.logY, spec.legend, spec.clampFraction,
		spec.empty, w, h, colourful())
	if spec.format != nil {
		b.WriteString("|f")
	}
	for _, l := range spec.lines {
		var sum float64
		for i, p := range l.points {
			sum += p.y*float64(i+1) + p.x
		}
		fmt.Fprintf(&b, "|%s|%s|%c|%v|%d|%x", l.label, l.last, l.marker, l.style.GetForeground(), len(l.points), math.Float64bits(sum))
	}
	return b.String()
}

// renderChart draws spec in exactly w×h cells: a title line, an optional
// legend, and an ntcharts line chart with step on x. Each series is drawn
// in braille dots (2×4 per cell) through ntcharts' braille grid; series
// with few points (per-epoch validation, an evaluation) also get their
// marker at every point, and without colours every series carries its
// marker, so lines stay tellable apart on a monochrome terminal.
func renderChart(spec chartSpec, w, h int, st styles) string {
	if w < 12 || h < 3 {
		return fit("", w, h)
	}
	title := st.bold.Render(spec.title)
	if spec.note != "" {
		title += " " + st.dim.Render(spec.note)
	}
	out := []string{pad(title, w)}
	if spec.legend {
		out = append(out, legendLines(spec.lines, w, 2)...)
	}
	ch := h - len(out)
	minX, maxX, minY, maxY, n := bounds(spec.lines, spec.logY, spec.clampFraction)
	if n == 0 || ch < 4 || w < 16 {
		msg := spec.empty
		if msg == "" {
			msg = "no points yet"
		}
		if n > 0 {
			msg = "(too small to plot: enlarge the terminal)"
		}
		out = append(out, st.dim.Render(msg))
		return fit(strings.Join(out, "\n"), w, h)
	}
	format := spec.format
	if format == nil {
		format = runs.FormatValue
	}
	yLabel := func(_ int, v float64) string {
		if spec.logY {
			v = math.Pow(10, v)
		}
		return format(v)
	}
	xLabel := func(_ int, v float64) string { return runs.FormatCount(math.Round(v)) }
	// A label every fourth row and about every twelve columns.
	yStep := max(2, (ch-2)/4)
	xStep := max(8, (w-8)/5)
	lc := linechart.New(w, ch, minX, maxX, minY, maxY,
		linechart.WithXYSteps(xStep, yStep),
		linechart.WithYLabelFormatter(yLabel),
		linechart.WithXLabelFormatter(xLabel),
		linechart.WithStyles(st.dim, st.dim, lipgloss.NewStyle()))
	lc.DrawXYAxisAndLabel()
	gw, gh := lc.GraphWidth(), lc.GraphHeight()
	if gw < 2 || gh < 1 {
		out = append(out, st.dim.Render("(too small to plot: enlarge the terminal)"))
		return fit(strings.Join(out, "\n"), w, h)
	}
	start := canvas.Point{X: lc.Origin().X + 1, Y: 0}
	mono := !colourful()
	for i, l := range spec.lines {
		if len(l.points) == 0 {
			continue
		}
		grid := graph.NewBrailleGrid(gw, gh, minX, maxX, minY, maxY)
		prev := grid.GridPoint(canvas.Float64Point{X: l.points[0].x, Y: l.points[0].y})
		grid.Set(prev)
		for _, p := range l.points[1:] {
			cur := grid.GridPoint(canvas.Float64Point{X: p.x, Y: p.y})
			for _, q := range graph.GetLinePoints(prev, cur) {
				grid.Set(q)
			}
			prev = cur
		}
		graph.DrawBraillePatterns(&lc.Canvas, start, grid.BraillePatterns(), l.style)

		// Markers: at every point of a sparse series; on a monochrome
		// terminal also along dense ones, staggered so they do not collide.
		sparse := len(l.points) <= max(2, gw/4)
		var marks []xy
		switch {
		case sparse:
			marks = l.points
		case mono:
			every := max(1, len(l.points)/4)
			for j := (i * every / max(1, len(spec.lines))) % every; j < len(l.points); j += every {
				marks = append(marks, l.points[j])
			}
			marks = append(marks, l.points[len(l.points)-1])
		}
		for _, p := range marks {
			g := grid.GridPoint(canvas.Float64Point{X: p.x, Y: p.y})
			lc.Canvas.SetCell(start.Add(canvas.Point{X: g.X / 2, Y: g.Y / 4}), canvas.NewCellWithStyle(l.marker, l.style))
		}
	}
	out = append(out, lc.View())
	return fit(strings.Join(out, "\n"), w, h)
}

// legendLines lays out "marker label value" entries in at most maxLines
// lines of width w, saying how many did not fit.
func legendLines(lines []chartLine, w, maxLines int) []string {
	var entries []string
	for _, l := range lines {
		e := l.style.Render(string(l.marker)) + " " + l.label
		if l.last != "" {
			e += " " + l.style.Render(l.last)
		}
		entries = append(entries, e)
	}
	var out []string
	cur := ""
	for i, e := range entries {
		sep := ""
		if cur != "" {
			sep = "  "
		}
		if ansi.StringWidth(cur+sep+e) <= w {
			cur += sep + e
			continue
		}
		if cur != "" {
			out = append(out, cur)
		}
		cur = e
		if len(out) == maxLines-1 && i < len(entries)-1 {
			// last line: keep what fits and count the rest
			rest := fmt.Sprintf(" +%d more", len(entries)-i-1)
			cur = truncate(cur, w-len(rest)) + rest
			break
		}
	}
	if cur != "" && len(out) < maxLines {
		out = append(out, cur)
	}
	for i := range out {
		out[i] = truncate(out[i], w)
	}
	return out
}

// bounds is the data range of all lines, padded so lines do not sit on the
// frame, but not past zero for values that are never negative nor past 1
// for fractions; a flat line gets a band around it.
func bounds(lines []chartLine, logY, fraction bool) (minX, maxX, minY, maxY float64, n int) {
	minX, minY = math.Inf(1), math.Inf(1)
	maxX, maxY = math.Inf(-1), math.Inf(-1)
	for _, l := range lines {
		for _, p := range l.points {
			minX, maxX = math.Min(minX, p.x), math.Max(maxX, p.x)
			minY, maxY = math.Min(minY, p.y), math.Max(maxY, p.y)
			n++
		}
	}
	if n == 0 {
		return 0, 1, 0, 1, 0
	}
	if maxX <= minX {
		minX, maxX = minX-1, maxX+1
	}
	lo, hi := minY, maxY
	span := maxY - minY
	if span <= 0 {
		span = math.Max(math.Abs(maxY)*0.1, 1e-6)
		minY, maxY = minY-span/2, maxY+span/2
	} else {
		minY, maxY = minY-span*0.05, maxY+span*0.05
	}
	if !logY {
		if lo >= 0 && minY < 0 {
			minY = 0
		}
		if fraction && hi <= 1 && maxY > 1 {
			maxY = 1
		}
	}
	return minX, maxX, minY, maxY, n
}

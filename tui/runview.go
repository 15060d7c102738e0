package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// runView shows one run: its stages with progress and ETA, live charts of
// every series it writes, and its recipe's parameters.
type runView struct {
	id           string
	smoothing    float64 // TensorBoard-style EMA weight; 0 is off
	logY         bool
	showParams   bool
	showReport   bool // the trade-off report in place of the charts
	page         int  // first chart shown
	paramsOffset int
	perPage      int // charts per page at the current size, kept for paging
	panels       int // charts the run has, kept for paging
}

func (v runView) update(msg tea.KeyMsg, k keyMap) (runView, bool) {
	switch {
	case key.Matches(msg, k.NextChart):
		if v.page+v.perPage < v.panels {
			v.page += v.perPage
		} else {
			v.page = 0
		}
	case key.Matches(msg, k.PrevChart):
		if v.page > 0 {
			v.page = max(0, v.page-v.perPage)
		} else if v.perPage > 0 && v.panels > 0 {
			v.page = (v.panels - 1) / v.perPage * v.perPage
		}
	case key.Matches(msg, k.Smooth):
		v.smoothing = nextSmoothing(v.smoothing)
	case key.Matches(msg, k.LogScale):
		v.logY = !v.logY
	case key.Matches(msg, k.Report):
		v.showReport = !v.showReport
	case key.Matches(msg, k.Params):
		v.showParams = !v.showParams
		v.paramsOffset = 0
	case key.Matches(msg, k.Up) && v.showParams:
		v.paramsOffset = max(0, v.paramsOffset-1)
	case key.Matches(msg, k.Down) && v.showParams:
		v.paramsOffset++
	default:
		return v, false
	}
	return v, true
}

// maxStageLines is how many stages the timeline shows at once.
const maxStageLines = 4

// chartLayout is how many of n charts fit at once: columns of at least 40
// cells, rows of at least 10 lines, at most 3×3, and no empty row when
// fewer charts would leave one (they grow taller instead).
func chartLayout(w, h, n int) (cols, rows int) {
	cols = max(1, min(3, w/40))
	rows = max(1, min(3, h/10))
	if n > 0 {
		cols = min(cols, n)
		rows = max(1, min(rows, (n+cols-1)/cols))
	}
	return cols, rows
}

// geometry is the run view's layout at w×h: lines above the charts, the
// chart grid, and the widths of the charts and the params panel.
type geometry struct {
	topLines, bodyH, cols, rows, chartsW, paramsW int
}

func (v runView) geometry(row runRow, panels, w, h int) geometry {
	n := max(row.est.stages, len(row.run.Stages))
	g := geometry{topLines: 1 + min(n, maxStageLines)}
	if n == 0 || n > maxStageLines {
		g.topLines++
	}
	if hasError(row.run) {
		g.topLines++
	}
	g.bodyH = max(0, h-g.topLines-1)
	g.chartsW = w
	if v.showParams {
		if w >= 100 {
			g.paramsW = min(44, w/3)
			g.chartsW = w - g.paramsW - 1
		} else {
			g.paramsW, g.chartsW = w, 0
		}
	}
	g.cols, g.rows = chartLayout(g.chartsW, g.bodyH, panels)
	return g
}

// sync records what paging needs to know about the current run and size;
// Update calls it whenever the data, the size or a toggle changes.
func (v runView) sync(row runRow, set *seriesSet, w, h int) runView {
	v.panels = 0
	if set != nil {
		v.panels = len(panelsFor(set.names, row.run))
	}
	g := v.geometry(row, v.panels, w, h)
	v.perPage = g.cols * g.rows
	if v.page >= v.panels {
		v.page = 0
	}
	return v
}

// view draws the run in w×h. set may be nil while its series load; serr
// is why they could not be read, if so.
func (v runView) view(row runRow, set *seriesSet, serr error, rep *reportRead, st styles, w, h int, now time.Time, cache *chartCache) string {
	r := row.run
	var names []string
	if set != nil {
		names = set.names
	}
	panels := panelsFor(names, r)
	g := v.geometry(row, len(panels), w, h)
	var top []string
	top = append(top, v.header(row, st, w, now))
	if hasError(r) {
		top = append(top, st.errorText.Render(truncate("error: "+r.Error, w)))
	}
	top = append(top, v.stageLines(row, st, w, now)...)

	page := v.page
	if page >= len(panels) {
		page = 0
	}
	v.page, v.perPage = page, g.cols*g.rows
	toolbar := v.toolbar(st, len(panels), w)
	if serr != nil {
		toolbar = st.errorText.Render(truncate("cannot read metrics: "+runs.FirstLine(serr.Error()), w))
	}
	var body string
	switch {
	case v.showReport && g.chartsW > 0:
		toolbar = st.dim.Render(truncate("trade-off report · r: back to the charts", w))
		body = fit(reportBody(rep, st, g.chartsW, g.bodyH), g.chartsW, g.bodyH)
	case g.chartsW > 0:
		body = v.charts(panels, set, r, st, g.chartsW, g.bodyH, g.cols, g.rows, cache)
	}
	if g.paramsW > 0 {
		params := v.params(r, st, g.paramsW, g.bodyH)
		if g.chartsW > 0 {
			body = lipgloss.JoinHorizontal(lipgloss.Top, body, " ", params)
		} else {
			body = params
		}
	}
	out := strings.Join(top, "\n") + "\n" + toolbar + "\n" + body
	return fit(out, w, h)
}

// header says what the run is and where it stands; parts drop from the
// end when the line is too narrow.
func (v runView) header(row runRow, st styles, w int, now time.Time) string {
	r := row.run
	parts := []string{
		st.bold.Render(r.Name),
		st.status[r.Status].Render(strings.TrimSpace(row.statusText())),
	}
	e := row.est
	if f, ok := e.fraction(); ok && e.total > 0 {
		parts = append(parts, fmt.Sprintf("step %d/%d (%.0f%%)", e.step, e.total, 100*f))
	} else if e.step > 0 {
		parts = append(parts, fmt.Sprintf("step %d", e.step))
	}
	if e.etaOK && r.Status == runs.Running {
		parts = append(parts, st.bold.Render("ETA "+runs.FormatDuration(e.eta)))
	}
	parts = append(parts, runs.FormatDuration(row.duration))
	if r.Backend != "" {
		parts = append(parts, r.Backend)
	}
	parts = append(parts, "started "+r.Started.In(now.Location()).Format("15:04:05"), st.dim.Render(r.ID))
	sep := st.dim.Render(" · ")
	line := parts[0]
	for _, p := range parts[1:] {
		if lipgloss.Width(line+sep+p) > w {
			break
		}
		line += sep + p
	}
	return truncate(line, w)
}

// stageLines is the stage timeline: one line per stage of the recipe with
// its state, a progress bar for training, and its results once done.
func (v runView) stageLines(row runRow, st styles, w int, now time.Time) []string {
	r := row.run
	e := row.est
	n := max(e.stages, len(r.Stages))
	recorded := map[int]runs.StageResult{}
	for _, s := range r.Stages {
		recorded[s.Index] = s
	}
	pl := row.plan
	const maxLines = maxStageLines
	first := 0
	if n > maxLines && e.stage >= 0 {
		first = max(0, min(e.stage-1, n-maxLines))
	}
	var out []string
	barW := max(10, min(30, w/4))
	bar := progress.New(progress.WithWidth(barW), progress.WithSolidFill(string(colourAccent)),
		progress.WithColorProfile(lipgloss.ColorProfile()))
	for i := first; i < n && i < first+maxLines; i++ {
		ps := pl.stage(i)
		kind := "?"
		if ps.known {
			kind = ps.kind
		}
		s, ok := recorded[i]
		if ok {
			kind = s.Kind
		}
		status := runs.Status("")
		if ok {
			status = s.Status
		}
		sym := "·"
		if ok {
			sym = statusSymbol(status)
		}
		line := fmt.Sprintf("%s %d %-9s", sym, i+1, kind)
		if ok {
			line = st.status[status].Render(line)
		} else {
			line = st.dim.Render(line)
		}
		var detail string
		switch {
		case !ok && r.Status != runs.Running:
			detail = st.dim.Render("not run")
		case !ok:
			detail = st.dim.Render("pending")
			if ps.hasSteps && ps.steps > 0 {
				detail += st.dim.Render(fmt.Sprintf(" · %d steps", ps.steps))
			}
		case ps.hasSteps:
			frac, known := 0.0, false
			if i == e.stage {
				frac, known = e.stageFraction()
			}
			if status == runs.Finished {
				frac, known = 1, true
			}
			if known {
				detail = bar.ViewAs(frac) + " "
			}
			steps := s.Metrics["steps"]
			switch {
			case i == e.stage && e.stageTotal > 0 && status == runs.Running:
				detail += fmt.Sprintf("%d/%d steps", e.stageStep, e.stageTotal)
			case steps > 0:
				detail += fmt.Sprintf("%.0f steps", steps)
			case i == e.stage && e.stageStep > 0:
				detail += fmt.Sprintf("%d steps", e.stageStep)
			}
			if i == e.stage && status == runs.Running {
				if e.rate > 0 {
					detail += fmt.Sprintf(" · %.1f steps/s", e.rate)
				}
				if e.etaOK {
					detail += " · ETA " + runs.FormatDuration(e.eta)
				}
			}
			if acc, ok := s.Metrics["validation_accuracy"]; ok {
				detail += " · val " + runs.FormatPercent(acc)
			}
		default:
			detail = resultText(s.Metrics)
		}
		if ok {
			end := s.Finished
			if end.IsZero() {
				end = now
			}
			if !s.Started.IsZero() {
				detail += st.dim.Render(" · " + runs.FormatSeconds(end.Sub(s.Started).Seconds()))
			}
		}
		out = append(out, truncate(line+" "+detail, w))
	}
	switch {
	case n == 0 && r.Status == runs.Running:
		out = append(out, st.dim.Render("no stage has started yet (loading data and compiling)"))
	case n == 0:
		out = append(out, st.dim.Render("no stage ran"))
	case n > maxLines:
		out = append(out, st.dim.Render(fmt.Sprintf("  stages %d–%d of %d", first+1, min(n, first+maxLines), n)))
	}
	return out
}

// resultText lists a finished stage's metrics, accuracies first.
func resultText(m map[string]float64) string {
	var parts []string
	for _, k := range runs.SortMetricNames(m) {
		if k == "wall_s" {
			continue
		}
		parts = append(parts, strings.ReplaceAll(k, "_", " ")+" "+runs.FormatMetric(k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (v runView) toolbar(st styles, panels, w int) string {
	var parts []string
	if panels > 0 {
		last := min(panels, v.page+v.perPage)
		if v.page+1 == last {
			parts = append(parts, fmt.Sprintf("chart %d of %d", last, panels))
		} else {
			parts = append(parts, fmt.Sprintf("charts %d–%d of %d", v.page+1, last, panels))
		}
	}
	smoothing := "off"
	if v.smoothing > 0 {
		smoothing = fmt.Sprintf("%.1f", v.smoothing)
	}
	log := "off"
	if v.logY {
		log = "on"
	}
	parts = append(parts, "smoothing "+smoothing, "log scale "+log)
	return st.dim.Render(truncate(strings.Join(parts, " · "), w))
}

func (v runView) charts(panels []panel, set *seriesSet, run *runs.Run, st styles, w, h, cols, rows int, cache *chartCache) string {
	running := run.Status == runs.Running
	if set == nil {
		return fit(st.dim.Render("reading metrics…"), w, h)
	}
	if len(panels) == 0 && !running {
		return fit(st.dim.Render("no metrics recorded"), w, h)
	}
	if len(panels) == 0 {
		return fit(st.dim.Render("no metrics recorded yet: they appear within a second of the first steps"), w, h)
	}
	cw := (w - (cols - 1)) / cols
	rh := h / rows
	var grid []string
	for r := 0; r < rows; r++ {
		var cells []string
		for c := 0; c < cols; c++ {
			i := v.page + r*cols + c
			if i >= len(panels) {
				cells = append(cells, fit("", cw, rh))
				continue
			}
			switch d := panels[i].decl; {
			case d != nil && d.Table != nil:
				cells = append(cells, table(panels[i], run, st, cw, rh))
			case d != nil && d.Phases != nil:
				cells = append(cells, cache.render(v.phasesSpec(panels[i], set, run), cw, rh, st))
			case d != nil && d.Bars != nil:
				cells = append(cells, v.sparsity(panels[i], set, run, st, cw, rh, cache))
			default:
				cells = append(cells, cache.render(v.spec(panels[i], set), cw, rh, st))
			}
			if c < cols-1 {
				cells = append(cells, fit("", 1, rh))
			}
		}
		grid = append(grid, lipgloss.JoinHorizontal(lipgloss.Top, cells...))
	}
	return fit(strings.Join(grid, "\n"), w, h)
}

// spec turns a panel's series into chart lines with the view's smoothing
// and scale.
func (v runView) spec(p panel, set *seriesSet) chartSpec {
	spec := chartSpec{title: p.title, logY: v.logY, legend: true}
	if runs.IsFraction(p.series[0]) && !v.logY {
		spec.format = func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
	}
	for i, name := range p.series {
		pts := set.byName[name]
		if len(pts) == 0 {
			continue
		}
		c := finite(curve(pts))
		if len(c) > 20 {
			c = smooth(c, v.smoothing)
		}
		if v.logY {
			c = logScale(c)
		}
		spec.clampFraction = spec.clampFraction || runs.IsFraction(name)
		label := seriesLabel(p, name)
		spec.lines = append(spec.lines, chartLine{
			label:  label,
			points: c,
			last:   runs.FormatMetric(name, pts[len(pts)-1].Value),
			style:  seriesStyle(i),
			marker: seriesMarker(i),
		})
	}
	if v.logY {
		spec.note = "log"
	}
	return spec
}

// params shows the recipe's parameters as the tree they came from
// (data: batch_size: 64 …), scrolled by paramsOffset.
func (v runView) params(r *runs.Run, st styles, w, h int) string {
	lines := []string{st.bold.Render("params") + st.dim.Render(fmt.Sprintf(" (%d) ↑/↓ scroll", len(r.Params)))}
	if r.RecipePath != "" {
		lines = append(lines, st.label.Render("recipe ")+r.RecipePath)
	}
	// The data's classes first: an imbalanced training split shows here.
	tree := append(classLines(r.Plan, st, w), paramTree(r.Params, st)...)
	off := min(v.paramsOffset, max(0, len(tree)-(h-len(lines))))
	lines = append(lines, tree[off:]...)
	if len(r.Params) == 0 {
		lines = append(lines, st.dim.Render("none recorded"))
	}
	return fit(strings.Join(lines, "\n"), w, h)
}

// classLines lists each class's examples per split, as the runner
// recorded them in the plan, and the training split's imbalance.
func classLines(plan *runs.Plan, st styles, w int) []string {
	if plan == nil || len(plan.Classes) == 0 {
		return nil
	}
	lines := []string{st.label.Render("classes:") + st.dim.Render(" train/validation/test")}
	for _, c := range plan.Classes {
		lines = append(lines, fmt.Sprintf("  %s %d/%d/%d", c.Name, c.Train, c.Validation, c.Test))
	}
	if note := runs.Imbalance(plan.Classes); note != "" { // word-wrapped: it matters
		line := " "
		for _, word := range strings.Fields(note) {
			if lipgloss.Width(line+" "+word) > w && line != " " {
				lines = append(lines, st.errorText.Render(line))
				line = " "
			}
			line += " " + word
		}
		lines = append(lines, st.errorText.Render(line))
	}
	return lines
}

// paramTree lays dotted parameters out as nested keys, the way the recipe
// wrote them; a stage's index and kind stay on one line ("0.train:").
func paramTree(params map[string]string, st styles) []string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	split := func(k string) []string {
		parts := strings.Split(k, ".")
		var out []string
		for i := 0; i < len(parts); i++ {
			if _, err := strconv.Atoi(parts[i]); err == nil && i+1 < len(parts)-1 {
				out = append(out, parts[i]+"."+parts[i+1])
				i++
				continue
			}
			out = append(out, parts[i])
		}
		return out
	}
	var lines []string
	var prev []string
	for _, k := range keys {
		segs := split(k)
		common := 0
		for common < len(prev) && common < len(segs)-1 && prev[common] == segs[common] {
			common++
		}
		for i := common; i < len(segs)-1; i++ {
			lines = append(lines, strings.Repeat("  ", i)+st.label.Render(segs[i]+":"))
		}
		last := len(segs) - 1
		lines = append(lines, strings.Repeat("  ", last)+st.label.Render(segs[last]+":")+" "+params[k])
		prev = segs[:last]
	}
	return lines
}

// seriesLabel shortens a series name within its chart: the loss chart's
// train_loss is "train", sparsity/fc1 on the sparsity chart is "fc1".
func seriesLabel(p panel, name string) string {
	if len(p.series) < 2 {
		return name
	}
	if j := strings.IndexByte(name, '/'); j > 0 {
		return name[j+1:]
	}
	for _, suffix := range []string{"_loss", "_accuracy"} {
		if strings.HasSuffix(name, suffix) && p.title == suffix[1:] {
			return strings.TrimSuffix(name, suffix)
		}
	}
	return name
}

// hasError: a failed run's error is worth a line; a stopped run's "stopped" is not.
func hasError(r *runs.Run) bool {
	return r.Error != "" && !(r.Status == runs.Stopped && r.Error == "stopped")
}

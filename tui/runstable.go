package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// runRow is one run as the table shows it, derived on every poll.
type runRow struct {
	run       *runs.Run
	stopping  bool // the dashboard asked it to stop; not yet recorded
	plan      plan
	est       estimate
	best      string // e.g. "97.31% test"
	bestValue float64
	hasBest   bool
	duration  time.Duration
}

func (r runRow) statusText() string {
	if r.stopping && r.run.Status == runs.Running {
		return "■ stopping…"
	}
	return statusSymbol(r.run.Status) + " " + string(r.run.Status)
}

func (r runRow) stageText() string {
	e := r.est
	switch {
	case e.stage < 0 && r.run.Status == runs.Running:
		return "starting"
	case e.stage < 0:
		return "-"
	}
	return fmt.Sprintf("%d/%d %s", e.stage+1, max(e.stages, e.stage+1), shortKind(e.stageKind))
}

// shortKind abbreviates the longer stage kinds for the table.
func shortKind(k string) string {
	switch k {
	case "evaluate":
		return "eval"
	case "benchmark":
		return "bench"
	case "quantize":
		return "quant"
	}
	return k
}

func (r runRow) stepText() string {
	e := r.est
	if e.step == 0 && (e.total == 0 || r.run.Status != runs.Running) {
		return "-"
	}
	if e.total > 0 {
		return runs.FormatCount(float64(e.step)) + "/" + runs.FormatCount(float64(e.total))
	}
	return runs.FormatCount(float64(e.step))
}

// bestOf picks the metric that says how good a run is: its final test
// accuracy, else any evaluation accuracy, else the best validation accuracy
// seen so far.
func bestOf(r *runs.Run, p *runs.Progress) (string, float64, bool) {
	if v, ok := r.Final["test_accuracy"]; ok {
		return runs.FormatPercent(v) + " test", v, true
	}
	for i := len(r.Stages) - 1; i >= 0; i-- {
		m := r.Stages[i].Metrics
		for _, k := range runs.SortMetricNames(m) {
			if v := m[k]; strings.HasSuffix(k, "_accuracy") && k != "train_accuracy" {
				return runs.FormatPercent(v) + " " + strings.TrimSuffix(strings.TrimSuffix(k, "_accuracy"), "ation"), v, true
			}
		}
	}
	if p != nil && p.HasValidationAccuracy {
		return runs.FormatPercent(p.BestValidationAccuracy) + " val", p.BestValidationAccuracy, true
	}
	return "-", 0, false
}

type sortKey int

const (
	sortStarted sortKey = iota
	sortName
	sortStatus
	sortBest
	sortDuration
	sortProgress
	numSortKeys
)

var sortKeyNames = [...]string{"started", "name", "status", "best", "duration", "progress"}

// column of the runs table. Columns with a higher drop number go first
// when the terminal is narrow.
type column struct {
	title    string
	min, max int
	right    bool
	drop     int
	sort     sortKey
	cell     func(runRow) string
	width    int
}

func tableColumns() []column {
	none := sortKey(-1)
	return []column{
		{title: "NAME", min: 14, max: 32, sort: sortName, cell: func(r runRow) string { return r.run.Name }},
		{title: "STATUS", min: 13, max: 13, sort: sortStatus, cell: runRow.statusText},
		{title: "STAGE", min: 10, max: 14, drop: 2, sort: none, cell: runRow.stageText},
		{title: "STEP", min: 10, max: 11, right: true, drop: 1, sort: sortProgress, cell: runRow.stepText},
		{title: "BEST", min: 12, max: 12, right: true, drop: 3, sort: sortBest, cell: func(r runRow) string { return r.best }},
		{title: "TIME", min: 6, max: 7, right: true, drop: 2, sort: sortDuration, cell: func(r runRow) string { return runs.FormatDuration(r.duration) }},
		{title: "BACKEND", min: 7, max: 16, drop: 4, sort: none, cell: func(r runRow) string { return runs.OrDash(r.run.Backend) }},
		{title: "ID", min: 11, max: 11, drop: 5, sort: sortStarted, cell: func(r runRow) string { return shortID(r.run.ID) }},
		{title: "RECIPE", min: 12, max: 40, drop: 6, sort: none, cell: func(r runRow) string { return runs.OrDash(r.run.RecipePath) }},
	}
}

// layoutColumns fits columns to width: drop the least needed ones until
// the minimum widths fit, then grow the rest towards their maximum.
func layoutColumns(cols []column, width int) []column {
	const gutter, sep = 2, 1
	fits := func(cs []column) int {
		w := gutter
		for _, c := range cs {
			w += c.min + sep
		}
		return width - w
	}
	cs := append([]column(nil), cols...)
	for len(cs) > 1 && fits(cs) < 0 {
		worst := 0
		for i, c := range cs {
			if c.drop > cs[worst].drop {
				worst = i
			}
		}
		if cs[worst].drop == 0 {
			break
		}
		cs = append(cs[:worst], cs[worst+1:]...)
	}
	spare := max(0, fits(cs))
	for i := range cs {
		cs[i].width = cs[i].min
	}
	// The name column grows first: it is what a reader scans.
	if len(cs) > 0 && cs[0].title == "NAME" {
		g := min(spare, cs[0].max-cs[0].width)
		cs[0].width += g
		spare -= g
	}
	for spare > 0 {
		grew := false
		for i := range cs {
			if spare > 0 && cs[i].width < cs[i].max {
				cs[i].width++
				spare--
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	return cs
}

// runsTable is the runs view: every run in the store, sorted, filtered by
// typing after "/", with runs marked for comparison.
type runsTable struct {
	rows      []runRow
	shown     []int // indexes into rows, filtered and sorted
	cursor    int   // index into shown
	offset    int   // first shown row on screen
	marked    map[string]bool
	sort      sortKey
	desc      bool
	filter    textinput.Model
	filtering bool
	width     int
	height    int
	// err: the store could not be read; with no rows the table says so
	// rather than that there are no runs.
	err error
}

func newRunsTable() runsTable {
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "name, status, backend, recipe or id"
	ti.Cursor.SetMode(cursor.CursorStatic)
	return runsTable{marked: map[string]bool{}, sort: sortStarted, desc: true, filter: ti}
}

// setRows replaces the rows, keeping the cursor on the same run.
func (t runsTable) setRows(rows []runRow) runsTable {
	sel := ""
	if r, ok := t.selected(); ok {
		sel = r.run.ID
	}
	t.rows = rows
	for id := range t.marked {
		if !t.hasRun(id) {
			delete(t.marked, id)
		}
	}
	return t.refilter(sel)
}

func (t runsTable) hasRun(id string) bool {
	for _, r := range t.rows {
		if r.run.ID == id {
			return true
		}
	}
	return false
}

// refilter recomputes the shown rows and puts the cursor on run sel when shown.
func (t runsTable) refilter(sel string) runsTable {
	terms := strings.Fields(strings.ToLower(t.filter.Value()))
	t.shown = t.shown[:0]
	for i, r := range t.rows {
		if matches(r, terms) {
			t.shown = append(t.shown, i)
		}
	}
	less := t.less()
	sort.SliceStable(t.shown, func(a, b int) bool {
		ra, rb := t.rows[t.shown[a]], t.rows[t.shown[b]]
		if t.desc {
			return less(rb, ra)
		}
		return less(ra, rb)
	})
	t.cursor = min(t.cursor, max(0, len(t.shown)-1))
	for i, idx := range t.shown {
		if t.rows[idx].run.ID == sel {
			t.cursor = i
		}
	}
	return t.scroll()
}

func matches(r runRow, terms []string) bool {
	if len(terms) == 0 {
		return true
	}
	hay := strings.ToLower(strings.Join([]string{r.run.ID, r.run.Name, r.run.RecipePath, string(r.run.Status),
		r.run.Backend, r.est.stageKind}, " "))
	for _, t := range terms {
		if !strings.Contains(hay, t) {
			return false
		}
	}
	return true
}

func (t runsTable) less() func(a, b runRow) bool {
	byStart := func(a, b runRow) bool { return a.run.Started.Before(b.run.Started) }
	switch t.sort {
	case sortName:
		return func(a, b runRow) bool {
			if a.run.Name != b.run.Name {
				return a.run.Name < b.run.Name
			}
			return byStart(a, b)
		}
	case sortStatus:
		return func(a, b runRow) bool {
			if a.run.Status != b.run.Status {
				return a.run.Status < b.run.Status
			}
			return byStart(a, b)
		}
	case sortBest:
		return func(a, b runRow) bool {
			if a.hasBest != b.hasBest {
				return !a.hasBest
			}
			// A NaN (a diverged run) ranks below every number.
			if an, bn := math.IsNaN(a.bestValue), math.IsNaN(b.bestValue); an != bn {
				return an
			}
			if a.bestValue != b.bestValue && !math.IsNaN(a.bestValue) {
				return a.bestValue < b.bestValue
			}
			return byStart(a, b)
		}
	case sortDuration:
		return func(a, b runRow) bool {
			if a.duration != b.duration {
				return a.duration < b.duration
			}
			return byStart(a, b)
		}
	case sortProgress:
		return func(a, b runRow) bool {
			fa, _ := a.est.fraction()
			fb, _ := b.est.fraction()
			if fa != fb {
				return fa < fb
			}
			return byStart(a, b)
		}
	}
	return byStart
}

func (t runsTable) selected() (runRow, bool) {
	if t.cursor < 0 || t.cursor >= len(t.shown) {
		return runRow{}, false
	}
	return t.rows[t.shown[t.cursor]], true
}

// selectRun moves the cursor to run id, if shown.
func (t runsTable) selectRun(id string) (runsTable, bool) {
	for i, idx := range t.shown {
		if t.rows[idx].run.ID == id {
			t.cursor = i
			return t.scroll(), true
		}
	}
	return t, false
}

// markedIDs are the marked runs in table order.
func (t runsTable) markedIDs() []string {
	var ids []string
	for _, idx := range t.shown {
		if id := t.rows[idx].run.ID; t.marked[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// shownIDs are the runs the filter lets through, in table order.
func (t runsTable) shownIDs() []string {
	ids := make([]string, 0, len(t.shown))
	for _, idx := range t.shown {
		ids = append(ids, t.rows[idx].run.ID)
	}
	return ids
}

// naturalHeight is the lines the table needs to show every shown run.
func (t runsTable) naturalHeight() int {
	h := 1 + len(t.shown)
	if t.filtering || t.filter.Value() != "" {
		h++
	}
	switch {
	case len(t.rows) == 0:
		h = 6
	case len(t.shown) == 0:
		h += 2
	}
	return h
}

func (t runsTable) listHeight() int {
	h := t.height - 1 // column headers
	if t.filtering || t.filter.Value() != "" {
		h-- // filter line
	}
	if len(t.shown) > h {
		h-- // a line saying which part is shown
	}
	return max(1, h)
}

func (t runsTable) scroll() runsTable {
	h := t.listHeight()
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+h {
		t.offset = t.cursor - h + 1
	}
	t.offset = max(0, min(t.offset, len(t.shown)-h))
	return t
}

func (t runsTable) resize(w, h int) runsTable {
	t.width, t.height = w, h
	t.filter.Width = max(10, w-20)
	return t.scroll()
}

// update handles a key; handled is false for keys the table does not use,
// which the root model then handles.
func (t runsTable) update(msg tea.KeyMsg, k keyMap) (runsTable, tea.Cmd, bool) {
	if t.filtering {
		switch msg.String() {
		case "enter", "down", "up":
			t.filtering = false
			t.filter.Blur()
			if msg.String() != "enter" {
				return t.update(msg, k)
			}
			return t.scroll(), nil, true
		case "esc":
			t.filtering = false
			t.filter.Blur()
			t.filter.SetValue("")
		default:
			var cmd tea.Cmd
			t.filter, cmd = t.filter.Update(msg)
			sel := ""
			if r, ok := t.selected(); ok {
				sel = r.run.ID
			}
			return t.refilter(sel), cmd, true
		}
		sel := ""
		if r, ok := t.selected(); ok {
			sel = r.run.ID
		}
		return t.refilter(sel), nil, true
	}
	page := t.listHeight()
	switch {
	case key.Matches(msg, k.Up):
		t.cursor = max(0, t.cursor-1)
	case key.Matches(msg, k.Down):
		t.cursor = min(len(t.shown)-1, t.cursor+1)
	case key.Matches(msg, k.PageUp):
		t.cursor = max(0, t.cursor-page)
	case key.Matches(msg, k.PageDown):
		t.cursor = min(len(t.shown)-1, t.cursor+page)
	case key.Matches(msg, k.Home):
		t.cursor = 0
	case key.Matches(msg, k.End):
		t.cursor = len(t.shown) - 1
	case key.Matches(msg, k.Mark):
		if r, ok := t.selected(); ok {
			if t.marked[r.run.ID] {
				delete(t.marked, r.run.ID)
			} else {
				t.marked[r.run.ID] = true
			}
			t.cursor = min(len(t.shown)-1, t.cursor+1)
		}
	case key.Matches(msg, k.MarkAll):
		// Marks every shown run, or clears the marks when all are marked.
		all := len(t.shown) > 0
		for _, id := range t.shownIDs() {
			all = all && t.marked[id]
		}
		for _, id := range t.shownIDs() {
			if all {
				delete(t.marked, id)
			} else {
				t.marked[id] = true
			}
		}
	case key.Matches(msg, k.Filter):
		t.filtering = true
		cmd := t.filter.Focus()
		return t.scroll(), cmd, true
	case key.Matches(msg, k.Sort):
		t.sort = (t.sort + 1) % numSortKeys
		// Newest, best, longest and furthest first; names and statuses A–Z.
		t.desc = t.sort == sortStarted || t.sort == sortBest || t.sort == sortDuration || t.sort == sortProgress
		return t.resort(), nil, true
	case key.Matches(msg, k.Reverse):
		t.desc = !t.desc
		return t.resort(), nil, true
	case key.Matches(msg, k.Back) && t.filter.Value() != "":
		t.filter.SetValue("")
		return t.resort(), nil, true
	default:
		return t, nil, false
	}
	t.cursor = max(0, t.cursor)
	return t.scroll(), nil, true
}

func (t runsTable) resort() runsTable {
	sel := ""
	if r, ok := t.selected(); ok {
		sel = r.run.ID
	}
	return t.refilter(sel)
}

func (t runsTable) view(st styles, dir string) string {
	var b strings.Builder
	cols := layoutColumns(tableColumns(), t.width)
	// Header, with the sort column's direction.
	b.WriteString("  ")
	for i, c := range cols {
		title := c.title
		if c.sort == t.sort {
			if t.desc {
				title += "▼"
			} else {
				title += "▲"
			}
		}
		if c.right {
			title = padLeft(title, c.width)
		} else {
			title = pad(title, c.width)
		}
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(st.header.Render(title))
	}
	lines := []string{b.String()}
	if t.filtering || t.filter.Value() != "" {
		f := t.filter.View() + st.dim.Render(fmt.Sprintf("   %d of %d runs", len(t.shown), len(t.rows)))
		if !t.filtering {
			f = st.dim.Render("filter ") + t.filter.Value() + st.dim.Render(fmt.Sprintf("   %d of %d runs · / to edit, esc to clear", len(t.shown), len(t.rows)))
		}
		lines = append(lines, f)
	}
	if len(t.rows) == 0 && t.err != nil {
		lines = append(lines, "",
			st.errorText.Render("  Cannot read the run store in "+dir+":"))
		// Wrapped, not cut: the reason is at the end, after the path.
		for _, l := range strings.Split(ansi.Wrap(t.err.Error(), max(1, t.width-2), "/"), "\n") {
			lines = append(lines, st.errorText.Render("  "+l))
		}
		lines = append(lines, "", "  Runs recorded there are not shown until it can be read (it is read again every second).")
		return fit(strings.Join(lines, "\n"), t.width, t.height)
	}
	if len(t.rows) == 0 {
		lines = append(lines, "",
			"  No runs in "+dir+" yet.",
			"  Press "+st.key.Render("n")+" to launch a recipe here, or run "+st.key.Render("lathe run spirals --runs-dir "+dir)+" in another terminal:",
			"  it appears within a second.")
		return fit(strings.Join(lines, "\n"), t.width, t.height)
	}
	if len(t.shown) == 0 {
		lines = append(lines, "", "  No run matches the filter (esc clears it).")
		return fit(strings.Join(lines, "\n"), t.width, t.height)
	}
	end := min(len(t.shown), t.offset+t.listHeight())
	for i := t.offset; i < end; i++ {
		r := t.rows[t.shown[i]]
		var line strings.Builder
		gutter := "  "
		if i == t.cursor {
			gutter = st.cursor.Render("›") + " "
		}
		if t.marked[r.run.ID] {
			gutter = gutter[:len(gutter)-1] + st.cursor.Render("●")
		}
		line.WriteString(gutter)
		for j, c := range cols {
			if j > 0 {
				line.WriteString(" ")
			}
			text := c.cell(r)
			if c.title == "NAME" {
				text = shortenName(text, c.width)
			}
			if c.right {
				text = padLeft(text, c.width)
			} else {
				text = pad(text, c.width)
			}
			if c.title == "STATUS" {
				text = st.status[r.run.Status].Render(text)
			}
			line.WriteString(text)
		}
		l := pad(line.String(), t.width)
		if i == t.cursor {
			l = st.selected.Render(l)
		}
		lines = append(lines, l)
	}
	if end < len(t.shown) || t.offset > 0 {
		lines = append(lines, st.dim.Render(fmt.Sprintf("  ↕ %d–%d of %d", t.offset+1, end, len(t.shown))))
	}
	return fit(strings.Join(lines, "\n"), t.width, t.height)
}

// sortText says how the table is sorted: "newest first", "name A–Z".
func (t runsTable) sortText() string {
	dir := "▲"
	if t.desc {
		dir = "▼"
	}
	return "sorted by " + sortKeyNames[t.sort] + " " + dir
}

// shortenName fits a run name in width cells keeping what tells runs apart:
// a variant's name after the recipe's ("optimizers-comp…/adam").
func shortenName(name string, width int) string {
	r := []rune(name)
	if len(r) <= width {
		return name
	}
	slash := strings.LastIndexByte(name, '/')
	if slash < 0 {
		return truncate(name, width)
	}
	suffix := []rune(name[slash:])
	room := width - len(suffix) - 1
	if room < 3 {
		return truncate(name, width)
	}
	prefix := []rune(name[:slash])
	return string(prefix[:min(room, len(prefix))]) + "…" + string(suffix)
}

package tui

// The screen: title bar, the current view's body, the system panel, a
// message line and the help line, always exactly the terminal's size.

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Heights of the fixed parts around the body.
func (m Model) footerLines() (system, message, helpLines int) {
	if !m.opts.NoSystem {
		system = 1
		if m.height >= 32 {
			system = 2
		}
	}
	if m.message != "" || m.confirmStop != nil {
		message = 1
	}
	helpLines = 1
	if m.fullHelp {
		helpLines = 0
		for _, g := range m.helpKeys().full {
			helpLines = max(helpLines, len(g))
		}
	}
	return
}

func (m Model) bodyHeight() int {
	s, msg, h := m.footerLines()
	return max(1, m.height-1-s-msg-h)
}

// previewMin is the height below the table from which the runs view also
// shows the selected run (stages and its first charts).
const previewMin = 16

// tableHeight is the runs table's share of the body: all of it, unless the
// runs fit with room for a preview of the selected run.
func (m Model) tableHeight() (table int, preview bool) {
	bh := m.bodyHeight()
	if n := m.table.naturalHeight(); len(m.table.shown) > 0 && bh-n-1 >= previewMin {
		return n, true
	}
	return bh, false
}

// layout passes the current size to the sub-models.
func (m Model) layout() Model {
	bh := m.bodyHeight()
	th, _ := m.tableHeight()
	m.table = m.table.resize(m.width, th)
	if row, ok := m.rows[m.run.id]; ok {
		m.run = m.run.sync(row, m.series[m.run.id], m.width, bh)
	}
	return m
}

// helpKeys are the bindings of what has the keyboard now.
func (m Model) helpKeys() helpKeys {
	k := m.keys
	switch {
	case m.confirmStop != nil:
		return helpKeys{short: []key.Binding{k.Confirm, k.Cancel}, full: [][]key.Binding{{k.Confirm, k.Cancel}}}
	case m.launcherOpen && m.launcher.confirm != nil:
		b := []key.Binding{key.NewBinding(key.WithKeys("y", "enter"), key.WithHelp("y/enter", "launch")),
			key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "back to the list"))}
		return helpKeys{short: b, full: [][]key.Binding{b}}
	case m.launcherOpen:
		b := []key.Binding{k.Accept, key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "choose")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close"))}
		return helpKeys{short: b, full: [][]key.Binding{b}}
	case m.view == viewRuns && m.table.filtering:
		b := []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter"))}
		return helpKeys{short: b, full: [][]key.Binding{b}}
	case m.view == viewRun:
		return helpKeys{
			short: []key.Binding{k.Back, k.NextChart, k.Smooth, k.LogScale, k.Params, k.Report, k.Stop, k.Help, k.Quit},
			full: [][]key.Binding{{k.NextChart, k.PrevChart}, {k.Smooth, k.LogScale, k.Params, k.Report,
				key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "scroll params"))},
				{k.Stop, k.Launch, k.Back}, {k.Help, k.Quit}},
		}
	case m.view == viewCompare:
		return helpKeys{
			short: []key.Binding{k.Back, k.NextMetric, k.Smooth, k.LogScale, k.Help, k.Quit},
			full: [][]key.Binding{{k.NextMetric, k.PrevMetric}, {k.Smooth, k.LogScale,
				key.NewBinding(key.WithKeys("[", "]"), key.WithHelp("[/]", "scroll columns")),
				key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "scroll runs"))}, {k.Launch, k.Back}, {k.Help, k.Quit}},
		}
	}
	return helpKeys{
		short: []key.Binding{k.Open, k.Filter, k.Mark, k.Compare, k.Launch, k.Help, k.Quit},
		full: [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}, {k.Open, k.Mark, k.MarkAll, k.Compare},
			{k.Filter, k.Sort, k.Reverse}, {k.Launch, k.Stop, k.Help, k.Quit}},
	}
}

// View draws the whole screen in exactly width×height cells.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	w := m.width
	parts := []string{m.titleBar()}
	bh := m.bodyHeight()
	var body string
	switch {
	case m.launcherOpen:
		body = lipgloss.Place(w, bh, lipgloss.Center, lipgloss.Center, m.launcher.view(m.st, w, bh))
	case m.view == viewRun:
		if row, ok := m.rows[m.run.id]; ok {
			body = m.run.view(row, m.series[m.run.id], m.seriesErr[m.run.id], m.report(m.run.id), m.st, w, bh, m.opts.Now(), m.charts)
		} else {
			body = m.st.dim.Render("reading run " + m.run.id + "…")
		}
	case m.view == viewCompare:
		body = m.compare.view(m.rows, m.series, m.seriesErr, m.st, w, bh, m.charts)
	default:
		body = m.runsBody(w, bh)
	}
	parts = append(parts, fit(body, w, bh))
	sys, msgLines, _ := m.footerLines()
	if sys > 0 {
		parts = append(parts, m.system.view(m.st, w, sys, m.runningPIDs()))
	}
	if msgLines > 0 {
		parts = append(parts, fit(m.messageLine(), w, 1))
	}
	h := m.help
	h.ShowAll = m.fullHelp
	keys := m.helpKeys()
	if m.fullHelp {
		for i, g := range keys.full {
			for j, b := range g {
				if b.Help().Key == "?" {
					g = append([]key.Binding(nil), g...)
					g[j] = key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "fewer keys"))
					keys.full[i] = g
				}
			}
		}
	}
	parts = append(parts, h.View(keys))
	return fit(strings.Join(parts, "\n"), w, m.height)
}

// runsBody is the runs table and, when there is room, the selected run.
func (m Model) runsBody(w, h int) string {
	table := m.table.view(m.st, m.opts.Dir)
	th, preview := m.tableHeight()
	r, ok := m.table.selected()
	if !preview || !ok {
		return table
	}
	pv := runView{id: r.run.ID, smoothing: m.run.smoothing, logY: m.run.logY}
	body := pv.view(m.rows[r.run.ID], m.series[r.run.ID], m.seriesErr[r.run.ID], nil, m.st, w, h-th-1, m.opts.Now(), m.charts)
	return table + "\n" + m.st.dim.Render(strings.Repeat("─", w)) + "\n" + body
}

func (m Model) messageLine() string {
	if r := m.confirmStop; r != nil {
		return m.st.warn.Render(fmt.Sprintf("Stop %s (pid %d)? It checkpoints and is marked stopped. y/n", r.Name, r.PID))
	}
	if m.messageErr {
		return m.st.errorText.Render(m.message)
	}
	return m.st.ok.Render(m.message)
}

func (m Model) titleBar() string {
	running := 0
	for _, r := range m.list {
		if r.Status == runs.Running {
			running++
		}
	}
	dir := m.opts.Dir
	if limit := max(16, m.width/3); len(dir) > limit {
		dir = "…" + dir[len(dir)-limit+1:]
	}
	info := fmt.Sprintf(" %s · %d run%s", dir, len(m.list), plural(len(m.list)))
	if running > 0 {
		info += fmt.Sprintf(" · %d running", running)
	}
	if m.view == viewRuns && len(m.list) > 1 {
		info += " · " + m.table.sortText()
	}
	if !m.polled {
		info = " " + dir + " · no run store yet"
		if m.storeErr != nil {
			info = " " + dir + " · cannot read the run store"
		}
	}
	tabs := []string{"runs", "run", "compare"}
	var t []string
	for i, name := range tabs {
		if viewID(i) == m.view && !m.launcherOpen {
			t = append(t, m.st.tabActive.Render(name))
		} else {
			t = append(t, m.st.tab.Render(name))
		}
	}
	title := m.st.title.Render("lathe dash")
	right := strings.Join(t, "")
	room := m.width - lipgloss.Width(title) - lipgloss.Width(right) - 1
	if room < 8 {
		return truncate(title+m.st.dim.Render(info), m.width)
	}
	left := title + m.st.dim.Render(truncate(info, room))
	return left + strings.Repeat(" ", m.width-lipgloss.Width(left)-lipgloss.Width(right)) + right
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

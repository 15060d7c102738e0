package tui

// Keys: what each key does in each view. Update hands every key here.

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/pkg/runs"
)

func (m Model) handleKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	// Keys typed faster than the terminal is read arrive as one message
	// ("ac"); outside text entry each is a command of its own.
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && !m.typing() {
		var cmds []tea.Cmd
		var model tea.Model = m
		for _, r := range msg.Runes {
			var cmd tea.Cmd
			model, cmd = model.(Model).handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			cmds = append(cmds, cmd)
		}
		return model, tea.Batch(cmds...)
	}
	k := m.keys
	if msg.Type == tea.KeyCtrlC {
		return m, tea.Quit
	}
	if m.confirmStop == nil {
		m.message = "" // read; the key may bring a new one
	}
	if m.confirmStop != nil {
		r := m.confirmStop
		m.confirmStop = nil
		m.message = ""
		if key.Matches(msg, k.Confirm) {
			return m.layout(), stopRun(m.store, r)
		}
		return m.say("not stopped").layout(), nil
	}
	if m.launcherOpen {
		l, req, done := m.launcher.update(msg, k)
		m.launcher = l
		if done {
			m.launcherOpen = false
		}
		if req != nil {
			if req.item.err != "" {
				return m.fail("%s cannot run: %s", req.item.name, req.item.err), nil
			}
			m = m.say("launching %s…", req.item.name)
			return m.layout(), launch(m.opts.Executable, m.opts.Dir, m.opts.WorkDir, req.item.name, req.item.arg)
		}
		return m, nil
	}
	if m.view == viewRuns && m.table.filtering {
		return m.updateTable(msg)
	}

	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.fullHelp = !m.fullHelp
		return m.layout(), nil
	case key.Matches(msg, k.Launch):
		m.launcherOpen = true
		m.launcher.filter, m.launcher.cursor, m.launcher.confirm = "", 0, nil
		return m, findRecipes(m.opts.WorkDir)
	case key.Matches(msg, k.Stop):
		return m.askStop()
	}

	switch m.view {
	case viewRuns:
		switch {
		case key.Matches(msg, k.Open):
			if r, ok := m.table.selected(); ok {
				return m.openRun(r.run.ID)
			}
			return m, nil
		case key.Matches(msg, k.Compare):
			ids := m.compareSet()
			if len(ids) < 2 {
				return m.fail("mark two or more runs to compare (space marks one, a marks all shown), or filter to them with /"), nil
			}
			return m.openCompare(ids)
		}
		return m.updateTable(msg)
	case viewRun:
		if key.Matches(msg, k.Back) {
			m.view = viewRuns
			return m.layout(), nil
		}
		m.run, _ = m.run.update(msg, k)
		return m.layout(), nil
	case viewCompare:
		if key.Matches(msg, k.Back) {
			m.view = viewRuns
			return m.layout(), nil
		}
		m.compare, _ = m.compare.update(msg, k, m.series)
		return m, nil
	}
	return m, nil
}

// updateTable passes a key to the runs table; when the selection moves to
// a run whose series are not read yet, the preview's read starts at once.
func (m Model) updateTable(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	before, _ := m.table.selected()
	var cmd tea.Cmd
	m.table, cmd, _ = m.table.update(msg, m.keys)
	m = m.layout()
	if after, ok := m.table.selected(); ok && after.run != before.run && m.series[after.run.ID] == nil {
		cmd = tea.Batch(cmd, loadSeries(m.store, m.watch()))
	}
	return m, cmd
}

// typing reports whether keys are text: the filter or the launcher has them.
func (m Model) typing() bool {
	return m.launcherOpen || (m.view == viewRuns && m.table.filtering)
}

func (m Model) openRun(id string) (tea.Model, tea.Cmd) {
	if m.run.id != id {
		m.run = runView{id: id, smoothing: m.run.smoothing, logY: m.run.logY}
	}
	m.view = viewRun
	m.message = ""
	return m.layout(), loadSeries(m.store, m.watch())
}

// compareSet is what c compares: the marked runs; else the variant runs
// of the selected run's group (all of optimizers-compare's optimizers);
// else the runs the filter shows.
func (m Model) compareSet() []string {
	if ids := m.table.markedIDs(); len(ids) >= 2 {
		return ids
	}
	if r, ok := m.table.selected(); ok {
		if g := r.run.Params[runs.GroupParam]; g != "" {
			var ids []string
			for _, id := range m.table.shownIDs() {
				if m.rows[id].run.Params[runs.GroupParam] == g {
					ids = append(ids, id)
				}
			}
			if len(ids) >= 2 {
				return ids
			}
		}
	}
	if m.table.filter.Value() != "" && len(m.table.shown) >= 2 {
		return m.table.shownIDs()
	}
	return nil
}

func (m Model) openCompare(ids []string) (tea.Model, tea.Cmd) {
	m.compare = compareView{ids: ids, metric: m.compare.metric, smoothing: m.compare.smoothing, logY: m.compare.logY}
	m.view = viewCompare
	m.message = ""
	return m.layout(), loadSeries(m.store, m.watch())
}

// askStop asks to confirm stopping the selected (or shown) run.
func (m Model) askStop() (tea.Model, tea.Cmd) {
	var row runRow
	var ok bool
	switch m.view {
	case viewRuns:
		row, ok = m.table.selected()
	case viewRun:
		row, ok = m.rows[m.run.id]
	}
	if !ok {
		return m, nil
	}
	if row.run.Status != runs.Running {
		return m.fail("%s is %s: only a running run can be stopped", row.run.Name, row.run.Status).layout(), nil
	}
	m.confirmStop = row.run
	return m.layout(), nil
}

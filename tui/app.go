package tui

import (
	"fmt"
	"os"
	"time"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Options configure the dashboard.
type Options struct {
	// Dir is the run store directory (runs.DefaultDir() when empty). It
	// need not exist yet: the dashboard shows it empty until a run creates it.
	Dir string
	// Refresh is how often the store is polled (default 1s, the rate at
	// which runs flush their step metrics).
	Refresh time.Duration
	// Executable is the lathe binary that launched runs use (default: this
	// process's executable).
	Executable string
	// WorkDir is where launched runs start and where local recipe files are
	// found (default: the current directory).
	WorkDir string
	// Now is the clock for durations and ETAs (default time.Now).
	Now func() time.Time
	// NoSystem hides the system panel and stops sampling the machine.
	NoSystem bool

	// sampler reads the machine; tests replace it.
	sampler func(prev systemSample, pids []int) systemSample
}

type viewID int

const (
	viewRuns viewID = iota
	viewRun
	viewCompare
)

// Model is the dashboard: a bubbletea model composed of the runs table,
// the run view, the compare view, the system panel and the launcher. All
// of its state changes in Update; reading the store, sampling the system
// and starting processes happen in commands whose results come back as
// messages.
type Model struct {
	opts Options
	keys keyMap
	st   styles
	help help.Model

	width, height int

	store    *runs.Store
	version  runs.Version
	polled   bool // a poll has come back
	loading  bool
	list     []*runs.Run
	rows     map[string]runRow
	progress map[string]*runs.Progress
	settled  map[string]bool
	series   map[string]*seriesSet
	// reports are the trade-off reports read so far, by run.
	reports map[string]*reportRead
	// storeErr: the last poll could not open or read the store;
	// seriesErr: why a run's series could not be read, by run.
	storeErr  error
	seriesErr map[string]error
	stopping  map[string]bool
	// launched are processes started here whose run has not been seen yet.
	launched map[int]string

	view     viewID
	table    runsTable
	run      runView
	compare  compareView
	system   systemPanel
	sampling bool // a sample is being taken
	// systemTicking: a systemTickMsg is on its way (one chain of ticks,
	// however many extra samples a poll asks for).
	systemTicking bool

	launcherOpen bool
	launcher     launcher

	confirmStop *runs.Run
	message     string
	messageErr  bool

	fullHelp bool

	charts *chartCache
}

// New returns the dashboard model for opts.
func New(opts Options) Model {
	if opts.Dir == "" {
		opts.Dir = runs.DefaultDir()
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WorkDir == "" {
		opts.WorkDir, _ = os.Getwd()
	}
	if opts.Executable == "" {
		opts.Executable, _ = os.Executable()
	}
	if opts.sampler == nil {
		opts.sampler = sampleSystem
	}
	h := help.New()
	h.ShortSeparator = " · "
	return Model{
		opts:      opts,
		keys:      newKeyMap(),
		st:        newStyles(),
		help:      h,
		width:     80,
		height:    24,
		rows:      map[string]runRow{},
		progress:  map[string]*runs.Progress{},
		seriesErr: map[string]error{},
		settled:   map[string]bool{},
		series:    map[string]*seriesSet{},
		reports:   map[string]*reportRead{},
		stopping:  map[string]bool{},
		launched:  map[int]string{},
		table:     newRunsTable().resize(80, 20),
		system:    systemPanel{disabled: opts.NoSystem, names: map[int]string{}},
		launcher:  launcher{workDir: opts.WorkDir},
		charts:    newChartCache(),
	}
}

// Run starts the dashboard on the terminal and returns when the user quits.
func Run(opts Options) error {
	m := New(opts)
	// 30 frames a second is smooth for keys and halves the idle wake-ups of the default 60.
	final, err := tea.NewProgram(m, tea.WithAltScreen(), tea.WithFPS(30)).Run()
	if fm, ok := final.(Model); ok && fm.store != nil {
		fm.store.Close()
	}
	return err
}

// Init starts polling the store; the first poll's result starts sampling
// the system (Init cannot record that a sample is on its way).
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.startPoll(), tickEvery(m.opts.Refresh))
}

func (m Model) startPoll() tea.Cmd {
	running := false
	for _, r := range m.list {
		running = running || r.Status == runs.Running
	}
	settled := make(map[string]bool, len(m.settled))
	for k, v := range m.settled {
		settled[k] = v
	}
	var reports []string
	for id := range m.watch() {
		if row, ok := m.rows[id]; ok && m.reports[id] == nil && hasReport(row.run) {
			reports = append(reports, id)
		}
	}
	return poll(pollRequest{dir: m.opts.Dir, store: m.store, version: m.version, running: running || !m.polled,
		settled: settled, watch: m.watch(), pointCap: maxPointsPerPoll, reports: reports})
}

// report is the run's trade-off report as read, nil when it has none (or
// it has not been read yet).
func (m Model) report(id string) *reportRead { return m.reports[id] }

// watch is the runs whose series the current view draws, with the row to
// read after.
func (m Model) watch() map[string]runs.Cursor {
	w := map[string]runs.Cursor{}
	switch m.view {
	case viewRuns:
		if r, ok := m.table.selected(); ok {
			if _, preview := m.tableHeight(); preview {
				w[r.run.ID] = m.seriesNext(r.run.ID)
			}
		}
	case viewRun:
		w[m.run.id] = m.seriesNext(m.run.id)
	case viewCompare:
		for _, id := range m.compare.ids {
			w[id] = m.seriesNext(id)
		}
	}
	return w
}

func (m Model) seriesNext(id string) runs.Cursor {
	if s := m.series[id]; s != nil {
		return s.next
	}
	return runs.Cursor{}
}

func (m Model) sampleCmd() tea.Cmd {
	prev, pids, sampler := m.system.sample, m.runningPIDs(), m.opts.sampler
	return func() tea.Msg { return systemMsg(sampler(prev, pids)) }
}

// runningPIDs are the processes of running runs.
func (m Model) runningPIDs() []int {
	var pids []int
	for _, r := range m.list {
		if r.Status == runs.Running && r.PID > 0 {
			pids = append(pids, r.PID)
		}
	}
	return pids
}

// Update folds a message into the model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		// bubbles/help overflows when even its "…" does not fit: keep room for it.
		m.help.Width = msg.Width - 2
		m = m.layout()
		return m, nil

	case tickMsg:
		cmds := []tea.Cmd{tickEvery(m.opts.Refresh)}
		if !m.loading {
			m.loading = true
			cmds = append(cmds, m.startPoll())
		}
		m = m.rebuildRows()
		return m, tea.Batch(cmds...)

	case pollMsg:
		m.loading = false
		m = m.applyPoll(msg)
		// The first sample, or a run started or ended: sample now, not in two seconds.
		if !m.opts.NoSystem && !m.sampling &&
			(m.system.sample.at.IsZero() || !samePIDs(m.runningPIDs(), m.system.sample.procs)) {
			m.sampling = true
			return m, m.sampleCmd()
		}
		return m, nil

	case seriesMsg:
		m = m.applySeries(msg.series)
		return m.layout(), nil

	case systemTickMsg:
		m.systemTicking = false
		if m.sampling || m.opts.NoSystem {
			return m, nil
		}
		m.sampling = true
		return m, m.sampleCmd()

	case systemMsg:
		m.sampling = false
		m.system = m.system.withSample(systemSample(msg))
		if m.systemTicking {
			return m, nil
		}
		m.systemTicking = true
		return m, systemTick()

	case recipesMsg:
		m.launcher.items, m.launcher.loaded = msg, true
		return m, nil

	case launchedMsg:
		if msg.err != nil {
			return m.fail("launch %s: %v", msg.recipe, msg.err), nil
		}
		m.launched[msg.pid] = msg.recipe
		m = m.say("launched %s as pid %d (log: %s); it keeps running if you quit", msg.recipe, msg.pid, msg.log)
		var cmd tea.Cmd
		if !m.loading {
			m.loading = true
			cmd = m.startPoll()
		}
		return m, tea.Batch(waitExit(msg), cmd)

	case exitedMsg:
		delete(m.launched, msg.pid)
		switch msg.code {
		case 0:
		case 130:
			m = m.say("%s (pid %d) stopped", msg.recipe, msg.pid)
		default:
			m = m.fail("%s (pid %d) exited with status %d: see %s", msg.recipe, msg.pid, msg.code, msg.log)
		}
		return m, nil

	case stopMsg:
		if msg.err != nil {
			return m.fail("stop %s: %v", msg.name, msg.err), nil
		}
		m.stopping[msg.runID] = true
		m = m.say("asked %s (pid %d) to stop: it checkpoints and is marked stopped", msg.name, msg.pid)
		return m.rebuildRows(), nil

	case tea.KeyMsg:
		nm, cmd := m.handleKey(msg)
		return nm.(Model).layout(), cmd
	}
	return m, nil
}

// say shows a message above the help line until the next key.
func (m Model) say(format string, args ...any) Model {
	m.message, m.messageErr = fmt.Sprintf(format, args...), false
	return m.layout()
}

// fail shows an error the same way.
func (m Model) fail(format string, args ...any) Model {
	m.message, m.messageErr = fmt.Sprintf(format, args...), true
	return m.layout()
}

func (m Model) applyPoll(msg pollMsg) Model {
	if msg.store != nil {
		m.store = msg.store
	}
	if msg.err != nil {
		// A store that cannot be read is an error on screen, never "no runs".
		m.storeErr = msg.err
		m.table.err = msg.err
		return m.fail("reading %s: %v", m.opts.Dir, msg.err)
	}
	if m.store == nil {
		return m
	}
	m.storeErr, m.table.err = nil, nil
	m.polled = true
	m.version = msg.version
	if msg.runs != nil {
		m.list = msg.runs
		for id, p := range msg.progress {
			m.progress[id] = p
		}
		for _, r := range m.list {
			if r.Status != runs.Running {
				m.settled[r.ID] = true
				delete(m.stopping, r.ID)
			}
		}
	}
	m = m.applySeries(msg.series)
	for id, rr := range msg.reports {
		m.reports[id] = rr
	}
	m = m.rebuildRows()
	// Follow a run launched from here as soon as it appears.
	for _, r := range m.list {
		if name, ok := m.launched[r.PID]; ok && r.Status == runs.Running {
			delete(m.launched, r.PID)
			if t, ok := m.table.selectRun(r.ID); ok {
				m.table = t
				m = m.say("%s started as run %s", name, r.ID)
			} else {
				m = m.say("%s started as run %s (hidden by the filter: esc in the runs view clears it)", name, r.ID)
			}
		}
	}
	return m.layout()
}

// keptSeries is how many runs' series stay in memory; beyond it, series of
// runs no view shows are dropped (and read again if shown again).
const keptSeries = 16

func (m Model) applySeries(deltas map[string]seriesDelta) Model {
	if len(m.series) > keptSeries {
		watched := m.watch()
		for id := range m.series {
			if _, ok := watched[id]; !ok {
				delete(m.series, id)
			}
		}
	}
	for id, d := range deltas {
		if d.err != nil {
			m.seriesErr[id] = d.err
			continue
		}
		delete(m.seriesErr, id)
		s := m.series[id]
		if s == nil {
			s = newSeriesSet()
			m.series[id] = s
		}
		s.add(d.from, d.next, d.points)
	}
	return m
}

// rebuildRows derives the table rows from the latest poll and the clock.
func (m Model) rebuildRows() Model {
	now := m.opts.Now()
	rows := make([]runRow, 0, len(m.list))
	m.rows = make(map[string]runRow, len(m.list))
	names := map[int]string{}
	for _, r := range m.list {
		pl := planOf(r)
		prog := m.progress[r.ID]
		row := runRow{run: r, plan: pl, est: estimateRun(r, prog, pl, now), stopping: m.stopping[r.ID]}
		row.best, row.bestValue, row.hasBest = bestOf(r, prog)
		end := r.Finished
		if end.IsZero() {
			end = now
		}
		row.duration = end.Sub(r.Started)
		rows = append(rows, row)
		m.rows[r.ID] = row
		if r.Status == runs.Running {
			names[r.PID] = r.Name
		}
	}
	m.system.names = names
	m.table = m.table.setRows(rows)
	return m
}

func samePIDs(pids []int, procs map[int]procStat) bool {
	if len(pids) != len(procs) {
		return false
	}
	for _, p := range pids {
		if _, ok := procs[p]; !ok {
			return false
		}
	}
	return true
}

package tui

import (
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// These tests drive the model the way bubbletea does, one message at a
// time, running by hand the commands that read the store, so each step is
// deterministic.

func update(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	nm, cmd := m.Update(msg)
	return nm.(Model), cmd
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// press sends keys and runs the store-reading command the last one returns.
func press(t *testing.T, m Model, keys ...string) Model {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		m, cmd = update(t, m, keyMsg(k))
	}
	return runSeries(t, m, cmd)
}

// runSeries runs cmd when it is a series load (the command opening a view
// returns), folding its message in.
func runSeries(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	if cmd == nil {
		return m
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	select {
	case msg := <-done:
		if sm, ok := msg.(seriesMsg); ok {
			m, _ = update(t, m, sm)
		}
	case <-time.After(50 * time.Millisecond):
		// a tick or a process wait: not a store read
	}
	return m
}

func newModel(t *testing.T, w, h int) (Model, string) {
	t.Helper()
	dir := newFixtureStore(t)
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	return pollOnce(t, m), dir
}

func pollOnce(t *testing.T, m Model) Model {
	t.Helper()
	m, _ = update(t, m, m.startPoll()())
	return m
}

func view(m Model, dir string) string { return normalize(m.View(), dir) }

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("view lacks %q:\n%s", w, out)
		}
	}
}

func TestRunsTableShowsEveryRun(t *testing.T) {
	m, dir := newModel(t, 120, 40)
	out := view(m, dir)
	mustContain(t, out, "6 runs · 1 running", "sorted by started ▼", "optimizers-compare/adam",
		"▶ running", "1/2 train", "500/840",
		"! interrupted", "✗ failed", "✓ finished",
		"97.31% test", "98.60% test", "3436/3436")
	if got := m.table.shownIDs(); strings.Join(got, ",") != strings.Join([]string{idRunning, idInterrupted, idFailed, idAdam, idSGD, idQuickstart}, ",") {
		t.Errorf("order %v, want newest first", got)
	}
	if r, _ := m.table.selected(); r.run.ID != idRunning {
		t.Errorf("cursor on %s, want the newest run", r.run.ID)
	}
}

func TestFilterSortAndMarks(t *testing.T) {
	m, dir := newModel(t, 100, 30)
	m = press(t, m, "/", "o", "p", "t", "i")
	if got := len(m.table.shown); got != 2 {
		t.Fatalf("filter 'opti' shows %d runs, want 2", got)
	}
	mustContain(t, view(m, dir), "2 of 6 runs")
	m = press(t, m, "enter")
	if m.table.filtering {
		t.Error("enter should leave the filter")
	}
	// Keys now command again: a marks all shown.
	m = press(t, m, "a")
	if got := m.table.markedIDs(); len(got) != 2 {
		t.Fatalf("marked %v, want both shown runs", got)
	}
	m = press(t, m, "a")
	if got := m.table.markedIDs(); len(got) != 0 {
		t.Errorf("a again should clear the marks, left %v", got)
	}
	m = press(t, m, "esc")
	if len(m.table.shown) != 6 {
		t.Errorf("esc should clear the filter: %d shown", len(m.table.shown))
	}
	m = press(t, m, "o") // started -> name
	names := []string{}
	for _, id := range m.table.shownIDs() {
		names = append(names, m.rows[id].run.Name)
	}
	if strings.Join(names, ",") != "fashion-mlp,mnist-lenet,optimizers-compare/adam,optimizers-compare/sgd,quickstart,spirals" {
		t.Errorf("by name: %v", names)
	}
	m = press(t, m, "O")
	if first := m.rows[m.table.shownIDs()[0]].run.Name; first != "spirals" {
		t.Errorf("reversed by name starts with %s", first)
	}
	// Marks by space move down; the cursor stays on its run across polls.
	m = press(t, m, "g", "space", "space")
	if len(m.table.markedIDs()) != 2 || m.table.cursor != 2 {
		t.Errorf("space marks and moves: marks %v cursor %d", m.table.markedIDs(), m.table.cursor)
	}
	sel, _ := m.table.selected()
	m = pollOnce(t, m)
	if now, _ := m.table.selected(); now.run.ID != sel.run.ID {
		t.Errorf("cursor moved from %s to %s on refresh", sel.run.ID, now.run.ID)
	}
}

func TestCompareOverlaysRuns(t *testing.T) {
	m, dir := newModel(t, 100, 30)
	m = press(t, m, "c")
	if m.view != viewRuns || !m.messageErr {
		t.Fatal("c on a run of no group, without marks or filter, should stay and say why")
	}
	// c on a variant run compares its group: here both optimizers.
	m = press(t, m, "down", "down", "down", "c")
	if m.view != viewCompare || len(m.compare.ids) != 2 {
		t.Fatalf("view %v comparing %v, want the 2 variant runs", m.view, m.compare.ids)
	}
	out := view(m, dir)
	mustContain(t, out, "Comparing 2 runs", "‹ train_loss ›", "● adam", "◆ sgd",
		"test_accuracy", "98.60%*", "87.80%")
	if braille(out) < 50 {
		t.Errorf("overlay has %d braille cells, want curves:\n%s", braille(out), out)
	}
	m = press(t, m, "right")
	mustContain(t, view(m, dir), "‹ validation_loss ›")
	m = press(t, m, "left", "left")
	if got := m.compare.currentMetric(m.series); got == "validation_loss" || got == "train_loss" {
		t.Errorf("left twice from validation_loss gave %s", got)
	}
	m = press(t, m, "esc")
	if m.view != viewRuns {
		t.Error("esc should go back to the runs")
	}
	// With a filter and no marks, c compares the runs the filter shows.
	m = press(t, m, "g", "/", "l", "e", "n", "enter", "c")
	if m.view != viewRuns || !m.messageErr {
		t.Fatal("a filter showing one run is nothing to compare")
	}
	m = press(t, m, "esc", "/", "r", "e", "c", "i", "p", "e", "s", "/", "enter", "c")
	if m.view != viewCompare || len(m.compare.ids) != 4 {
		t.Fatalf("view %v comparing %v, want the 4 runs of shipped recipes", m.view, m.compare.ids)
	}
	mustContain(t, view(m, dir), "Comparing 4 runs", "quickstart", "mnist-lenet", "fashion-mlp", "spirals")
	// Marked runs win over the rest.
	m = press(t, m, "esc", "esc", "g", "space", "G", "space", "c")
	if got := m.compare.ids; len(got) != 2 || got[0] != idRunning || got[1] != idQuickstart {
		t.Errorf("marked compare %v", got)
	}
}

func TestLabelsTellRunsApart(t *testing.T) {
	run := func(id, name string, params map[string]string) *runs.Run {
		return &runs.Run{ID: id, Name: name, Params: params}
	}
	cases := []struct {
		rs   []*runs.Run
		want string
	}{
		{[]*runs.Run{run("1", "oc/sgd", nil), run("2", "oc/adam", nil)}, "sgd|adam"},
		{[]*runs.Run{run("1", "quickstart", nil), run("2", "spirals", nil)}, "quickstart|spirals"},
		{[]*runs.Run{
			run("1", "x", map[string]string{"stages.0.train.optimizer.name": "sgd", "stages.0.train.optimizer.learning_rate": "0.1", "seed": "1"}),
			run("2", "x", map[string]string{"stages.0.train.optimizer.name": "adam", "stages.0.train.optimizer.learning_rate": "1e-3", "seed": "1"}),
		}, "sgd lr=0.1|adam lr=1e-3"},
		{[]*runs.Run{run("20261126-090000-aaaa", "x", nil), run("20261126-091000-bbbb", "x", nil)}, "x 090000-aaaa|x 091000-bbbb"},
	}
	for _, c := range cases {
		if got := strings.Join(labels(c.rs), "|"); got != c.want {
			t.Errorf("labels %q, want %q", got, c.want)
		}
	}
}

func braille(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x2801 && r <= 0x28FF {
			n++
		}
	}
	return n
}

func TestRunViewShowsProgressChartsAndToggles(t *testing.T) {
	m, dir := newModel(t, 120, 40)
	m = press(t, m, "enter")
	if m.view != viewRun || m.run.id != idRunning {
		t.Fatalf("enter opened %v %s", m.view, m.run.id)
	}
	out := view(m, dir)
	// 500 of 840 steps at 20 steps/s: 17s left, less the second since the last point.
	mustContain(t, out, "spirals", "▶ running", "step 500/840 (60%)", "ETA 16s", "500/840 steps", "20.0 steps/s",
		"· 2 evaluate", "pending", "loss", "accuracy", "learning rate", "throughput", "epoch time", "charts 1–5 of 5",
		"smoothing off", "log scale off")
	if braille(out) < 100 {
		t.Errorf("charts have %d braille cells:\n%s", braille(out), out)
	}
	m = press(t, m, "s")
	mustContain(t, view(m, dir), "smoothing 0.6")
	m = press(t, m, "s", "s", "l")
	mustContain(t, view(m, dir), "smoothing off", "log scale on")
	// At 80×24 two charts fit: → pages through them and wraps.
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	mustContain(t, view(m, dir), "charts 1–2 of 5")
	m = press(t, m, "right", "right")
	mustContain(t, view(m, dir), "chart 5 of 5", "epoch time")
	m = press(t, m, "right")
	if m.run.page != 0 {
		t.Errorf("paging past the last chart should wrap, page %d", m.run.page)
	}
	m = press(t, m, "left")
	if m.run.page != 4 {
		t.Errorf("← from the first page should wrap to the last, page %d", m.run.page)
	}
	m = press(t, m, "p")
	mustContain(t, view(m, dir), "params (2)", "recipes/spirals.yaml", "seed")
	m = press(t, m, "esc")
	if m.view != viewRuns {
		t.Error("esc should go back")
	}
}

func TestRunViewOfAFailedRunShowsItsError(t *testing.T) {
	m, dir := newModel(t, 100, 30)
	m = press(t, m, "down", "down", "enter")
	// It failed loading its data, before its runner recorded a plan: no
	// stage is known (the dashboard does not parse the recipe to guess).
	mustContain(t, view(m, dir), "fashion-mlp", "✗ failed", "error: fashion-mnist: no dataset", "no stage ran", "no metrics recorded")
}

func TestLiveRefreshFollowsAGrowingRun(t *testing.T) {
	m, dir := newModel(t, 120, 40)
	m = press(t, m, "enter")
	before := len(m.series[idRunning].byName["train_loss"])

	// Another process appends steps 501–520 and an epoch end.
	w, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	more := trainPoints(0, 501, 20, 28, 4, fixtureNow, 10*time.Millisecond, 0.5)
	if err := w.AppendMetrics(idRunning, more); err != nil {
		t.Fatal(err)
	}
	m = pollOnce(t, m)
	if after := len(m.series[idRunning].byName["train_loss"]); after != before+5 {
		t.Errorf("train_loss points %d -> %d, want 5 more", before, after)
	}
	mustContain(t, view(m, dir), "step 520/840")

	// The run ends: the next poll says so.
	if err := w.Finish(idRunning, runs.Finished, "", map[string]float64{"test_accuracy": 0.99}); err != nil {
		t.Fatal(err)
	}
	m = pollOnce(t, m)
	mustContain(t, view(m, dir), "✓ finished")
}

func TestEmptyStoreThenFirstRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 24})
	m = pollOnce(t, m)
	out := view(m, dir)
	mustContain(t, out, "no run store yet", "No runs in RUNS yet", "Press n to launch")
	if _, err := os.Stat(dir); err == nil {
		t.Error("the dashboard created the store: reading must not")
	}
	s, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Create(&runs.Run{Name: "first"}); err != nil {
		t.Fatal(err)
	}
	m = pollOnce(t, m)
	mustContain(t, view(m, dir), "1 run ·", "first", "▶ running", "starting")
}

func TestStopAsksAndNeverSignalsAForeignProcess(t *testing.T) {
	m, dir := newModel(t, 100, 30)
	// The finished quickstart cannot be stopped.
	m = press(t, m, "G", "x")
	mustContain(t, view(m, dir), "only a running run can be stopped")
	// The running fixture's pid is init's, which is no `lathe run`.
	m = press(t, m, "g", "x")
	mustContain(t, view(m, dir), "Stop spirals (pid 1)?", "y yes")
	m = press(t, m, "n")
	if m.confirmStop != nil {
		t.Fatal("n should cancel")
	}
	m = press(t, m, "x")
	var cmd tea.Cmd
	m, cmd = update(t, m, keyMsg("y"))
	if cmd == nil {
		t.Fatal("y should ask the process to stop")
	}
	m, _ = update(t, m, cmd())
	mustContain(t, view(m, dir), "is not a `lathe run`", "not signalled")
	if m.stopping[idRunning] {
		t.Error("a refused stop marked the run stopping")
	}
}

func TestCheckRunProcess(t *testing.T) {
	dir := newFixtureStore(t)
	s, err := runs.OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	running, err := s.Get(idRunning)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRunProcess(s, running); err == nil || !strings.Contains(err.Error(), "not a `lathe run`") {
		t.Errorf("test process accepted as a run: %v", err)
	}
	other := *running
	other.PID = deadPID
	if err := checkRunProcess(s, &other); err == nil {
		t.Error("a gone process accepted")
	}
	finished, _ := s.Get(idQuickstart)
	if err := checkRunProcess(s, finished); err == nil {
		t.Error("a finished run accepted")
	}
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"/usr/local/bin/lathe", "run", "quickstart"}, true},
		{[]string{"bin/lathe", "--runs-dir", "x", "run", "r.yaml"}, true},
		{[]string{"/tmp/dash-lathe", "run", "spirals"}, true},
		{[]string{"/usr/local/bin/lathe", "dash"}, false},
		{[]string{"python3", "run"}, false},
		{[]string{"lathe"}, false},
	} {
		if got := isLatheRun(c.args); got != c.want {
			t.Errorf("isLatheRun(%q) = %v", c.args, got)
		}
	}
}

func TestLauncherStartsADetachedProcess(t *testing.T) {
	m, dir := newModel(t, 100, 30)
	work := t.TempDir()
	good := optimizerRecipe("adam", "1e-3")
	if err := os.WriteFile(filepath.Join(work, "mine.yaml"), []byte(strings.Replace(good, "optimizers-compare", "mine", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "broken.yaml"), []byte("name: broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A stand-in for lathe that reports its arguments and session.
	fake := filepath.Join(work, "fake-lathe")
	script := "#!/bin/sh\necho args: \"$@\"\necho sid: $(cut -d' ' -f6 /proc/$$/stat)\necho pwd: $(pwd)\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m.opts.WorkDir, m.opts.Executable, m.launcher.workDir = work, fake, work

	var cmd tea.Cmd
	m, cmd = update(t, m, keyMsg("n"))
	if !m.launcherOpen || cmd == nil {
		t.Fatal("n should open the launcher and read recipes")
	}
	m, _ = update(t, m, cmd())
	out := view(m, dir)
	mustContain(t, out, "Launch a recipe", "quickstart", "spirals", "shipped")

	// Local recipes follow the shipped ones, past the first screen: filter to them.
	m = press(t, m, "b", "r", "o", "k")
	mustContain(t, view(m, dir), "broken.yaml", "local", "invalid:")
	m, _ = update(t, m, keyMsg("enter"))
	mustContain(t, view(m, dir), "broken.yaml cannot run")

	m = press(t, m, "n", "m", "i", "n", "e")
	if got := m.launcher.shown(); len(got) != 1 || got[0].name != "mine.yaml" {
		t.Fatalf("filter 'mine' shows %v", got)
	}
	m, _ = update(t, m, keyMsg("enter")) // asks first: TestLauncherAsksBeforeLaunching
	m, cmd = update(t, m, keyMsg("y"))
	if m.launcherOpen || cmd == nil {
		t.Fatal("enter, y should close the launcher and launch")
	}
	launched, ok := cmd().(launchedMsg)
	if !ok || launched.err != nil {
		t.Fatalf("launch: %+v", launched)
	}
	m, cmd = update(t, m, launched)
	mustContain(t, view(m, dir), "launched mine.yaml as pid "+strconv.Itoa(launched.pid))
	// The batch holds the wait for the process; run it.
	var exited exitedMsg
	if batch, ok := cmd().(tea.BatchMsg); ok {
		for _, c := range batch {
			if c == nil {
				continue
			}
			if e, ok := runWithin(c, 10*time.Second).(exitedMsg); ok {
				exited = e
			}
		}
	}
	if exited.pid != launched.pid || exited.code != 0 {
		t.Fatalf("exit %+v", exited)
	}
	log, err := os.ReadFile(launched.log)
	if err != nil {
		t.Fatal(err)
	}
	absDir, _ := filepath.Abs(dir)
	wantArgs := "args: run " + filepath.Join(work, "mine.yaml") + " --runs-dir " + absDir
	if !strings.Contains(string(log), wantArgs) || !strings.Contains(string(log), "pwd: "+work) {
		t.Errorf("log:\n%s\nwant %q", log, wantArgs)
	}
	mySid, _ := unix.Getsid(0)
	if strings.Contains(string(log), "sid: "+strconv.Itoa(mySid)+"\n") || !strings.Contains(string(log), "sid: "+strconv.Itoa(launched.pid)) {
		t.Errorf("the run did not get its own session (ours %d):\n%s", mySid, log)
	}
}

func runWithin(c tea.Cmd, d time.Duration) tea.Msg {
	done := make(chan tea.Msg, 1)
	go func() { done <- c() }()
	select {
	case msg := <-done:
		return msg
	case <-time.After(d):
		return nil
	}
}

func TestQuitAndHelpKeys(t *testing.T) {
	m, dir := newModel(t, 100, 30)
	for _, k := range []string{"q", "ctrl+c"} {
		_, cmd := update(t, m, keyMsg(k))
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s does not quit", k)
		}
	}
	short := view(m, dir)
	m = press(t, m, "?")
	full := view(m, dir)
	mustContain(t, full, "mark all shown", "reverse sort", "page down")
	if strings.Contains(short, "reverse sort") {
		t.Error("the short help lists everything")
	}
	// While the filter has the keyboard, q is text.
	m = press(t, m, "?", "/", "q")
	if m.table.filter.Value() != "q" {
		t.Errorf("q in the filter: %q", m.table.filter.Value())
	}
}

// TestEveryViewFitsTheTerminal: at any size each view draws exactly the
// terminal's lines, none wider than it, so nothing scrolls or wraps.
func TestEveryViewFitsTheTerminal(t *testing.T) {
	dir := newFixtureStore(t)
	sizes := [][2]int{{80, 24}, {120, 40}, {60, 16}, {200, 60}, {40, 10}, {20, 6}}
	setups := map[string][]string{
		"runs":     nil,
		"run":      {"enter"},
		"params":   {"enter", "p"},
		"compare":  {"/", "o", "p", "t", "enter", "a", "c"},
		"launcher": {"n"},
		"help":     {"?"},
		"filter":   {"/", "x", "y", "z"},
	}
	for name, keys := range setups {
		for _, sz := range sizes {
			m := New(fixtureOptions(dir))
			m, _ = update(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			m = pollOnce(t, m)
			m, _ = update(t, m, systemMsg(fakeSample(systemSample{}, nil)))
			m = press(t, m, keys...)
			out := m.View()
			lines := strings.Split(out, "\n")
			if len(lines) != sz[1] {
				t.Errorf("%s at %dx%d: %d lines", name, sz[0], sz[1], len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > sz[0] {
					t.Errorf("%s at %dx%d: line %d is %d wide: %q", name, sz[0], sz[1], i, w, l)
				}
			}
		}
	}
}

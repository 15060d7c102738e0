package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/recipes"
)

// TestLauncherRanksLocalRecipesFirst: typing a name lists the local recipe
// files it names (by file name or by the recipe's own name) before the
// shipped recipes it names, and both before recipes that only mention it
// in their description; closer names (the whole name, then its start)
// come first within each (before: shipped recipes always came first, so
// enter launched the shipped one the user did not mean).
func TestLauncherRanksLocalRecipesFirst(t *testing.T) {
	l := launcher{loaded: true, items: []recipeItem{
		{name: "mnist-lenet", arg: "mnist-lenet", source: "shipped", desc: "LeNet-5 on MNIST"},
		{name: "quickstart", arg: "quickstart", source: "shipped", desc: "MLP on MNIST"},
		{name: "spirals", arg: "spirals", source: "shipped", desc: "MLP on the synthetic two-spirals set"},
		{name: "experiment.yaml", arg: "/w/experiment.yaml", source: "local", recipe: "spirals", desc: "wider"},
		{name: "lenet.yaml", arg: "/w/lenet.yaml", source: "local", recipe: "lenet", desc: "my LeNet"},
		{name: "my-spirals.yaml", arg: "/w/my-spirals.yaml", source: "local", recipe: "mine", desc: "noisier"},
		{name: "notes.yaml", arg: "/w/notes.yaml", source: "local", recipe: "notes", desc: "spirals, slower"},
		{name: "spirals.yaml", arg: "/w/spirals.yaml", source: "local", recipe: "spirals", desc: "a copy"},
	}}
	for _, c := range []struct {
		filter string
		want   []string
	}{
		// No filter: as found, shipped then local.
		{"", []string{"mnist-lenet", "quickstart", "spirals", "experiment.yaml", "lenet.yaml", "my-spirals.yaml", "notes.yaml", "spirals.yaml"}},
		// Local names (whole, then containing), shipped name, then the
		// description-only matches, local before shipped.
		{"spirals", []string{"experiment.yaml", "spirals.yaml", "my-spirals.yaml", "spirals", "notes.yaml"}},
		{"spir", []string{"experiment.yaml", "spirals.yaml", "my-spirals.yaml", "spirals", "notes.yaml"}},
		{"lenet", []string{"lenet.yaml", "mnist-lenet"}},
		{"LeNet", []string{"lenet.yaml", "mnist-lenet"}},
		{"mnist", []string{"mnist-lenet", "quickstart"}},
		// Every word in the name, or else anywhere.
		{"spirals yaml", []string{"spirals.yaml", "my-spirals.yaml", "experiment.yaml", "notes.yaml"}},
	} {
		l.filter = c.filter
		var got []string
		for _, it := range l.shown() {
			got = append(got, it.name)
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("filter %q lists %v, want %v", c.filter, got, c.want)
		}
	}
}

// launcherModel is a dashboard whose launcher reads recipes from a fresh
// work folder holding files, and launches a stand-in for lathe that
// prints its arguments.
func launcherModel(t *testing.T, files map[string]string) (Model, string, string) {
	t.Helper()
	m, dir := newModel(t, 120, 30)
	work := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fake := filepath.Join(t.TempDir(), "fake-lathe")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho args: \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m.opts.WorkDir, m.opts.Executable, m.launcher.workDir = work, fake, work
	m, cmd := update(t, m, keyMsg("n"))
	if !m.launcherOpen || cmd == nil {
		t.Fatal("n should open the launcher and read recipes")
	}
	m, _ = update(t, m, cmd())
	return m, dir, work
}

// launchedBy runs the launch command a key returned and waits for the
// stand-in to exit, returning what it was asked to run.
func launchedBy(t *testing.T, cmd tea.Cmd) string {
	t.Helper()
	if cmd == nil {
		t.Fatal("no launch")
	}
	msg, ok := cmd().(launchedMsg)
	if !ok || msg.err != nil {
		t.Fatalf("launch: %+v", msg)
	}
	if e, ok := runWithin(waitExit(msg), 10*time.Second).(exitedMsg); !ok || e.code != 0 {
		t.Fatalf("exit %+v", e)
	}
	log, err := os.ReadFile(msg.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(log)
}

// TestLauncherAsksBeforeLaunching: enter on a recipe asks "Run …? y/n"
// naming the file; n or esc go back to the list without launching, y or
// enter launch it (before: enter launched at once). A local copy of a
// shipped recipe, typed by name, is the one asked about and launched.
func TestLauncherAsksBeforeLaunching(t *testing.T) {
	src, err := recipes.Get("spirals")
	if err != nil {
		t.Fatal(err)
	}
	m, dir, work := launcherModel(t, map[string]string{"spirals.yaml": string(src)})
	local := filepath.Join(work, "spirals.yaml")
	prompt := "Run spirals.yaml (" + local + ")? y/n"

	m = press(t, m, "s", "p", "i", "r", "a", "l", "s")
	if got := m.launcher.shown(); len(got) < 2 || got[0].arg != local || got[1].source != "shipped" {
		t.Fatalf("typing spirals lists %+v, want the local file first", got)
	}
	for _, cancel := range []string{"n", "esc"} {
		var cmd tea.Cmd
		m, cmd = update(t, m, keyMsg("enter"))
		if cmd != nil || !m.launcherOpen {
			t.Fatalf("enter launched without asking (launcher open: %v)", m.launcherOpen)
		}
		mustContain(t, view(m, dir), prompt, "y/enter")
		m, cmd = update(t, m, keyMsg(cancel))
		if cmd != nil {
			t.Errorf("%s launched", cancel)
		}
		if !m.launcherOpen || m.launcher.filter != "spirals" {
			t.Errorf("%s: want the launcher's list back, filter kept (open %v, filter %q)", cancel, m.launcherOpen, m.launcher.filter)
		}
		out := view(m, dir)
		mustContain(t, out, "Launch a recipe", "enter launch")
		if strings.Contains(out, prompt) {
			t.Errorf("%s: still asking:\n%s", cancel, out)
		}
	}
	// Keys other than an answer keep the question.
	m, _ = update(t, m, keyMsg("enter"))
	m, cmd := update(t, m, keyMsg("x"))
	if cmd != nil || m.launcher.confirm == nil || m.launcher.filter != "spirals" {
		t.Errorf("x answered the question (cmd %v, confirm %v, filter %q)", cmd != nil, m.launcher.confirm, m.launcher.filter)
	}
	for _, yes := range []string{"y", "enter"} {
		if m.launcher.confirm == nil {
			m, _ = update(t, m, keyMsg("enter"))
		}
		var cmd tea.Cmd
		m, cmd = update(t, m, keyMsg(yes))
		if m.launcherOpen {
			t.Errorf("%s: the launcher stayed open", yes)
		}
		if log := launchedBy(t, cmd); !strings.Contains(log, "args: run "+local+" --runs-dir ") {
			t.Errorf("%s launched %q, want the local file", yes, log)
		}
		m = press(t, m, "n", "s", "p", "i", "r", "a", "l", "s")
	}
}

// TestLauncherAsksAboutShippedRecipes: a shipped recipe's question says
// it is the shipped one.
func TestLauncherAsksAboutShippedRecipes(t *testing.T) {
	m, dir, _ := launcherModel(t, nil)
	m = press(t, m, "q", "u", "i", "c", "k", "enter")
	mustContain(t, view(m, dir), "Run quickstart (shipped recipe)? y/n")
	m, cmd := update(t, m, keyMsg("y"))
	if log := launchedBy(t, cmd); !strings.Contains(log, "args: run quickstart --runs-dir ") {
		t.Errorf("launched %q", log)
	}
}

// TestLauncherQuestionFitsTheBox: a long path is shortened in its middle,
// keeping the file name and the y/n.
func TestLauncherQuestionFitsTheBox(t *testing.T) {
	path := "/home/someone/projects/" + strings.Repeat("deep/", 12) + "spirals.yaml"
	l := launcher{confirm: &recipeItem{name: "spirals.yaml", arg: path, source: "local"}}
	if q := l.question(200); q != "Run spirals.yaml ("+path+")? y/n" {
		t.Errorf("room for all: %q", q)
	}
	q := l.question(50)
	if ansi.StringWidth(q) > 50 || !strings.HasPrefix(q, "Run spirals.yaml (/home/") || !strings.HasSuffix(q, "…/spirals.yaml)? y/n") {
		t.Errorf("in 50 cells: %q (%d)", q, ansi.StringWidth(q))
	}
}

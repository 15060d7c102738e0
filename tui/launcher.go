package tui

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/recipes"
)

// recipeItem is a recipe the launcher offers.
type recipeItem struct {
	name   string // as listed: a shipped name or a file's base name
	arg    string // what `lathe run` is given: a shipped name or a file path
	source string // "shipped" or "local"
	recipe string // the name the recipe gives itself, when it parses
	desc   string
	err    string // why it cannot run, when it does not parse
}

type recipesMsg []recipeItem

// findRecipes lists the shipped recipes and the recipe files (*.yaml,
// *.yml) in workDir, each parsed so a broken one is flagged before launch.
func findRecipes(workDir string) tea.Cmd {
	return func() tea.Msg {
		var items []recipeItem
		for _, name := range recipes.Names() {
			it := recipeItem{name: name, arg: name, source: "shipped"}
			if src, err := recipes.Get(name); err != nil {
				it.err = err.Error()
			} else if rec, err := recipe.Parse(recipes.Path(name), src); err != nil {
				it.err = err.Error()
			} else {
				it.recipe, it.desc = rec.Name, rec.Description
			}
			items = append(items, it)
		}
		var files []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(workDir, pat))
			files = append(files, m...)
		}
		sort.Strings(files)
		for _, f := range files {
			it := recipeItem{name: filepath.Base(f), arg: f, source: "local"}
			if rec, err := recipe.ParseFile(f); err != nil {
				it.err = err.Error()
			} else {
				it.recipe, it.desc = rec.Name, rec.Description
				if it.desc == "" {
					it.desc = rec.Name
				}
			}
			items = append(items, it)
		}
		return recipesMsg(items)
	}
}

// launcher picks a recipe to start. Typing filters the list; enter asks
// to confirm (a run can take hours and a mistyped enter should not start
// one), and y or enter launches.
type launcher struct {
	items   []recipeItem
	loaded  bool
	filter  string
	cursor  int
	workDir string
	// confirm is the recipe "Run …? y/n" asks about; nil while choosing.
	confirm *recipeItem
}

// shown is what the filter matches, best first (see matchRank); with no
// filter, every recipe as found.
func (l launcher) shown() []recipeItem {
	terms := strings.Fields(strings.ToLower(l.filter))
	type ranked struct {
		it   recipeItem
		rank int
	}
	var matches []ranked
	for _, it := range l.items {
		if containsAll(strings.ToLower(it.name+" "+it.source+" "+it.recipe+" "+it.desc), terms) {
			matches = append(matches, ranked{it, matchRank(it, terms)})
		}
	}
	sort.SliceStable(matches, func(i, j int) bool { return matches[i].rank < matches[j].rank })
	out := make([]recipeItem, len(matches))
	for i, m := range matches {
		out[i] = m.it
	}
	return out
}

// matchRank orders the recipes the filter terms match, lowest first. A
// name typed means a recipe of that name, and a local file of that name
// is the one being worked on, so: local recipes whose file name or own
// name holds every term, then shipped ones, then recipes matched only by
// their description or source; within a group the whole name typed, then
// its start, then any part of it.
func matchRank(it recipeItem, terms []string) int {
	if len(terms) == 0 {
		return 0
	}
	closeness := 3 // not by name
	for _, n := range []string{it.name, it.recipe} {
		n = strings.ToLower(n)
		if n == "" || !containsAll(n, terms) {
			continue
		}
		stem := strings.TrimSuffix(strings.TrimSuffix(n, ".yaml"), ".yml")
		switch {
		case stem == strings.Join(terms, " "):
			closeness = 0
		case strings.HasPrefix(stem, terms[0]):
			closeness = min(closeness, 1)
		default:
			closeness = min(closeness, 2)
		}
	}
	shipped := 0
	if it.source != "local" {
		shipped = 1
	}
	if closeness == 3 {
		return 6 + shipped
	}
	return 3*shipped + closeness
}

func containsAll(s string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(s, t) {
			return false
		}
	}
	return true
}

// launchRequest is what the launcher asks the root model to start.
type launchRequest struct{ item recipeItem }

// update handles a key; close reports that the launcher is done.
func (l launcher) update(msg tea.KeyMsg, k keyMap) (launcher, *launchRequest, bool) {
	if it := l.confirm; it != nil {
		switch {
		case key.Matches(msg, k.Confirm) || key.Matches(msg, k.Accept):
			l.confirm = nil
			return l, &launchRequest{*it}, true
		case key.Matches(msg, k.Cancel):
			l.confirm = nil // back to the list, filter and choice kept
		}
		// Any other key leaves the question asked: it is not an answer.
		return l, nil, false
	}
	shown := l.shown()
	switch {
	case msg.Type == tea.KeyEsc:
		return l, nil, true
	case msg.Type == tea.KeyEnter:
		if l.cursor < len(shown) {
			it := shown[l.cursor]
			if it.err != "" {
				// Nothing to confirm: the root model says why it cannot run.
				return l, &launchRequest{it}, true
			}
			l.confirm = &it
			return l, nil, false
		}
	case msg.Type == tea.KeyUp || msg.Type == tea.KeyCtrlP:
		l.cursor = max(0, l.cursor-1)
	case msg.Type == tea.KeyDown || msg.Type == tea.KeyCtrlN:
		l.cursor = min(len(shown)-1, l.cursor+1)
	case msg.Type == tea.KeyBackspace:
		if r := []rune(l.filter); len(r) > 0 {
			l.filter = string(r[:len(r)-1])
		}
		l.cursor = 0
	case msg.Type == tea.KeyRunes || msg.Type == tea.KeySpace:
		l.filter += string(msg.Runes)
		l.cursor = 0
	}
	l.cursor = max(0, min(l.cursor, len(l.shown())-1))
	return l, nil, false
}

func (l launcher) view(st styles, w, h int) string {
	boxW := min(w-2, 100)
	inner := boxW - 4
	lines := []string{
		st.bold.Render("Launch a recipe"),
		st.dim.Render(truncate("It runs as its own process: quitting the dashboard does not stop it.", inner)),
		"",
		st.label.Render("filter ") + l.filter + st.cursor.Render("▏"),
	}
	shown := l.shown()
	switch {
	case !l.loaded:
		lines = append(lines, st.dim.Render("reading recipes…"))
	case len(shown) == 0:
		lines = append(lines, st.dim.Render("no recipe matches"))
	}
	footer := []string{""}
	if l.confirm != nil {
		// In the hint's place: the help line below lists the answers.
		footer = append(footer, st.warn.Render(l.question(inner)))
	} else {
		footer = append(footer, st.dim.Render("enter launch · ↑/↓ choose · type to filter · esc close"))
	}
	if l.workDir != "" {
		footer = append(footer, st.dim.Render("local recipes: *.yaml in "+l.workDir))
	}
	// The box's borders take two lines, and a long list one for its count.
	listH := max(1, h-len(lines)-len(footer)-2)
	if len(shown) > listH {
		listH = max(1, listH-1)
	}
	start := max(0, min(l.cursor-listH+1, len(shown)-listH))
	start = max(0, min(start, l.cursor))
	nameW := 12
	for _, it := range shown {
		nameW = max(nameW, min(28, len(it.name)))
	}
	for i := start; i < len(shown) && i < start+listH; i++ {
		it := shown[i]
		g := "  "
		if i == l.cursor {
			g = st.cursor.Render("›") + " "
		}
		desc := it.desc
		if it.err != "" {
			desc = st.errorText.Render("invalid: " + it.err)
		}
		line := g + pad(it.name, nameW) + " " + st.dim.Render(pad(it.source, 7)) + " " + desc
		line = pad(line, inner)
		if i == l.cursor {
			line = st.selected.Render(line)
		}
		lines = append(lines, line)
	}
	if len(shown) > listH {
		lines = append(lines, st.dim.Render(fmt.Sprintf("↕ %d recipes", len(shown))))
	}
	lines = append(lines, footer...)
	for i := range lines {
		lines[i] = truncate(lines[i], inner)
	}
	box := st.box.Width(boxW-2).Padding(0, 1).Render(strings.Join(lines, "\n"))
	return box
}

// question asks to confirm the launch of l.confirm in width cells, naming
// the file a local recipe is read from (shortened in its middle if need be).
func (l launcher) question(width int) string {
	it := l.confirm
	where := "shipped recipe"
	if it.source != "shipped" {
		where = it.arg
	}
	q := func(where string) string { return "Run " + it.name + " (" + where + ")? y/n" }
	if over := ansi.StringWidth(q(where)) - width; over > 0 && it.source != "shipped" {
		where = shortenName(where, max(1, ansi.StringWidth(where)-over))
	}
	return q(where)
}

package tui

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/recipes"
)

// recipeItem is a recipe the launcher offers.
type recipeItem struct {
	name   string // as listed
	arg    string // what `lathe run` is given: a shipped name or a file path
	source string // "shipped" or "local"
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
				it.desc = rec.Description
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
				it.desc = rec.Description
				if it.desc == "" {
					it.desc = rec.Name
				}
			}
			items = append(items, it)
		}
		return recipesMsg(items)
	}
}

// launcher picks a recipe to start. Typing filters the list.
type launcher struct {
	items   []recipeItem
	loaded  bool
	filter  string
	cursor  int
	workDir string
}

func (l launcher) shown() []recipeItem {
	var out []recipeItem
	terms := strings.Fields(strings.ToLower(l.filter))
	for _, it := range l.items {
		hay := strings.ToLower(it.name + " " + it.source + " " + it.desc)
		ok := true
		for _, t := range terms {
			ok = ok && strings.Contains(hay, t)
		}
		if ok {
			out = append(out, it)
		}
	}
	return out
}

// launchRequest is what the launcher asks the root model to start.
type launchRequest struct{ item recipeItem }

// update handles a key; close reports that the launcher is done.
func (l launcher) update(msg tea.KeyMsg) (launcher, *launchRequest, bool) {
	shown := l.shown()
	switch {
	case msg.Type == tea.KeyEsc:
		return l, nil, true
	case msg.Type == tea.KeyEnter:
		if l.cursor < len(shown) {
			it := shown[l.cursor]
			return l, &launchRequest{it}, true
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
	listH := max(1, h-len(lines)-5)
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
	lines = append(lines, "", st.dim.Render("enter launch · ↑/↓ choose · type to filter · esc close"))
	if l.workDir != "" {
		lines = append(lines, st.dim.Render("local recipes: *.yaml in "+l.workDir))
	}
	for i := range lines {
		lines[i] = truncate(lines[i], inner)
	}
	box := st.box.Width(boxW-2).Padding(0, 1).Render(strings.Join(lines, "\n"))
	return box
}

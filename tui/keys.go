package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap holds every binding; each view shows the ones it uses through
// helpKeys, so the help line never advertises a key that does nothing.
type keyMap struct {
	Quit, Help, Back, Launch, Stop                      key.Binding
	Up, Down, PageUp, PageDown, Home, End               key.Binding
	Open, Mark, MarkAll, Compare, Filter, Sort, Reverse key.Binding
	NextChart, PrevChart, Smooth, LogScale, Params      key.Binding
	Report                                              key.Binding
	NextMetric, PrevMetric                              key.Binding
	Confirm, Cancel, Accept                             key.Binding
}

func newKeyMap() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		Quit:     b("q", "quit", "q", "ctrl+c"),
		Help:     b("?", "keys", "?"),
		Back:     b("esc", "back", "esc", "backspace"),
		Launch:   b("n", "new run", "n"),
		Stop:     b("x", "stop", "x"),
		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		PageUp:   b("pgup", "page up", "pgup", "ctrl+b"),
		PageDown: b("pgdn", "page down", "pgdown", "ctrl+f"),
		Home:     b("g", "first", "home", "g"),
		End:      b("G", "last", "end", "G"),
		Open:     b("enter", "open", "enter"),
		Mark:     b("space", "mark", " ", "space"),
		MarkAll:  b("a", "mark all shown", "a"),
		Compare:  b("c", "compare", "c"),
		Filter:   b("/", "filter", "/"),
		Sort:     b("o", "sort by", "o"),
		Reverse:  b("O", "reverse sort", "O"),

		NextChart: b("→", "charts", "right", "tab"),
		PrevChart: b("←", "back a page", "left", "shift+tab"),
		Smooth:    b("s", "smooth", "s"),
		LogScale:  b("l", "log", "l"),
		Params:    b("p", "params", "p"),
		Report:    b("r", "report", "r"),

		NextMetric: b("→", "next metric", "right", "tab"),
		PrevMetric: b("←", "previous metric", "left", "shift+tab"),

		Confirm: b("y", "yes", "y", "Y"),
		Cancel:  b("n/esc", "no", "n", "N", "esc"),
		Accept:  b("enter", "launch", "enter"),
	}
}

// helpKeys adapts a view's bindings to bubbles/help.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

package nbui

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// Output is one display: a MIME bundle (the front-end shows the richest
// part it understands) plus metadata that is kept in the saved notebook.
type Output struct {
	HTML     string
	Markdown string // rendered by the front-end (a table written as Markdown)
	PNG      []byte
	Text     string // plain-text fallback, and what a non-notebook run prints
	// Meta is stored with the output in the .ipynb. Values must be strings,
	// ints or float64s: GoNB sends them over gob, which knows only basic types.
	Meta map[string]any
}

// Display is where nbui draws.
type Display interface {
	// Show appends a new output to the cell.
	Show(o Output)
	// Update creates the output named id on its first call and replaces it
	// on later ones.
	Update(id string, o Output)
}

var (
	displayMu sync.Mutex
	current   Display
)

// SetDisplay makes d the display for later calls and returns the previous
// one; nil restores the default (the notebook under GoNB, else stdout).
func SetDisplay(d Display) Display {
	displayMu.Lock()
	defer displayMu.Unlock()
	prev := current
	current = d
	return prev
}

func display() Display {
	displayMu.Lock()
	defer displayMu.Unlock()
	if current != nil {
		return current
	}
	if gonbui.IsNotebook {
		return notebook{}
	}
	return TextDisplay{W: os.Stdout}
}

// InNotebook reports whether the program runs inside a GoNB cell.
func InNotebook() bool { return gonbui.IsNotebook }

// notebook draws through GoNB.
type notebook struct{}

// Show sends o and waits until GoNB has it: a cell that ends right after
// (an error, a summary) would otherwise lose it now and then, as its
// program exits with the output still in the pipe (seen in CI).
func (notebook) Show(o Output) {
	gonbui.SendData(o.data(""))
	gonbui.Sync()
}
func (notebook) Update(id string, o Output) { gonbui.SendData(o.data(id)) }

func (o Output) data(id string) *protocol.DisplayData {
	d := &protocol.DisplayData{Data: map[protocol.MIMEType]any{}, Metadata: map[string]any{}, DisplayID: id}
	if o.HTML != "" {
		d.Data[protocol.MIMETextHTML] = o.HTML
	}
	if o.Markdown != "" {
		d.Data[protocol.MIMETextMarkdown] = o.Markdown
	}
	if o.PNG != nil {
		d.Data[protocol.MIMEImagePNG] = o.PNG
	}
	if o.Text != "" {
		d.Data[protocol.MIMETextPlain] = o.Text
	}
	for k, v := range o.Meta {
		d.Metadata[k] = v
	}
	return d
}

// TextDisplay prints each output's text; updates print too, prefixed by
// their id, so a terminal shows progress.
type TextDisplay struct{ W io.Writer }

// Show prints o.Text.
func (t TextDisplay) Show(o Output) {
	if o.Text != "" {
		fmt.Fprintln(t.W, o.Text)
	}
}

// Update prints o.Text.
func (t TextDisplay) Update(id string, o Output) { t.Show(o) }

// Recorder keeps every output it is given, for tests.
type Recorder struct {
	mu      sync.Mutex
	Shown   []Output
	Updates map[string][]Output // by display id, in order
	Order   []string            // display ids in the order first seen
}

// Show records o.
func (r *Recorder) Show(o Output) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Shown = append(r.Shown, o)
}

// Update records o under id.
func (r *Recorder) Update(id string, o Output) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Updates == nil {
		r.Updates = map[string][]Output{}
	}
	if _, ok := r.Updates[id]; !ok {
		r.Order = append(r.Order, id)
	}
	r.Updates[id] = append(r.Updates[id], o)
}

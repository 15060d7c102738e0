package tui

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/muesli/termenv"
)

// Colours are hex values: lipgloss maps them down to 256 or 16 colours,
// and drops them under NO_COLOR or on terminals without colour, where
// markers, the cursor gutter and text labels carry the meaning instead.
var (
	colourAccent = lipgloss.Color("#7D56F4")
	colourDim    = lipgloss.Color("#808080")
	colourBorder = lipgloss.Color("#5F5F87")

	// seriesColours tell series apart (Okabe–Ito, readable by most colour-blind eyes).
	seriesColours = []lipgloss.Color{"#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#0072B2", "#D55E00", "#BBBBBB"}
	// seriesMarkers tell series apart without colour.
	seriesMarkers = []rune{'●', '◆', '▲', '■', '✚', '✖', '▼', '◀'}
)

type styles struct {
	title, tab, tabActive, header, dim, bold, selected, cursor, errorText, warn, ok, box, label, key, bar lipgloss.Style
	status                                                                                                map[runs.Status]lipgloss.Style
}

func newStyles() styles {
	s := styles{
		title:     lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#FFFFFF")).Background(colourAccent).Padding(0, 1),
		tab:       lipgloss.NewStyle().Foreground(colourDim).Padding(0, 1),
		tabActive: lipgloss.NewStyle().Bold(true).Underline(true).Padding(0, 1),
		header:    lipgloss.NewStyle().Bold(true).Foreground(colourAccent),
		dim:       lipgloss.NewStyle().Foreground(colourDim),
		bold:      lipgloss.NewStyle().Bold(true),
		selected:  lipgloss.NewStyle().Background(lipgloss.Color("#3A3A5A")),
		cursor:    lipgloss.NewStyle().Bold(true).Foreground(colourAccent),
		errorText: lipgloss.NewStyle().Foreground(lipgloss.Color("#FF5F5F")),
		warn:      lipgloss.NewStyle().Foreground(lipgloss.Color("#FFAF00")),
		ok:        lipgloss.NewStyle().Foreground(lipgloss.Color("#5FD75F")),
		box:       lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(colourBorder),
		label:     lipgloss.NewStyle().Foreground(colourDim),
		key:       lipgloss.NewStyle().Bold(true),
		bar:       lipgloss.NewStyle().Foreground(colourAccent), // as the stages' progress bars
	}
	s.status = map[runs.Status]lipgloss.Style{
		runs.Running:     lipgloss.NewStyle().Foreground(lipgloss.Color("#5FAFFF")).Bold(true),
		runs.Finished:    s.ok,
		runs.Failed:      s.errorText.Bold(true),
		runs.Stopped:     s.warn,
		runs.Interrupted: lipgloss.NewStyle().Foreground(lipgloss.Color("#D787D7")),
	}
	return s
}

// colourful reports whether the terminal shows colours; without them charts
// mark every series with its own symbol.
func colourful() bool { return lipgloss.ColorProfile() != termenv.Ascii }

func seriesStyle(i int) lipgloss.Style {
	return lipgloss.NewStyle().Foreground(seriesColours[i%len(seriesColours)])
}

func seriesMarker(i int) rune { return seriesMarkers[i%len(seriesMarkers)] }

// statusSymbol gives each status a glyph, so status reads without colour.
func statusSymbol(s runs.Status) string {
	switch s {
	case runs.Running:
		return "▶"
	case runs.Finished:
		return "✓"
	case runs.Failed:
		return "✗"
	case runs.Stopped:
		return "■"
	case runs.Interrupted:
		return "!"
	}
	return "·"
}

package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Values and metrics print with pkg/runs' vocabulary (runs.FormatMetric,
// runs.FormatDuration, …), as in the CLI and notebooks; this file holds
// what only the terminal needs: cutting and padding styled text to cells.

// truncate cuts s (which may hold ANSI styles) to width cells, marking the cut.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// pad truncates or right-pads s to exactly width cells.
func pad(s string, width int) string {
	s = truncate(s, width)
	if w := ansi.StringWidth(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// padLeft truncates or left-pads s to exactly width cells (numbers align right).
func padLeft(s string, width int) string {
	s = truncate(s, width)
	if w := ansi.StringWidth(s); w < width {
		s = strings.Repeat(" ", width-w) + s
	}
	return s
}

// fit makes s exactly w cells wide and h lines high, so a view never
// scrolls the terminal or leaves stale text behind when it shrinks.
func fit(s string, w, h int) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = pad(l, w)
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return strings.Join(lines, "\n")
}

// shortID keeps the distinguishing tail of a run id (time and random part).
func shortID(id string) string {
	if len(id) > 11 {
		return id[len(id)-11:]
	}
	return id
}

package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// formatDuration prints a duration the way a run table wants it: short,
// whole seconds, no trailing zero units (42s, 3m05s, 2h10m).
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < 10*time.Second {
		return trimZero(fmt.Sprintf("%.1f", d.Seconds())) + "s"
	}
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// formatCount prints a step or sample count compactly: 950, 12.3k, 4.1M.
func formatCount(n float64) string {
	a := math.Abs(n)
	switch {
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", n/1e9)) + "G"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", n/1e6)) + "M"
	case a >= 1e4:
		return trimZero(fmt.Sprintf("%.1f", n/1e3)) + "k"
	}
	return fmt.Sprintf("%.0f", n)
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// formatValue prints a metric value in at most about seven characters,
// whatever its magnitude: 0.0123, 1.234, 123.4, 1.2e-05, 3.4e+06.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == 0:
		return "0"
	case a >= 1e4 && a < 1e12:
		return formatCount(v)
	case a >= 1e12 || a < 1e-4:
		return fmt.Sprintf("%.1e", v)
	case a < 1e-3:
		return fmt.Sprintf("%.5f", v)
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	case a >= 1:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// formatPercent prints a fraction as a percentage: 0.9731 -> 97.31%.
func formatPercent(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }

// formatMetric prints a metric by its name's convention: accuracies and
// sparsities are fractions shown as percentages, times carry a unit.
func formatMetric(name string, v float64) string {
	switch {
	case isFraction(name):
		return formatPercent(v)
	case strings.HasSuffix(name, "per_s"):
		return formatCount(v) + "/s"
	case strings.HasSuffix(name, "_s"):
		return formatSeconds(v)
	case strings.HasSuffix(name, "_ms") || strings.HasPrefix(name, "ms_"):
		return formatValue(v) + "ms"
	case name == "params" || strings.HasSuffix(name, "steps") || name == "epochs" || name == "nonzeros" ||
		strings.HasSuffix(name, "bytes") || name == "flops":
		return formatCount(v)
	}
	return formatValue(v)
}

// formatSeconds prints a time in seconds with the precision it deserves:
// 0.052s, 3.4s, 2m05s.
func formatSeconds(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.3fs", v)
	case v < 60:
		return trimZero(fmt.Sprintf("%.1f", v)) + "s"
	}
	return formatDuration(time.Duration(v * float64(time.Second)))
}

// isFraction says whether a metric is a 0–1 fraction best read as a percentage.
func isFraction(name string) bool {
	base := name
	if i := strings.IndexByte(base, '/'); i >= 0 {
		base = base[:i]
	}
	return strings.HasSuffix(base, "accuracy") || base == "sparsity"
}

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

package runs

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"
)

// This file is the vocabulary every reader of the store prints with (the
// CLI, the dashboard, notebooks, reports), so a metric reads the same
// everywhere: accuracies as percentages, times with a unit, counts short,
// NaN and infinities as NaN, +Inf and -Inf.

// FormatValue prints a metric value in at most about seven characters,
// whatever its magnitude: 0.0123, 1.234, 123.4, 57.8k, 1.2e-05, NaN, +Inf.
func FormatValue(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e4 && a < 1e12:
		return FormatCount(v)
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

// FormatCount prints a step, sample or parameter count compactly: 950,
// 12.3k, 4.1M, 2.5G, 3.4e+12.
func FormatCount(n float64) string {
	if s, ok := nonFinite(n); ok {
		return s
	}
	a := math.Abs(n)
	switch {
	case a >= 1e12:
		return fmt.Sprintf("%.1e", n)
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

// FormatPercent prints a fraction as a percentage: 0.9731 -> 97.31%.
func FormatPercent(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

// FormatMetric prints a metric by its name's convention: accuracies and
// sparsities are fractions shown as percentages, *_s are seconds, *per_s
// rates, *_ms milliseconds, counts (params, steps, bytes, flops) short.
func FormatMetric(name string, v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	switch {
	case IsFraction(name):
		return FormatPercent(v)
	case strings.HasSuffix(name, "per_s"):
		return FormatCount(v) + "/s"
	case strings.HasSuffix(name, "_s"):
		return FormatSeconds(v)
	case strings.HasSuffix(name, "_ms") || strings.HasPrefix(name, "ms_"):
		return FormatValue(v) + "ms"
	case name == "params" || strings.HasSuffix(name, "steps") || name == "epochs" || name == "nonzeros" ||
		strings.HasSuffix(name, "bytes") || name == "flops":
		return FormatCount(v)
	}
	return FormatValue(v)
}

// FormatSeconds prints a time in seconds with the precision it deserves:
// 0.052s, 3.4s, 2m05s.
func FormatSeconds(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	switch {
	case v < 1:
		return fmt.Sprintf("%.3fs", v)
	case v < 60:
		return trimZero(fmt.Sprintf("%.1f", v)) + "s"
	case v > float64(math.MaxInt64/int64(time.Second)):
		return FormatCount(v) + "s"
	}
	return FormatDuration(time.Duration(v * float64(time.Second)))
}

// FormatDuration prints a duration short, in whole seconds from ten
// seconds on, with no trailing zero units: 1.5s, 42s, 3m05s, 2h10m.
func FormatDuration(d time.Duration) string {
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

// IsFraction says whether a metric is a 0–1 fraction best read as a
// percentage: an accuracy or a sparsity, also per layer (sparsity/fc1).
func IsFraction(name string) bool {
	base := metricBase(name)
	return strings.HasSuffix(base, "accuracy") || base == "sparsity"
}

// metricBase is a metric's name without its per-layer part.
func metricBase(name string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}

// SortMetricNames lists m's names with accuracies first, then the rest,
// each group alphabetically.
func SortMetricNames(m map[string]float64) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		ai, aj := isAccuracy(names[i]), isAccuracy(names[j])
		if ai != aj {
			return ai
		}
		return names[i] < names[j]
	})
	return names
}

func isAccuracy(name string) bool { return strings.HasSuffix(metricBase(name), "accuracy") }

// OrDash is s, or "-" when s is empty (a table's empty cell).
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// SafeName makes s usable as one file name: letters, digits, '-', '_' and
// '.' stay, every other character becomes '_'. The result is never empty,
// "." or "..", so it never names a folder or escapes one.
func SafeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return '_'
	}, s)
	switch s {
	case "", ".":
		return "_"
	case "..":
		return "__"
	}
	return s
}

// FirstLine is the first line of s, without surrounding blanks: an error
// or a description in one line.
func FirstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// TableHeader is the trade-off table's header row, one cell per column.
// Tests read the Markdown table back by these names.
var TableHeader = []string{"variant", "file", "weights", "accuracy", "Δ pp", "agrees", "params", "non-zero", "bytes",
	"size ×", "ONNX bytes", "FLOPs/ex", "runtime b1 ms", "runtime b64 ms", "speed ×", "samples/s b64",
	"gomlx b1 ms", "gomlx b64 ms", "train time", "Pareto"}

// TableRows is the trade-off table as text cells, one row per variant,
// in the order of TableHeader. Ratios are against the baseline: size ×
// is how many times smaller its file is, speed × how many times faster it
// runs at batch 64 in the runtime; Δ pp its accuracy change in
// percentage points.
func (t *Tradeoff) TableRows() [][]string {
	base, _ := t.Baseline()
	front := ParetoFront(t.Variants, func(v Variant) float64 { return v.Bytes })
	fast := ParetoFront(t.Variants, func(v Variant) float64 { return v.RuntimeMs64 })
	rows := make([][]string, 0, len(t.Variants))
	for i, v := range t.Variants {
		var pareto []string
		if front[i] {
			pareto = append(pareto, "size")
		}
		if fast[i] {
			pareto = append(pareto, "latency")
		}
		rows = append(rows, []string{v.Label(), v.Name, v.Weights, formatAcc(v.Accuracy),
			formatPP(100 * (v.Accuracy - base.Accuracy)), formatAcc(v.Agreement), formatInt(v.Params), formatInt(v.NonZero),
			formatInt(v.Bytes), formatRatio(base.Bytes / v.Bytes), formatInt(v.ONNXBytes), runs.FormatCount(v.FLOPs),
			formatMs(v.RuntimeMs1), formatMs(v.RuntimeMs64), formatRatio(base.RuntimeMs64 / v.RuntimeMs64),
			formatInt(v.SamplesPerS()), formatMs(v.BackendMs1), formatMs(v.BackendMs64),
			runs.OrDash(formatTrain(v.TrainS)), runs.OrDash(strings.Join(pareto, ", "))})
	}
	return rows
}

// WriteMarkdown writes the report as Markdown: what was measured and how,
// the table, the seed's claims beside the measurements, and the two plots
// (files beside the Markdown, by name).
func WriteMarkdown(w io.Writer, t *Tradeoff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Trade-off report: %s\n\n", t.Title)
	fmt.Fprintf(&b, "Accuracy on the %s split (%d examples, never tuned on), computed by Lathe's runtime from each model file; agrees is how often a variant picks the baseline's class. "+
		"Latency is the median of interleaved calls in one process: Lathe's runtime (%s kernels) and, for float files, "+
		"the same file as a GoMLX graph on the %s backend. Bytes are the model file on disk. Ratios are against %s.\n\n",
		t.Split, t.Examples, runs.OrDash(t.Kernels), runs.OrDash(t.Backend), baseLabel(t))
	b.WriteString("| " + strings.Join(TableHeader, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(TableHeader)) + "\n")
	for _, row := range t.TableRows() {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n## The seed's claims\n\n")
	for _, c := range t.Claims() {
		fmt.Fprintf(&b, "- **%s — %s.** %s", c.Seed, c.Verdict(), capitalize(c.Detail))
		if c.Why != "" {
			fmt.Fprintf(&b, " %s", c.Why)
		}
		b.WriteString("\n")
	}
	if tr := t.Training; tr != nil {
		fmt.Fprintf(&b, "\nTraining: %s, batch %d, on %s (%d device(s)): float32 %.1f ms per step, bfloat16 %.1f ms.\n",
			tr.Model, tr.Batch, tr.Backend, tr.Devices, tr.F32Ms, tr.BF16Ms)
	}
	if p := t.Peer; p != nil {
		fmt.Fprintf(&b, "\n## Lathe's runtime and ONNX Runtime\n\n")
		if p.Missing != "" {
			fmt.Fprintf(&b, "ONNX Runtime was not timed: %s.\n", p.Missing)
		} else {
			fmt.Fprintf(&b, "The same model files, ONNX Runtime on their ONNX form (float; QDQ for int8), same session and threads; each model timed on its own (back-to-back calls, median), Lathe's runtime likewise.\n\n")
			fmt.Fprintf(&b, "| variant | weights | batch | Lathe's runtime ms | %s ms | Lathe ÷ ONNX Runtime |\n| --- | --- | --- | --- | --- | --- |\n", p.Engine)
			for _, r := range p.Rows {
				fmt.Fprintf(&b, "| %s | %s | %d | %.3f | %.3f | %.2f |\n", r.Variant, r.Weights, r.Batch, r.RuntimeMs, r.PeerMs, r.RuntimeMs/r.PeerMs)
			}
			if len(p.Accuracy) > 0 {
				fmt.Fprintf(&b, "\nThe same files' accuracy on the %s split:\n\n| variant | weights | Lathe's runtime | %s | same class |\n| --- | --- | --- | --- | --- |\n", t.Split, p.Engine)
				for _, a := range p.Accuracy {
					fmt.Fprintf(&b, "| %s | %s | %.2f%% | %.2f%% | %.2f%% |\n", a.Variant, a.Weights, 100*a.Runtime, 100*a.Peer, 100*a.Agreement)
				}
			}
		}
	}
	fmt.Fprintf(&b, "\n## Plots\n\nPareto front (no other variant is both at least as accurate and smaller, or faster) marked.\n\n"+
		"![accuracy against size](%s)\n\n![accuracy against latency](%s)\n", SizePlotFile, LatencyPlotFile)
	_, err := io.WriteString(w, b.String())
	return err
}

func baseLabel(t *Tradeoff) string {
	if v, ok := t.Baseline(); ok {
		return "the " + v.Label() + " (" + v.Name + ")"
	}
	return "nothing"
}

// ParetoFront marks the variants no other beats on both accuracy (higher
// is better) and cost (lower is better): none other has accuracy ≥ and
// cost ≤ with one of them strict. Variants with a NaN figure are off it.
func ParetoFront(vs []Variant, cost func(Variant) float64) []bool {
	out := make([]bool, len(vs))
	for i, a := range vs {
		if !finite(a.Accuracy, cost(a)) {
			continue
		}
		out[i] = true
		for j, b := range vs {
			if i == j || !finite(b.Accuracy, cost(b)) {
				continue
			}
			if b.Accuracy >= a.Accuracy && cost(b) <= cost(a) && (b.Accuracy > a.Accuracy || cost(b) < cost(a)) {
				out[i] = false
				break
			}
		}
	}
	return out
}

func formatAcc(v float64) string {
	if !finite(v) {
		return runs.FormatPercent(v)
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

func formatPP(v float64) string {
	if !finite(v) {
		return "-"
	}
	if math.Abs(v) < 0.005 {
		return "0.00"
	}
	return fmt.Sprintf("%+.2f", v)
}

func formatInt(v float64) string {
	if !finite(v) {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

func formatRatio(v float64) string {
	if !finite(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func formatMs(v float64) string {
	if !finite(v) {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

func formatTrain(s float64) string {
	if !finite(s) {
		return ""
	}
	return runs.FormatSeconds(s)
}

// formatBytes prints a size in kB or MB (1000s, as files are sold).
func formatBytes(v float64) string {
	switch {
	case !finite(v):
		return "-"
	case v >= 1e6:
		return fmt.Sprintf("%.2f MB", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f kB", v/1e3)
	}
	return fmt.Sprintf("%.0f B", v)
}

// ParseTable reads the first Markdown table of md (a report.md) back as
// rows of cells by column name: how tests and notebooks check a written
// report against the figures it was made from.
func ParseTable(md string) []map[string]string {
	var header []string
	var rows []map[string]string
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			if header != nil {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			row := map[string]string{}
			for i, c := range cells {
				if i < len(header) {
					row[header[i]] = c
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// textColumns are the columns WriteText prints: the table's essentials,
// narrow enough for a terminal.
var textColumns = []string{"variant", "weights", "accuracy", "Δ pp", "agrees", "params", "bytes", "size ×",
	"runtime b1 ms", "runtime b64 ms", "speed ×", "gomlx b64 ms", "train time", "Pareto"}

// WriteText writes the report for a terminal: the table's main columns
// aligned, then the seed's claims, one line each.
func WriteText(w io.Writer, t *Tradeoff) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	idx := make([]int, len(textColumns))
	for i, c := range textColumns {
		idx[i] = slices.Index(TableHeader, c)
	}
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(textColumns, "\t")))
	for _, row := range t.TableRows() {
		cells := make([]string, len(idx))
		for i, j := range idx {
			cells[i] = row[j]
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "(accuracy on %d %s examples; latency: median ms, Lathe's runtime and GoMLX on %s; ratios against %s)\n\n",
		t.Examples, t.Split, runs.OrDash(t.Backend), baseLabel(t))
	for _, c := range t.Claims() {
		if _, err := fmt.Fprintf(w, "%s — %s. %s %s\n", c.Seed, c.Verdict(), capitalize(c.Detail), c.Why); err != nil {
			return err
		}
	}
	for _, line := range t.Peer.Lines() {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

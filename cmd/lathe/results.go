package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/measured"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/spf13/cobra"
)

// resultsCmd is `lathe results`: the figures documents quote, saved from
// runs and benchmark JSON (add) and rendered as docs/results.md (render).
func resultsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "results",
		Short: "Save measured figures as entries and render the results page from them",
		Long: `Every figure a document quotes comes from an entry: a JSON file saved from
stored runs or a benchmark's JSON, with the command, date and machine that
measured it. Render turns a folder of entries into the results page.

  lathe results add RUN... --title T --show test_accuracy,sparsity --to docs/results/20-prune.json
  lathe bench train --model mlp --torch --json > mlp.json
  lathe results add --bench mlp.json --label model,batch --show lathe_ms:ms,torch_ms:ms --title T --to E.json
  lathe results render docs/results -o docs/results.md`,
	}
	cmd.AddCommand(resultsAddCmd(g), resultsRenderCmd())
	return cmd
}

func resultsAddCmd(g *globalFlags) *cobra.Command {
	var title, show, to, command, versus, benchFile, label string
	var stages []int
	var labels, prefixes []string
	var mean bool
	cmd := &cobra.Command{
		Use:   "add RECIPE | RUN... | --bench FILE",
		Short: "Save stored runs (one row each) or a benchmark's JSON as a results entry",
		Long: `A RECIPE with variants names its newest group of runs, one row per variant.
Columns (--show) are result names, each optionally with a format and a title,
name[:format][=Title]: formats percent, count, int (248,928), times (2.16×), ms,
signed, short, seconds, plain. Without a format a run's result prints as its
stage kind declares it.

--mean makes one row of the runs that share a label (a variant run with
--seeds): the mean, then the range in brackets; the seeds column counts
them.

--versus A,B adds a row comparing the runs labelled A and B (variants): the
difference A − B in points for percentages, B ÷ A for every other column
(how many times fewer parameters, how many times faster).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			columns, err := parseColumns(show)
			if err != nil {
				return err
			}
			if to == "" {
				return errors.New("--to FILE is missing: where to save the entry")
			}
			var e *measured.Entry
			var declared func(string) (results.Result, bool)
			switch {
			case benchFile != "" && len(args) > 0:
				return errors.New("give runs or --bench, not both")
			case benchFile != "":
				e, err = benchEntry(benchFile, columns, strings.Split(label, ","))
			case len(args) == 0:
				return errors.New("no runs given (or --bench FILE)")
			default:
				e, declared, err = g.runsEntry(args, columns, stages, prefixes, mean)
			}
			if err != nil {
				return err
			}
			if mean {
				meanRows(e, columns, declared)
			}
			if len(labels) > 0 {
				if len(labels) != len(e.Rows) {
					return fmt.Errorf("--labels gives %d labels for %d rows", len(labels), len(e.Rows))
				}
				for i := range e.Rows {
					e.Rows[i].Label = labels[i]
				}
			}
			if versus != "" {
				if err := addVersus(e, columns, versus, declared); err != nil {
					return err
				}
			}
			e.Title = title
			if command != "" {
				e.Command = command
			}
			if err := e.Write(to); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved %s: %d rows, %d columns\n", to, len(e.Rows), len(e.Columns))
			return nil
		},
	}
	cmd.Flags().StringVar(&title, "title", "", "the entry's section title (required)")
	cmd.Flags().StringVar(&show, "show", "test_accuracy", "the columns: result names, each name[:format][=Title]")
	cmd.Flags().StringVar(&to, "to", "", "the entry file to write")
	cmd.Flags().StringVar(&command, "command", "", "the command that measured it (default: lathe run RECIPE)")
	cmd.Flags().StringVar(&versus, "versus", "", "A,B: add a row comparing the rows labelled A and B")
	cmd.Flags().StringVar(&benchFile, "bench", "", "a benchmark's JSON (lathe bench … --json; objects, arrays or JSON lines)")
	cmd.Flags().IntSliceVar(&stages, "stage", nil, "rows from these stages' results (1-based, as lathe show numbers them) instead of the runs' final metrics")
	cmd.Flags().BoolVar(&mean, "mean", false, "one row per variant: the mean of its runs (a recipe run with seeds) with their range, and how many")
	cmd.Flags().StringSliceVar(&prefixes, "prefixes", nil, "rows from the results named PREFIX+column, one row per prefix (a report's baseline_,combined_)")
	cmd.Flags().StringSliceVar(&labels, "labels", nil, "the rows' labels, in order (default: a run's variant or name, a stage's number and kind)")
	cmd.Flags().StringVar(&label, "label", "model,batch", "with --bench: the fields that name a row")
	cmd.MarkFlagRequired("title")
	return cmd
}

func resultsRenderCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "render DIR",
		Short: "Render a folder of results entries as the results page (markdown)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			entries, err := measured.ReadDir(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				return measured.Render(cmd.OutOrStdout(), entries)
			}
			return measured.RenderFile(out, entries)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the page to this file (default: standard output)")
	return cmd
}

// column is a --show item, name[:format][=title]: a result name, how to
// print it, and its title (default: the name, underscores as spaces).
type column struct {
	name, format, heading string
}

var columnFormats = []string{"percent", "count", "int", "times", "ms", "signed", "short", "seconds", "plain"}

func parseColumns(show string) ([]column, error) {
	var cols []column
	for _, item := range strings.Split(show, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		spec, heading, _ := strings.Cut(item, "=")
		name, format, _ := strings.Cut(spec, ":")
		if format != "" && !slices.Contains(columnFormats, format) {
			return nil, fmt.Errorf("--show %q: format %q is not one of %s", item, format, strings.Join(columnFormats, ", "))
		}
		cols = append(cols, column{name, format, heading})
	}
	if len(cols) == 0 {
		return nil, errors.New("--show names no column")
	}
	return cols, nil
}

func (c column) title() string {
	if c.heading != "" {
		return c.heading
	}
	return strings.ReplaceAll(c.name, "_", " ")
}

// print formats v by the column's format, else by the declaration found
// for it (declared), else by its name.
func (c column) print(v float64, declared func(string) (results.Result, bool)) string {
	switch c.format {
	case "percent":
		return results.Percent.Print(v)
	case "count":
		return results.Count.Print(v)
	case "int":
		return groupThousands(v)
	case "times":
		return results.Times.Print(v)
	case "ms":
		return results.Short.Print(v) + " ms"
	case "signed":
		return results.Signed.Print(v)
	case "short":
		return results.Short.Print(v)
	case "seconds":
		return results.Seconds.Print(v)
	case "plain":
		return runs.FormatValue(v)
	}
	if declared != nil {
		if r, ok := declared(c.name); ok {
			return r.Print(c.name, v)
		}
	}
	return runs.FormatMetric(c.name, v)
}

// isPercent says whether the column prints as a percentage (a --versus
// row compares those by difference).
func (c column) isPercent(declared func(string) (results.Result, bool)) bool {
	if c.format != "" {
		return c.format == "percent"
	}
	if declared != nil {
		if r, ok := declared(c.name); ok && r.Format != results.Auto {
			return r.Format == results.Percent
		}
	}
	return runs.IsFraction(c.name)
}

// groupThousands prints a whole number with its thousands separated:
// 248,928 (a size in bytes quoted exactly).
func groupThousands(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return runs.FormatValue(v)
	}
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if v < 0 {
		s = "−" + s
	}
	return s
}

// runsEntry is an entry with a row per stored run: its final metrics, the
// run's variant name as its label; with stages, a row per run and stage,
// from that stage's results; with prefixes, a row per prefix of the
// results named prefix+column (a report's models).
// declared finds a column's declaration among the runs' stage kinds.
func (g *globalFlags) runsEntry(refs []string, columns []column, stages []int, prefixes []string, mean bool) (e *measured.Entry, declared func(string) (results.Result, bool), err error) {
	store, err := runs.OpenExisting(storeDir(g))
	if err != nil {
		return nil, nil, err
	}
	defer store.Close()
	e = &measured.Entry{}
	var started time.Time
	var allKinds []string
	var list []*runs.Run
	if len(refs) == 1 {
		if list, err = report.Variants(store, refs[0]); err != nil {
			return nil, nil, err
		}
		// In the order they ran, as the recipe lists them.
		slices.SortFunc(list, func(a, b *runs.Run) int { return a.Started.Compare(b.Started) })
	}
	if list == nil {
		for _, ref := range refs {
			r, err := store.Get(ref)
			if err != nil {
				return nil, nil, err
			}
			list = append(list, r)
		}
	}
	for _, r := range list {
		if r.Status != runs.Finished {
			return nil, nil, fmt.Errorf("run %s is %s: only a finished run's figures are results", r.ID, r.Status)
		}
		machine := r.Params[runs.MachineParam]
		if machine == "" {
			return nil, nil, fmt.Errorf("run %s does not record its machine (runs from before Lathe recorded it): run it again", r.ID)
		}
		if k := r.Params[runs.KernelsParam]; k != "" {
			machine += ", " + k
		}
		switch {
		case e.Machine == "":
			e.Machine = machine
		case e.Machine != machine:
			return nil, nil, fmt.Errorf("run %s ran on %q, the others on %q: one entry is one machine", r.ID, machine, e.Machine)
		}
		if started.IsZero() || r.Started.Before(started) {
			started = r.Started
		}
		if e.Command == "" && r.RecipePath != "" {
			e.Command = "lathe run " + r.RecipePath
		}
		if e.About == "" {
			e.About = r.Params["description"]
		}
		kinds := make([]string, len(r.Stages))
		for i, st := range r.Stages {
			kinds[i] = st.Kind
		}
		declared := declaredIn(kinds)
		sources := []metricsSource{{runLabel(r, mean), r.Final}}
		if len(stages) > 0 {
			sources = sources[:0]
			for _, n := range stages {
				if n < 1 || n > len(r.Stages) {
					return nil, nil, fmt.Errorf("--stage %d: run %s has stages 1 to %d", n, r.ID, len(r.Stages))
				}
				label := runLabel(r, mean)
				if len(stages) > 1 {
					label += fmt.Sprintf(", stage %d (%s)", n, r.Stages[n-1].Kind)
				}
				sources = append(sources, metricsSource{label, r.Stages[n-1].Metrics})
			}
		}
		if len(prefixes) > 0 {
			var byPrefix []metricsSource
			for _, src := range sources {
				for _, p := range prefixes {
					m := runs.Metrics{}
					for _, c := range columns {
						if v, ok := src.metrics[p+c.name]; ok {
							m[c.name] = v
						}
					}
					byPrefix = append(byPrefix, metricsSource{strings.TrimSuffix(p, "_"), m})
				}
			}
			sources = byPrefix
			declared = declaredPrefixed(declared, prefixes)
		}
		for _, src := range sources {
			row := measured.Row{Label: src.label, Values: runs.Metrics{}, Cells: map[string]string{}}
			for _, c := range columns {
				if v, ok := src.metrics[c.name]; ok {
					row.Values[c.name] = v
					row.Cells[c.name] = c.print(v, declared)
				}
			}
			if len(row.Cells) == 0 {
				return nil, nil, fmt.Errorf("run %s (%s) has none of the columns %s", r.ID, src.label, columnNames(columns))
			}
			e.Rows = append(e.Rows, row)
		}
		allKinds = append(allKinds, kinds...)
	}
	if e.Command == "" {
		return nil, nil, errors.New("the runs record no recipe path: give --command")
	}
	e.Date = started.UTC().Format("2006-01-02")
	for _, c := range columns {
		e.Columns = append(e.Columns, measured.Column{Name: c.name, Title: c.title()})
	}
	return e, declaredIn(allKinds), nil
}

// metricsSource is where a row's values come from: a run's final
// metrics or one stage's results.
type metricsSource struct {
	label   string
	metrics runs.Metrics
}

// today is the date a measurement is stamped with, YYYY-MM-DD (UTC).
func today() string { return time.Now().UTC().Format("2006-01-02") }

// runLabel names a run's row: its variant, else its name.
func runLabel(r *runs.Run, mean bool) string {
	label, seed := r.Name, ""
	if base, ok := strings.CutSuffix(r.Name, "/seed"+r.Params["seed"]); ok && r.Params["seed"] != "" {
		label, seed = base, r.Params["seed"]
	}
	if v := r.Params["variant.name"]; v != "" {
		label = v
	}
	if seed != "" && !mean {
		label += " (seed " + seed + ")"
	}
	return label
}

func columnNames(columns []column) string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// declaredIn looks a result up in the declarations of these stage kinds
// (their results, what they add to other stages, what they include).
func declaredIn(kinds []string) func(string) (results.Result, bool) {
	return func(name string) (results.Result, bool) {
		for _, k := range kinds {
			d, ok := recipe.Declared(k)
			if !ok {
				continue
			}
			if r, ok := results.Lookup(slices.Concat(d.Results, d.Adds), name); ok {
				return r, true
			}
			for _, inc := range d.Includes {
				if rest, ok := strings.CutPrefix(name, inc.Prefix); ok {
					if inner, ok := recipe.Declared(inc.Kind); ok {
						if r, ok := results.Lookup(inner.Results, rest); ok {
							return r, true
						}
					}
				}
			}
		}
		return results.Result{}, false
	}
}

// declaredPrefixed finds a column's declaration under the first prefix
// that has one (a report declares {role}_accuracy, not accuracy).
func declaredPrefixed(declared func(string) (results.Result, bool), prefixes []string) func(string) (results.Result, bool) {
	return func(name string) (results.Result, bool) {
		for _, p := range prefixes {
			if r, ok := declared(p + name); ok {
				return r, true
			}
		}
		return results.Result{}, false
	}
}

// addVersus appends the row comparing rows A and B: A − B in percentage
// points for percentages, B ÷ A for the rest.
func addVersus(e *measured.Entry, columns []column, versus string, declared func(string) (results.Result, bool)) error {
	aName, bName, ok := strings.Cut(versus, ",")
	if !ok {
		return fmt.Errorf("--versus %q: want two row labels, A,B", versus)
	}
	find := func(label string) (*measured.Row, error) {
		for i := range e.Rows {
			if e.Rows[i].Label == label {
				return &e.Rows[i], nil
			}
		}
		labels := make([]string, len(e.Rows))
		for i, r := range e.Rows {
			labels[i] = r.Label
		}
		return nil, fmt.Errorf("--versus: no row %q (rows: %s)", label, strings.Join(labels, ", "))
	}
	a, err := find(aName)
	if err != nil {
		return err
	}
	b, err := find(bName)
	if err != nil {
		return err
	}
	row := measured.Row{Label: fmt.Sprintf("%s against %s", aName, bName), Values: runs.Metrics{}, Cells: map[string]string{}}
	for _, c := range columns {
		av, aok := a.Values[c.name]
		bv, bok := b.Values[c.name]
		if !aok || !bok {
			continue
		}
		if c.isPercent(declared) {
			pp := 100 * (av - bv)
			row.Values[c.name] = pp
			row.Cells[c.name] = signedPP(pp)
		} else {
			row.Values[c.name] = bv / av
			row.Cells[c.name] = results.Times.Print(bv/av) + " (" + bName + " ÷ " + aName + ")"
		}
	}
	e.Rows = append(e.Rows, row)
	return nil
}

// signedPP prints a difference in percentage points: +0.05 pp, −0.23 pp.
func signedPP(pp float64) string {
	if math.IsNaN(pp) || math.IsInf(pp, 0) {
		return runs.FormatValue(pp) + " pp"
	}
	s := strconv.FormatFloat(math.Abs(pp), 'f', 2, 64) + " pp"
	if math.Round(pp*100) < 0 {
		return "−" + s
	}
	return "+" + s
}

// benchEntry is an entry with a row per object of a benchmark's JSON
// (objects, arrays of them, or JSON lines), labelled by the label fields.
// Every object must say its machine and date, as lathe bench's do.
func benchEntry(path string, columns []column, label []string) (*measured.Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	objects, err := decodeObjects(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(objects) == 0 {
		return nil, fmt.Errorf("%s: no JSON objects", path)
	}
	e := &measured.Entry{Command: "lathe bench (" + filepath.Base(path) + ")"}
	for i, obj := range objects {
		machine, _ := obj["machine"].(string)
		date, _ := obj["date"].(string)
		if machine == "" || date == "" {
			return nil, fmt.Errorf("%s: object %d has no machine or date field (from a lathe bench that records them)", path, i+1)
		}
		if k, ok := obj["lathe_kernels"].(string); ok {
			machine += ", " + k
		} else if k, ok := obj["kernels"].(string); ok {
			machine += ", " + k
		}
		if e.Machine == "" {
			e.Machine, e.Date = machine, date
		} else if e.Machine != machine {
			return nil, fmt.Errorf("%s: object %d ran on %q, the others on %q: one entry is one machine", path, i+1, machine, e.Machine)
		}
		var parts []string
		for _, f := range label {
			switch v := obj[strings.TrimSpace(f)].(type) {
			case string:
				parts = append(parts, v)
			case float64:
				parts = append(parts, f+" "+strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
		if len(parts) == 0 {
			return nil, fmt.Errorf("%s: object %d has none of the label fields %s", path, i+1, strings.Join(label, ", "))
		}
		row := measured.Row{Label: strings.Join(parts, ", "), Values: runs.Metrics{}, Cells: map[string]string{}}
		for _, c := range columns {
			if v, ok := jsonNumber(obj[c.name]); ok {
				row.Values[c.name] = v
				row.Cells[c.name] = c.print(v, nil)
			}
		}
		if len(row.Cells) == 0 {
			return nil, fmt.Errorf("%s: object %d has none of the columns %s", path, i+1, columnNames(columns))
		}
		e.Rows = append(e.Rows, row)
	}
	for _, c := range columns {
		e.Columns = append(e.Columns, measured.Column{Name: c.name, Title: c.title()})
	}
	return e, nil
}

// jsonNumber reads a benchmark value: a number, or the strings NaN, +Inf
// and -Inf that Lathe writes for the values JSON cannot hold.
func jsonNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		switch x {
		case "NaN":
			return math.NaN(), true
		case "+Inf", "Inf":
			return math.Inf(1), true
		case "-Inf":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

// decodeObjects reads a stream of JSON values, each an object or an array
// of objects.
func decodeObjects(data []byte) ([]map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []map[string]any
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("byte %d: %v", dec.InputOffset(), err)
		}
		switch x := v.(type) {
		case map[string]any:
			out = append(out, x)
		case []any:
			for _, item := range x {
				obj, ok := item.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("byte %d: an array holds a %T, not an object", dec.InputOffset(), item)
				}
				out = append(out, obj)
			}
		default:
			return nil, fmt.Errorf("byte %d: a %T, not an object", dec.InputOffset(), x)
		}
	}
}

// meanRows replaces the rows sharing a label (one variant's seeds) by
// one: each value the mean of theirs, printed with their range, and a
// seeds column counting them.
func meanRows(e *measured.Entry, columns []column, declared func(string) (results.Result, bool)) {
	var order []string
	groups := map[string][]measured.Row{}
	for _, r := range e.Rows {
		if groups[r.Label] == nil {
			order = append(order, r.Label)
		}
		groups[r.Label] = append(groups[r.Label], r)
	}
	e.Rows = nil
	for _, label := range order {
		rows := groups[label]
		out := measured.Row{Label: label, Values: runs.Metrics{"seeds": float64(len(rows))},
			Cells: map[string]string{"seeds": strconv.Itoa(len(rows))}}
		for _, c := range columns {
			var vals []float64
			for _, r := range rows {
				if v, ok := r.Values[c.name]; ok {
					vals = append(vals, v)
				}
			}
			if len(vals) == 0 {
				continue
			}
			sum := 0.0
			for _, v := range vals {
				sum += v
			}
			m, lo, hi := sum/float64(len(vals)), slices.Min(vals), slices.Max(vals)
			out.Values[c.name], out.Values[c.name+" min"], out.Values[c.name+" max"] = m, lo, hi
			out.Cells[c.name] = c.print(m, declared)
			if from, to := c.print(lo, declared), c.print(hi, declared); from != to {
				out.Cells[c.name] += " (" + from + " to " + to + ")"
			}
		}
		e.Rows = append(e.Rows, out)
	}
	e.Columns = append(e.Columns, measured.Column{Name: "seeds", Title: "seeds"})
}

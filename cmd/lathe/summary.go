package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// printSummary writes the table a run ends with: one row per stage with its
// key results, then the final metrics.
func printSummary(w io.Writer, rec *recipe.Recipe, res *runner.Result) {
	fmt.Fprintf(w, "\n%s — %s on %s\n", rec.Name, res.Status, runs.OrDash(res.Backend))
	if len(res.Stages) == 0 {
		fmt.Fprintf(w, "no stage finished (of %d)\n", len(rec.Stages))
	} else {
		printStages(w, rec, res)
	}
	if len(res.Final) > 0 {
		fmt.Fprintln(w, "final:", formatMetrics(res.Final))
	}
	if line := runs.ClassLine(res.Classes); line != "" {
		fmt.Fprintln(w, line)
	}
}

// printStages is the summary's table: one row per finished stage.
func printStages(w io.Writer, rec *recipe.Recipe, res *runner.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tKIND\tTIME\tRESULTS")
	for _, st := range res.Stages {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", st.Index+1, st.Kind, runs.FormatSeconds(st.Metrics["wall_s"]), stageHighlights(rec, st.Kind, st.Metrics))
	}
	tw.Flush()
}

// stageHighlights is a stage's row: the line its kind's declaration
// writes (every result when it declares none), then what the recipe's
// other kinds add for the results they recorded in it (a structured
// prune's rebuild, at the end of the train stage it acted in).
func stageHighlights(rec *recipe.Recipe, kind string, m map[string]float64) string {
	var parts []string
	if d, _ := recipe.Declared(kind); d.Summary != nil {
		parts = append(parts, d.Summary(m))
	} else {
		parts = append(parts, formatMetrics(m))
	}
	seen := map[string]bool{kind: true}
	for _, st := range rec.Stages {
		if seen[st.Kind] {
			continue
		}
		seen[st.Kind] = true
		if d, _ := recipe.Declared(st.Kind); d.AddsSummary != nil {
			parts = append(parts, d.AddsSummary(m))
		}
	}
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), ", ")
}

// formatMetrics prints name value pairs, accuracies first; wall_s is the row's TIME.
func formatMetrics(m map[string]float64) string {
	var parts []string
	for _, k := range runs.SortMetricNames(m) {
		if k != "wall_s" {
			parts = append(parts, k+" "+runs.FormatMetric(k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}

package main

import (
	"fmt"
	"io"
	"math"
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
}

// printStages is the summary's table: one row per finished stage.
func printStages(w io.Writer, rec *recipe.Recipe, res *runner.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tKIND\tTIME\tRESULTS")
	for _, st := range res.Stages {
		hasSteps := st.Index < len(rec.Stages) && rec.Stages[st.Index].HasSteps()
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", st.Index+1, st.Kind, runs.FormatSeconds(st.Metrics["wall_s"]), stageHighlights(st.Metrics, hasSteps))
	}
	tw.Flush()
}

// stageHighlights picks the figures a person reads first: for a stage with
// steps, its steps, loss, validation accuracy and speed; for any other,
// everything it measured.
func stageHighlights(m map[string]float64, hasSteps bool) string {
	if _, ok := m["claim_size_met"]; ok { // a trade-off report: the combined model against the baseline
		met := func(key string) string {
			return map[bool]string{true: "met", false: "not met"}[m["claim_"+key+"_met"] == 1]
		}
		return fmt.Sprintf("combined model %.2f× smaller, %.2f× faster at batch 64, accuracy %+.2f pp; seed's claims: size %s, training %s, inference %s",
			m["size_ratio"], m["speedup_batch64"], -m["accuracy_drop_pp"], met("size"), met("training"), met("inference"))
	}
	if !hasSteps {
		return formatMetrics(m)
	}
	var parts []string
	for _, h := range []struct{ key, before, after string }{
		{"steps", "", " steps"}, {"train_loss", "train loss ", ""}, {"validation_accuracy", "validation acc ", ""},
		{"samples_per_s", "", " samples/s"}, {"ms_per_step", "", "/step"},
	} {
		if v, ok := m[h.key]; ok {
			value := runs.FormatMetric(h.key, v)
			if h.key == "samples_per_s" {
				value = runs.FormatCount(v)
			}
			parts = append(parts, h.before+value+h.after)
		}
	}
	if speedup, ok := m["latency_speedup"]; ok { // a gradual structured prune rebuilt the model at the stage's end
		parts = append(parts, fmt.Sprintf("rebuilt smaller: params %s → %s, latency %s → %s (%.2f×)",
			runs.FormatCount(m["params_before"]), runs.FormatCount(m["params_after"]),
			runs.FormatMetric("latency_before_ms", m["latency_before_ms"]), runs.FormatMetric("latency_after_ms", m["latency_after_ms"]), speedup))
	}
	if gap, ok := m["gap_closed"]; ok { // a distillation with its student alone as baseline
		teacher, _ := withAffixes(m, "teacher_", "_errors")
		alone, _ := withAffixes(m, "alone_", "_errors")
		student, _ := withAffixes(m, "student_", "_errors")
		parts = append(parts, fmt.Sprintf("errors: teacher %s, student alone %s, distilled %s (gap closed %s)",
			runs.FormatCount(teacher), runs.FormatCount(alone), runs.FormatCount(student), runs.FormatPercent(gap)))
	}
	return strings.Join(parts, ", ")
}

// withAffixes is the value of the first metric, in name order, named
// prefix…suffix (teacher_test_errors).
func withAffixes(m map[string]float64, prefix, suffix string) (float64, bool) {
	for _, k := range runs.SortMetricNames(m) {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) {
			return m[k], true
		}
	}
	return math.NaN(), false
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

package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// printSummary writes the table a run ends with: one row per stage with its
// key results, then the final metrics.
func printSummary(w io.Writer, rec *recipe.Recipe, res *recipe.Result) {
	fmt.Fprintf(w, "\n%s — %s on %s\n", rec.Name, res.Status, orDash(res.Backend))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tKIND\tTIME\tRESULTS")
	for _, st := range res.Stages {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", st.Index+1, st.Kind, seconds(st.Metrics["wall_s"]), stageHighlights(st))
	}
	tw.Flush()
	if len(res.Final) > 0 {
		fmt.Fprintln(w, "final:", formatMetrics(res.Final))
	}
}

// stageHighlights picks the figures a person reads first.
func stageHighlights(st runs.StageResult) string {
	var parts []string
	m := st.Metrics
	if st.Kind == "train" {
		parts = append(parts, fmt.Sprintf("%.0f steps", m["steps"]))
		if v, ok := m["train_loss"]; ok {
			parts = append(parts, fmt.Sprintf("train loss %.4f", v))
		}
		if v, ok := m["validation_accuracy"]; ok {
			parts = append(parts, fmt.Sprintf("validation acc %.2f%%", 100*v))
		}
		if v, ok := m["samples_per_s"]; ok {
			parts = append(parts, fmt.Sprintf("%.0f samples/s", v))
		}
		if v, ok := m["ms_per_step"]; ok {
			parts = append(parts, fmt.Sprintf("%.1f ms/step", v))
		}
		return strings.Join(parts, ", ")
	}
	for _, k := range sortedMetricNames(m) {
		if k == "wall_s" {
			continue
		}
		parts = append(parts, formatMetric(k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func formatMetrics(m map[string]float64) string {
	var parts []string
	for _, k := range sortedMetricNames(m) {
		parts = append(parts, formatMetric(k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func formatMetric(k string, v float64) string {
	switch {
	case strings.HasSuffix(k, "_accuracy"):
		return fmt.Sprintf("%s %.2f%%", k, 100*v)
	case k == "params" || k == "steps":
		return fmt.Sprintf("%s %.0f", k, v)
	case strings.HasSuffix(k, "_s") && !strings.HasSuffix(k, "per_s"):
		return fmt.Sprintf("%s %s", k, seconds(v))
	}
	return fmt.Sprintf("%s %.4g", k, v)
}

// sortedMetricNames puts accuracies first, then the rest alphabetically.
func sortedMetricNames(m map[string]float64) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		ai, aj := strings.HasSuffix(names[i], "_accuracy"), strings.HasSuffix(names[j], "_accuracy")
		if ai != aj {
			return ai
		}
		return names[i] < names[j]
	})
	return names
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

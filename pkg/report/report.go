// Package report turns recorded runs into the tables and plots a person
// compares them by: final accuracy, time and throughput side by side, and
// metric curves overlaid in one PNG (gonum/plot), or one bar per run for a
// metric each run has once (a test accuracy, a final metric).
//
// Example:
//
//	list, _ := report.Group(store, "optimizers-compare")
//	report.WriteTable(os.Stdout, report.Compare(list))
//	png, _ := report.CurvesPNG(store, list, "train_loss", 8, 5)
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// Row is one run in a comparison.
type Row struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Status       string  `json:"status"`
	TestAccuracy float64 `json:"test_accuracy"` // -1 when the run has none
	TrainLoss    float64 `json:"train_loss"`
	TrainS       float64 `json:"train_s"` // wall time of its train stages
	SamplesPerS  float64 `json:"samples_per_s"`
	WallS        float64 `json:"wall_s"`
}

// MarshalJSON writes the row with non-finite figures as the strings "NaN",
// "+Inf" and "-Inf", as the run store does (JSON has no such numbers).
func (r Row) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
	}{r.ID, r.Name, r.Status})
	if err != nil {
		return nil, err
	}
	figures, err := json.Marshal(runs.Metrics{"test_accuracy": r.TestAccuracy, "train_loss": r.TrainLoss,
		"train_s": r.TrainS, "samples_per_s": r.SamplesPerS, "wall_s": r.WallS})
	if err != nil {
		return nil, err
	}
	return append(append(head[:len(head)-1], ','), figures[1:]...), nil
}

// Compare builds rows from runs, best test accuracy first.
func Compare(list []*runs.Run) []Row {
	rows := make([]Row, 0, len(list))
	for _, r := range list {
		row := Row{ID: r.ID, Name: r.Name, Status: string(r.Status), TestAccuracy: -1,
			TrainLoss: r.Final["train_loss"], SamplesPerS: r.Final["samples_per_s"], WallS: r.Duration().Seconds()}
		if v, ok := r.Final["test_accuracy"]; ok {
			row.TestAccuracy = v
		}
		for _, st := range r.Stages {
			if hasSteps(r, st) && !st.Finished.IsZero() {
				row.TrainS += st.Finished.Sub(st.Started).Seconds()
			}
		}
		rows = append(rows, row)
	}
	// Best first; NaN (a diverged run) ranks last.
	rank := func(v float64) float64 {
		if math.IsNaN(v) {
			return math.Inf(-1)
		}
		return v
	}
	sort.SliceStable(rows, func(i, j int) bool { return rank(rows[i].TestAccuracy) > rank(rows[j].TestAccuracy) })
	return rows
}

// hasSteps reports whether a stage trains, as its run recorded it: the
// plan, or for runs older than plans, planned steps.
func hasSteps(r *runs.Run, st runs.StageResult) bool {
	if ps, ok := r.Plan.Stage(st.Index); ok {
		return ps.HasSteps
	}
	return st.PlannedSteps > 0
}

// WriteTable prints rows as an aligned table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tNAME\tSTATUS\tTEST ACC\tTRAIN LOSS\tTRAIN TIME\tSAMPLES/S")
	for _, r := range rows {
		acc := "-"
		if !(r.TestAccuracy < 0) { // NaN included: a diverged run shows it
			acc = runs.FormatPercent(r.TestAccuracy)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Status, acc, runs.FormatValue(r.TrainLoss),
			runs.FormatSeconds(r.TrainS), runs.FormatCount(r.SamplesPerS))
	}
	return tw.Flush()
}

// Group finds the runs to compare for ref: the newest group of variant runs
// of the recipe named ref (runs named ref/<variant>), else the runs whose id,
// id prefix or name is ref.
func Group(store *runs.Store, refs ...string) ([]*runs.Run, error) {
	if len(refs) == 1 {
		group, err := Variants(store, refs[0])
		if err != nil || group != nil {
			return group, err
		}
	}
	var out []*runs.Run
	for _, ref := range refs {
		r, err := store.Get(ref)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) < 2 && len(refs) == 1 {
		return nil, fmt.Errorf("%s: nothing to compare: name a recipe with variants (e.g. optimizers-compare) or two or more runs", refs[0])
	}
	return out, nil
}

// Variants is the newest group of variant runs of the recipe named name
// (runs named name/<variant> that one `lathe run` made), newest first; nil
// when the recipe has none.
func Variants(store *runs.Store, name string) ([]*runs.Run, error) {
	all, err := store.List()
	if err != nil {
		return nil, err
	}
	var group string
	for _, r := range all { // newest first
		if strings.HasPrefix(r.Name, name+"/") && r.Params[runs.GroupParam] != "" {
			group = r.Params[runs.GroupParam]
			break
		}
	}
	if group == "" {
		return nil, nil
	}
	var out []*runs.Run
	for _, r := range all {
		if r.Params[runs.GroupParam] == group {
			out = append(out, r)
		}
	}
	return out, nil
}

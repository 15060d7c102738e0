package nbui

import (
	"bytes"
	"fmt"
	"time"

	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Compare shows runs side by side: the comparison table of `lathe compare`
// (best test accuracy first) and metric overlaid for every run (a bar per
// run for a metric each has once, such as test_accuracy). refs is a
// recipe with variants (its newest group of runs) or run ids, id prefixes
// and names, as `lathe compare` takes them.
func Compare(metric string, refs ...string) error {
	store, err := runs.OpenExisting(DefaultRunsDir())
	if err != nil {
		showError(err)
		return err
	}
	defer store.Close()
	list, err := report.Group(store, refs...)
	if err != nil {
		showError(err)
		return err
	}
	return showComparison(store, list, metric)
}

func showComparison(store *runs.Store, list []*runs.Run, metric string) error {
	rows := report.Compare(list)
	var text bytes.Buffer
	if err := report.WriteTable(&text, rows); err != nil {
		return err
	}
	display().Show(Output{Text: text.String(), HTML: compareHTML(rows)})
	png, err := report.CurvesPNG(store, list, metric, 8, 4.5)
	if err != nil {
		showError(err)
		return err
	}
	display().Show(Output{PNG: png, Text: fmt.Sprintf("[%s of %d runs]", metric, len(list))})
	return nil
}

func compareHTML(rows []report.Row) string {
	cols := []string{"run", "name", "status", "test acc", "train loss", "train time", "samples/s"}
	var cells [][]string
	for _, r := range rows {
		acc := "-"
		if r.TestAccuracy >= 0 {
			acc = runs.FormatPercent(r.TestAccuracy)
		}
		cells = append(cells, []string{r.ID, r.Name, r.Status, acc, fmt.Sprintf("%.4f", r.TrainLoss),
			time.Duration(r.TrainS * float64(time.Second)).Round(100 * time.Millisecond).String(), fmt.Sprintf("%.0f", r.SamplesPerS)})
	}
	return htmlTable(cols, cells)
}

// PlotMetric plots one recorded metric against the step for the runs refs
// name (ids, id prefixes or names: the newest run of a name), one line each
// (or one bar each, for a metric the runs have once).
func PlotMetric(metric string, refs ...string) error {
	store, err := runs.OpenExisting(DefaultRunsDir())
	if err != nil {
		showError(err)
		return err
	}
	defer store.Close()
	var list []*runs.Run
	for _, ref := range refs {
		r, err := store.Get(ref)
		if err != nil {
			showError(err)
			return err
		}
		list = append(list, r)
	}
	png, err := report.CurvesPNG(store, list, metric, 8, 4)
	if err != nil {
		showError(err)
		return err
	}
	display().Show(Output{PNG: png, Text: fmt.Sprintf("[%s of %d runs]", metric, len(list))})
	return nil
}

// HasSeries reports whether the run ref recorded any point of metric.
func HasSeries(ref, metric string) (bool, error) {
	store, err := runs.OpenExisting(DefaultRunsDir())
	if err != nil {
		return false, err
	}
	defer store.Close()
	r, err := store.Get(ref)
	if err != nil {
		return false, err
	}
	pts, err := store.Series(r.ID, metric)
	return len(pts) > 0, err
}

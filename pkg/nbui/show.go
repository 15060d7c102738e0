package nbui

import (
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// ShowRun shows a recorded run — an id, a unique id prefix, or a name (its
// newest run) — as `lathe show` does: status, backend and time, each
// stage's results, final metrics, and its loss and accuracy curves.
func ShowRun(ref string) error {
	store, r, err := openRun(ref)
	if err != nil {
		showError(err)
		return err
	}
	defer store.Close()
	head := fmt.Sprintf("run %s — %s, %s on %s, %s", r.ID, r.Name, r.Status, r.Backend, r.Duration().Round(100*time.Millisecond))
	if r.Error != "" {
		head += "\nerror: " + r.Error
	}
	var rows [][]string
	for _, st := range r.Stages {
		rows = append(rows, []string{fmt.Sprint(st.Index + 1), st.Kind, string(st.Status), metricsText(st.Metrics)})
	}
	final := metricsText(r.Final)
	display().Show(Output{
		Text: head + "\n" + tableText(rows) + "final: " + final,
		HTML: "<b>" + html.EscapeString(head) + "</b>" + htmlTable([]string{"stage", "kind", "status", "results"}, rows) +
			"<p>final: " + html.EscapeString(final) + "</p>",
	})
	l := &Live{Width: 9, Height: 3.4}
	lr := &liveRun{name: r.Name}
	for _, m := range []struct {
		name string
		dst  *[]xy
	}{{"train_loss", &lr.loss}, {"train_accuracy", &lr.trainAcc}, {"validation_accuracy", &lr.valAcc}, {"validation_loss", &lr.valLoss}} {
		pts, err := store.Series(r.ID, m.name)
		if err != nil {
			return err
		}
		for _, p := range pts {
			*m.dst = append(*m.dst, xy{float64(p.Step), p.Value})
		}
	}
	l.runs = []*liveRun{lr}
	png, err := l.plot()
	if err != nil {
		return err
	}
	if png != nil {
		display().Show(Output{PNG: png, Text: fmt.Sprintf("[curves of %s]", r.ID)})
	}
	return nil
}

// ListRuns shows the newest n runs of the store (all when n <= 0), as `lathe ls`.
func ListRuns(n int) error {
	store, err := runs.OpenExisting(DefaultRunsDir())
	if err != nil {
		showError(err)
		return err
	}
	defer store.Close()
	list, err := store.List()
	if err != nil {
		return err
	}
	if n > 0 && len(list) > n {
		list = list[:n]
	}
	var rows [][]string
	for _, r := range list {
		acc := "-"
		if v, ok := r.Final["test_accuracy"]; ok {
			acc = runs.FormatPercent(v)
		}
		rows = append(rows, []string{r.ID, r.Name, string(r.Status), r.Backend, acc,
			r.Duration().Round(100 * time.Millisecond).String(), r.Started.Local().Format("2006-01-02 15:04:05")})
	}
	cols := []string{"id", "name", "status", "backend", "test acc", "time", "started"}
	display().Show(Output{Text: fmt.Sprintf("run store %s\n", store.Dir()) + tableText(append([][]string{cols}, rows...)),
		HTML: fmt.Sprintf("<p>run store <code>%s</code></p>", html.EscapeString(store.Dir())) + htmlTable(cols, rows)})
	return nil
}

func metricsText(m map[string]float64) string {
	parts := make([]string, 0, len(m))
	for _, k := range runs.SortMetricNames(m) {
		parts = append(parts, k+" "+runs.FormatMetric(k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func tableText(rows [][]string) string {
	var b strings.Builder
	for _, row := range rows {
		b.WriteString(strings.Join(row, "  "))
		b.WriteByte('\n')
	}
	return b.String()
}

// ShowRunFile shows a file a stage wrote into a run's folder — the
// sensitivity stage's sensitivity.png and sensitivity.md, say — for the
// run ref names (an id, an id prefix or a name: its newest run): a .png as
// an image, a .md as Markdown (rendered by the front-end; its text is the
// plain fallback), anything else as text.
func ShowRunFile(ref, name string) error {
	store, r, err := openRun(ref)
	if err != nil {
		showError(err)
		return err
	}
	defer store.Close()
	data, err := readRunFile(store.RunDir(r.ID), name)
	if err != nil {
		err = fmt.Errorf("run %s (%s): %w", r.ID, r.Name, err)
		showError(err)
		return err
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png":
		display().Show(Output{PNG: data, Text: fmt.Sprintf("[%s of run %s]", name, r.ID)})
	case ".md":
		display().Show(Output{Markdown: string(data), Text: string(data)})
	default:
		display().Show(Output{Text: string(data), HTML: "<pre>" + html.EscapeString(string(data)) + "</pre>"})
	}
	return nil
}

// readRunFile reads name inside a run's folder dir; a missing file is
// reported with the files the folder does hold.
func readRunFile(dir, name string) ([]byte, error) {
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("%q is not a path inside the run's folder", name)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if !errors.Is(err, os.ErrNotExist) {
		return data, err
	}
	var have []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() {
			have = append(have, e.Name())
		}
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("no file %s: its folder %s holds no files", name, dir)
	}
	return nil, fmt.Errorf("no file %s in %s (it holds: %s)", name, dir, strings.Join(have, ", "))
}

// openRun opens the run store read-only and finds the run ref names (an
// id, an id prefix or a name: its newest run); the caller closes the store.
func openRun(ref string) (*runs.Store, *runs.Run, error) {
	store, err := runs.OpenExisting(DefaultRunsDir())
	if err != nil {
		return nil, nil, err
	}
	r, err := store.Get(ref)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, r, nil
}

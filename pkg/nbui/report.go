package nbui

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lathe-ml/lathe/pkg/report"
)

// ShowReport shows the trade-off report a run's report stage wrote — the
// table and the seed's claims as Markdown, then accuracy against size and
// against latency — and returns it, so a notebook can check or explain
// its figures. ref is a run id, id prefix or name (its newest run).
func ShowReport(ref string) (*report.Tradeoff, error) {
	store, r, err := openRun(ref)
	if err != nil {
		showError(err)
		return nil, err
	}
	defer store.Close()
	dir := store.RunDir(r.ID)
	t, err := report.ReadTradeoff(dir)
	if err != nil {
		err = fmt.Errorf("run %s has no trade-off report (a report stage writes one): %w", r.ID, err)
		showError(err)
		return nil, err
	}
	var md, text bytes.Buffer
	if err := report.WriteMarkdown(&md, t); err != nil {
		return nil, err
	}
	// The plots follow as images of their own: a notebook's Markdown
	// output cannot reach files in the run's folder.
	body, _, _ := bytes.Cut(md.Bytes(), []byte("\n## Plots"))
	if err := report.WriteText(&text, t); err != nil {
		return nil, err
	}
	display().Show(Output{Markdown: string(body), Text: text.String(),
		Meta: map[string]any{"lathe_report": r.ID, "lathe_report_dir": dir}})
	for _, name := range []string{report.SizePlotFile, report.LatencyPlotFile} {
		png, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			showError(err)
			return t, err
		}
		display().Show(Output{PNG: png, Text: fmt.Sprintf("[%s of run %s]", name, r.ID), Meta: map[string]any{"lathe_plot": name}})
	}
	return t, nil
}

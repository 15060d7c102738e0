package nbui

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestShowReport: a run's trade-off report shows as its Markdown table
// and claims, then the two plots as images; a run without one is a
// clear error.
func TestShowReport(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(runs.EnvDir, dir)
	store, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	withReport, without := &runs.Run{Name: "seed"}, &runs.Run{Name: "plain"}
	for _, r := range []*runs.Run{withReport, without} {
		if err := store.Create(r); err != nil {
			t.Fatal(err)
		}
	}
	tr := &report.Tradeoff{Title: "seed", Split: "test", Examples: 100, Backend: "go", Variants: []report.Variant{
		{Role: "baseline", Name: "baseline", Weights: "f32", Accuracy: 0.9, Bytes: 4000, RuntimeMs64: 2, ONNXBytes: math.NaN(), BackendMs64: 40},
		{Role: "combined", Name: "combined", Weights: "int8", Accuracy: 0.89, Bytes: 500, RuntimeMs64: 0.5, ONNXBytes: math.NaN(), BackendMs64: math.NaN()},
	}}
	if err := os.MkdirAll(store.RunDir(withReport.ID), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteFiles(store.RunDir(withReport.ID), tr); err != nil {
		t.Fatal(err)
	}
	store.Close()

	out := record(t)
	got, err := ShowReport(withReport.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Variants[1].Bytes != 500 || len(out.Shown) != 3 {
		t.Fatalf("report %+v, %d outputs", got.Variants, len(out.Shown))
	}
	md := out.Shown[0].Markdown
	// 4000 / 500 = 8× smaller, 2 / 0.5 = 4× faster, 1 pp lost (allowed).
	rows := report.ParseTable(md)
	if len(rows) != 2 || rows[1]["size ×"] != "8.00" || rows[1]["speed ×"] != "4.00" || rows[1]["Δ pp"] != "-1.00" {
		t.Errorf("table %v", rows)
	}
	if !strings.Contains(md, "Model size −50% with high accuracy (L1-norm pruning 50% + int8) — met.") || strings.Contains(md, "](") {
		t.Errorf("markdown:\n%s", md)
	}
	for i, name := range []string{report.SizePlotFile, report.LatencyPlotFile} {
		o := out.Shown[1+i]
		if o.Meta["lathe_plot"] != name {
			t.Errorf("output %d is %v", 1+i, o.Meta)
		}
		if _, err := png.Decode(bytes.NewReader(o.PNG)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ShowReport(without.ID); err == nil || !strings.Contains(err.Error(), "has no trade-off report") {
		t.Errorf("run without a report: %v", err)
	}
}

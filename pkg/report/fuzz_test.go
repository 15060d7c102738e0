package report

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadTradeoff: any report.json gives a report or an error naming the
// file, and whatever is accepted renders — claims, Markdown, text, plot
// points — without a panic (NaN and Inf are data).
func FuzzReadTradeoff(f *testing.F) {
	good, err := json.Marshal(seedLike())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"variants":[{"name":"a","figures":{"accuracy":"NaN","bytes":"+Inf"}}],"training":{"ms_per_step":{"f32":0}}}`))
	f.Add([]byte(`{"variants":[]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, JSONFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		tr, err := ReadTradeoff(dir)
		if err != nil {
			return
		}
		tr.Claims()
		if err := WriteMarkdown(io.Discard, tr); err != nil {
			t.Fatal(err)
		}
		if err := WriteText(io.Discard, tr); err != nil {
			t.Fatal(err)
		}
		PlotPoints(tr, SizeAxis)
		PlotPoints(tr, LatencyAxis)
	})
}

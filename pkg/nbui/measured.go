package nbui

import (
	"errors"
	"path/filepath"

	"github.com/lathe-ml/lathe/pkg/measured"
)

// ShowMeasured shows a results entry of docs/results (by file name without
// .json: "55-distill-cnn") with its command, date and machine, and returns
// it: how a notebook quotes a figure measured at full length on the
// development machine without typing it into its prose.
func ShowMeasured(name string) (*measured.Entry, error) {
	root := repoRoot()
	if root == "" {
		return nil, errors.New("ShowMeasured: not inside the Lathe repository (docs/results is in it)")
	}
	e, err := measured.Read(filepath.Join(root, "docs", "results", name+".json"))
	if err != nil {
		return nil, err
	}
	text := "measured (docs/results.md, \"" + e.Title + "\"):\n" + e.Markdown()
	display().Show(Output{Markdown: "**Measured** ([docs/results.md](../docs/results.md), *" + e.Title + "*):\n\n" + e.Markdown(), Text: text})
	return e, nil
}

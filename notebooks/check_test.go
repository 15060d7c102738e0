package notebooks

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// An executed notebook, as much of nbformat 4 as the checks read.
type notebook struct {
	Cells []struct {
		CellType string     `json:"cell_type"`
		Source   sourceText `json:"source"`
		Outputs  []output   `json:"outputs"`
	} `json:"cells"`
}

type output struct {
	OutputType string                     `json:"output_type"`
	Name       string                     `json:"name"` // stream: stdout or stderr
	Text       sourceText                 `json:"text"`
	Data       map[string]json.RawMessage `json:"data"`
	Metadata   map[string]any             `json:"metadata"`
	EName      string                     `json:"ename"`
	EValue     string                     `json:"evalue"`
}

// sourceText is nbformat's multi-line string: a string or a list of lines.
type sourceText string

func (s *sourceText) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = sourceText(one)
		return nil
	}
	var lines []string
	if err := json.Unmarshal(b, &lines); err != nil {
		return err
	}
	*s = sourceText(strings.Join(lines, ""))
	return nil
}

// text returns an output's text: stream text, or its text/plain and text/html.
func (o output) text() string {
	var b strings.Builder
	b.WriteString(string(o.Text))
	for _, mime := range []string{"text/plain", "text/html", "text/markdown"} {
		if raw, ok := o.Data[mime]; ok {
			var t sourceText
			if json.Unmarshal(raw, &t) == nil {
				b.WriteString(string(t))
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

func (o output) isImage() bool {
	_, png := o.Data["image/png"]
	_, svg := o.Data["image/svg+xml"]
	return png || svg
}

// expectation is what an executed notebook must hold.
type expectation struct {
	texts  []string // each must appear in some output
	images int      // at least this many image/png or image/svg+xml outputs
	// liveRuns is how many nbui.Run calls the notebook makes: each must leave
	// exactly one live plot output (updated in place, not appended).
	liveRuns int
}

// minRedraws is how many times a live plot must have been drawn into its
// single output for the test to count it as updated in place.
const minRedraws = 3

// liveStat says what one live plot output recorded.
type liveStat struct {
	cell, redraws, step int
	png                 bool
}

// check reads an executed notebook and returns every problem found: error
// outputs, stderr with a panic or a failed command, and missing expected
// outputs. It also returns what the live plots recorded.
func check(path string, want expectation) (problems []string, live []liveStat) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}, nil
	}
	var nb notebook
	if err := json.Unmarshal(raw, &nb); err != nil {
		return []string{fmt.Sprintf("%s: not a notebook: %v", path, err)}, nil
	}
	var all strings.Builder
	images := 0
	for i, c := range nb.Cells {
		for _, o := range c.Outputs {
			switch {
			case o.OutputType == "error":
				problems = append(problems, fmt.Sprintf("cell %d: error output %s: %s", i, o.EName, firstLine(o.EValue)))
			case o.OutputType == "stream" && o.Name == "stderr":
				for _, bad := range []string{"panic:", "exit status "} {
					if idx := strings.Index(string(o.Text), bad); idx >= 0 {
						problems = append(problems, fmt.Sprintf("cell %d: stderr has %q: %s", i, bad, firstLine(string(o.Text)[idx:])))
					}
				}
			}
			if o.isImage() {
				images++
			}
			if kind, _ := o.Metadata["lathe_live"].(string); kind == "plot" {
				redraws, _ := o.Metadata["lathe_redraws"].(float64)
				step, _ := o.Metadata["lathe_step"].(float64)
				_, png := o.Data["image/png"]
				live = append(live, liveStat{cell: i, redraws: int(redraws), step: int(step), png: png})
			}
			all.WriteString(o.text())
		}
	}
	text := all.String()
	for _, t := range want.texts {
		if !strings.Contains(text, t) {
			problems = append(problems, fmt.Sprintf("no output contains %q", t))
		}
	}
	if images < want.images {
		problems = append(problems, fmt.Sprintf("%d image outputs, want at least %d", images, want.images))
	}
	if len(live) != want.liveRuns {
		problems = append(problems, fmt.Sprintf("%d live plot outputs, want %d (one per nbui.Run, redrawn in place)", len(live), want.liveRuns))
	}
	for _, l := range live {
		if l.redraws < minRedraws {
			problems = append(problems, fmt.Sprintf("cell %d: live plot drawn %d times, want at least %d", l.cell, l.redraws, minRedraws))
		}
		if !l.png || l.step == 0 {
			problems = append(problems, fmt.Sprintf("cell %d: live plot ends without a plot of any step", l.cell))
		}
	}
	return problems, live
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

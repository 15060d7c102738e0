package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ReferenceRows reads what a reference script (PyTorch's, ONNX Runtime's)
// printed: one JSON line per timed batch size, as InferResult's fields;
// quant "f32" when not said. what names the script's caller in errors
// (a flag, a stage).
func ReferenceRows(what, script string, out []byte) ([]InferResult, error) {
	var results []InferResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r struct {
			Engine      string  `json:"engine"`
			Quant       string  `json:"quant"`
			Batch       int     `json:"batch"`
			P50         float64 `json:"p50_ms"`
			P99         float64 `json:"p99_ms"`
			SamplesPerS float64 `json:"samples_per_s"`
			Calls       int     `json:"calls"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Engine == "" {
			return nil, fmt.Errorf("%s: %s printed %q", what, script, sc.Text())
		}
		if r.Quant == "" {
			r.Quant = "f32"
		}
		results = append(results, InferResult{Engine: r.Engine, Quant: r.Quant, Batch: r.Batch, P50Ms: r.P50, P99Ms: r.P99, SamplesPerS: r.SamplesPerS, Calls: r.Calls})
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("%s: %s printed nothing", what, script)
	}
	return results, nil
}

// LastLine is the last line of a script's error output: what it died of.
func LastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

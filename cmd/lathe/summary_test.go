package main

import (
	"math"
	"strings"
	"testing"
)

// TestTrainHighlightsNameTheRebuild: a train stage at whose end gradual
// structured pruning rebuilt the model shows what the rebuild bought.
func TestTrainHighlightsNameTheRebuild(t *testing.T) {
	m := map[string]float64{"steps": 1716, "params_before": 120382, "params_after": 55786,
		"latency_before_ms": 86.29, "latency_after_ms": 43.1, "latency_speedup": 86.29 / 43.1}
	want := "1716 steps, rebuilt smaller: params 120.4k → 55.8k, latency 86.29ms → 43.10ms (2.00×)"
	if got := stageHighlights(m, true); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	delete(m, "latency_speedup")
	if got := stageHighlights(m, true); got != "1716 steps" {
		t.Errorf("without a rebuild: %q", got)
	}
}

// TestDistillHighlightsNameTheGap: a distill stage with a baseline shows
// the three error counts and the gap closed, NaN when there was none.
func TestDistillHighlightsNameTheGap(t *testing.T) {
	m := map[string]float64{"steps": 900, "teacher_test_errors": 148, "alone_test_errors": 672,
		"student_test_errors": 324, "gap_closed": (672 - 324) / (672.0 - 148)}
	want := "900 steps, errors: teacher 148, student alone 672, distilled 324 (gap closed 66.41%)"
	if got := stageHighlights(m, true); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	m["gap_closed"], m["teacher_test_errors"] = math.NaN(), 700
	if got := stageHighlights(m, true); !strings.HasSuffix(got, "(gap closed NaN)") {
		t.Errorf("no gap: %q", got)
	}
}

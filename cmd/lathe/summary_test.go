package main

import "testing"

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

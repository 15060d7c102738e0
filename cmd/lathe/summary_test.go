package main

import (
	"math"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/recipe"
)

// withStages is a recipe of those stage kinds, as a summary's context.
func withStages(kinds ...string) *recipe.Recipe {
	rec := &recipe.Recipe{}
	for _, k := range kinds {
		rec.Stages = append(rec.Stages, recipe.Stage{Kind: k})
	}
	return rec
}

// TestTrainHighlightsNameTheRebuild: a train stage at whose end gradual
// structured pruning rebuilt the model shows what the rebuild bought (the
// line prune's declaration adds to the train stage's).
func TestTrainHighlightsNameTheRebuild(t *testing.T) {
	m := map[string]float64{"steps": 1716, "params_before": 120382, "params_after": 55786,
		"latency_before_ms": 86.29, "latency_after_ms": 43.1, "latency_speedup": 86.29 / 43.1}
	want := "1716 steps, rebuilt smaller: params 120.4k → 55.8k, latency 86.29ms → 43.10ms (2.00×)"
	rec := withStages("train", "prune", "train")
	if got := stageHighlights(rec, "train", m); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	delete(m, "latency_speedup")
	if got := stageHighlights(rec, "train", m); got != "1716 steps" {
		t.Errorf("without a rebuild: %q", got)
	}
}

// TestDistillHighlightsNameTheGap: a distill stage with a baseline shows
// the three error counts and the gap closed, NaN when there was none.
func TestDistillHighlightsNameTheGap(t *testing.T) {
	m := map[string]float64{"steps": 900, "teacher_test_errors": 148, "alone_test_errors": 672,
		"student_test_errors": 324, "gap_closed": (672 - 324) / (672.0 - 148)}
	want := "900 steps, errors: teacher 148, student alone 672, distilled 324 (gap closed 66.41%)"
	rec := withStages("train", "distill")
	if got := stageHighlights(rec, "distill", m); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	m["gap_closed"], m["teacher_test_errors"] = math.NaN(), 700
	if got := stageHighlights(rec, "distill", m); !strings.HasSuffix(got, "(gap closed NaN)") {
		t.Errorf("no gap: %q", got)
	}
}

// TestReportHighlightsTheClaims: a report stage shows the combined
// model's ratios and each claim's verdict.
func TestReportHighlightsTheClaims(t *testing.T) {
	m := map[string]float64{"size_ratio": 483696 / 34324.0, "speedup_batch64": 1.302 / 0.389, "accuracy_drop_pp": 0.03,
		"claim_size_met": 1, "claim_training_met": 0, "claim_inference_met": 0, "baseline_bytes": 483696}
	want := "combined model 14.09× smaller, 3.35× faster at batch 64, accuracy -0.03 pp; seed's claims: size met, training not met, inference not met"
	if got := stageHighlights(withStages("report"), "report", m); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

package results

import (
	"math"
	"strings"
	"testing"
)

func TestPlaceholdersMatchTheirParts(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"int8_bytes", "int8_bytes", true},
		{"int8_bytes", "int8_bytes_x", false},
		{"f32_{split}_accuracy", "f32_test_accuracy", true},
		{"f32_{split}_accuracy", "f32_validation_accuracy", true},
		{"f32_{split}_accuracy", "f32_holdout_accuracy", false},
		{"weight_sqnr_db/{layer}", "weight_sqnr_db/stage2/block1/shortcut/conv", true},
		{"weight_sqnr_db/{layer}", "weight_sqnr_db/", false},
		{"sensitivity/{layer}/{value}", "sensitivity/fc1/0.5", true},
		{"sensitivity/{layer}/{value}", "sensitivity/stage1/block1/a/conv/1e-05", true},
		{"sensitivity/{layer}/{value}", "sensitivity/fc1/half", false},
		{"claim_{claim}_met", "claim_size_met", true},
		{"{role}_bytes", "combined_bytes", true},
		{"a.b", "axb", false}, // dots are literal
	}
	for _, c := range cases {
		if got := (Result{Name: c.pattern}).Matches(c.name); got != c.want {
			t.Errorf("%s matches %s: %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
	if f := (Result{Name: "input_min/{layer}"}).Family(); f != "input_min/" {
		t.Errorf("family %q", f)
	}
}

func TestFormats(t *testing.T) {
	cases := []struct {
		f    Format
		v    float64
		want string
	}{
		{Times, 3.8, "3.80×"}, {Signed, 0.125, "+0.12"}, {Signed, -0.0, "+0.00"}, {Fall, 0.04, "-0.04"},
		{DB, 41.26, "41.3"}, {Short, -0.42437, "-0.424"}, {Short, 0.012749, "0.0127"},
		{Percent, 0.5, "50.00%"}, {Times, math.NaN(), "NaN"}, {DB, math.Inf(1), "+Inf"},
	}
	for _, c := range cases {
		if got := c.f.Print(c.v); got != c.want {
			t.Errorf("format %d of %v: %q, want %q", c.f, c.v, got, c.want)
		}
	}
}

// TestCheckNamesUndeclaredResults: a stage's results against its kind's
// declaration, what it includes from another kind under a prefix, and
// what the recipe's other kinds add.
func TestCheckNamesUndeclaredResults(t *testing.T) {
	kinds := map[string]Declaration{
		"train":   {Results: []Result{{Name: "steps"}, {Name: "{split}_accuracy"}}},
		"distill": {Results: []Result{{Name: "gap_closed"}}, Includes: []Include{{Kind: "train"}, {Prefix: "alone_", Kind: "train"}}},
		"prune":   {Adds: []Result{{Name: "sparsity"}}},
	}
	lookup := func(k string) (Declaration, bool) { d, ok := kinds[k]; return d, ok }
	ok := map[string]float64{"steps": 1, "alone_steps": 1, "alone_test_accuracy": 0.9, "gap_closed": 0.5, "wall_s": 2}
	if err := Check(lookup, "distill", nil, ok); err != nil {
		t.Errorf("declared results refused: %v", err)
	}
	if err := Check(lookup, "train", []string{"prune"}, map[string]float64{"steps": 1, "sparsity": 0.5}); err != nil {
		t.Errorf("a result another kind adds refused: %v", err)
	}
	err := Check(lookup, "train", nil, map[string]float64{"steps": 1, "sparsity": 0.5, "stepz": 1})
	if err == nil || !strings.Contains(err.Error(), "stage kind train recorded sparsity, stepz, which its declaration") {
		t.Errorf("got %v", err)
	}
}

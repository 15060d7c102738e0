package prune_test

import (
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/prune"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
)

// TestAllocate follows the greedy allocation by hand: layer b costs less
// accuracy per weight pruned at each step, so it goes to 90% first; then a
// to 50% reaches half of the 200 weights.
func TestAllocate(t *testing.T) {
	rows := []prune.SensitivityRow{
		{Layer: "a", Params: 100, Accuracy: []float64{0.9, 0.5}},
		{Layer: "b", Params: 100, Accuracy: []float64{0.99, 0.98}},
	}
	got := prune.Allocate(rows, []float64{0.5, 0.9}, 1.0, 0.5)
	if got["a"] != 0.5 || got["b"] != 0.9 {
		t.Errorf("allocation %v, want a 0.5, b 0.9", got)
	}
	if got := prune.Allocate(rows, []float64{0.5, 0.9}, 1.0, 0.2); got["a"] != 0 || got["b"] != 0.5 {
		t.Errorf("allocation for 20%%: %v, want a 0, b 0.5", got)
	}
}

// TestSensitivityStage writes the table and the plot for every prunable
// layer, leaves the weights as they were, and its allocation drives a
// later prune stage.
func TestSensitivityStage(t *testing.T) {
	store := newStore(t)
	src := base + "  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 0.01}}\n" +
		"  - evaluate: {split: validation}\n" +
		"  - sensitivity: {sparsities: [0.5, 0.9], target_sparsity: 0.6}\n" +
		"  - evaluate: {split: validation}\n" +
		"  - prune: {schedule: oneshot, target_sparsity: 0.6, layers: sensitivity}\n"
	res, err := runner.Run(context.Background(), mustParse(t, src), runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	before, after := res.Stages[1].Metrics["validation_accuracy"], res.Stages[3].Metrics["validation_accuracy"]
	if before != after {
		t.Errorf("validation accuracy %g before the sensitivity stage, %g after: it must put the weights back", before, after)
	}
	sens := res.Stages[2].Metrics
	if sens["baseline_validation_accuracy"] != before {
		t.Errorf("baseline %g, the model measured %g", sens["baseline_validation_accuracy"], before)
	}
	dir := store.RunDir(res.RunID)
	table, err := os.ReadFile(filepath.Join(dir, "sensitivity.md"))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]int{"fc1": 64, "fc2": 512, "logits": 64}
	allocated := 0.0
	for layer, n := range params {
		for _, sp := range []string{"0.5", "0.9"} {
			if _, ok := sens["sensitivity/"+layer+"/"+sp]; !ok {
				t.Errorf("no result for %s at %s", layer, sp)
			}
		}
		if !strings.Contains(string(table), "| "+layer+" | ") {
			t.Errorf("table lacks %s:\n%s", layer, table)
		}
		allocated += sens["allocation/"+layer] * float64(n)
	}
	if allocated < 0.6*640 {
		t.Errorf("allocation prunes %g of 640 weights, want at least 60%%", allocated)
	}
	f, err := os.Open(filepath.Join(dir, "sensitivity.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() < 300 {
		t.Errorf("plot: %v", err)
	}
	// The prune stage took the allocation: each layer at its sparsity.
	pruned := res.Stages[4].Metrics
	for layer := range params {
		want := math.Floor(sens["allocation/"+layer]*float64(params[layer])) / float64(params[layer])
		if math.Abs(pruned["sparsity/"+layer]-want) > 1e-9 {
			t.Errorf("%s pruned to %g, allocated %g", layer, pruned["sparsity/"+layer], want)
		}
	}
}

// TestSensitivityKeys: mistakes are positioned errors.
func TestSensitivityKeys(t *testing.T) {
	cases := map[string]string{
		"  - sensitivity: {sparsities: [0.5, 1.2]}\n":                  "p.yaml:7:37: a sparsity must be in [0, 1), got 1.2",
		"  - sensitivity: {exclude: [conv1]}\n":                        `p.yaml:7:29: sensitivity: exclude names no layer of the mlp model: "conv1"`,
		"  - sensitivity: {sparsities: [0.5], target_sparsity: 0.7}\n": "target_sparsity 0.7 is above the largest sparsity tried (0.5)",
		"  - prune: {target_sparsity: 0.5, layers: sensitivity}\n":     "p.yaml:7:43: prune: layers: sensitivity needs a sensitivity stage with target_sparsity before this one",
		"  - prune: {target_sparsity: 0.5, layers: everything}\n":      "layers must be a mapping of layer: sparsity, or sensitivity",
	}
	for stage, want := range cases {
		_, err := recipe.Parse("p.yaml", []byte(base+stage))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", strings.TrimSpace(stage), err, want)
		}
	}
}

package nbui

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestWeightHistogramReadsPrunedCheckpoint trains a tiny MLP, prunes it
// at once to 50% and fine-tunes it: the weights read back from the newest
// checkpoint, masks applied, are as sparse as the run says, and the
// histogram is drawn.
func TestWeightHistogramReadsPrunedCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small models")
	}
	t.Setenv("GOMLX_BACKEND", "go")
	t.Setenv(runs.EnvDir, t.TempDir())
	out := record(t)
	const text = `
name: tiny-prune
data: {dataset: spirals, batch_size: 32, validation: 64, train_size: 256, test_size: 64}
model: {arch: mlp, hidden: [32]}
stages:
  - train: {steps: 10, optimizer: {name: adam, learning_rate: 1e-2}}
  - prune: {schedule: oneshot, target_sparsity: 0.5, exclude: [logits]}
  - train: {steps: 5, optimizer: {name: adam, learning_rate: 1e-3}}
variants:
  - {name: pruned}
  - {name: dense, prune: {schedule: oneshot, target_sparsity: 0}}
`
	res, err := RunYAML("tiny-prune.yaml", text, Steps(0))
	if err != nil {
		t.Fatal(err)
	}
	pruned, err := ReadWeights("tiny-prune/pruned", "fc1")
	if err != nil {
		t.Fatal(err)
	}
	if !pruned.Masked || pruned.Step != 15 || len(pruned.Values) != 2*32 || pruned.Variable != "/mlp/fc1/weights" {
		t.Errorf("read %+v", pruned)
	}
	want := res.Results[0].Final["sparsity/fc1"]
	if got := float64(pruned.Zeros()) / float64(len(pruned.Values)); want < 0.4 || math.Abs(got-want) > 1e-9 {
		t.Errorf("fc1: %.4f of the weights read are 0, the run reports sparsity %.4f", got, want)
	}
	if pruned.SmallestNonzero() <= 0 {
		t.Errorf("smallest nonzero weight %g", pruned.SmallestNonzero())
	}
	dense, err := ReadWeights("tiny-prune/dense", "fc1")
	if err != nil {
		t.Fatal(err)
	}
	if dense.Zeros() != 0 {
		t.Errorf("the dense run has %d zero weights", dense.Zeros())
	}
	if _, err := ReadWeights("tiny-prune/dense", "conv1"); err == nil || !strings.Contains(err.Error(), "/mlp/fc1") {
		t.Errorf("a missing layer: %v (should list the layers there are)", err)
	}

	shown := len(out.Shown)
	if err := WeightHistogram("fc1", "tiny-prune/dense", "tiny-prune/pruned"); err != nil {
		t.Fatal(err)
	}
	got := out.Shown[shown:]
	if len(got) != 2 {
		t.Fatalf("WeightHistogram showed %d outputs, want the plot and its text", len(got))
	}
	if _, err := png.Decode(bytes.NewReader(got[0].PNG)); err != nil {
		t.Errorf("histogram is not a PNG: %v", err)
	}
	for _, line := range []string{"tiny-prune/dense /mlp/fc1/weights", "64 weights, 0 exactly 0", "tiny-prune/pruned /mlp/fc1/weights"} {
		if !strings.Contains(got[1].Text, line) {
			t.Errorf("text lacks %q:\n%s", line, got[1].Text)
		}
	}
}

func TestWeightHistogramPNG(t *testing.T) {
	all := []*LayerWeights{{Run: "a", Layer: "fc1", Values: []float32{-0.5, 0, 0, 0.25, 0.5}}, {Run: "b", Layer: "fc1", Values: make([]float32, 4)}}
	img, err := WeightHistogramPNG(all, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatal(err)
	}
	if all[0].Zeros() != 2 || all[0].SmallestNonzero() != 0.25 || all[1].SmallestNonzero() != 0 {
		t.Errorf("zeros %d, smallest nonzero %g and %g", all[0].Zeros(), all[0].SmallestNonzero(), all[1].SmallestNonzero())
	}
	if _, err := WeightHistogramPNG(nil, 8, 3); err == nil {
		t.Error("nothing to draw, and no error")
	}
}

// TestShowRunFile: a stage's PNG shows as an image, its Markdown as
// Markdown; a missing file names those the folder holds; a path out of
// the folder is refused.
func TestShowRunFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(runs.EnvDir, dir)
	store, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &runs.Run{Name: "sens"}
	if err := store.Create(r); err != nil {
		t.Fatal(err)
	}
	store.Close()
	img, err := WeightHistogramPNG([]*LayerWeights{{Run: "sens", Layer: "fc1", Values: []float32{1, -1}}}, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, r.ID)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	const table = "| layer | 50% |\n|---|---|\n| fc1 | 97.00% |\n"
	for name, data := range map[string][]byte{"sensitivity.png": img, "sensitivity.md": []byte(table), "notes.txt": []byte("a < b")} {
		if err := os.WriteFile(filepath.Join(runDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := record(t)
	for _, name := range []string{"sensitivity.png", "sensitivity.md", "notes.txt"} {
		if err := ShowRunFile("sens", name); err != nil {
			t.Fatal(err)
		}
	}
	if len(out.Shown) != 3 || !bytes.Equal(out.Shown[0].PNG, img) || out.Shown[1].Markdown != table || out.Shown[1].Text != table ||
		out.Shown[2].HTML != "<pre>a &lt; b</pre>" {
		t.Errorf("shown %+v", out.Shown)
	}
	if err := ShowRunFile("sens", "missing.png"); err == nil || !strings.Contains(err.Error(), "notes.txt, sensitivity.md, sensitivity.png") {
		t.Errorf("a missing file: %v", err)
	}
	if err := ShowRunFile("sens", "../runs.db"); err == nil || !strings.Contains(err.Error(), "not a path inside") {
		t.Errorf("a path out of the run's folder: %v", err)
	}
}

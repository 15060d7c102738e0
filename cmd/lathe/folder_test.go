package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/internal/imagetest"
)

// TestImageFolderRunAndPredict: a recipe on an image folder runs from the
// command line and logs each class's counts; the model it exports
// classifies a folder of new images laid out by class, each labelled
// from its sub-folder; a folder with no image is a one-line error.
func TestImageFolderRunAndPredict(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "bars")
	imagetest.Bars(t, data, 50, 1)
	recipe := "name: bars\nseed: 1\nbackend: go\ndata: {dataset: imagefolder, dir: " + data + ", size: [8, 8], channels: 1, batch_size: 16, validation: 8}\n" +
		"model: {arch: mlp, hidden: [32]}\nstages:\n  - train: {steps: 150, optimizer: {name: adam, learning_rate: 0.01}}\n  - export: {name: bars}\n"
	if err := os.WriteFile(filepath.Join(dir, "bars.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runLathe(t, dir, "run", "bars.yaml")
	if r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	if out := r.stdout + r.stderr; !strings.Contains(out, "horizontal 40/10") || !strings.Contains(out, "vertical 40/10") {
		t.Errorf("the run's log does not give the class counts:\n%s", out)
	}
	// The summary and lathe show give them by split, validation held out.
	if !strings.Contains(r.stdout, "classes (train/validation/test): horizontal ") {
		t.Errorf("the summary lacks the classes:\n%s", r.stdout)
	}
	if s := runLathe(t, dir, "show", "bars"); !strings.Contains(s.stdout, "classes (train/validation/test): horizontal ") {
		t.Errorf("lathe show lacks the classes:\n%s%s", s.stdout, s.stderr)
	}
	model, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "bars.safetensors"))
	if len(model) != 1 {
		t.Fatalf("model files %v", model)
	}
	fresh := filepath.Join(dir, "fresh")
	imagetest.Bars(t, fresh, 10, 2)
	r = runLathe(t, dir, "predict", model[0], fresh, "--json", "--top", "1")
	var preds []prediction
	if err := json.Unmarshal([]byte(r.stdout), &preds); err != nil || r.code != 0 {
		t.Fatalf("predict: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	right := 0
	for _, p := range preds {
		if p.Label == nil {
			t.Fatalf("%s: no label", p.Input)
		}
		if wantClass := []string{"horizontal", "vertical"}[*p.Label]; !strings.Contains(p.Input, string(filepath.Separator)+wantClass+string(filepath.Separator)) {
			t.Errorf("%s labelled %s", p.Input, wantClass)
		}
		if p.Top[0].Index == *p.Label {
			right++
		}
	}
	if len(preds) != 20 || right < 18 {
		t.Errorf("%d predictions, %d right", len(preds), right)
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	r = runLathe(t, dir, "predict", model[0], empty)
	if r.code == 0 || !strings.Contains(r.stderr, empty) || !strings.Contains(r.stderr, "no image") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("an empty folder: exit %d, %q", r.code, r.stderr)
	}
}

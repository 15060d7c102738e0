package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCSVRunAndPredict: a recipe on a CSV table runs from the command
// line; the model it exports classifies the rows of another table, raw,
// labelled from its "label" column; a text cell is one line naming the
// file, line and column.
func TestCSVRunAndPredict(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	table := func(header string, rows int) string {
		var b strings.Builder
		b.WriteString(header + "\n")
		for range rows {
			c := rng.IntN(2)
			// Two classes apart on a feature measured in thousands.
			fmt.Fprintf(&b, "%g,%g,%s\n", 5000+2000*float64(c)+300*rng.NormFloat64(), rng.NormFloat64(), []string{"no", "yes"}[c])
		}
		return b.String()
	}
	if err := os.WriteFile(filepath.Join(dir, "train.csv"), []byte(table("income,noise,bought", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "new.csv"), []byte(table("income,noise,label", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := "name: table\nseed: 1\nbackend: go\ndata: {dataset: csv, file: train.csv, label: bought, batch_size: 16, validation: 20}\n" +
		"model: {arch: mlp, hidden: [8]}\nstages:\n  - train: {steps: 150, optimizer: {name: adam, learning_rate: 0.01}}\n  - export: {name: table}\n"
	if err := os.WriteFile(filepath.Join(dir, "table.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runLathe(t, dir, "run", "table.yaml")
	if r.code != 0 {
		t.Fatalf("run: %s", r.stderr)
	}
	if out := r.stdout + r.stderr; !strings.Contains(out, "2 features (income, noise), label bought") {
		t.Errorf("the run's log does not describe the table:\n%s", out)
	}
	model, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "table.safetensors"))
	if len(model) != 1 {
		t.Fatalf("model files %v", model)
	}
	r = runLathe(t, dir, "predict", model[0], filepath.Join(dir, "new.csv"), "--json", "--top", "1")
	var preds []prediction
	if err := json.Unmarshal([]byte(r.stdout), &preds); err != nil || r.code != 0 || len(preds) != 40 {
		t.Fatalf("predict: exit %d, %v, %d predictions\n%s%s", r.code, err, len(preds), r.stdout, r.stderr)
	}
	right := 0
	for _, p := range preds {
		if p.Label != nil && p.Top[0].Index == *p.Label {
			right++
		}
	}
	if right < 36 {
		t.Errorf("%d of 40 rows right", right)
	}
	// A text cell, before any run is recorded.
	if err := os.WriteFile(filepath.Join(dir, "train.csv"), []byte("income,noise,bought\n1,2,no\n3,x4,yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runLathe(t, dir, "run", "table.yaml")
	if r.code == 0 || !strings.Contains(r.stderr, `train.csv:3:3: column "noise": "x4" is not a number`) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("text cell: exit %d\n%s", r.code, r.stderr)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestSummaryOfARunWithNoFinishedStage: a run stopped or failed before
// any stage finished says so instead of printing an empty table.
func TestSummaryOfARunWithNoFinishedStage(t *testing.T) {
	rec, err := recipe.Parse("s.yaml", []byte("name: s\ndata: {dataset: blobs}\nmodel: {arch: mlp}\nstages: [{train: {epochs: 1}}, {evaluate: {split: test}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printSummary(&out, rec, &runner.Result{Status: runs.Stopped, Backend: "go", Final: map[string]float64{"wall_s": 2}})
	got := out.String()
	if strings.Contains(got, "STAGE") || !strings.Contains(got, "s — stopped on go\nno stage finished (of 2)\n") {
		t.Errorf("summary:\n%s", got)
	}
}

// TestStoreMistakesAreNamed: a runs "directory" that is a file is an
// error saying so (not "run a recipe first"), in every command; `lathe
// migrate` upgrades an old store the readers refuse; show --json --series
// carries the metric series.
func TestStoreMistakesAreNamed(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "runs")
	if err := os.WriteFile(file, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"ls"}, {"show", "x"}, {"run", "spirals", "--backend", "go"}} {
		r := runLathe(t, dir, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "run store runs: not a directory") || strings.Contains(r.stderr, "run a recipe first") {
			t.Errorf("lathe %s with runs a file: exit %d, %q", args[0], r.code, r.stderr)
		}
	}
	os.Remove(file)

	r := runLathe(t, dir, "run", "spirals", "--backend", "go")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	show := runLathe(t, dir, "show", "spirals", "--json", "--series")
	var v struct {
		Series map[string][]runs.Point `json:"series"`
	}
	if err := json.Unmarshal([]byte(show.stdout), &v); err != nil {
		t.Fatalf("show --json --series: %v", err)
	}
	if len(v.Series["loss"]) == 0 || len(v.Series["learning_rate"]) != len(v.Series["loss"]) {
		t.Errorf("series: %d loss points, %d learning_rate points", len(v.Series["loss"]), len(v.Series["learning_rate"]))
	}
	if m := runLathe(t, dir, "migrate"); m.code != 0 || !strings.Contains(m.stdout, "up to date (schema 3)") {
		t.Errorf("migrate of a current store: %d %q %q", m.code, m.stdout, m.stderr)
	}
}

// TestBenchMasks: `lathe bench train --masks` times the same model plain
// and with pruning masks in one process and prints their ratio.
func TestBenchMasks(t *testing.T) {
	r := runLathe(t, t.TempDir(), "bench", "train", "--model", "mlp", "--hidden", "32", "--input", "16", "--batch", "8", "--steps", "3", "--backend", "go", "--masks")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "mlp-32 +masks") || !strings.Contains(r.stdout, "masked / plain step time: ") {
		t.Errorf("output:\n%s", r.stdout)
	}
	if r := runLathe(t, t.TempDir(), "bench", "train", "--masks", "--dense", "both"); r.code == 0 || !strings.Contains(r.stderr, "--masks compares one configuration") {
		t.Errorf("--masks with --dense both: exit %d, %q", r.code, r.stderr)
	}
}

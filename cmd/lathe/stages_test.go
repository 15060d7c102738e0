package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/internal/stagetest"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// A stage kind declared in a package of its own, registered in one line:
// the summary prints the line its declaration writes.
func init() { stagetest.Register("tally_test") }

func TestSummaryOfAnExtraStageKind(t *testing.T) {
	t.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	src := "name: tally\nbackend: go\ndata: {dataset: blobs, train_size: 200, test_size: 50}\nmodel: {arch: mlp, hidden: [4]}\n" +
		"stages:\n  - tally_test: {n: 4}\n  - evaluate\n"
	rec, err := recipe.Parse("tally.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	printSummary(&out, rec, res)
	// The kind's own summary line, from its declaration.
	if !strings.Contains(out.String(), "tally_test") || !strings.Contains(out.String(), "counted 4 steps to level 100.00%") {
		t.Errorf("summary:\n%s", out.String())
	}
	run, err := store.Get(res.RunID)
	if err != nil || run.Stages[0].Kind != "tally_test" || run.Stages[0].PlannedSteps != 4 {
		t.Errorf("stored: %v %+v", err, run.Stages)
	}
}

// TestDivergedRunKeepsTheStoreReadable: a run whose loss becomes NaN exits
// non-zero with one line naming the step; ls and show (text and JSON) still
// work for every run.
func TestDivergedRunKeepsTheStoreReadable(t *testing.T) {
	dir := t.TempDir()
	src := "name: diverge\nseed: 1\nbackend: go\ndata: {dataset: spirals, batch_size: 32, train_size: 400, test_size: 100}\n" +
		"model: {arch: mlp, hidden: [16]}\nstages:\n  - train: {epochs: 3, optimizer: {name: sgd, learning_rate: 1e9}, log_every: 1}\n  - evaluate\n"
	if err := os.WriteFile(filepath.Join(dir, "diverge.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	runsDir := filepath.Join(dir, "runs")
	r := runLathe(t, dir, "--runs-dir", runsDir, "run", "diverge.yaml")
	if r.code == 0 || !strings.Contains(r.stderr, "diverged") || !strings.Contains(r.stderr, "train step ") {
		t.Fatalf("diverged run: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"ls"}, {"ls", "--json"}, {"show", "diverge"}, {"show", "diverge", "--json"}} {
		r := runLathe(t, dir, append([]string{"--runs-dir", runsDir}, args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "failed") {
			t.Errorf("lathe %s after a diverged run: exit %d\nstdout %s\nstderr %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

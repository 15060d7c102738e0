package main

import (
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// holesRecipe logs every 10 steps and checkpoints every 20 over 16 epochs
// of 56 steps.
const holesRecipe = `name: holes
seed: 7
backend: go
data: {dataset: blobs, batch_size: 64, validation: 400, train_size: 4000, test_size: 500}
model: {arch: mlp, hidden: [256, 256]}
stages:
  - train: {epochs: 16, optimizer: {name: adam, learning_rate: 0.003}, log_every: 10, checkpoint_every: 20}
  - evaluate: {split: test}
`

// TestKill9LeavesNoHoleInTheSeries kills `lathe run`, then each `lathe
// resume`, with SIGKILL at 20 random moments. After each resume has said
// where it starts, the store must hold every logged step up to there once
// (a checkpoint flushes the points before it: they were written at most
// once a second, so a resume from a checkpoint whose points were never
// written left a hole), and the finished run's series every logged step
// of the run once.
func TestKill9LeavesNoHoleInTheSeries(t *testing.T) {
	const steps, logEvery, kills = 16 * 56, 10, 20
	dir := recipeDir(t, holesRecipe)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	p := startLathe(t, dir, "run", "faults.yaml")
	id := ""
	for i := 0; i < kills; i++ {
		target := lastStep(t, dir, id) + 1 + rng.IntN(steps/kills)
		id = untilStep(t, p, dir, id, min(target, steps-logEvery))
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code >= 0 {
			t.Fatalf("kill %d: the run ended first (exit %d): too short to kill %d times", i+1, code, kills)
		}
		if id == "" {
			p = startLathe(t, dir, "run", "faults.yaml")
			continue
		}
		p = startLathe(t, dir, "resume", id)
		from := -1
		for deadline := time.Now().Add(time.Minute); from < 0 && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			_, errOut := p.output(t)
			if m := resumedFrom.FindStringSubmatch(errOut); m != nil {
				from, _ = strconv.Atoi(m[1])
			} else if strings.Contains(errOut, "has no checkpoint") {
				from = 0
			}
		}
		if from < 0 {
			t.Fatalf("kill %d: the resume did not say where it starts", i+1)
		}
		checkSeries(t, dir, id, logEvery, from, "kill "+strconv.Itoa(i+1))
		t.Logf("kill -9 %2d at step ≥ %3d: resumed from step %3d, no hole before it", i+1, target, from)
	}
	if code := p.wait(t); code != 0 {
		_, errOut := p.output(t)
		t.Fatalf("final resume: exit %d\n%s", code, errOut)
	}
	checkSeries(t, dir, id, logEvery, steps, "the finished run")
}

// checkSeries: run id's train_loss points up to step upTo are exactly the
// logged steps (every logEvery), each once.
func checkSeries(t *testing.T, dir, id string, logEvery, upTo int, when string) {
	t.Helper()
	s, err := runs.OpenExisting(filepath.Join(dir, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pts, err := s.Series(id, "train_loss")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for _, p := range pts {
		seen[p.Step]++
	}
	for step := logEvery; step <= upTo; step += logEvery {
		if seen[step] != 1 {
			t.Errorf("%s: step %d recorded %d times (resumed from step %d)", when, step, seen[step], upTo)
		}
	}
}

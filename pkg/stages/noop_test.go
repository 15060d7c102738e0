package stages_test

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// noopHead is a recipe whose data size is known before it loads: 500
// training examples in batches of 32, 15 steps an epoch.
const noopHead = `name: noop
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 200}
model: {arch: mlp, hidden: [8]}
stages:
  - train: {steps: 20}
`

// TestSettingsThatWouldDoNothingAreRefused: settings that used to finish
// with exit 0 having done nothing are positioned errors when the recipe
// is read.
func TestSettingsThatWouldDoNothingAreRefused(t *testing.T) {
	cases := []struct{ stages, want string }{
		// The schedule would end after the training, at 0.5·(1 − (1 − 20/100)³)
		// = 24.4% (Zhu & Gupta's cubic), or never start.
		{"  - prune: {schedule: gradual, target_sparsity: 0.5, end_step: 100}\n  - train: {steps: 20}\n",
			"n.yaml:7:54: prune: the schedule ends at step 100, but the training after it takes 20 steps: it would stop at 24.4% sparsity, not 50%"},
		{"  - prune: {schedule: gradual, target_sparsity: 0.5, end_step: 10}\n  - evaluate\n",
			"n.yaml:7:12: prune: schedule: gradual prunes while training goes on, and no train stage follows it"},
		{"  - prune: {schedule: iterative, rounds: 2, target_sparsity: 0.5, end_step: 40}\n  - train: {epochs: 2}\n",
			"n.yaml:7:67: prune: the schedule ends at step 40, but the training after it takes 30 steps"},
		{"  - train: {steps: 10, accumulate_steps: 100000}\n",
			"n.yaml:7:42: accumulate_steps 100000 is more than the stage's 10 steps: it would end without updating the weights once"},
		{"  - quantize: {mode: qat}\n  - quantize: {mode: ptq}\n",
			"n.yaml:7:22: quantize: mode qat fakes int8 in the train stages after it, and none follows"},
		{"  - report: {}\n", "n.yaml:7:13: report compares the model files the stages before it write, and none does"},
		{"  - export: {name: " + strings.Repeat("m", 300) + "}\n", "a file name of 312 bytes: file systems take at most 255"},
	}
	for _, c := range cases {
		_, err := recipe.Parse("n.yaml", []byte(noopHead+c.stages))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.80s: got %v, want %q", c.stages, err, c.want)
		}
	}
	// What the same settings look like when they do something.
	for _, ok := range []string{
		"  - prune: {schedule: gradual, target_sparsity: 0.5, end_step: 20}\n  - train: {steps: 20}\n",
		"  - train: {steps: 10, accumulate_steps: 10}\n",
		"  - quantize: {mode: qat}\n  - train: {steps: 5}\n  - quantize: {mode: ptq, check: none}\n  - report: {}\n",
	} {
		if _, err := recipe.Parse("n.yaml", []byte(noopHead+ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestTeacherChecksComeBeforeTheRunIsRecorded: a teacher run the store
// does not hold, or a truncated teacher file, fails the run before it is
// recorded: `lathe ls` shows nothing.
func TestTeacherChecksComeBeforeTheRunIsRecorded(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "t.safetensors")
	if err := os.WriteFile(truncated, []byte{0x40, 0, 0, 0, 0, 0, 0, 0, '{'}, 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := runs.Open(filepath.Join(dir, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// A teacher file with a NaN weight: a real model file, one weight
	// overwritten with NaN's bits.
	exported, err := recipe.Parse("e.yaml", []byte(noopHead+"  - export: {name: teacher}\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), exported, runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	f, err := infer.ReadFile(filepath.Join(store.RunDir(res.RunID), "teacher.safetensors"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var weights string
	for name := range f.Tensors {
		if strings.HasSuffix(name, "weights") && (weights == "" || name < weights) {
			weights = name
		}
	}
	binary.LittleEndian.PutUint32(f.Tensors[weights].Data[4:], math.Float32bits(float32(math.NaN())))
	poisoned := filepath.Join(dir, "nan.safetensors")
	if err := f.WriteFile(poisoned); err != nil {
		t.Fatal(err)
	}
	for teacher, want := range map[string]string{
		"{run: unknown-id}":         `teacher run unknown-id: run not found: "unknown-id"`,
		"{file: " + truncated + "}": "teacher: " + truncated + ": not a safetensors file",
		"{file: " + poisoned + "}":  "tensor " + weights + " holds 1 non-finite value (NaN or ±Inf): a teacher's outputs must be numbers",
	} {
		rec, err := recipe.Parse("d.yaml", []byte(noopHead+"  - distill: {teacher: "+teacher+", student: {arch: mlp, hidden: [4]}, steps: 2}\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = runner.Run(context.Background(), rec, runner.Options{Store: store})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "d.yaml:7:") {
			t.Errorf("teacher %s: got %v, want a positioned error with %q", teacher, err, want)
		}
	}
	if list, err := store.List(); err != nil || len(list) != 1 {
		t.Errorf("the store holds %d runs after refused recipes, want the teacher's alone (%v)", len(list), err)
	}
}

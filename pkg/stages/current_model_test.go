package stages_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestStagesActOnTheDistilledStudent: after a LeNet-5 teacher is distilled
// into an MLP student, quantize (qat and ptq), prune and export act on the
// student — the session's current model — not on the recipe's LeNet-5.
func TestStagesActOnTheDistilledStudent(t *testing.T) {
	src := `name: student-test
seed: 2
backend: go
data: {dataset: synthetic-images, batch_size: 32, validation: 64, train_size: 512, test_size: 128}
model: {arch: lenet5}
stages:
  - train: {steps: 20, optimizer: {name: adam, learning_rate: 0.002}}
  - distill: {teacher: {stage: 1}, student: {arch: mlp, hidden: [16]}, steps: 20, optimizer: {name: adam, learning_rate: 0.005}}
  - quantize: {mode: qat}
  - prune: {target_sparsity: 0.5, schedule: oneshot}
  - train: {steps: 10, optimizer: {name: adam, learning_rate: 0.002}}
  - quantize: {mode: ptq, name: student.int8, calibration_batches: 2}
  - export: {name: student}
`
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec, err := recipe.Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	prune, ptq := res.Stages[3].Metrics, res.Stages[5].Metrics
	// The student's prunable layers are fc1 (784×16) and logits (16×4).
	if _, ok := prune["sparsity/fc1"]; !ok || prune["prunable_params"] != 28*28*16+16*4 {
		t.Errorf("prune acted on %v prunable parameters (%v), want the student's %d", prune["prunable_params"], prune, 28*28*16+16*4)
	}
	if ptq["qat_ranges"] != 2 { // qat learned the input ranges of the student's two layers
		t.Errorf("ptq used %v ranges learned by qat, want 2 (fc1, logits)", ptq["qat_ranges"])
	}
	f, err := infer.ReadFile(filepath.Join(store.RunDir(res.RunID), "student.safetensors"), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	g, err := infer.GraphOf(f)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, op := range g.Ops {
		ops = append(ops, op.Op)
	}
	if slices.Contains(ops, "conv2d") || !slices.Contains(ops, "dense") {
		t.Errorf("exported ops %v: want the MLP student's dense layers, no convolution", ops)
	}
}

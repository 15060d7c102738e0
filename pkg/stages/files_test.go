package stages_test

import (
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/recipe"
)

// TestCollidingFileNamesAreRefused: two stages that would write one file
// in the run's folder are a positioned error when the recipe is read,
// before anything runs.
func TestCollidingFileNamesAreRefused(t *testing.T) {
	head := `name: collide
backend: go
data: {dataset: blobs, batch_size: 32}
model: {arch: mlp, hidden: [8]}
stages:
  - train: {steps: 2}
`
	cases := []struct{ stages, want string }{
		// The dense export would be replaced by the pruned float twin.
		{"  - export: {name: m.f32}\n  - prune: {target_sparsity: 0.5, schedule: oneshot}\n  - quantize: {mode: ptq, name: m}\n",
			"c.yaml:9:15: stage 4 (quantize) writes m.f32.safetensors, which stage 2 (export) writes too: give one of them another name"},
		// The report would compare the int8 file with itself.
		{"  - export: {name: base}\n  - quantize: {name: base}\n  - report: {}\n",
			"c.yaml:8:15: stage 3 (quantize) writes base.safetensors, which stage 2 (export) writes too"},
		{"  - export: {name: a, formats: [safetensors, onnx]}\n  - train: {steps: 2}\n  - export: {name: a, formats: [onnx]}\n",
			"c.yaml:9:13: stage 4 (export) writes a.onnx, which stage 2 (export) writes too"},
		{"  - sensitivity: {}\n  - sensitivity: {split: test}\n",
			"c.yaml:8:18: stage 3 (sensitivity) writes sensitivity.md, which stage 2 (sensitivity) writes too"},
		{"  - export: {name: teacher-stage1}\n  - distill: {teacher: {stage: 1}, student: {arch: mlp, hidden: [4]}, steps: 2}\n",
			"c.yaml:8:14: stage 3 (distill) writes teacher-stage1.safetensors, which stage 2 (export) writes too"},
		{"  - export: {name: a}\nvariants:\n  - {name: v, quantize: {name: a}}\n  - {name: w}\n",
			""}, // no quantize stage: the variant's key is refused, not a collision
	}
	for _, c := range cases {
		_, err := recipe.Parse("c.yaml", []byte(head+c.stages))
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: want an error", c.stages)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.stages, err, c.want)
		}
	}
	// A variant that renames its export onto the quantize stage's file.
	src := head + "  - export: {name: a}\n  - quantize: {name: b}\nvariants:\n  - {name: v, export: {name: b}}\n"
	if _, err := recipe.Parse("c.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), `variant "v": stage 3 (quantize) writes b.safetensors, which stage 2 (export) writes too`) {
		t.Errorf("colliding variant: %v", err)
	}
	// Two distill stages share the teacher's file, which only the first writes.
	src = head + "  - distill: {teacher: {stage: 1}, student: {arch: mlp, hidden: [4]}, steps: 2}\n  - distill: {teacher: {stage: 1}, student: {arch: mlp, hidden: [2]}, steps: 2}\n"
	if _, err := recipe.Parse("c.yaml", []byte(src)); err != nil {
		t.Errorf("two students of one teacher: %v", err)
	}
}

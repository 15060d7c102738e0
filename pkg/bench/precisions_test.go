package bench

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// TestOpPrecisionsOfAFloat16Step checks the split Micikevicius et al.'s
// recipe prescribes, on LeNet-5's fp16 step: every matmul and convolution
// (forward and backward) in float16, the loss's softmax (Exp, Log) in
// float32, and casts at the boundary. A float32 step has no float16 op.
func TestOpPrecisionsOfAFloat16Step(t *testing.T) {
	opened, err := backend.Open("go")
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Backend.Finalize()
	count := func(dt dtypes.DType) map[string]map[string]int {
		m := models.Spec{Model: spec.Model{Arch: "lenet5"}, ComputeDType: dt}
		got, err := OpPrecisions(opened.Backend, Config{Model: m, Batch: 4})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]int{}
		for _, c := range got {
			out[c.Op] = c.ByDType
		}
		return out
	}
	half := count(dtypes.Float16)
	// LeNet-5: 2 convolutions, 3 dense layers: at least the forward pass
	// and one kernel gradient per layer (the graph may also hold gradient
	// nodes the compiler prunes).
	if got := half["ConvGeneral"]["float16"]; got < 2+2 {
		t.Errorf("float16 convolutions %d, want at least 4 (2 forward, 2 kernel gradients): %v", got, half["ConvGeneral"])
	}
	if got := half["ConvGeneral"]["float32"] + half["DotGeneral"]["float32"]; got != 0 {
		t.Errorf("%d matmuls or convolutions in float32, want none: %v %v", got, half["ConvGeneral"], half["DotGeneral"])
	}
	if half["DotGeneral"]["float16"] < 3+3 {
		t.Errorf("float16 matmuls %v, want at least the 3 dense layers and their weight gradients", half["DotGeneral"])
	}
	if half["Exp"]["float32"] == 0 || half["Log"]["float32"] == 0 {
		t.Errorf("the loss's softmax is not in float32: Exp %v, Log %v", half["Exp"], half["Log"])
	}
	if half["ConvertDType"]["float16"] == 0 || half["ConvertDType"]["float32"] == 0 {
		t.Errorf("no casts both ways at the precision boundary: %v", half["ConvertDType"])
	}
	for op, m := range count(dtypes.Float32) {
		if m["float16"] != 0 {
			t.Errorf("float32 step: %s has %d float16 ops", op, m["float16"])
		}
	}
}

package bench

import (
	"github.com/lathe-ml/lathe/pkg/spec"
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/lathe-ml/lathe/pkg/models"
)

// TestTrainStepFLOPs checks the FLOP count of an MLP 4-16-3 step at batch 8
// by hand: forward 2·8·4·16 + 2·8·16·3; backward dW for both layers and dX
// for the second only (nothing needs the input data's gradient).
func TestTrainStepFLOPs(t *testing.T) {
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	res, err := TrainStep(b, Config{Model: models.Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{16}}}, Batch: 8, Example: []int{4}, Classes: 3, Steps: 3, Warmup: 1})
	if err != nil {
		t.Fatal(err)
	}
	forward := 2.0*8*4*16 + 2*8*16*3
	backward := 2.0*4*8*16 + 2*16*8*3 + 2*8*3*16
	if want := (forward + backward) / 1e9; math.Abs(res.MatmulGFLOP-want) > 1e-15 {
		t.Errorf("FLOPs per step %.0f, want %.0f", res.MatmulGFLOP*1e9, want*1e9)
	}
	if res.MsPerStep <= 0 || res.SamplesPerS <= 0 || res.MatmulRate <= 0 || res.MatmulEfficiency <= 0 || res.Model != "mlp-16" {
		t.Errorf("result %+v", res)
	}
}

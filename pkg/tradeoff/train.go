package tradeoff

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TrainSteps times a train step of spec in float32 and in bfloat16 on b,
// one after the other in this process: the measurement behind the seed's
// training claim. A precision the backend cannot compile is NaN, and the
// error says why; the other is still returned.
func TrainSteps(b backends.Backend, backendName string, spec models.Spec, batch int, example []int, classes, steps int) (*report.Training, error) {
	tr := &report.Training{Model: spec.Arch, Backend: backendName, Batch: batch, Devices: b.NumDevices(), F32Ms: math.NaN(), BF16Ms: math.NaN()}
	var failed error
	for _, p := range []struct {
		dtype dtypes.DType
		into  *float64
	}{{dtypes.Float32, &tr.F32Ms}, {dtypes.BFloat16, &tr.BF16Ms}} {
		s := spec
		s.ComputeDType = p.dtype
		res, err := bench.TrainStep(b, bench.Config{Model: s, Batch: batch, Example: example, Classes: classes, Warmup: 2, Steps: steps, SkipRate: true})
		if err != nil {
			failed = fmt.Errorf("%s train step: %w", p.dtype, err)
			continue
		}
		*p.into = res.MsPerStep
	}
	if failed != nil {
		tr.Failed = runs.FirstLine(failed.Error())
	}
	return tr, failed
}

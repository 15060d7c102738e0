package prune

import (
	"fmt"
	"time"

	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/export"
	latheinfer "github.com/lathe-ml/lathe/pkg/infer" // "infer" is this package's forward-pass helper
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/timing"
)

// runtimeLatencies times the masked and the rebuilt model as a deployed
// model runs them: exported to model files and run by Lathe's runtime
// (package infer), at batch LatencyBatch, alternately. GoMLX's latency
// (compareModels) is the training backend's; a pruned model ships to the
// runtime, where thin convolutions cost less of the fixed passes.
func runtimeLatencies(s *runner.Session, masked *gomlxctx.Context, maskedSpec models.Spec) (latencies, error) {
	var none latencies
	small := export.SourceOf(s)
	before := small
	before.Ctx, before.Spec = masked, maskedSpec
	var engines []timing.Engine
	for _, src := range []export.Source{before, small} {
		f, err := export.Build(src)
		if err != nil {
			return none, fmt.Errorf("prune: exporting for the runtime's timing: %w", err)
		}
		m, err := latheinfer.New(f)
		if err != nil {
			return none, fmt.Errorf("prune: loading the exported model in the runtime: %w", err)
		}
		x := make([]float32, LatencyBatch*m.InputSize())
		for i := range x {
			x[i] = float32(i%17) / 17
		}
		out := make([]float32, LatencyBatch*m.Classes())
		engines = append(engines, timing.Engine{Call: func() error { return m.Predict(x, LatencyBatch, out) }})
	}
	ms, err := timing.Interleave(engines, 500*time.Millisecond)
	if err != nil {
		return none, fmt.Errorf("prune: timing the runtime: %w", err)
	}
	return latencies{before: ms[0], after: ms[1]}, nil
}

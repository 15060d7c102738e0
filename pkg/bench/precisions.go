package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// OpPrecision counts one kind of operation in a train step's graph by the
// dtype it computes in: how a mixed-precision policy splits the work
// between 16-bit and 32-bit floats.
type OpPrecision struct {
	Op      string         // GoMLX's node type: DotGeneral, ConvGeneral, Exp…
	ByDType map[string]int // "float16": 12, "float32": 3
}

// OpPrecisions builds the forward and backward graph of one train step
// of cfg.Model (the loss and every trainable variable's gradient, as the
// trainer does; the optimizer's update, always in float32 on the master
// weights, is not part of it) and counts its arithmetic operations by
// dtype. Data movement (reshapes, transposes, broadcasts, constants,
// parameters) is left out: it computes nothing.
func OpPrecisions(backend backends.Backend, cfg Config) (counts []OpPrecision, err error) {
	cfg.defaults()
	if cfg.Batch < 1 {
		cfg.Batch = 8
	}
	modelFn, err := cfg.Model.ModelFn(cfg.Classes)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("op precisions of %s: %v", cfg.Model.Arch, p)
		}
	}()
	inputs, labels := randomBatch(cfg)
	byOp := map[string]map[string]int{}
	step := lossAndGradients(modelFn, true)
	exec, err := context.NewExec(backend, context.New(), func(ctx *context.Context, x, y *graph.Node) *graph.Node {
		out := step(ctx, x, y)
		for _, n := range x.Graph().Nodes() {
			op := strings.TrimPrefix(n.Type().String(), "NodeType")
			if movesData(op) || !n.DType().IsFloat() {
				continue
			}
			if byOp[op] == nil {
				byOp[op] = map[string]int{}
			}
			byOp[op][strings.ToLower(n.DType().String())]++
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	if _, err := exec.Exec(inputs, labels); err != nil { // building the graph counts
		return nil, err
	}
	for op, m := range byOp {
		counts = append(counts, OpPrecision{Op: op, ByDType: m})
	}
	slices.SortFunc(counts, func(a, b OpPrecision) int { return strings.Compare(a.Op, b.Op) })
	return counts, nil
}

// movesData: node types that copy, reshape or name values rather than
// compute with them (a ConvertDType is counted: it is the cast at a
// precision boundary).
func movesData(op string) bool {
	switch op {
	case "Parameter", "Constant", "Reshape", "Transpose", "Broadcast", "BroadcastInDim", "Slice", "Concatenate",
		"Identity", "StopGradient", "Iota", "Where", "Gather", "Scatter", "Pad", "Reverse", "Variable", "Splitter":
		return true
	}
	return false
}

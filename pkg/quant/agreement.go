package quant

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
)

// FakeQuantAgreement is the share of examples on which the integer
// runtime (m, built from f) and the fake-quantized float graph of the
// same file — every int8 layer computed in float32 as
// dequantize(quantize(x))·dequantized weights, on a GoMLX backend — pick
// the same class. raw holds n examples as Predict takes them. The two
// differ only by float32 rounding (and the graph's Round, which on
// GoMLX's pure-Go backend breaks ties away from zero, not to even), so
// anything much below 1 is a bug in one of them.
func FakeQuantAgreement(b backends.Backend, f *infer.File, m *infer.Model, raw []float32, n int) (float64, error) {
	fn, err := export.GraphFn(f)
	if err != nil {
		return 0, err
	}
	exec, err := graph.NewExec(b, fn)
	if err != nil {
		return 0, err
	}
	defer exec.Finalize()
	const batch = 500
	size, classes := m.InputSize(), m.Classes()
	got := make([]float32, batch*classes)
	same := 0
	for start := 0; start < n; start += batch {
		k := min(batch, n-start)
		x := raw[start*size : (start+k)*size]
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, append([]int{k}, m.Graph.Input.Shape...)...))
		if err != nil {
			return 0, fmt.Errorf("quantize: the fake-quantized graph: %w", err)
		}
		want := tensors.MustCopyFlatData[float32](out[0])
		out[0].FinalizeAll()
		if err := m.Predict(x, k, got[:k*classes]); err != nil {
			return 0, err
		}
		for i := range k {
			if infer.Argmax(got[i*classes:(i+1)*classes]) == infer.Argmax(want[i*classes:(i+1)*classes]) {
				same++
			}
		}
	}
	return float64(same) / float64(n), nil
}

package export

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/infer"
)

// Agreement is how an exported model's predictions compare with the
// graph's on the same examples.
type Agreement struct {
	Examples int
	// Same is the fraction of examples both give the same class.
	Same float64
	// MaxDiff is the largest logit difference, relative to max(1, |logit|).
	MaxDiff float64
	// Accuracy is the runtime's accuracy on the examples' labels.
	Accuracy float64
}

// Check runs the exported model m (the runtime) and the source's graph on
// the same examples — normalized features, as training saw them; the
// runtime gets them back raw, x·Std + Mean (per feature with Means and
// Stds) — and compares their outputs.
func Check(src Source, m *infer.Model, normalized []float32, labels []int32) (Agreement, error) {
	size := m.InputSize()
	n := len(labels)
	if n == 0 || len(normalized) != n*size {
		return Agreement{}, fmt.Errorf("export check: %d values for %d examples of %d", len(normalized), n, size)
	}
	std := src.Std
	if std == 0 {
		std = 1
	}
	modelFn, err := src.Spec.ModelFn(len(src.Classes))
	if err != nil {
		return Agreement{}, err
	}
	exec, err := context.NewExec(src.Backend, src.Ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
		return modelFn(ctx, nil, []*graph.Node{x})[0]
	})
	if err != nil {
		return Agreement{}, err
	}
	defer exec.Finalize()
	const batch = 500
	classes := m.Classes()
	raw := make([]float32, batch*size)
	got := make([]float32, batch*classes)
	a := Agreement{Examples: n}
	same, correct := 0, 0
	for start := 0; start < n; start += batch {
		b := min(batch, n-start)
		x := normalized[start*size : (start+b)*size]
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, append([]int{b}, src.Example...)...))
		if err != nil {
			return Agreement{}, fmt.Errorf("export check: the graph: %w", err)
		}
		want := tensors.MustCopyFlatData[float32](out[0])
		out[0].FinalizeAll()
		for i, v := range x {
			if f := len(src.Means); f > 0 {
				raw[i] = v*src.Stds[i%f] + src.Means[i%f]
			} else {
				raw[i] = v*std + src.Mean
			}
		}
		if err := m.Predict(raw[:b*size], b, got); err != nil {
			return Agreement{}, err
		}
		for e := 0; e < b; e++ {
			g, w := got[e*classes:(e+1)*classes], want[e*classes:(e+1)*classes]
			for j := range w {
				d := math.Abs(float64(g[j]-w[j])) / math.Max(1, math.Abs(float64(w[j])))
				if !(d <= a.MaxDiff) {
					a.MaxDiff = d
				}
			}
			c := argmax(g)
			if c == argmax(w) {
				same++
			}
			if int32(c) == labels[start+e] {
				correct++
			}
		}
	}
	a.Same = float64(same) / float64(n)
	a.Accuracy = float64(correct) / float64(n)
	return a, nil
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] || (x != x && v[best] == v[best]) {
			best = i
		}
	}
	return best
}

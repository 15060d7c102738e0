package optim

import "github.com/gomlx/gomlx/pkg/core/graph"

// clip applies clipping by value (each element to [-value, value]) and then
// by global norm (all gradients scaled by max_norm/(norm+1e-6) when the
// norm exceeds max_norm, as torch.nn.utils.clip_grad_norm_ does).
func clip(grads []*graph.Node, maxNorm, value float64) []*graph.Node {
	if value > 0 {
		for i, gr := range grads {
			grads[i] = graph.ClipScalar(gr, -value, value)
		}
	}
	if maxNorm > 0 && len(grads) > 0 {
		g := grads[0].Graph()
		var total *graph.Node
		for _, gr := range grads {
			sq := graph.ConvertDType(graph.ReduceAllSum(graph.Square(gr)), grads[0].DType())
			if total == nil {
				total = sq
			} else {
				total = graph.Add(total, sq)
			}
		}
		norm := graph.Sqrt(total)
		coef := graph.Div(graph.Scalar(g, norm.DType(), maxNorm), graph.AddScalar(norm, 1e-6))
		coef = graph.Min(coef, graph.Scalar(g, coef.DType(), 1))
		for i, gr := range grads {
			grads[i] = graph.Mul(gr, graph.ConvertDType(coef, gr.DType()))
		}
	}
	return grads
}

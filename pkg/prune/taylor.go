package prune

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/runner"
)

// Molchanov et al. 2019 ("Importance Estimation for Neural Network
// Pruning") score a parameter by the squared first-order Taylor term of
// the loss, averaged over minibatches: I_m = mean_b (g_{m,b}·w_m)², and a
// channel by the square of its parameters' summed terms, averaged the same
// way: I_c = mean_b (Σ_{m∈c} g_{m,b}·w_m)². The square is taken per batch:
// for a trained model the mean gradient is near 0, and what ranks the
// parameters is how much each batch's gradient moves the loss.

// taylorBatches feeds batches training batches to visit, each with the
// loss's gradient for every layer's weights, by layer name.
func taylorBatches(s *runner.Session, batches int, visit func(grads map[string][]float32)) error {
	data, err := datasets.NewBatches(s.Data.Train, s.Recipe.Data.BatchSize, true, s.Recipe.Seed, true)
	if err != nil {
		return err
	}
	var inputs, labels []*tensors.Tensor
	for range batches {
		_, x, y, err := data.Yield()
		if errors.Is(err, io.EOF) { // a small training split: go round again
			data.Reset()
			_, x, y, err = data.Yield()
		}
		if err != nil {
			return fmt.Errorf("prune: reading a batch for taylor scores: %w", err)
		}
		inputs, labels = append(inputs, x[0]), append(labels, y[0])
	}
	return batchGradients(s.Backend, s.Ctx, s.Model.Spec, s.Model.NumClasses, s.Model.Loss, inputs, labels, visit)
}

// batchGradients calls visit with each batch's gradient of the loss with
// respect to each layer's weights. The model runs in inference mode
// (batch norm's moving statistics, no dropout), so measuring changes
// nothing.
func batchGradients(backend backends.Backend, ctx *gomlxctx.Context, spec models.Spec, classes int, lossFn train.LossFn, inputs, labels []*tensors.Tensor, visit func(grads map[string][]float32)) error {
	modelFn, err := spec.ModelFn(classes)
	if err != nil {
		return err
	}
	arch := "/" + spec.Arch + "/"
	var layers []string
	exec, err := gomlxctx.NewExec(backend, ctx, func(ctx *gomlxctx.Context, x, labels *graph.Node) []*graph.Node {
		logits := modelFn(ctx, nil, []*graph.Node{x})[0]
		loss := lossFn([]*graph.Node{labels}, []*graph.Node{logits})
		if loss.Rank() > 0 {
			loss = graph.ReduceAllMean(loss)
		}
		var vars []*gomlxctx.Variable
		for v := range ctx.IterVariables() {
			if v.Name() == weightsName && strings.HasPrefix(v.Scope(), arch) {
				vars = append(vars, v)
			}
		}
		slices.SortFunc(vars, func(a, b *gomlxctx.Variable) int { return strings.Compare(a.Scope(), b.Scope()) })
		nodes := make([]*graph.Node, len(vars))
		layers = make([]string, len(vars))
		for i, v := range vars {
			nodes[i] = v.ValueGraph(x.Graph())
			layers[i] = strings.TrimPrefix(v.Scope(), arch)
		}
		return graph.Gradient(loss, nodes...)
	})
	if err != nil {
		return err
	}
	defer exec.Finalize()
	for b := range inputs {
		outs, err := exec.Exec(inputs[b], labels[b])
		if err != nil {
			return fmt.Errorf("prune: taylor scores: %w", err)
		}
		grads := map[string][]float32{}
		for i, out := range outs {
			grads[layers[i]] = tensors.MustCopyFlatData[float32](out)
			out.FinalizeAll()
		}
		visit(grads)
	}
	return nil
}

// addWeightTaylor adds one of n batches' share to each weight's score:
// (g·w)²/n.
func addWeightTaylor(score []float64, w, g []float32, n int) {
	for i := range w {
		t := float64(g[i]) * float64(w[i])
		score[i] += t * t / float64(n)
	}
}

// addChannelTaylor adds one of n batches' share to each output channel's
// score (the channel is the weights' last axis, of size out):
// (Σ_{m∈c} g_m·w_m)²/n.
func addChannelTaylor(score []float64, w, g []float32, out, n int) {
	sums := make([]float64, out)
	for i := range w {
		sums[i%out] += float64(g[i]) * float64(w[i])
	}
	for c, t := range sums {
		score[c] += t * t / float64(n)
	}
}

// taylorScores are each pruned layer's weights' Taylor scores,
// mean_b (g_b·w)², over batches training batches.
func taylorScores(s *runner.Session, layers []Layer, batches int) (map[string][]float32, error) {
	weights, scores := map[string][]float32{}, map[string][]float64{}
	for _, l := range layers {
		w, err := l.weights.Value()
		if err != nil {
			return nil, err
		}
		weights[l.Name] = tensors.MustCopyFlatData[float32](w)
		scores[l.Name] = make([]float64, len(weights[l.Name]))
	}
	var missing error
	err := taylorBatches(s, batches, func(grads map[string][]float32) {
		for name, w := range weights {
			if g := grads[name]; len(g) == len(w) {
				addWeightTaylor(scores[name], w, g, batches)
			} else {
				missing = fmt.Errorf("prune: no gradient for layer %s's weights", name)
			}
		}
	})
	if err == nil {
		err = missing
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]float32{}
	for name, sc := range scores {
		out[name] = make([]float32, len(sc))
		for i, v := range sc {
			out[name][i] = float32(v)
		}
	}
	return out, nil
}

// channelTaylor are each weight layer's output channels' Taylor scores,
// mean_b (Σ_{m∈c} g_{m,b}·w_m)², over batches training batches, by layer
// name: what PlanChannels ranks channels by with criterion taylor.
func channelTaylor(s *runner.Session, batches int) (map[string][]float64, error) {
	arch := "/" + s.Model.Spec.Arch + "/"
	scores := map[string][]float64{}
	err := taylorBatches(s, batches, func(grads map[string][]float32) {
		for name, g := range grads {
			w, dims, err := read(s.Ctx, arch+name, weightsName)
			if err != nil || len(w) != len(g) {
				continue // PlanChannels names a layer without scores
			}
			out := dims[len(dims)-1]
			if scores[name] == nil {
				scores[name] = make([]float64, out)
			}
			addChannelTaylor(scores[name], w, g, out, batches)
		}
	})
	return scores, err
}

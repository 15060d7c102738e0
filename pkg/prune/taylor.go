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

// gradients averages the training loss's gradient with respect to every
// layer's weights over batches training batches, by layer name: what the
// first-order Taylor criterion multiplies the weights by.
func gradients(s *runner.Session, batches int) (map[string][]float32, error) {
	data, err := datasets.NewBatches(s.Data.Train, s.Recipe.Data.BatchSize, true, s.Recipe.Seed, true)
	if err != nil {
		return nil, err
	}
	var inputs, labels []*tensors.Tensor
	for range batches {
		_, x, y, err := data.Yield()
		if errors.Is(err, io.EOF) { // a small training split: go round again
			data.Reset()
			_, x, y, err = data.Yield()
		}
		if err != nil {
			return nil, fmt.Errorf("prune: reading a batch for taylor scores: %w", err)
		}
		inputs, labels = append(inputs, x[0]), append(labels, y[0])
	}
	return meanGradients(s.Backend, s.Ctx, s.Model.Spec, s.Model.NumClasses, s.Model.Loss, inputs, labels)
}

// meanGradients is the mean over the batches of the loss's gradient with
// respect to each layer's weights. The model runs in inference mode (batch
// norm's moving statistics, no dropout), so measuring changes nothing.
func meanGradients(backend backends.Backend, ctx *gomlxctx.Context, spec models.Spec, classes int, lossFn train.LossFn, inputs, labels []*tensors.Tensor) (map[string][]float32, error) {
	modelFn, err := spec.ModelFn(classes)
	if err != nil {
		return nil, err
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
		return nil, err
	}
	defer exec.Finalize()
	sums := map[string][]float32{}
	for b := range inputs {
		outs, err := exec.Exec(inputs[b], labels[b])
		if err != nil {
			return nil, fmt.Errorf("prune: taylor scores: %w", err)
		}
		for i, out := range outs {
			g := tensors.MustCopyFlatData[float32](out)
			out.FinalizeAll()
			if sums[layers[i]] == nil {
				sums[layers[i]] = make([]float32, len(g))
			}
			for j, x := range g {
				sums[layers[i]][j] += x / float32(len(inputs))
			}
		}
	}
	return sums, nil
}

// taylorScores are each pruned layer's weights' first-order Taylor scores,
// |w·∂L/∂w|: the loss change removing the weight is estimated to cause.
func taylorScores(s *runner.Session, layers []Layer, batches int) (map[string][]float32, error) {
	grads, err := gradients(s, batches)
	if err != nil {
		return nil, err
	}
	scores := map[string][]float32{}
	for _, l := range layers {
		w, err := l.weights.Value()
		if err != nil {
			return nil, err
		}
		values, g := tensors.MustCopyFlatData[float32](w), grads[l.Name]
		if len(g) != len(values) {
			return nil, fmt.Errorf("prune: no gradient for layer %s's weights", l.Name)
		}
		for i := range values {
			values[i] *= g[i]
			if values[i] < 0 {
				values[i] = -values[i]
			}
		}
		scores[l.Name] = values
	}
	return scores, nil
}

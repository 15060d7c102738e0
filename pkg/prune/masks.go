package prune

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/pkg/models"
)

// Names of the variables pruning works on: a layer's weights and, beside
// them in the same scope, the mask that multiplies them (1 kept, 0 pruned).
// Masks are ordinary non-trainable variables, so checkpoints carry them.
const (
	weightsName = "weights"
	maskName    = "mask"
)

// Masks prunes the weights of a model's layers. Its Hooks multiply every
// prunable weight by its mask where the weight enters the graph, so a pruned
// weight takes no part in the forward pass and gets no gradient; its
// optimizer wrapper multiplies the weights by their masks again after every
// update, so a pruned weight stays exactly 0 whatever the optimizer's state
// (momentum, Adam's moments) would do to it.
type Masks struct {
	// Arch is the model's scope ("/lenet5"); layer names are under it.
	Arch string
	// Prunable reports whether a layer (e.g. "conv1") is pruned.
	Prunable func(layer string) bool
}

// layerOf is the layer a weights variable belongs to, or "" if v is not a
// layer's weights.
func (m *Masks) layerOf(v *context.Variable) string {
	if v.Name() != weightsName {
		return ""
	}
	layer, ok := strings.CutPrefix(v.Scope(), m.Arch+"/")
	if !ok || !m.Prunable(layer) {
		return ""
	}
	return layer
}

// Hooks multiply each prunable layer's weights by its mask, creating the
// mask (all ones) the first time.
func (m *Masks) Hooks() models.Hooks {
	return models.Hooks{Weight: func(ctx *context.Context, v *context.Variable, value *graph.Node) *graph.Node {
		if m.layerOf(v) == "" {
			return value
		}
		mask := maskOf(ctx, v)
		return graph.Mul(value, graph.ConvertDType(mask.ValueGraph(value.Graph()), value.DType()))
	}}
}

// maskOf returns the mask variable of weights v, creating it (ones).
func maskOf(ctx *context.Context, v *context.Variable) *context.Variable {
	mctx := ctx.InAbsPath(v.Scope()).Checked(false).WithInitializer(func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		return graph.Ones(g, shape)
	})
	return mctx.VariableWithShape(maskName, shapes.Make(dtypes.Float32, v.Shape().Dimensions...)).SetTrainable(false)
}

// WrapOptimizer returns opt with the masks applied to the weights after
// every update.
func (m *Masks) WrapOptimizer(opt optimizers.Interface) optimizers.Interface {
	return &remaskingOptimizer{inner: opt, remask: m.remask}
}

// remaskingOptimizer runs an optimizer's update, then remask on the graph:
// what keeps masked values at 0 whatever the optimizer's state would do.
type remaskingOptimizer struct {
	inner  optimizers.Interface
	remask func(ctx *context.Context, g *graph.Graph)
}

// gradientApplier is GoMLX's optional interface for optimizers that apply
// given gradients (gradient accumulation uses it).
type gradientApplier interface {
	UpdateGraphWithGradients(ctx *context.Context, grads []*graph.Node, dtype dtypes.DType)
}

func (o *remaskingOptimizer) UpdateGraph(ctx *context.Context, g *graph.Graph, loss *graph.Node) {
	o.inner.UpdateGraph(ctx, g, loss)
	o.remask(ctx, g)
}

// UpdateGraphWithGradients implements GoMLX's gradient-applier interface
// when the wrapped optimizer does.
func (o *remaskingOptimizer) UpdateGraphWithGradients(ctx *context.Context, grads []*graph.Node, dtype dtypes.DType) {
	inner, ok := o.inner.(gradientApplier)
	if !ok {
		panic(fmt.Sprintf("prune: %T cannot apply given gradients", o.inner))
	}
	inner.UpdateGraphWithGradients(ctx, grads, dtype)
	if len(grads) > 0 {
		o.remask(ctx, grads[0].Graph())
	}
}

func (o *remaskingOptimizer) Clear(ctx *context.Context) error { return o.inner.Clear(ctx) }

// remask multiplies every masked weight by its mask in graph g.
func (m *Masks) remask(ctx *context.Context, g *graph.Graph) {
	for v := range ctx.IterVariables() {
		if m.layerOf(v) == "" {
			continue
		}
		mask := ctx.GetVariableByScopeAndName(v.Scope(), maskName)
		if mask == nil {
			continue
		}
		w := v.ValueGraph(g)
		v.SetValueGraph(graph.Mul(w, graph.ConvertDType(mask.ValueGraph(g), w.DType())))
	}
}

// Layer is one prunable layer's weights and mask, read into Go.
type Layer struct {
	Name          string
	weights, mask *context.Variable
}

// Layers returns the prunable layers whose weights exist in ctx (a graph of
// the model has been built), in a fixed order, creating masks missing.
func (m *Masks) Layers(ctx *context.Context) ([]Layer, error) {
	var out []Layer
	for v := range ctx.IterVariables() {
		name := m.layerOf(v)
		if name == "" {
			continue
		}
		if v.Shape().DType != dtypes.Float32 {
			return nil, fmt.Errorf("prune: layer %s has %s weights; only float32 master weights are pruned", name, v.Shape().DType)
		}
		mask := ctx.GetVariableByScopeAndName(v.Scope(), maskName)
		if mask == nil {
			ones := make([]float32, v.Shape().Size())
			for i := range ones {
				ones[i] = 1
			}
			mask = ctx.InAbsPath(v.Scope()).Checked(false).VariableWithValue(maskName, tensors.FromFlatDataAndDimensions(ones, v.Shape().Dimensions...)).SetTrainable(false)
		}
		out = append(out, Layer{Name: name, weights: v, mask: mask})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Targets are the sparsities to reach: one per layer (Scope "layer"), or
// one magnitude threshold over all layers together (Scope "global", as
// Frankle & Carbin's convolutional nets and PyTorch's
// global_unstructured; Han et al. 2015 set one threshold per layer),
// except the layers with an override, pruned to theirs alone.
type Targets struct {
	Global    bool
	Sparsity  float64
	Overrides map[string]float64
	// Scores rank a layer's weights (lowest pruned first) where given: the
	// first-order Taylor scores; else the weights' magnitudes.
	Scores map[string][]float32
}

// Apply recomputes the masks so each layer (or the layers together) has
// the target fraction of its weights at 0, keeping the weights of largest
// magnitude; weights already pruned stay pruned (their magnitude is 0).
// It zeroes the pruned weights at once.
func Apply(layers []Layer, t Targets) error {
	type scored struct {
		layer int
		index int
		score float64
	}
	var pooled []scored
	values := make([][]float32, len(layers))
	masks := make([][]float32, len(layers))
	for i, l := range layers {
		w, err := l.weights.Value()
		if err != nil {
			return err
		}
		values[i] = tensors.MustCopyFlatData[float32](w)
		masks[i] = make([]float32, len(values[i]))
		scores := values[i]
		if given, ok := t.Scores[l.Name]; ok {
			if len(given) != len(scores) {
				return fmt.Errorf("prune: %d scores for layer %s's %d weights", len(given), l.Name, len(scores))
			}
			scores = given
		}
		own, has := t.Overrides[l.Name]
		if !has && !t.Global {
			own, has = t.Sparsity, true
		}
		if has {
			pruneSmallest(scores, masks[i], own)
			continue
		}
		for j, x := range scores {
			pooled = append(pooled, scored{layer: i, index: j, score: math.Abs(float64(x))})
		}
	}
	if len(pooled) > 0 {
		// One threshold for all: the smallest magnitudes across layers go.
		slices.SortStableFunc(pooled, func(a, b scored) int {
			switch {
			case a.score < b.score:
				return -1
			case a.score > b.score:
				return 1
			}
			return 0
		})
		cut := int(math.Floor(t.Sparsity * float64(len(pooled))))
		for k, s := range pooled {
			if k >= cut {
				masks[s.layer][s.index] = 1
			}
		}
	}
	for i, l := range layers {
		for j := range values[i] {
			values[i][j] *= masks[i][j]
		}
		dims := l.weights.Shape().Dimensions
		if err := l.mask.SetValue(tensors.FromFlatDataAndDimensions(masks[i], dims...)); err != nil {
			return err
		}
		if err := l.weights.SetValue(tensors.FromFlatDataAndDimensions(values[i], dims...)); err != nil {
			return err
		}
	}
	return nil
}

// pruneSmallest sets mask to keep all but the sparsity fraction of values
// (scores) with the smallest magnitude.
func pruneSmallest(values, mask []float32, sparsity float64) {
	order := make([]int, len(values))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := math.Abs(float64(values[a])), math.Abs(float64(values[b]))
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	cut := int(math.Floor(sparsity * float64(len(values))))
	for k, i := range order {
		if k >= cut {
			mask[i] = 1
		}
	}
}

// Stats are what pruning left, counted from the weights themselves.
type Stats struct {
	// Params and Zeros count the prunable layers' weights and those exactly 0.
	Params, Zeros int
	// ByLayer is each layer's fraction of weights at 0, ZerosByLayer
	// their number.
	ByLayer      map[string]float64
	ZerosByLayer map[string]int
}

// Sparsity is the fraction of prunable weights at exactly 0.
func (s Stats) Sparsity() float64 {
	if s.Params == 0 {
		return 0
	}
	return float64(s.Zeros) / float64(s.Params)
}

// Count reads the layers' weights and counts their zeros.
func Count(layers []Layer) (Stats, error) {
	st := Stats{ByLayer: map[string]float64{}, ZerosByLayer: map[string]int{}}
	for _, l := range layers {
		w, err := l.weights.Value()
		if err != nil {
			return st, err
		}
		zeros := 0
		values := tensors.MustCopyFlatData[float32](w)
		for _, x := range values {
			if x == 0 {
				zeros++
			}
		}
		st.Params += len(values)
		st.Zeros += zeros
		st.ByLayer[l.Name] = float64(zeros) / float64(max(len(values), 1))
		st.ZerosByLayer[l.Name] = zeros
	}
	return st, nil
}

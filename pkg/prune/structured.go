package prune

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// Structured pruning removes whole channels — a dense layer's neurons, a
// convolution's filters — and then the model is rebuilt smaller: a removed
// filter takes with it its batch-norm entries and the input channel of
// every layer reading it, and channels joined by a residual addition go
// together (spec.ChannelGroup). The steps are separate so that each can be
// checked: PlanChannels ranks the channels and picks those to keep,
// ZeroChannels silences the others in the full-size model (the "masked"
// model), and Shrink cuts them out, leaving a model that computes the same
// outputs with smaller variables.

// Criteria rank channels: the L1 or L2 norm of their weights (Li et al.
// 2017, "Pruning Filters for Efficient ConvNets"), or the first-order
// Taylor estimate of the loss change when they are removed, (Σ w·∂L/∂w)²
// over the channel (Molchanov et al. 2019).
const (
	L1     = "l1"
	L2     = "l2"
	Taylor = "taylor"
)

// RemovedChannels is how many of width channels pruning at sparsity
// removes: the nearest whole number.
func RemovedChannels(width int, sparsity float64) int {
	return int(math.Round(float64(width) * sparsity))
}

// ChannelPlan says which channels of a model each group keeps.
type ChannelPlan struct {
	Model  spec.Model // the model before pruning
	Groups []spec.ChannelGroup
	// Keep lists, per group, the channels kept, ascending; nil keeps all.
	Keep [][]int
}

// Removed counts the channels the plan removes.
func (p ChannelPlan) Removed() int {
	n := 0
	for i, keep := range p.Keep {
		if keep != nil {
			n += p.Groups[i].Width - len(keep)
		}
	}
	return n
}

// kept marks group i's channels the plan keeps.
func (p ChannelPlan) kept(i int) []bool {
	kept := make([]bool, p.Groups[i].Width)
	for _, c := range p.Keep[i] {
		kept[c] = true
	}
	return kept
}

// Pruned is the model after the plan: its Widths give every resized layer.
func (p ChannelPlan) Pruned() spec.Model {
	m := p.Model
	m.Hidden = slices.Clone(m.Hidden)
	m.Widths = map[string]int{}
	for name, w := range p.Model.Widths {
		m.Widths[name] = w
	}
	for i, keep := range p.Keep {
		if keep == nil {
			continue
		}
		for _, layer := range p.Groups[i].Producers {
			m.Widths[layer] = len(keep)
		}
	}
	return m
}

// PlanChannels ranks each group's channels by criterion (L1, L2, or
// Taylor with taylor: each layer's output channels' Taylor scores, by
// layer name, which a group sums over its producers) and keeps all but
// the sparsity(group) fraction with the lowest scores (ties: the earlier
// channel stays). Groups for which sparsity reports false are left whole.
func PlanChannels(ctx *context.Context, m spec.Model, criterion string, taylor map[string][]float64, sparsity func(spec.ChannelGroup) (float64, bool)) (ChannelPlan, error) {
	plan := ChannelPlan{Model: m, Groups: m.ChannelGroups()}
	plan.Keep = make([][]int, len(plan.Groups))
	for i, g := range plan.Groups {
		s, ok := sparsity(g)
		if !ok {
			continue
		}
		remove := RemovedChannels(g.Width, s)
		if remove >= g.Width {
			return plan, fmt.Errorf("pruning %g of %s's %d channels would remove every one", s, g.Producers[0], g.Width)
		}
		if remove == 0 {
			continue
		}
		scores, err := channelScores(ctx, m.Arch, g, criterion, taylor)
		if err != nil {
			return plan, err
		}
		order := make([]int, g.Width)
		for c := range order {
			order[c] = c
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case scores[a] < scores[b]:
				return -1
			case scores[a] > scores[b]:
				return 1
			}
			return 0
		})
		keep := slices.Clone(order[remove:])
		slices.Sort(keep)
		plan.Keep[i] = keep
	}
	return plan, nil
}

// channelScores scores a group's channels from its producers' weights
// (the channel is their last axis).
func channelScores(ctx *context.Context, arch string, g spec.ChannelGroup, criterion string, taylor map[string][]float64) ([]float64, error) {
	scores := make([]float64, g.Width)
	for _, layer := range g.Producers {
		w, dims, err := read(ctx, layerScope(arch, layer), weightsName)
		if err != nil {
			return nil, err
		}
		out := dims[len(dims)-1]
		if out != g.Width {
			return nil, fmt.Errorf("prune: layer %s has %d outputs where its group has %d", layer, out, g.Width)
		}
		if criterion == Random {
			for c, v := range randomScores(0, layer, out) {
				scores[c] += v
			}
			continue
		}
		if criterion == Taylor {
			t := taylor[layer]
			if len(t) != out {
				return nil, fmt.Errorf("prune: no Taylor scores for layer %s's %d channels", layer, out)
			}
			for c, v := range t {
				scores[c] += v
			}
			continue
		}
		for i, x := range w {
			switch criterion {
			case L1:
				scores[i%out] += math.Abs(float64(x))
			case L2:
				scores[i%out] += float64(x) * float64(x)
			}
		}
	}
	return scores, nil
}

// ZeroChannels silences the channels the plan removes, in the full-size
// model: their weights, biases and batch-norm scale and offset become 0,
// so each outputs exactly 0 before its activation. This is the masked
// model that Shrink's result must agree with.
func ZeroChannels(ctx *context.Context, plan ChannelPlan) error {
	for i, keep := range plan.Keep {
		if keep == nil {
			continue
		}
		g, kept := plan.Groups[i], plan.kept(i)
		for _, layer := range g.Producers {
			for _, v := range producerVariables(ctx, plan.Model.Arch, layer, g.Width) {
				if v.Name() == "mean" || v.Name() == "variance" || v.Name() == "avg_weight" {
					continue // batch norm's statistics: scale and offset 0 silence it
				}
				values, dims, err := read(ctx, v.Scope(), v.Name())
				if err != nil {
					return err
				}
				for j := range values {
					if !kept[j%g.Width] {
						values[j] = 0
					}
				}
				if err := v.SetValue(tensors.FromFlatDataAndDimensions(values, dims...)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Shrink cuts the channels the plan removes out of the model's variables in
// ctx and returns the smaller model's description (its Widths), which
// builds graphs on the new variables. Producers lose their outputs (and
// batch-norm entries), consumers the matching inputs — for a dense layer
// reading a convolution flattened, every position of the channel. A
// removed channel's activation at 0, act0 (0.5 for a sigmoid, else 0),
// is folded into the consumers' biases, so the outputs equal those of the
// model ZeroChannels left. Masks beside the weights shrink with them.
func Shrink(ctx *context.Context, plan ChannelPlan, act0 float64) (spec.Model, error) {
	for i, keep := range plan.Keep {
		if keep == nil {
			continue
		}
		g, kept := plan.Groups[i], plan.kept(i)
		for _, layer := range g.Consumers {
			if err := shrinkConsumer(ctx, plan.Model.Arch, layer, g.Width, kept, act0); err != nil {
				return spec.Model{}, err
			}
		}
		for _, layer := range g.Producers {
			for _, v := range producerVariables(ctx, plan.Model.Arch, layer, g.Width) {
				values, dims, err := read(ctx, v.Scope(), v.Name())
				if err != nil {
					return spec.Model{}, err
				}
				axis := len(dims) - 1
				values, dims = sliceAxis(values, dims, axis, func(j int) bool { return kept[j] })
				if err := replace(ctx, v, values, dims); err != nil {
					return spec.Model{}, err
				}
			}
		}
	}
	pruned := plan.Pruned()
	return pruned, pruned.Validate()
}

// shrinkConsumer removes a consumer's input channels not kept; its input
// axis holds positions×width entries, channel last.
func shrinkConsumer(ctx *context.Context, arch, layer string, width int, kept []bool, act0 float64) error {
	scope := layerScope(arch, layer)
	w, dims, err := read(ctx, scope, weightsName)
	if err != nil {
		return err
	}
	in := len(dims) - 2 // [in, out] or [K, K, in, out]
	if dims[in]%width != 0 {
		return fmt.Errorf("prune: layer %s reads %d inputs, not a multiple of its input's %d channels", layer, dims[in], width)
	}
	keepInput := func(j int) bool { return kept[j%width] }
	if act0 != 0 {
		// A removed channel fed act0 everywhere: its weights' share moves
		// into the bias.
		out := dims[len(dims)-1]
		shift := make([]float32, out)
		for i, x := range w {
			if !keepInput((i / out) % dims[in]) {
				shift[i%out] += float32(act0) * x
			}
		}
		bias := ctx.GetVariableByScopeAndName(scope, "biases")
		if bias == nil {
			return fmt.Errorf("prune: layer %s has no biases to take its removed inputs' constant %g", layer, act0)
		}
		b, bdims, err := read(ctx, scope, "biases")
		if err != nil {
			return err
		}
		for o := range b {
			b[o] += shift[o]
		}
		if err := bias.SetValue(tensors.FromFlatDataAndDimensions(b, bdims...)); err != nil {
			return err
		}
	}
	for _, name := range []string{weightsName, maskName} {
		v := ctx.GetVariableByScopeAndName(scope, name)
		if v == nil {
			continue
		}
		values, vdims, err := read(ctx, scope, name)
		if err != nil {
			return err
		}
		values, vdims = sliceAxis(values, vdims, in, keepInput)
		if err := replace(ctx, v, values, vdims); err != nil {
			return err
		}
	}
	return nil
}

// producerVariables are the variables holding a producer layer's outputs
// along their last axis: its weights, mask and biases, and for a
// convolution followed by batch norm ("X/conv" with "X/bn") every batch
// norm variable.
func producerVariables(ctx *context.Context, arch, layer string, width int) []*context.Variable {
	var out []*context.Variable
	scope := layerScope(arch, layer)
	for _, name := range []string{weightsName, maskName, "biases"} {
		if v := ctx.GetVariableByScopeAndName(scope, name); v != nil {
			out = append(out, v)
		}
	}
	if block, ok := strings.CutSuffix(layer, "/conv"); ok {
		bn := layerScope(arch, block+"/bn/batch_normalization")
		for v := range ctx.IterVariables() {
			if v.Scope() == bn && v.Shape().Rank() == 1 && v.Shape().Dimensions[0] == width {
				out = append(out, v)
			}
		}
	}
	return out
}

func layerScope(arch, layer string) string { return "/" + arch + "/" + layer }

// read returns a float32 variable's values and dimensions.
func read(ctx *context.Context, scope, name string) ([]float32, []int, error) {
	v := ctx.GetVariableByScopeAndName(scope, name)
	if v == nil {
		return nil, nil, fmt.Errorf("prune: the model has no variable %s/%s (no train stage before?)", scope, name)
	}
	if v.Shape().DType != dtypes.Float32 {
		return nil, nil, fmt.Errorf("prune: %s/%s is %s; only float32 variables are pruned", scope, name, v.Shape().DType)
	}
	t, err := v.Value()
	if err != nil {
		return nil, nil, err
	}
	return tensors.MustCopyFlatData[float32](t), slices.Clone(v.Shape().Dimensions), nil
}

// replace puts a variable of new dimensions in v's place, as trainable as v.
func replace(ctx *context.Context, v *context.Variable, values []float32, dims []int) error {
	scope, name, trainable := v.Scope(), v.Name(), v.Trainable
	if err := ctx.DeleteVariable(scope, name); err != nil {
		return err
	}
	ctx.InAbsPath(scope).Checked(false).VariableWithValue(name, tensors.FromFlatDataAndDimensions(values, dims...)).SetTrainable(trainable)
	return nil
}

// sliceAxis keeps the entries of a row-major array whose index along axis
// satisfies keep.
func sliceAxis(values []float32, dims []int, axis int, keep func(int) bool) ([]float32, []int) {
	inner := 1
	for _, d := range dims[axis+1:] {
		inner *= d
	}
	n := dims[axis]
	out := make([]float32, 0, len(values))
	kept := 0
	for j := 0; j < n; j++ {
		if keep(j) {
			kept++
		}
	}
	for start := 0; start < len(values); start += n * inner {
		for j := 0; j < n; j++ {
			if keep(j) {
				out = append(out, values[start+j*inner:start+(j+1)*inner]...)
			}
		}
	}
	newDims := slices.Clone(dims)
	newDims[axis] = kept
	return out, newDims
}

package prune

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// channelMaskName is the variable, in the scope of a channel group's first
// producer, holding one value per channel: 1 kept, 0 pruned.
const channelMaskName = "channel_mask"

// ChannelMasks silence whole channels while training goes on, for gradual
// structured pruning: the network adapts as its channels go one schedule
// step at a time, instead of losing them all at once (Zhu & Gupta's
// schedule, as NNI's AGP pruner applies it to filters). Each pruned
// group's mask multiplies, along their channel axis, every variable that
// makes the group's channels — its producers' weights and biases, and the
// batch norm's scale and offset after a convolution — where they enter
// the graph and again after every optimizer update, so a silenced channel
// outputs exactly 0 and stays so. That is the masked model Shrink expects:
// when the schedule is over the masks go and the model is rebuilt smaller.
type ChannelMasks struct {
	// Model is the model the masks are on (full size).
	Model  spec.Model
	Groups []spec.ChannelGroup
	// owner maps a masked variable (scope and name) to its group.
	owner map[[2]string]int
	// pruned marks the groups the masks apply to (not excluded).
	pruned []bool
	// off is set once the model is rebuilt: nothing is masked any more.
	off bool
}

// NewChannelMasks puts masks on the groups of m for which prunable is true.
func NewChannelMasks(m spec.Model, prunable func(spec.ChannelGroup) bool) *ChannelMasks {
	c := &ChannelMasks{Model: m, Groups: m.ChannelGroups(), owner: map[[2]string]int{}}
	c.pruned = make([]bool, len(c.Groups))
	for i, g := range c.Groups {
		if !prunable(g) {
			continue
		}
		c.pruned[i] = true
		for _, layer := range g.Producers {
			scope := layerScope(m.Arch, layer)
			c.owner[[2]string{scope, weightsName}] = i
			c.owner[[2]string{scope, "biases"}] = i
			if block, ok := strings.CutSuffix(layer, "/conv"); ok {
				bn := layerScope(m.Arch, block+"/bn/batch_normalization")
				c.owner[[2]string{bn, "scale"}] = i
				c.owner[[2]string{bn, "offset"}] = i
			}
		}
	}
	return c
}

// maskScope is where group i's mask lives.
func (c *ChannelMasks) maskScope(i int) string {
	return layerScope(c.Model.Arch, c.Groups[i].Producers[0])
}

// maskVariable is group i's mask, created (ones) the first time.
func (c *ChannelMasks) maskVariable(ctx *context.Context, i int) *context.Variable {
	mctx := ctx.InAbsPath(c.maskScope(i)).Checked(false).WithInitializer(func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		return graph.Ones(g, shape)
	})
	return mctx.VariableWithShape(channelMaskName, shapes.Make(dtypes.Float32, c.Groups[i].Width)).SetTrainable(false)
}

// masked is the value of v with its channels masked, or value when no
// mask applies to v.
func (c *ChannelMasks) masked(ctx *context.Context, v *context.Variable, value *graph.Node) *graph.Node {
	i, ok := c.owner[[2]string{v.Scope(), v.Name()}]
	if c.off || !ok {
		return value
	}
	dims := value.Shape().Dimensions
	if len(dims) == 0 || dims[len(dims)-1] != c.Groups[i].Width {
		panic(fmt.Sprintf("prune: %s/%s has shape %v where its channel group has %d channels", v.Scope(), v.Name(), dims, c.Groups[i].Width))
	}
	mask := graph.ConvertDType(c.maskVariable(ctx, i).ValueGraph(value.Graph()), value.DType())
	// [width] → [1, …, 1, width] → the value's shape, the channel axis last.
	lead := make([]int, len(dims))
	for k := range lead {
		lead[k] = 1
	}
	lead[len(lead)-1] = c.Groups[i].Width
	return graph.Mul(value, graph.BroadcastToDims(graph.Reshape(mask, lead...), dims...))
}

// Hooks mask the channels' variables where they enter the graph.
func (c *ChannelMasks) Hooks() models.Hooks {
	return models.Hooks{Weight: c.masked}
}

// remask masks the channels' variables again after an update, in graph g.
func (c *ChannelMasks) remask(ctx *context.Context, g *graph.Graph) {
	if c.off {
		return
	}
	var owned []*context.Variable
	for v := range ctx.IterVariables() {
		if _, ok := c.owner[[2]string{v.Scope(), v.Name()}]; ok && v.Trainable {
			owned = append(owned, v)
		}
	}
	// Collected first: masking may create a mask variable.
	for _, v := range owned {
		v.SetValueGraph(c.masked(ctx, v, v.ValueGraph(g)))
	}
}

// WrapOptimizer returns opt with the channels masked again after every update.
func (c *ChannelMasks) WrapOptimizer(opt optimizers.Interface) optimizers.Interface {
	return &remaskingOptimizer{inner: opt, remask: c.remask}
}

// Apply sets the masks to keep the channels the plan keeps (a plan made
// on c.Model) and silences the others at once (ZeroChannels).
func (c *ChannelMasks) Apply(ctx *context.Context, plan ChannelPlan) error {
	if len(plan.Groups) != len(c.Groups) {
		return fmt.Errorf("prune: a plan of %d channel groups for masks on %d", len(plan.Groups), len(c.Groups))
	}
	for i, keep := range plan.Keep {
		if !c.pruned[i] {
			continue
		}
		values := make([]float32, c.Groups[i].Width)
		for ch := range values {
			if keep == nil || slices.Contains(keep, ch) {
				values[ch] = 1
			}
		}
		mask := ctx.GetVariableByScopeAndName(c.maskScope(i), channelMaskName)
		if mask == nil {
			mask = c.maskVariable(ctx, i)
		}
		if err := mask.SetValue(tensors.FromFlatDataAndDimensions(values, len(values))); err != nil {
			return err
		}
	}
	return ZeroChannels(ctx, plan)
}

// Plan is the plan the masks stand for: each group keeps the channels its
// mask keeps (a group with no mask yet keeps them all).
func (c *ChannelMasks) Plan(ctx *context.Context) (ChannelPlan, error) {
	plan := ChannelPlan{Model: c.Model, Groups: c.Groups, Keep: make([][]int, len(c.Groups))}
	for i, g := range c.Groups {
		if !c.pruned[i] || ctx.GetVariableByScopeAndName(c.maskScope(i), channelMaskName) == nil {
			continue
		}
		values, _, err := read(ctx, c.maskScope(i), channelMaskName)
		if err != nil {
			return plan, err
		}
		var keep []int
		for ch, x := range values {
			if x != 0 {
				keep = append(keep, ch)
			}
		}
		if len(keep) == 0 {
			return plan, fmt.Errorf("prune: the channel mask of %s keeps none of its %d channels", g.Producers[0], g.Width)
		}
		if len(keep) < g.Width {
			plan.Keep[i] = keep
		}
	}
	return plan, nil
}

// Fraction is the fraction of the masked groups' channels a plan removes.
func (c *ChannelMasks) Fraction(plan ChannelPlan) float64 {
	total := 0
	for i, g := range c.Groups {
		if c.pruned[i] {
			total += g.Width
		}
	}
	if total == 0 {
		return 0
	}
	return float64(plan.Removed()) / float64(total)
}

package prune

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
)

func init() {
	recipe.Register(recipe.Kind{Name: "prune", Keys: stageKeys, New: newStage, Results: pruneDeclaration,
		Effects: recipe.Weights | recipe.ModelHooks | recipe.LoopHooks | recipe.OptimizerWrappers | recipe.Architecture})
}

var stageKeys = []string{"target_sparsity", "initial_sparsity", "begin_step", "end_step", "frequency", "begin_epoch", "end_epoch", "frequency_epochs", "exponent",
	"schedule", "scope", "exclude", "layers", "rounds", "structure", "criterion", "taylor_batches", "relative_quality"}

// Kinds of schedule a prune stage takes.
const (
	Gradual   = "gradual"   // Zhu & Gupta's schedule over the training that follows
	OneShot   = "oneshot"   // every layer to its target at once, here; training after it fine-tunes
	Iterative = "iterative" // rounds of pruning over the training that follows, fine-tuning between (geometric, as Frankle & Carbin)
)

// Structures a prune stage removes.
const (
	Weights  = "weights"  // single weights, under masks (unstructured)
	Channels = "channels" // whole neurons and filters; the model is rebuilt smaller
)

// Stage is the `prune` recipe stage: it puts masks on the model's layers
// and prunes them by weight magnitude, at once (schedule: oneshot) or
// gradually over the train stages after it (schedule: gradual, with Zhu &
// Gupta's polynomial schedule), per layer or with one global threshold.
//
//   - prune: {target_sparsity: 0.9, begin_step: 0, end_step: 2000, frequency: 100, exclude: [conv1, logits]}
//   - train: {epochs: 4}
//
// With structure: channels it removes whole neurons and filters, ranked by
// criterion (l1, l2 or taylor), and rebuilds the model smaller for the
// stages after it (see Shrink), reporting parameters, FLOPs and inference
// latency before and after: at once, or with schedule: gradual (or
// iterative) under channel masks during the training that follows, the
// rebuild then ending the train stage in which the schedule ends.
type Stage struct {
	Schedule Schedule
	Kind     string // Gradual, OneShot or Iterative
	Global   bool   // scope: global — one threshold over every pruned layer
	Exclude  Exclusions
	// Layers overrides the target sparsity of some layers (pruned alone to it).
	Layers map[string]float64
	// Structure is Weights or Channels; Criterion ranks what is pruned:
	// L1 (magnitude, the default), L2, Taylor (Molchanov et al. 2019:
	// (gradient×weight)², squared per batch and averaged over
	// TaylorBatches training batches; see taylor.go), or Random (the
	// control: what pruning the same amount at random costs).
	Structure     string
	Criterion     string
	TaylorBatches int
	// RelativeQuality scales Han's quality parameter by layer kind
	// (criterion: han): "conv" and "dense".
	RelativeQuality map[string]float64

	hasEnd bool
	index  int // the stage's place in its recipe, naming its checkpointed parameters
	// where each overridden layer is named, for errors
	named map[string]recipe.Node
	// fromSensitivity takes the per-layer sparsities an earlier
	// sensitivity stage allocated (layers: sensitivity).
	fromSensitivity bool
	// written holds the keys the recipe gives, for errors about them.
	written map[string]recipe.Node
	// epochs holds begin_epoch, end_epoch and frequency_epochs: schedule
	// points in epochs of the training that follows, turned into steps
	// once the recipe's batch size and data are known (Check).
	epochs map[string]float64
}

func newStage() recipe.Settings {
	return &Stage{Kind: Gradual, Schedule: Schedule{Frequency: 100, Exponent: 3}, Layers: map[string]float64{},
		Structure: Weights, Criterion: L1, TaylorBatches: 16, RelativeQuality: maps.Clone(defaultRelativeQuality), named: map[string]recipe.Node{}, written: map[string]recipe.Node{}, epochs: map[string]float64{}}
}

// Set implements recipe.Settings.
func (st *Stage) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	st.written[f.Key] = f.KeyNode
	switch f.Key {
	case "target_sparsity":
		st.Schedule.Target, err = d.Fraction(f.Value, "target_sparsity")
	case "initial_sparsity":
		st.Schedule.Initial, err = d.Fraction(f.Value, "initial_sparsity")
	case "begin_step":
		st.Schedule.Begin, err = d.Int(f.Value, "begin_step", 0)
	case "end_step":
		st.Schedule.End, err = d.Int(f.Value, "end_step", 0)
		st.hasEnd = true
	case "frequency":
		st.Schedule.Frequency, err = d.Int(f.Value, "frequency", 1)
	case "begin_epoch", "end_epoch":
		var v float64
		if v, err = d.Number(f.Value, f.Key); err == nil && v < 0 {
			err = d.Errorf(f.Value, "prune: %s must be 0 or more, got %g", f.Key, v)
		}
		st.epochs[f.Key] = v
		st.hasEnd = st.hasEnd || f.Key == "end_epoch"
	case "frequency_epochs":
		st.epochs[f.Key], err = d.Positive(f.Value, f.Key)
	case "exponent":
		st.Schedule.Exponent, err = d.Positive(f.Value, "exponent")
	case "schedule":
		st.Kind, err = d.Enum(f.Value, "schedule", []string{Gradual, OneShot, Iterative})
	case "rounds":
		st.Schedule.Rounds, err = d.Int(f.Value, "rounds", 1)
	case "structure":
		st.Structure, err = d.Enum(f.Value, "structure", []string{Weights, Channels})
	case "criterion":
		st.Criterion, err = d.Enum(f.Value, "criterion", []string{L1, L2, Taylor, Random, Han})
	case "relative_quality":
		err = st.setRelativeQuality(d, f)
	case "taylor_batches":
		st.TaylorBatches, err = d.Int(f.Value, "taylor_batches", 1)
	case "scope":
		var scope string
		scope, err = d.Enum(f.Value, "scope", []string{"layer", "global"})
		st.Global = scope == "global"
	case "exclude":
		err = st.Exclude.Set(d, f.Value)
	case "layers":
		if str, err := d.String(f.Value, "layers"); err == nil {
			if str != "sensitivity" {
				return d.Errorf(f.Value, "layers must be a mapping of layer: sparsity, or sensitivity (the allocation of an earlier sensitivity stage), got %s", recipe.Describe(f.Value))
			}
			st.fromSensitivity = true
			st.named["layers"] = f.Value
			return nil
		}
		// Any layer name is a key here; Check names the wrong ones.
		var fields []recipe.Field
		fields, err = d.AnyFields(f.Value, "layers")
		for _, lf := range fields {
			var s float64
			if s, err = d.Fraction(lf.Value, "the sparsity of layer "+lf.Key); err != nil {
				break
			}
			st.Layers[lf.Key] = s
			st.named["layers "+lf.Key] = lf.KeyNode
		}
	}
	return err
}

// Check implements recipe.Settings: sparsities in [0, 1), a schedule that
// moves forward, keys that apply to the kind of pruning asked for, and
// every layer named exists in the recipe's model.
func (st *Stage) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	s := &st.Schedule
	if err := st.epochsToSteps(d, rec); err != nil {
		return err
	}
	if st.Structure == Channels {
		if err := st.checkChannels(d, at, rec); err != nil {
			return err
		}
	}
	if !st.hasEnd {
		s.End = s.Begin
	}
	switch st.Kind {
	case OneShot:
		s.Initial, s.Begin, s.End = s.Target, 0, 0
	case Iterative:
		if s.Rounds == 0 {
			s.Rounds = 3
		}
		if s.End-s.Begin < s.Rounds-1 {
			return d.Errorf(at, "prune: %d rounds of iterative pruning need end_step at least %d steps after begin_step (%d)", s.Rounds, s.Rounds-1, s.Begin)
		}
	}
	if n, ok := st.written["rounds"]; ok && st.Kind != Iterative {
		return d.Errorf(n, "prune: rounds applies to schedule: iterative")
	}
	if n, ok := st.written["taylor_batches"]; ok && st.Criterion != Taylor {
		return d.Errorf(n, "prune: taylor_batches applies to criterion: taylor")
	}
	if err := st.checkHan(d, at, rec); err != nil {
		return err
	}
	switch {
	case s.Initial > s.Target:
		return d.Errorf(at, "prune: initial_sparsity %g is above target_sparsity %g", s.Initial, s.Target)
	case s.End < s.Begin:
		return d.Errorf(at, "prune: end_step %d is before begin_step %d", s.End, s.Begin)
	case st.Kind == OneShot && !trainedBefore(at, rec):
		return d.Errorf(at, "prune: pruning at once needs trained weights: put a train stage before it")
	}
	if err := st.Exclude.Check(d, at, rec, "prune"); err != nil {
		return err
	}
	layers := rec.Model.Layers()
	for name := range st.Layers {
		if !slices.Contains(layers, name) {
			return d.Errorf(st.where("layers "+name, at), "prune: layers names no layer of the %s model: %q (its layers: %s)", rec.Model.Arch, name, strings.Join(layers, ", "))
		}
	}
	if st.fromSensitivity && !allocatedBefore(at, rec) {
		return d.Errorf(st.named["layers"], "prune: layers: sensitivity needs a sensitivity stage with target_sparsity before this one")
	}
	if st.Structure != Channels && st.Kind != OneShot {
		if err := st.checkWeightSchedule(d, at, rec); err != nil {
			return err
		}
	}
	return nil
}

// epochsToSteps turns schedule points given in epochs (begin_epoch,
// end_epoch, frequency_epochs) into steps of the recipe's batch size, so
// a schedule survives a change of batch size: 2.5 epochs stay 2.5 epochs.
func (st *Stage) epochsToSteps(d *recipe.Decoder, rec *recipe.Recipe) error {
	if len(st.epochs) == 0 {
		return nil
	}
	perEpoch := rec.Data.StepsPerEpoch()
	for _, pair := range [][2]string{{"begin_epoch", "begin_step"}, {"end_epoch", "end_step"}, {"frequency_epochs", "frequency"}} {
		v, ok := st.epochs[pair[0]]
		if !ok {
			continue
		}
		at := st.written[pair[0]]
		if other, both := st.written[pair[1]]; both {
			return d.Errorf(other, "prune: give %s or %s, not both", pair[0], pair[1])
		}
		if perEpoch == 0 {
			return d.Errorf(at, "prune: %s needs a dataset whose size the recipe knows (dataset %s is counted when it loads): give %s in steps", pair[0], rec.Data.Dataset, pair[1])
		}
		steps := int(math.Round(v * float64(perEpoch)))
		switch pair[0] {
		case "begin_epoch":
			st.Schedule.Begin = steps
		case "end_epoch":
			st.Schedule.End = steps
		default:
			st.Schedule.Frequency = max(1, steps)
		}
	}
	return nil
}

// checkWeightSchedule refuses a gradual or iterative schedule that the
// training after it would not finish: without a train stage after it, or
// with fewer steps there than its end, it would end short of its target
// (at 0% when no train stage follows) and the run would still succeed.
func (st *Stage) checkWeightSchedule(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	perEpoch := rec.Data.StepsPerEpoch()
	steps, trains := 0, 0
	for _, other := range after(at, rec) {
		if other.Kind == "train" {
			steps += other.Settings.PlannedSteps(perEpoch)
			trains++
		}
	}
	s := st.Schedule
	switch {
	case trains == 0:
		return d.Errorf(at, "prune: schedule: %s prunes while training goes on, and no train stage follows it: add one, or use schedule: oneshot", st.Kind)
	case perEpoch > 0 && s.End > steps:
		where := st.where2("end_step", "end_epoch", at)
		reached, _ := s.At(steps)
		return d.Errorf(where, "prune: the schedule ends at step %d, but the training after it takes %d steps: it would stop at %.3g%% sparsity, not %g%%; end the schedule by step %d or train longer",
			s.End, steps, 100*reached, 100*s.Target, steps)
	}
	return nil
}

// where2 is the node of whichever of two keys the recipe wrote, else at.
func (st *Stage) where2(a, b string, at recipe.Node) recipe.Node {
	if n, ok := st.written[a]; ok {
		return n
	}
	if n, ok := st.written[b]; ok {
		return n
	}
	return at
}

// before lists the recipe's stages that come before the one whose
// settings are written at.
func before(at recipe.Node, rec *recipe.Recipe) []recipe.Stage {
	for i, other := range rec.Stages {
		if other.Node() == at {
			return rec.Stages[:i]
		}
	}
	return nil
}

// trainedBefore reports whether the model is trained when the stage at
// runs: a train stage comes before it, or the model was imported.
func trainedBefore(at recipe.Node, rec *recipe.Recipe) bool {
	if rec.Model.ONNX != "" {
		return true // an imported model comes trained
	}
	for _, other := range before(at, rec) {
		if other.Kind == "train" {
			return true
		}
	}
	return false
}

// allocatedBefore reports whether a sensitivity stage that allocates
// sparsities (target_sparsity set) comes before the stage written at.
func allocatedBefore(at recipe.Node, rec *recipe.Recipe) bool {
	for _, other := range before(at, rec) {
		if se, ok := other.Settings.(*Sensitivity); ok && se.Target > 0 {
			return true
		}
	}
	return false
}

// where is the node naming what, else at.
func (st *Stage) where(what string, at recipe.Node) recipe.Node {
	if n, ok := st.named[what]; ok {
		return n
	}
	return at
}

// prunable reports whether the stage prunes layer.
func (st *Stage) prunable(layer string) bool { return st.Exclude.Keeps(layer) }

// PlannedSteps implements recipe.Settings: the stage itself takes no steps.
func (st *Stage) PlannedSteps(int) int { return 0 }

// String describes the stage in a few words.
func (st *Stage) String() string {
	s := st.Schedule
	scope := "per layer"
	if st.Global {
		scope = "global"
	}
	switch {
	case st.Structure == Channels && st.Kind == Gradual:
		return fmt.Sprintf("remove %g%% of the channels of every layer%s by %s, from step %d to %d every %d", 100*s.Target, st.overridesText(), st.Criterion, s.Begin, s.End, s.Frequency)
	case st.Structure == Channels && st.Kind == Iterative:
		return fmt.Sprintf("remove %g%% of the channels of every layer%s by %s, in %d rounds from step %d to %d", 100*s.Target, st.overridesText(), st.Criterion, s.Rounds, s.Begin, s.End)
	case st.Structure == Channels:
		return fmt.Sprintf("remove %g%% of the channels of every layer%s by %s", 100*s.Target, st.overridesText(), st.Criterion)
	case st.Kind == OneShot:
		return fmt.Sprintf("prune %g%% at once (%s)%s", 100*s.Target, scope, st.hanText())
	case st.Kind == Iterative:
		return fmt.Sprintf("prune to %g%% in %d rounds from step %d to %d (%s)%s", 100*s.Target, s.Rounds, s.Begin, s.End, scope, st.hanText())
	}
	return fmt.Sprintf("prune to %g%% from step %d to %d every %d (%s)%s", 100*s.Target, s.Begin, s.End, s.Frequency, scope, st.hanText())
}

// overridesText lists the layers pruned to their own sparsity, " (fc1
// 25%, …)", or "".
func (st *Stage) overridesText() string {
	if len(st.Layers) == 0 {
		return ""
	}
	names := make([]string, 0, len(st.Layers))
	for name := range st.Layers {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		names[i] = fmt.Sprintf("%s %g%%", name, 100*st.Layers[name])
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// Run implements runner.Stage: masks on, pruned at once or scheduled over
// the training after this stage.
func (st *Stage) Run(ctx context.Context, s *runner.Session) (map[string]float64, error) {
	st.index = s.StageIndex
	if st.Structure == Channels && st.Kind == OneShot {
		return st.runChannels(s)
	}
	if st.Structure == Channels {
		st.installChannelSchedule(s, s.Step, -1)
		s.Log("prune: %s over the training that follows; the model is rebuilt smaller when the train stage in which the schedule ends is over", st)
		return map[string]float64{}, nil
	}
	if err := st.takeAllocation(s); err != nil {
		return nil, err
	}
	masks := st.install(s, s.Step, -1)
	result := map[string]float64{}
	layers, err := masks.Layers(s.Ctx)
	if err != nil {
		return nil, err
	}
	if st.Kind == OneShot {
		if len(layers) == 0 {
			return nil, fmt.Errorf("prune: one-shot pruning needs the model's trained weights: put a train stage before it")
		}
		t, err := st.targetsFor(s, layers, st.Schedule.Target)
		if err != nil {
			return nil, err
		}
		if err := Apply(layers, t); err != nil {
			return nil, err
		}
		s.Log("prune: %s", st)
	} else {
		s.Log("prune: %s over the training that follows", st)
	}
	if len(layers) > 0 {
		stats, err := Count(layers)
		if err != nil {
			return nil, err
		}
		reportStats(result, stats, s)
	}
	return result, nil
}

// Restore implements runner.Restorer: a resumed run gets the masks' hooks
// and the schedule back, where its checkpoint left them.
func (st *Stage) Restore(_ context.Context, s *runner.Session) error {
	st.index = s.StageIndex
	if st.Structure == Channels {
		return st.restoreChannels(s)
	}
	if err := st.takeAllocation(s); err != nil {
		return err
	}
	origin, last, err := st.scheduleParams(s)
	if err != nil {
		return err
	}
	st.install(s, origin, last)
	return nil
}

// scheduleParams reads where a resumed run's schedule stands: the global
// step it counts from, and the schedule step last pruned at (-1: none).
func (st *Stage) scheduleParams(s *runner.Session) (origin, last int, err error) {
	origin, ok := intParam(s, st.param("origin"))
	if !ok {
		return 0, 0, fmt.Errorf("prune: the checkpoint lacks %s", st.param("origin"))
	}
	if last, ok = intParam(s, st.param("last")); !ok {
		last = -1
	}
	return origin, last, nil
}

// takeAllocation reads, for layers: sensitivity, each pruned layer's
// sparsity from the sensitivity stage's allocation.
func (st *Stage) takeAllocation(s *runner.Session) error {
	if !st.fromSensitivity {
		return nil
	}
	for _, layer := range s.Model.Spec.Layers() {
		if !st.prunable(layer) {
			continue
		}
		v, ok := s.Ctx.GetParam(allocationParam(layer))
		sp, isFloat := v.(float64)
		if !ok || !isFloat {
			return fmt.Errorf("prune: no sensitivity allocation for layer %s", layer)
		}
		st.Layers[layer] = sp
	}
	return nil
}

// param names a checkpointed parameter of this stage (several prune
// stages may follow each other).
func (st *Stage) param(what string) string { return fmt.Sprintf("prune%d_%s", st.index+1, what) }

func intParam(s *runner.Session, name string) (int, bool) {
	v, ok := s.Ctx.GetParam(name)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		return int(x), true
	}
	return 0, false
}

// install puts the masks on the session's model and optimizer and, for a
// gradual schedule, the loop hook that follows it. origin is the global
// step its schedule counts from; last the schedule step last pruned at
// (-1: none yet).
func (st *Stage) install(s *runner.Session, origin, last int) *Masks {
	s.Ctx.SetParam(st.param("origin"), origin)
	s.Ctx.SetParam(st.param("last"), last)
	masks := &Masks{Arch: "/" + s.Model.Spec.Arch, Prunable: st.prunable}
	s.Model.AddHooks(masks.Hooks())
	s.WrapOptimizer(masks.WrapOptimizer)
	s.AddLoopHooks(func(l *runner.Loop) {
		if st.Kind != OneShot {
			sparsity := -1.0 // the sparsity reached, once the schedule pruned
			l.AfterStep("prune", runner.PriorityTechnique, func(info *runner.StepInfo) error {
				if point, due := st.duePoint(last, s.Step-origin); due {
					layers, err := masks.Layers(s.Ctx)
					if err != nil {
						return err
					}
					target, _ := st.Schedule.At(point)
					t, err := st.targetsFor(s, layers, target)
					if err != nil {
						return err
					}
					if err := Apply(layers, t); err != nil {
						return err
					}
					stats, err := Count(layers)
					if err != nil {
						return err
					}
					sparsity, last = stats.Sparsity(), point
					s.Ctx.SetParam(st.param("last"), last)
				}
				if sparsity >= 0 {
					// With the step's metrics: a live curve at every logged step.
					info.Metrics["sparsity"] = sparsity
				}
				return nil
			})
		}
		l.OnEpochEnd("sparsity", runner.PriorityTechnique, func(e *runner.EpochInfo) error {
			layers, err := masks.Layers(s.Ctx)
			if err != nil {
				return err
			}
			stats, err := Count(layers)
			if err != nil {
				return err
			}
			// Recorded at each epoch's end, and the last as the stage's result.
			m := map[string]float64{}
			reportStats(m, stats, s)
			for k, v := range m {
				e.Metrics[k] = v
				l.Report(k, v)
			}
			return nil
		})
	})
	return masks
}

// duePoint returns the latest schedule step in (last, t] where masks are
// recomputed, if any: steps are counted once done, and a point may fall
// between two checks only at the start.
func (st *Stage) duePoint(last, t int) (int, bool) {
	for p := t; p > last && p >= 0; p-- {
		if _, prune := st.Schedule.At(p); prune {
			return p, true
		}
		if p < st.Schedule.Begin {
			break
		}
	}
	return 0, false
}

// targetsFor are the stage's targets at sparsity, with the layers'
// Taylor scores measured now when the criterion asks for them.
func (st *Stage) targetsFor(s *runner.Session, layers []Layer, sparsity float64) (Targets, error) {
	t := st.targets(sparsity)
	var err error
	switch st.Criterion {
	case Taylor:
		t.Scores, err = taylorScores(s, layers, st.TaylorBatches)
	case Random:
		t.Scores, err = randomWeightScores(s.Recipe.Seed, layers)
	case Han:
		t.Scores, err = hanScores(layers, convLayers(s.Model.Spec.Model, s.Data.Train.ExampleShape), st.RelativeQuality)
	}
	return t, err
}

// targets are the stage's targets at sparsity.
func (st *Stage) targets(sparsity float64) Targets {
	overrides := map[string]float64{}
	for name, target := range st.Layers {
		// An override follows the schedule in proportion to its target.
		if st.Schedule.Target > 0 {
			overrides[name] = target * sparsity / st.Schedule.Target
		} else {
			overrides[name] = 0
		}
	}
	return Targets{Global: st.Global, Sparsity: sparsity, Overrides: overrides}
}

// reportStats adds pruning's figures to m: sparsity (of the pruned layers'
// weights, counted from them), each layer's, the weights left, and the
// bytes of the model's float32 weights stored dense and stored sparse —
// the pruned layers as their nonzero values and a bitmap of where they
// are (1 bit per weight), the rest dense — and the FLOPs of one example's
// forward pass, dense and skipping the weights at 0.
func reportStats(m map[string]float64, st Stats, s *runner.Session) {
	params := s.CountParams()
	nonzero := st.Params - st.Zeros
	m["sparsity"] = st.Sparsity()
	m["prunable_params"] = float64(st.Params)
	m["nonzero_prunable_params"] = float64(nonzero)
	m["dense_bytes"] = 4 * float64(params)
	m["sparse_bytes"] = 4*float64(params-st.Params+nonzero) + float64((st.Params+7)/8)
	for name, v := range st.ByLayer {
		m["sparsity/"+name] = v
	}
	model, example := s.Model.Spec.Model, s.Data.Train.ExampleShape
	flops := model.FLOPs(example, s.Model.NumClasses)
	m["flops_per_example"] = float64(flops)
	for _, l := range model.Architecture(example) {
		flops -= 2 * int64(st.ZerosByLayer[l.Name]) * int64(l.Positions)
	}
	m["nonzero_flops_per_example"] = float64(flops)
}

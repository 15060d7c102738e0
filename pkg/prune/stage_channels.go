package prune

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/optim"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/spec"
	"github.com/lathe-ml/lathe/pkg/timing"
)

// LatencyBatch is the batch size at which structured pruning measures
// inference latency before and after.
const LatencyBatch = 64

// checkChannels refuses, for structure: channels, what only applies to
// masks, and a sparsity that would remove every channel of a layer — in
// the model as the structured prune stages before this one leave it.
func (st *Stage) checkChannels(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	if _, scheduled := st.written["schedule"]; !scheduled {
		st.Kind = OneShot // channels go at once unless a schedule is asked for
	}
	if st.Kind == OneShot {
		for _, key := range []string{"initial_sparsity", "begin_step", "end_step", "frequency", "begin_epoch", "end_epoch", "frequency_epochs", "exponent", "rounds"} {
			if n, ok := st.written[key]; ok {
				return d.Errorf(n, "prune: %s does not apply to structure: channels removed at once; schedule: gradual removes them over the training that follows", key)
			}
		}
	} else if err := st.checkChannelSchedule(d, at, rec); err != nil {
		return err
	}
	if st.Global {
		return d.Errorf(st.written["scope"], "prune: structure: channels removes the same fraction of every layer's channels; scope: global applies to weights")
	}
	if st.fromSensitivity {
		return d.Errorf(st.named["layers"], "prune: layers: sensitivity allocates sparsities of weights, not channels")
	}
	if _, ok := st.Layers["logits"]; ok {
		return d.Errorf(st.where("layers logits", at), "prune: the logits layer's outputs are the classes: structured pruning keeps them")
	}
	m := rec.Model
	for _, other := range before(at, rec) {
		if p, ok := other.Settings.(*Stage); ok && p.Structure == Channels {
			m = p.plannedModel(m)
		}
	}
	for _, g := range m.ChannelGroups() {
		s, ok := st.channelSparsity(g)
		if !ok || RemovedChannels(g.Width, s) < g.Width {
			continue
		}
		where := at
		for _, p := range g.Producers {
			if _, over := st.Layers[p]; over {
				where = st.where("layers "+p, at)
			}
		}
		return d.Errorf(where, "prune: structured pruning at %g would remove every one of %s's %d channels; keep at least one (a sparsity below %.3g there) or exclude it",
			s, g.Producers[0], g.Width, (float64(g.Width)-0.5)/float64(g.Width))
	}
	return nil
}

// checkChannelSchedule checks that the training after a scheduled
// structured stage reaches the schedule's end before any other pruning,
// since the model is rebuilt smaller when the train stage in which the
// schedule ends is over.
func (st *Stage) checkChannelSchedule(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	end := st.Schedule.End
	if !st.hasEnd {
		end = st.Schedule.Begin
	}
	perEpoch := rec.Data.StepsPerEpoch()
	steps, trains, next := 0, 0, ""
	for _, other := range after(at, rec) {
		if other.Kind == "train" {
			steps += other.Settings.PlannedSteps(perEpoch)
			trains++
			continue
		}
		if _, ok := other.Settings.(*Stage); ok || other.Kind == "sensitivity" {
			next = other.Kind
			break
		}
	}
	switch {
	case trains == 0 && next != "":
		return d.Errorf(at, "prune: schedule: %s removes channels during training: put a train stage between it and the %s stage after it", st.Kind, next)
	case trains == 0:
		return d.Errorf(at, "prune: schedule: %s removes channels during training: put a train stage after it", st.Kind)
	case perEpoch > 0 && end > steps:
		where := st.where2("end_step", "end_epoch", at)
		upTo := "after it"
		if next != "" {
			upTo = "before the next " + next + " stage"
		}
		return d.Errorf(where, "prune: the schedule ends at step %d, but the training %s takes %d steps; the model is rebuilt smaller only once its schedule is over", end, upTo, steps)
	}
	return nil
}

// after lists the recipe's stages after the one whose settings are written at.
func after(at recipe.Node, rec *recipe.Recipe) []recipe.Stage {
	for i, other := range rec.Stages {
		if other.Node() == at {
			return rec.Stages[i+1:]
		}
	}
	return nil
}

// channelSparsity is the fraction of a group's channels the stage removes;
// false when an excluded layer produces them.
func (st *Stage) channelSparsity(g spec.ChannelGroup) (float64, bool) {
	s := st.Schedule.Target
	for _, p := range g.Producers {
		if !st.prunable(p) {
			return 0, false
		}
		if over, ok := st.Layers[p]; ok {
			s = over
		}
	}
	return s, true
}

// plannedModel is m as the stage leaves it: how many channels go depends
// on the widths alone, so later stages are checked before any work.
func (st *Stage) plannedModel(m spec.Model) spec.Model {
	widths := map[string]int{}
	for name, w := range m.Widths {
		widths[name] = w
	}
	for _, g := range m.ChannelGroups() {
		if s, ok := st.channelSparsity(g); ok {
			for _, p := range g.Producers {
				widths[p] = g.Width - RemovedChannels(g.Width, s)
			}
		}
	}
	m.Widths = widths
	return m
}

// runChannels removes channels and rebuilds the session's model smaller,
// measuring what that buys.
func (st *Stage) runChannels(s *runner.Session) (map[string]float64, error) {
	spec := s.Model.Spec
	batch, err := firstExamples(s.Data.Train, LatencyBatch)
	if err != nil {
		return nil, err
	}
	// Running the model once makes its weights (a resumed run's, still in
	// the checkpoint) variables of the context.
	if _, err := infer(s, s.Ctx, spec, batch); err != nil {
		return nil, err
	}
	paramsBefore := s.CountParams()
	plan, err := st.planChannels(s, spec.Model, st.channelSparsity)
	if err != nil {
		return nil, err
	}
	if err := ZeroChannels(s.Ctx, plan); err != nil {
		return nil, err
	}
	return st.rebuild(s, plan, paramsBefore, batch)
}

// planChannels ranks the channels of m by the stage's criterion, measuring
// the gradients now for taylor.
func (st *Stage) planChannels(s *runner.Session, m spec.Model, sparsity func(spec.ChannelGroup) (float64, bool)) (ChannelPlan, error) {
	var taylor map[string][]float64
	if st.Criterion == Taylor {
		var err error
		if taylor, err = channelTaylor(s, st.TaylorBatches); err != nil {
			return ChannelPlan{}, err
		}
	}
	return PlanChannels(s.Ctx, m, st.Criterion, taylor, sparsity)
}

// rebuild shrinks the session's model, whose channels the plan removes
// are silenced already, and reports what that bought: parameters, FLOPs,
// and the latency of the masked and the rebuilt model, timed on batch.
func (st *Stage) rebuild(s *runner.Session, plan ChannelPlan, paramsBefore int, batch *tensors.Tensor) (map[string]float64, error) {
	spec := s.Model.Spec
	m := spec.Model
	// The masked model, kept aside for the comparison and the timing.
	masked, err := snapshot(s.Ctx, "/"+m.Arch)
	if err != nil {
		return nil, err
	}
	small, err := Shrink(s.Ctx, plan, m.ActivationAtZero())
	if err != nil {
		return nil, err
	}
	// Optimizer state kept for the old shapes goes: the next train stage
	// starts its optimizer afresh anyway.
	arch := "/" + m.Arch + "/"
	if err := s.DeleteVariables(func(scope, _ string) bool {
		return strings.HasPrefix(scope, "/"+optim.Scope+"/") && strings.Contains(scope+"/", arch)
	}); err != nil {
		return nil, err
	}
	smallSpec := spec
	smallSpec.Model = small
	s.Model.SetSpec(smallSpec)
	s.Ctx.SetParam(st.param("widths"), encodeWidths(small.Widths))

	diff, lat, err := compareModels(s, masked, spec, smallSpec, batch)
	if err != nil {
		return nil, err
	}
	rt, err := runtimeLatencies(s, masked, spec)
	if err != nil {
		return nil, err
	}
	example, classes := s.Data.Train.ExampleShape, s.Model.NumClasses
	result := map[string]float64{
		"channels_removed":  float64(plan.Removed()),
		"params_before":     float64(paramsBefore),
		"params_after":      float64(s.CountParams()),
		"flops_before":      float64(m.FLOPs(example, classes)),
		"flops_after":       float64(small.FLOPs(example, classes)),
		"latency_before_ms": lat.before,
		"latency_after_ms":  lat.after,
		"latency_speedup":   lat.before / lat.after,
		"runtime_before_ms": rt.before,
		"runtime_after_ms":  rt.after,
		"runtime_speedup":   rt.before / rt.after,
		"rebuild_max_diff":  diff,
	}
	for _, l := range small.Architecture(nil) {
		if l.Name != "logits" {
			result["width/"+l.Name] = float64(l.Out)
		}
	}
	s.Log("prune: %s: %d channels removed; parameters %d → %d (%.2f× fewer), FLOPs per example %.3g → %.3g, latency at batch %d %.2f → %.2f ms in GoMLX (%.2f× faster), %.2f → %.2f ms in the runtime (%.2f×); rebuilt outputs within %.2g of the masked model's",
		st, plan.Removed(), paramsBefore, int(result["params_after"]), result["params_before"]/result["params_after"],
		result["flops_before"], result["flops_after"], LatencyBatch, lat.before, lat.after, result["latency_speedup"],
		rt.before, rt.after, result["runtime_speedup"], diff)
	return result, nil
}

// installChannelSchedule puts channel masks on the session's model and the
// loop hooks that follow the schedule: masks recomputed at its points
// during training, and the model rebuilt smaller at the end of the train
// stage in which the schedule ends. origin is the global step the
// schedule counts from, last the schedule step last pruned at (-1: none).
func (st *Stage) installChannelSchedule(s *runner.Session, origin, last int) {
	s.Ctx.SetParam(st.param("origin"), origin)
	s.Ctx.SetParam(st.param("last"), last)
	masks := NewChannelMasks(s.Model.Spec.Model, func(g spec.ChannelGroup) bool {
		_, ok := st.channelSparsity(g)
		return ok
	})
	s.Model.AddHooks(masks.Hooks())
	s.WrapOptimizer(masks.WrapOptimizer)
	s.AddLoopHooks(func(l *runner.Loop) {
		fraction := -1.0 // the channels removed, once the schedule pruned
		l.AfterStep("prune", runner.PriorityTechnique, func(info *runner.StepInfo) error {
			if masks.off {
				return nil
			}
			if point, due := st.duePoint(last, s.Step-origin); due {
				target, _ := st.Schedule.At(point)
				plan, err := st.planChannels(s, masks.Model, st.scaledChannelSparsity(target))
				if err != nil {
					return err
				}
				if err := masks.Apply(s.Ctx, plan); err != nil {
					return err
				}
				fraction, last = masks.Fraction(plan), point
				s.Ctx.SetParam(st.param("last"), last)
			}
			if fraction >= 0 {
				info.Metrics["channel_sparsity"] = fraction
			}
			return nil
		})
		l.OnEpochEnd("channels", runner.PriorityTechnique, func(e *runner.EpochInfo) error {
			if masks.off {
				return nil
			}
			plan, err := masks.Plan(s.Ctx)
			if err != nil {
				return err
			}
			e.Metrics["channel_sparsity"] = masks.Fraction(plan)
			for _, layer := range plan.Pruned().Architecture(nil) {
				if layer.Name != "logits" {
					e.Metrics["width/"+layer.Name] = float64(layer.Out)
				}
			}
			if e.StageStep < l.Total || s.Step-origin < st.Schedule.End {
				return nil
			}
			// The schedule is over and so is this train stage: the masks go
			// and the model is rebuilt smaller, before validation and the
			// checkpoint see it.
			result, err := st.shrinkMasked(s, masks, plan)
			if err != nil {
				return err
			}
			for k, v := range result {
				l.Report(k, v)
			}
			l.Report("params", float64(s.CountParams())) // the stage ends with the smaller model
			return nil
		})
	})
}

// scaledChannelSparsity is channelSparsity with the target (and each
// override, in proportion) at sparsity: where the schedule stands.
func (st *Stage) scaledChannelSparsity(sparsity float64) func(spec.ChannelGroup) (float64, bool) {
	return func(g spec.ChannelGroup) (float64, bool) {
		s, ok := st.channelSparsity(g)
		if !ok || st.Schedule.Target == 0 {
			return 0, ok
		}
		return s * sparsity / st.Schedule.Target, true
	}
}

// shrinkMasked ends a channel schedule: the masks' plan is cut out of the
// model, the masks are deleted, and the smaller model replaces it.
// A plan that removes nothing (sparsity 0: a dense baseline) leaves the
// model as it is.
func (st *Stage) shrinkMasked(s *runner.Session, masks *ChannelMasks, plan ChannelPlan) (map[string]float64, error) {
	batch, err := firstExamples(s.Data.Train, LatencyBatch)
	if err != nil {
		return nil, err
	}
	if err := ZeroChannels(s.Ctx, plan); err != nil {
		return nil, err
	}
	masks.off = true
	arch := "/" + masks.Model.Arch + "/"
	if err := s.DeleteVariables(func(scope, name string) bool {
		return name == channelMaskName && strings.HasPrefix(scope+"/", arch)
	}); err != nil {
		return nil, err
	}
	if plan.Removed() == 0 {
		s.Log("prune: %s: the schedule removed no channel; the model stays as it is", st)
		s.Model.SetSpec(s.Model.Spec) // graphs built before read the masks just deleted
		s.Ctx.SetParam(st.param("widths"), encodeWidths(s.Model.Spec.Widths))
		return map[string]float64{"channels_removed": 0}, nil
	}
	return st.rebuild(s, plan, s.CountParams(), batch)
}

// restoreChannels gives a resumed run the smaller model the stage built
// (its variables come from the checkpoint) or, for a schedule not over
// when the checkpoint was saved, its masks and hooks back.
func (st *Stage) restoreChannels(s *runner.Session) error {
	v, ok := s.Ctx.GetParam(st.param("widths"))
	text, isText := v.(string)
	if (!ok || !isText) && st.Kind != OneShot {
		origin, last, err := st.scheduleParams(s)
		if err != nil {
			return err
		}
		st.installChannelSchedule(s, origin, last)
		return nil
	}
	if !ok || !isText {
		return fmt.Errorf("prune: the checkpoint lacks %s", st.param("widths"))
	}
	widths, err := decodeWidths(text)
	if err != nil {
		return fmt.Errorf("prune: the checkpoint's %s: %w", st.param("widths"), err)
	}
	spec := s.Model.Spec
	spec.Widths = widths
	s.Model.SetSpec(spec)
	return nil
}

// encodeWidths writes widths as "layer=width,…" (a checkpoint parameter:
// JSON keeps strings as they are).
func encodeWidths(widths map[string]int) string {
	names := make([]string, 0, len(widths))
	for name := range widths {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + "=" + strconv.Itoa(widths[name])
	}
	return strings.Join(parts, ",")
}

func decodeWidths(text string) (map[string]int, error) {
	widths := map[string]int{}
	if text == "" {
		return widths, nil
	}
	for _, part := range strings.Split(text, ",") {
		name, value, ok := strings.Cut(part, "=")
		w, err := strconv.Atoi(value)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad width %q", part)
		}
		widths[name] = w
	}
	return widths, nil
}

// firstExamples is a batch of the set's first n examples.
func firstExamples(set *datasets.Set, n int) (*tensors.Tensor, error) {
	n = min(n, set.Len())
	if n == 0 {
		return nil, fmt.Errorf("prune: the training split is empty")
	}
	size := set.ExampleSize()
	return tensors.FromFlatDataAndDimensions(slices.Clone(set.Features[:n*size]), append([]int{n}, set.ExampleShape...)...), nil
}

// snapshot copies the (float32) variables under scope into a new context.
func snapshot(ctx *gomlxctx.Context, scope string) (*gomlxctx.Context, error) {
	out := gomlxctx.New().Checked(false)
	for v := range ctx.IterVariables() {
		if !strings.HasPrefix(v.Scope()+"/", scope+"/") {
			continue
		}
		values, dims, err := read(ctx, v.Scope(), v.Name())
		if err != nil {
			return nil, err
		}
		out.InAbsPath(v.Scope()).VariableWithValue(v.Name(), tensors.FromFlatDataAndDimensions(values, dims...)).SetTrainable(v.Trainable)
	}
	return out, nil
}

// forward is an inference graph of a model on a context's variables.
func forward(s *runner.Session, ctx *gomlxctx.Context, spec models.Spec) (*gomlxctx.Exec, error) {
	modelFn, err := spec.ModelFn(s.Model.NumClasses)
	if err != nil {
		return nil, err
	}
	return gomlxctx.NewExec(s.Backend, ctx, func(ctx *gomlxctx.Context, x *graph.Node) *graph.Node {
		return modelFn(ctx, nil, []*graph.Node{x})[0]
	})
}

// infer runs the model once on x and returns its logits.
func infer(s *runner.Session, ctx *gomlxctx.Context, spec models.Spec, x *tensors.Tensor) ([]float32, error) {
	exec, err := forward(s, ctx, spec)
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	return run(exec, x)
}

func run(exec *gomlxctx.Exec, x *tensors.Tensor) ([]float32, error) {
	out, err := exec.Exec(x)
	if err != nil {
		return nil, err
	}
	defer out[0].FinalizeAll()
	return tensors.MustCopyFlatData[float32](out[0]), nil
}

// latencies are median inference times in milliseconds.
type latencies struct{ before, after float64 }

// compareModels runs the masked model (its own context) and the rebuilt one
// (the session's) on the same batch: the largest difference between their
// outputs (relative to the output's size, at least 1), and their median
// latencies, timed alternately so the machine's load falls on both alike.
func compareModels(s *runner.Session, masked *gomlxctx.Context, maskedSpec, smallSpec models.Spec, x *tensors.Tensor) (float64, latencies, error) {
	var none latencies
	before, err := forward(s, masked, maskedSpec)
	if err != nil {
		return 0, none, err
	}
	defer before.Finalize()
	after, err := forward(s, s.Ctx, smallSpec)
	if err != nil {
		return 0, none, err
	}
	defer after.Finalize()
	want, err := run(before, x)
	if err != nil {
		return 0, none, err
	}
	got, err := run(after, x)
	if err != nil {
		return 0, none, err
	}
	diff := 0.0
	for i := range want {
		d := math.Abs(float64(got[i]-want[i])) / math.Max(1, math.Abs(float64(want[i])))
		if !(d <= diff) { // NaN counts as the largest
			diff = d
		}
	}
	ms, err := timing.Interleave([]timing.Engine{
		{Call: func() error { _, err := run(before, x); return err }, GoMLX: true},
		{Call: func() error { _, err := run(after, x); return err }, GoMLX: true},
	}, 500*time.Millisecond)
	if err != nil {
		return 0, none, err
	}
	return diff, latencies{before: ms[0], after: ms[1]}, nil
}

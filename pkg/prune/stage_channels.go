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
)

// LatencyBatch is the batch size at which structured pruning measures
// inference latency before and after.
const LatencyBatch = 64

// checkChannels refuses, for structure: channels, what only applies to
// masks, and a sparsity that would remove every channel of a layer — in
// the model as the structured prune stages before this one leave it.
func (st *Stage) checkChannels(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	for _, key := range []string{"initial_sparsity", "begin_step", "end_step", "frequency", "exponent", "rounds"} {
		if n, ok := st.written[key]; ok {
			return d.Errorf(n, "prune: %s does not apply to structure: channels, which removes channels at once (for rounds, repeat prune and train stages)", key)
		}
	}
	if n, ok := st.written["schedule"]; ok && st.Kind != OneShot {
		return d.Errorf(n, "prune: structure: channels removes channels at once (schedule: oneshot); for rounds, repeat prune and train stages")
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
	m := spec.Model
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
	var grads map[string][]float32
	if st.Criterion == Taylor {
		if grads, err = gradients(s, st.TaylorBatches); err != nil {
			return nil, err
		}
	}
	plan, err := PlanChannels(s.Ctx, m, st.Criterion, grads, st.channelSparsity)
	if err != nil {
		return nil, err
	}
	if err := ZeroChannels(s.Ctx, plan); err != nil {
		return nil, err
	}
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

	diff, timing, err := compareModels(s, masked, spec, smallSpec, batch)
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
		"latency_before_ms": timing.before,
		"latency_after_ms":  timing.after,
		"latency_speedup":   timing.before / timing.after,
		"rebuild_max_diff":  diff,
	}
	for _, l := range small.Architecture(nil) {
		if l.Name != "logits" {
			result["width/"+l.Name] = float64(l.Out)
		}
	}
	s.Log("prune: %s: %d channels removed; parameters %d → %d (%.2f× fewer), FLOPs per example %.3g → %.3g, latency at batch %d %.2f → %.2f ms (%.2f× faster); rebuilt outputs within %.2g of the masked model's",
		st, plan.Removed(), paramsBefore, int(result["params_after"]), result["params_before"]/result["params_after"],
		result["flops_before"], result["flops_after"], LatencyBatch, timing.before, timing.after, result["latency_speedup"], diff)
	return result, nil
}

// restoreChannels gives a resumed run the smaller model the stage built;
// its variables come from the checkpoint.
func (st *Stage) restoreChannels(s *runner.Session) error {
	v, ok := s.Ctx.GetParam(st.param("widths"))
	text, isText := v.(string)
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
	var timing latencies
	before, err := forward(s, masked, maskedSpec)
	if err != nil {
		return 0, timing, err
	}
	defer before.Finalize()
	after, err := forward(s, s.Ctx, smallSpec)
	if err != nil {
		return 0, timing, err
	}
	defer after.Finalize()
	want, err := run(before, x)
	if err != nil {
		return 0, timing, err
	}
	got, err := run(after, x)
	if err != nil {
		return 0, timing, err
	}
	diff := 0.0
	for i := range want {
		d := math.Abs(float64(got[i]-want[i])) / math.Max(1, math.Abs(float64(want[i])))
		if !(d <= diff) { // NaN counts as the largest
			diff = d
		}
	}
	const rounds, budget = 41, 8 * time.Second
	var tb, ta []float64
	start := time.Now()
	for r := 0; r < rounds && (r < 5 || time.Since(start) < budget); r++ {
		execs, times := []*gomlxctx.Exec{before, after}, []*[]float64{&tb, &ta}
		if r%2 == 1 {
			execs[0], execs[1], times[0], times[1] = execs[1], execs[0], times[1], times[0]
		}
		for i, e := range execs {
			t0 := time.Now()
			if _, err := run(e, x); err != nil {
				return 0, timing, err
			}
			*times[i] = append(*times[i], float64(time.Since(t0).Microseconds())/1000)
		}
	}
	return diff, latencies{before: median(tb), after: median(ta)}, nil
}

func median(xs []float64) float64 {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

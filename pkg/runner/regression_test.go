package runner

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestDivergedRunFailsClearly: a learning rate of 1e9 drives the loss to
// NaN. The run must fail (not finish), name the step and the checkpoint
// situation, record the NaN it saw, and leave the store readable.
func TestDivergedRunFailsClearly(t *testing.T) {
	src := `name: diverge
seed: 1
backend: go
data: {dataset: spirals, batch_size: 32, validation: 100, train_size: 600, test_size: 100}
model: {arch: mlp, hidden: [32]}
stages:
  - train: {epochs: 5, optimizer: {name: sgd, learning_rate: 1e9}, log_every: 1}
  - evaluate
`
	store := openStore(t)
	res, err := Run(context.Background(), mustParse(t, src), Options{Store: store})
	if err == nil || res.Status != runs.Failed {
		t.Fatalf("a diverged run returned %v with status %v; want a failure", err, res.Status)
	}
	msg := err.Error()
	for _, want := range []string{"train step ", "diverged", "checkpoint"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	list, err := store.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("store.List after a diverged run: %v (%d runs)", err, len(list))
	}
	run, err := store.Get(res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != runs.Failed || run.Error != msg {
		t.Errorf("stored status %s, error %q", run.Status, run.Error)
	}
	if _, err := json.Marshal(run); err != nil {
		t.Errorf("lathe show --json of the run: %v", err)
	}
	loss, err := store.Series(res.RunID, "loss")
	if err != nil || len(loss) == 0 {
		t.Fatalf("loss series: %v (%d points)", err, len(loss))
	}
	if last := loss[len(loss)-1].Value; !math.IsNaN(last) && !math.IsInf(last, 0) {
		t.Errorf("the last recorded loss is %g; the non-finite value seen must be recorded", last)
	}
}

// TestNonFiniteSkip: with nonfinite: skip, batches whose gradients are not
// finite are skipped and counted, and a run that skips every batch stops.
func TestNonFiniteSkip(t *testing.T) {
	src := strings.Replace(blobsRecipe, "log_every: 5}", "log_every: 5, nonfinite: skip}", 1)
	res, err := Run(context.Background(), mustParse(t, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := res.Stages[1].Metrics["skipped_steps"]; !ok || v != 0 {
		t.Errorf("a healthy run with nonfinite: skip reports skipped_steps %v (present %v), want 0", v, ok)
	}
	src = strings.Replace(src, "learning_rate: 0.01", "learning_rate: 1e30", 1)
	_, err = Run(context.Background(), mustParse(t, src), Options{})
	if err == nil || !strings.Contains(err.Error(), "skipped") {
		t.Errorf("every batch skipped: %v; want an error saying steps were skipped", err)
	}
}

// TestResumeAtStageBoundary: the checkpoint taken at the end of a train
// stage points at that stage. When the run stops right after it, resuming
// must keep the finished stage's results, not re-enter it with no steps left
// (which recorded train_loss 0 and params 0 over the stored row).
func TestResumeAtStageBoundary(t *testing.T) {
	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	stopAfterTrain := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.StageFinished && e.StageIndex == 1 {
			cancel()
		}
	})
	stopped, err := Run(ctx, mustParse(t, blobsRecipe), Options{Store: store, Sinks: []events.Sink{stopAfterTrain}})
	if err != ErrStopped {
		t.Fatalf("first part: %v", err)
	}
	before, _ := store.Get(stopped.RunID)
	if len(before.Stages) != 2 || before.Stages[1].Status != runs.Finished {
		t.Fatalf("before resuming: %+v", before.Stages)
	}
	trainBefore := before.Stages[1].Metrics
	res, err := Resume(context.Background(), store, stopped.RunID, Options{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := store.Get(res.RunID)
	if len(after.Stages) != 3 || after.Status != runs.Finished {
		t.Fatalf("after resuming: %s with %d stages", after.Status, len(after.Stages))
	}
	tr := after.Stages[1].Metrics
	if tr["params"] != 2*16+16+16*4+4 || tr["train_loss"] != trainBefore["train_loss"] || tr["steps"] != 45 {
		t.Errorf("train stage after resuming %v, before %v", tr, trainBefore)
	}
	if res.Final["test_accuracy"] < 0.9 {
		t.Errorf("test accuracy after resuming %.3f", res.Final["test_accuracy"])
	}
}

// TestPlanRecorded: the runner records the plan — each stage's kind,
// whether it has steps and how many — and the split sizes.
func TestPlanRecorded(t *testing.T) {
	store := openStore(t)
	res, err := Run(context.Background(), mustParse(t, blobsRecipe), Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	run, _ := store.Get(res.RunID)
	if run.Plan == nil {
		t.Fatal("no plan recorded")
	}
	// 600 training examples less 100 held out, in batches of 32: 15 steps an epoch, 3 epochs.
	want := []runs.PlannedStage{{Index: 0, Kind: "evaluate"}, {Index: 1, Kind: "train", HasSteps: true, Steps: 45}, {Index: 2, Kind: "evaluate"}}
	for i, w := range want {
		if i >= len(run.Plan.Stages) || !reflect.DeepEqual(run.Plan.Stages[i], w) {
			t.Errorf("plan stage %d: %+v, want %+v", i, run.Plan.Stages, w)
		}
	}
	if s := run.Plan.Splits; s["train"] != 500 || s["validation"] != 100 || s["test"] != 200 {
		t.Errorf("splits %v", s)
	}
}

// counter is a stage kind defined in a test: it proves a new kind is one
// file plus one registration line (see TestExtraStageKind).
type counter struct{ N int }

func init() {
	recipe.Register(recipe.Kind{Name: "count_test", Keys: []string{"n"}, HasSteps: true, New: func() recipe.Settings { return &counter{N: 3} },
		Results: results.Declaration{Results: []results.Result{{Name: "steps"}, {Name: "params"}}, Series: []results.Result{{Name: "count"}}}})
}

func (c *counter) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	c.N, err = d.Int(f.Value, "n", 1)
	return err
}
func (c *counter) Check(*recipe.Decoder, recipe.Node, *recipe.Recipe) error { return nil }
func (c *counter) PlannedSteps(int) int                                     { return c.N }
func (c *counter) Run(_ context.Context, s *Session) (map[string]float64, error) {
	for i := 1; i <= c.N; i++ {
		s.Step++
		s.Emit(events.Event{Kind: events.Step, Step: s.Step, StageStep: i, Total: c.N, Metrics: map[string]float64{"count": float64(i)}})
	}
	return map[string]float64{"steps": float64(c.N), "params": float64(s.CountParams())}, nil
}

// TestExtraStageKind runs a kind registered by this test file through
// parse, variants, run and store.
func TestExtraStageKind(t *testing.T) {
	src := strings.Replace(blobsRecipe, "  - evaluate: {split: test}\n", "  - count_test: {n: 4}\n  - evaluate: {split: test}\n", 1)
	src += "variants:\n  - {name: a}\n  - {name: b, count_test: {n: 6}}\n"
	rec := mustParse(t, src)
	store := openStore(t)
	results, group, err := RunAll(context.Background(), rec, Options{Store: store}, nil)
	if err != nil || len(results) != 2 || group == "" {
		t.Fatalf("RunAll: %v, %d results, group %q", err, len(results), group)
	}
	for i, n := range []int{4, 6} {
		run, _ := store.Get(results[i].RunID)
		ps, ok := run.Plan.Stage(0)
		if !ok || ps.Kind != "count_test" || !ps.HasSteps || ps.Steps != n {
			t.Errorf("variant %d: planned stage %+v", i, ps)
		}
		if len(run.Stages) != 4 || run.Stages[0].Kind != "count_test" || run.Stages[0].Metrics["steps"] != float64(n) {
			t.Errorf("variant %d: stored stages %+v", i, run.Stages)
		}
		if pts, _ := store.Series(run.ID, "count"); len(pts) != n {
			t.Errorf("variant %d: %d count points, want %d", i, len(pts), n)
		}
		if run.Params[runs.GroupParam] != group {
			t.Errorf("variant %d not in group %s", i, group)
		}
	}
}

// muteLogits is a test stage that changes the current model through the
// session: a weight hook zeroing the classifier, a loss term pulling the
// logits to zero, or loop hooks counting their calls.
type muteLogits struct{ How string }

func init() {
	recipe.Register(recipe.Kind{Name: "mute_test", Keys: []string{"how"}, Effects: recipe.ModelHooks | recipe.LoopHooks, New: func() recipe.Settings { return &muteLogits{} }})
}

func (m *muteLogits) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	m.How, err = d.Enum(f.Value, "how", []string{"hook", "loss", "count"})
	return err
}
func (m *muteLogits) Check(*recipe.Decoder, recipe.Node, *recipe.Recipe) error { return nil }
func (m *muteLogits) PlannedSteps(int) int                                     { return 0 }
func (m *muteLogits) Run(_ context.Context, s *Session) (map[string]float64, error) {
	switch m.How {
	case "hook":
		s.Model.AddHooks(models.Hooks{Weight: func(_ *gomlxctx.Context, v *gomlxctx.Variable, w *graph.Node) *graph.Node {
			if strings.HasPrefix(v.Scope(), "/mlp/logits") {
				return graph.ZerosLike(w)
			}
			return w
		}})
	case "count":
		s.AddLoopHooks(func(l *Loop) {
			count := func(what string) { counts[what]++ }
			l.BeforeStep("count", PriorityTechnique, func(*StepInfo) error { count("before"); return nil })
			l.AfterStep("count", PriorityTechnique, func(*StepInfo) error { count("after"); return nil })
			l.OnEpochEnd("count", PriorityTechnique, func(*EpochInfo) error { count("epoch"); return nil })
			l.OnDone("count", PriorityTechnique, func(*StepInfo) error { count("done"); return nil })
		})
	case "loss":
		s.Model.AddLoss(LossTerm{Name: "mute", Fn: func(_ *gomlxctx.Context, _ []*graph.Node, logits *graph.Node) *graph.Node {
			return graph.MulScalar(graph.ReduceAllMean(graph.Square(logits)), 1e4)
		}})
	}
	return map[string]float64{}, nil
}

// TestLoopHooksReachLaterTrainStages: a stage's loop hooks run in every
// train stage after it, around each step and at each epoch's end.
func TestLoopHooksReachLaterTrainStages(t *testing.T) {
	src := strings.Replace(blobsRecipe, "  - evaluate: {split: test}\n  - train:", "  - mute_test: {how: count}\n  - evaluate: {split: test}\n  - train:", 1)
	counts = map[string]int{}
	if _, err := Run(context.Background(), mustParse(t, src), Options{}); err != nil {
		t.Fatal(err)
	}
	// 3 epochs of 15 steps.
	if counts["before"] != 45 || counts["after"] != 45 || counts["epoch"] != 3 || counts["done"] != 1 {
		t.Errorf("hook calls %v, want 45 before and after a step, 3 epoch ends, 1 done", counts)
	}
}

// counts are the loop hook calls mute_test {how: count} saw.
var counts map[string]int

// TestStagesChangeTheCurrentModel: what one stage does to the session's
// model, later stages (evaluate, train) use. With the classifier's weights
// zeroed every logit is 0, so the cross entropy over blobs' 4 classes is
// ln 4 exactly; a heavy loss term on the logits drives training there too.
func TestStagesChangeTheCurrentModel(t *testing.T) {
	ln4 := math.Log(4)
	src := strings.Replace(blobsRecipe, "  - evaluate: {split: test}\n  - train:", "  - mute_test: {how: hook}\n  - evaluate: {split: test}\n  - train:", 1)
	res, err := Run(context.Background(), mustParse(t, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Stages[1].Metrics["test_loss"]; math.Abs(got-ln4) > 1e-5 {
		t.Errorf("test loss with the classifier zeroed by a hook: %.6f, want ln 4 = %.6f", got, ln4)
	}
	if got := res.Final["test_loss"]; math.Abs(got-ln4) > 1e-5 {
		t.Errorf("the hook must stay through training: final test loss %.6f, want %.6f", got, ln4)
	}

	src = strings.Replace(blobsRecipe, "  - evaluate: {split: test}\n  - train:", "  - mute_test: {how: loss}\n  - evaluate: {split: test}\n  - train:", 1)
	res, err = Run(context.Background(), mustParse(t, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final["test_loss"]; math.Abs(got-ln4) > 0.05 {
		t.Errorf("with a 1e4·mean(logits²) loss term, the test loss after training is %.4f; want near ln 4 = %.4f", got, ln4)
	}
}

// TestUnreadableValueIsAnError: a metric that is not a float is an error,
// never recorded as 0.
func TestUnreadableValueIsAnError(t *testing.T) {
	if _, err := scalar(tensors.FromValue(int32(3))); err == nil {
		t.Error("an int32 metric read as a float")
	}
	if _, err := scalar(nil); err == nil {
		t.Error("a missing metric read as a value")
	}
	if v, err := scalar(tensors.FromValue(float32(0.5))); err != nil || v != 0.5 {
		t.Errorf("float32 0.5 read as %v, %v", v, err)
	}
}

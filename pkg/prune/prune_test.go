package prune_test

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/prune"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

func init() { os.Setenv("GOMLX_NO_AUTO_INSTALL", "1") }

// TestScheduleFollowsTheFormula: Zhu & Gupta's sparsity at chosen steps,
// computed by hand, and where masks are recomputed.
func TestScheduleFollowsTheFormula(t *testing.T) {
	s := prune.Schedule{Initial: 0.1, Target: 0.9, Begin: 100, End: 300, Frequency: 50, Exponent: 3}
	cases := []struct {
		step  int
		want  float64
		prune bool
	}{
		{0, 0, false},
		{100, 0.1, true},        // 0.9 + (0.1-0.9)·1³
		{150, 0.5625, true},     // 0.9 - 0.8·0.75³ = 0.9 - 0.3375
		{200, 0.8, true},        // 0.9 - 0.8·0.125
		{225, 0.8578125, false}, // 0.9 - 0.8·0.375³ = 0.9 - 0.0421875
		{250, 0.8875, true},     // 0.9 - 0.8·0.015625
		{300, 0.9, true},
		{301, 0.9, false},
		{1000, 0.9, false},
	}
	for _, c := range cases {
		got, prune := s.At(c.step)
		if math.Abs(got-c.want) > 1e-12 || prune != c.prune {
			t.Errorf("step %d: sparsity %.10g (prune %v), want %.10g (%v)", c.step, got, prune, c.want, c.prune)
		}
	}
	oneShot := prune.Schedule{Target: 0.5, Begin: 0, End: 0, Frequency: 1, Exponent: 3}
	if got, p := oneShot.At(0); got != 0.5 || !p {
		t.Errorf("one-shot at 0: %g %v", got, p)
	}
}

const base = `name: prune-test
seed: 5
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 200}
model: {arch: mlp, hidden: [32, 16]}
stages:
`

func mustParse(t *testing.T, src string) *recipe.Recipe {
	t.Helper()
	r, err := recipe.Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// weights reads every layer's weights and mask from a run's newest
// checkpoint, by layer.
func weights(t *testing.T, store *runs.Store, id string) (w, m map[string][]float32) {
	t.Helper()
	ctx := gomlxctx.New()
	loaded, err := loadCheckpoint(ctx, store.CheckpointDir(id))
	if err != nil {
		t.Fatal(err)
	}
	w, m = map[string][]float32{}, map[string][]float32{}
	defer func() {
		if len(w) == 0 {
			t.Fatalf("no layer's weights in the checkpoint of run %s", id)
		}
	}()
	for name, v := range loaded {
		scope, leaf := gomlxctx.VariableScopeAndNameFromParameterName(name)
		scope = strings.TrimPrefix(scope, "/mlp/")
		switch leaf {
		case "weights":
			w[scope] = tensors.MustCopyFlatData[float32](v)
		case "mask":
			m[scope] = tensors.MustCopyFlatData[float32](v)
		}
	}
	return w, m
}

// loadCheckpoint reads the newest checkpoint in dir, by parameter name.
func loadCheckpoint(ctx *gomlxctx.Context, dir string) (map[string]*tensors.Tensor, error) {
	h, err := checkpoints.Build(ctx).Dir(dir).Done()
	if err != nil {
		return nil, err
	}
	return h.LoadedVariables(), nil
}

func zeros(values []float32) int {
	n := 0
	for _, x := range values {
		if x == 0 {
			n++
		}
	}
	return n
}

// TestPrunedWeightsStayZero: after one-shot pruning, many more steps of
// Adam and of SGD with momentum leave every pruned weight exactly 0 (the
// optimizers' state notwithstanding), and each layer at its sparsity.
func TestPrunedWeightsStayZero(t *testing.T) {
	for _, opt := range []string{"{name: adam, learning_rate: 0.01}", "{name: sgd, learning_rate: 0.1, momentum: 0.9}"} {
		t.Run(opt, func(t *testing.T) {
			store := newStore(t)
			src := base + "  - train: {epochs: 1, optimizer: " + opt + "}\n" +
				"  - prune: {schedule: oneshot, target_sparsity: 0.75, exclude: [logits]}\n" +
				"  - train: {epochs: 4, optimizer: " + opt + "}\n  - evaluate: {split: test}\n"
			res, err := runner.Run(context.Background(), mustParse(t, src), runner.Options{Store: store})
			if err != nil {
				t.Fatal(err)
			}
			w, m := weights(t, store, res.RunID)
			for _, layer := range []string{"fc1", "fc2"} {
				n := len(w[layer])
				want := int(math.Floor(0.75 * float64(n)))
				if got := n - zeros(m[layer]); got != n-want {
					t.Errorf("%s: mask keeps %d of %d, want %d", layer, got, n, n-want)
				}
				for i, x := range w[layer] {
					if m[layer][i] == 0 && x != 0 {
						t.Fatalf("%s: pruned weight %d is %g after training", layer, i, x)
					}
				}
			}
			if _, masked := m["logits"]; masked || zeros(w["logits"]) != 0 {
				t.Errorf("the excluded layer was pruned")
			}
			// fc1 is 2×32, fc2 32×16: 48 + 384 of 576 weights pruned.
			if got := res.Final["sparsity"]; got != 0.75 || res.Final["nonzero_prunable_params"] != 144 {
				t.Errorf("reported sparsity %g, %g weights left; want 0.75 and 144", got, res.Final["nonzero_prunable_params"])
			}
			// 692 parameters (576 pruned-layer weights, logits' 64, 52
			// biases): dense 4·692 bytes; sparse 4·(116 + 144) + 576/8.
			if res.Final["dense_bytes"] != 2768 || res.Final["sparse_bytes"] != 1112 {
				t.Errorf("bytes: dense %g, sparse %g; want 2768 and 1112", res.Final["dense_bytes"], res.Final["sparse_bytes"])
			}
			if res.Final["test_accuracy"] < 0.8 {
				t.Errorf("test accuracy %.3f after pruning 75%% of the hidden layers", res.Final["test_accuracy"])
			}
		})
	}
}

// TestGradualPruning: masks recomputed during training (where Adam's and
// momentum's state for a weight just pruned is not zero) still leave
// every pruned weight exactly 0 after the update, each layer at the
// target at the end, and, with scope: global, one threshold for all.
func TestGradualPruning(t *testing.T) {
	for _, c := range []struct{ name, opt, scope string }{
		{"adam", "{name: adam, learning_rate: 0.01}", "layer"},
		{"sgd momentum", "{name: sgd, learning_rate: 0.1, momentum: 0.9}", "layer"},
		{"global", "{name: adam, learning_rate: 0.01}", "global"},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := newStore(t)
			src := base + "  - prune: {target_sparsity: 0.8, begin_step: 5, end_step: 30, frequency: 5, scope: " + c.scope + "}\n" +
				"  - train: {epochs: 3, log_every: 5, optimizer: " + c.opt + "}\n  - evaluate: {split: test}\n"
			var sparsity []float64
			watch := events.SinkFunc(func(e events.Event) {
				if e.Kind == events.EpochEnded {
					sparsity = append(sparsity, e.Metrics["sparsity"])
				}
			})
			res, err := runner.Run(context.Background(), mustParse(t, src), runner.Options{Store: store, Sinks: []events.Sink{watch}})
			if err != nil {
				t.Fatal(err)
			}
			w, m := weights(t, store, res.RunID)
			total, pruned := 0, 0
			for _, layer := range []string{"fc1", "fc2", "logits"} {
				n := len(w[layer])
				total, pruned = total+n, pruned+zeros(m[layer])
				if c.scope == "layer" && zeros(m[layer]) != int(math.Floor(0.8*float64(n))) {
					t.Errorf("%s: %d of %d masked, want %d", layer, zeros(m[layer]), n, int(math.Floor(0.8*float64(n))))
				}
				for i, x := range w[layer] {
					if m[layer][i] == 0 && x != 0 {
						t.Fatalf("%s: pruned weight %d is %g", layer, i, x)
					}
				}
			}
			// FLOPs per example: 2 per weight (2·32 + 32·16 + 16·4 of them),
			// less 2 per weight at 0.
			if got, want := res.Final["nonzero_flops_per_example"], float64(2*(2*32+32*16+16*4)-2*pruned); got != want || res.Final["flops_per_example"] != 1280 {
				t.Errorf("FLOPs per example %g dense, %g nonzero; want 1280 and %g", res.Final["flops_per_example"], got, want)
			}
			if c.scope == "global" && pruned != int(math.Floor(0.8*float64(total))) {
				t.Errorf("global: %d of %d masked, want %d", pruned, total, int(math.Floor(0.8*float64(total))))
			}
			// Epochs of 15 steps: pruning from step 5 to 30 rises through the
			// first two and holds at 0.8 in the third.
			if len(sparsity) != 3 || !(sparsity[0] > 0 && sparsity[0] < sparsity[1] && math.Abs(sparsity[2]-0.8) < 0.01) {
				t.Errorf("sparsity at epoch ends %v", sparsity)
			}
		})
	}
}

// TestBadPruneKeys: mistakes are positioned errors before any work.
func TestBadPruneKeys(t *testing.T) {
	cases := map[string]string{
		"{target_sparsity: 1.0}":                              "p.yaml:7:30: target_sparsity must be in [0, 1), got 1",
		"{target_sparsity: -0.1}":                             "target_sparsity must be in [0, 1), got -0.1",
		"{target_sparsity: 0.5, exclude: [fc9]}":              `p.yaml:7:45: prune: exclude names no layer of the mlp model: "fc9" (its layers: fc1, fc2, logits)`,
		"{target_sparsity: 0.5, layers: {conv1: 0.5}}":        `prune: layers names no layer of the mlp model: "conv1"`,
		"{target_sparsity: 0.5, exclude: [fc1, fc2, logits]}": "p.yaml:7:12: prune: every layer of the mlp model is excluded",
		"{target_sparsity: 0.5, initial_sparsity: 0.6}":       "initial_sparsity 0.6 is above target_sparsity 0.5",
		"{target_sparsity: 0.5, begin_step: 10, end_step: 5}": "end_step 5 is before begin_step 10",
		"{target_sparsity: 0.5, frequency: 0}":                "frequency must be",
		"{target_sparsity: 0.5, layers: {fc1: 1.5}}":          "the sparsity of layer fc1 must be in [0, 1), got 1.5",
		"{target_sparsity: 0.5, method: taylor}":              `unknown key "method" in prune stage`,
	}
	for stage, want := range cases {
		_, err := recipe.Parse("p.yaml", []byte(base+"  - prune: "+stage+"\n  - train: {epochs: 1}\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", stage, err, want)
		}
	}
}

// TestResumeMidSchedule: a run stopped in the middle of its pruning
// schedule and resumed ends with the same masks, weights and test loss as
// one never stopped.
func TestResumeMidSchedule(t *testing.T) {
	src := base + "  - prune: {target_sparsity: 0.8, begin_step: 0, end_step: 40, frequency: 5}\n" +
		"  - train: {epochs: 3, log_every: 5, checkpoint_every: 5}\n  - evaluate: {split: test}\n"
	run := func(stopAt int) (*runs.Store, *runner.Result) {
		store := newStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stop := events.SinkFunc(func(e events.Event) {
			if stopAt > 0 && e.Kind == events.Step && e.StageStep >= stopAt {
				cancel()
			}
		})
		res, err := runner.Run(ctx, mustParse(t, src), runner.Options{Store: store, Sinks: []events.Sink{stop}})
		if stopAt == 0 {
			if err != nil {
				t.Fatal(err)
			}
			return store, res
		}
		if err != runner.ErrStopped {
			t.Fatalf("stopping: %v", err)
		}
		res, err = runner.Resume(context.Background(), store, res.RunID, runner.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return store, res
	}
	wholeStore, whole := run(0)
	resumedStore, resumed := run(22) // mid-schedule, mid-epoch
	if math.Abs(whole.Final["test_loss"]-resumed.Final["test_loss"]) > 1e-6 {
		t.Errorf("test loss %.9g resumed, %.9g uninterrupted", resumed.Final["test_loss"], whole.Final["test_loss"])
	}
	w1, m1 := weights(t, wholeStore, whole.RunID)
	w2, m2 := weights(t, resumedStore, resumed.RunID)
	for layer := range m1 {
		for i := range m1[layer] {
			if m1[layer][i] != m2[layer][i] || math.Abs(float64(w1[layer][i]-w2[layer][i])) > 1e-6 {
				t.Fatalf("%s[%d]: mask %g weight %g resumed; mask %g weight %g uninterrupted", layer, i, m2[layer][i], w2[layer][i], m1[layer][i], w1[layer][i])
			}
		}
	}
}

// TestStructuredStage: a recipe removes half the neurons of each hidden
// layer, fine-tunes and evaluates the smaller model; the stage reports the
// sizes, FLOPs and latency, and a resumed run rebuilds the small model.
func TestStructuredStage(t *testing.T) {
	store := newStore(t)
	src := base + "  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 0.01}}\n" +
		"  - prune: {structure: channels, target_sparsity: 0.5}\n" +
		"  - evaluate: {split: test}\n" +
		"  - train: {epochs: 2, checkpoint_every: 5, optimizer: {name: adam, learning_rate: 0.01}}\n  - evaluate: {split: test}\n"
	rec := mustParse(t, src)
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Stages[1].Metrics
	// blobs: 2 features, 4 classes; hidden 32 and 16 become 16 and 8.
	before, after := float64(2*32+32+32*16+16+16*4+4), float64(2*16+16+16*8+8+8*4+4)
	want := map[string]float64{"params_before": before, "params_after": after, "channels_removed": 24,
		"flops_before": 2 * (2*32 + 32*16 + 16*4), "flops_after": 2 * (2*16 + 16*8 + 8*4), "width/fc1": 16, "width/fc2": 8}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %g, want %g", k, got[k], v)
		}
	}
	if got["rebuild_max_diff"] > 1e-5 || !(got["latency_before_ms"] > 0 && got["latency_after_ms"] > 0) {
		t.Errorf("rebuild diff %g, latencies %g → %g ms", got["rebuild_max_diff"], got["latency_before_ms"], got["latency_after_ms"])
	}
	if acc := res.Final["test_accuracy"]; acc < 0.95 {
		t.Errorf("test accuracy after fine-tuning the smaller model: %g", acc)
	}
	checkHalvedWeights(t, store, res.RunID)

	// Stopped in the fine-tune and resumed: the same end as uninterrupted.
	store2, first := runStopped(t, src, 3, 8)
	checkResumedLikeWhole(t, store2, first.RunID, res)
}

// TestGradualStructuredStage: channels go on Zhu & Gupta's schedule while
// training goes on, silenced channels stay exactly 0 through Adam's
// updates, and when the train stage in which the schedule ends is over the
// model is rebuilt smaller, agreeing with the masked one; a run stopped
// mid-schedule and resumed ends the same.
func TestGradualStructuredStage(t *testing.T) {
	// Epochs of 15 steps; the schedule runs from step 0 to 20 of the 30.
	src := base + "  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}\n" +
		"  - prune: {structure: channels, schedule: gradual, target_sparsity: 0.5, begin_step: 0, end_step: 20, frequency: 5}\n" +
		"  - train: {epochs: 2, log_every: 1, checkpoint_every: 1, optimizer: {name: adam, learning_rate: 0.01}}\n  - evaluate: {split: test}\n"
	store := newStore(t)
	var seen []float64
	watch := events.SinkFunc(func(e events.Event) {
		if s, ok := e.Metrics["channel_sparsity"]; ok && e.Kind == events.Step && (len(seen) == 0 || seen[len(seen)-1] != s) {
			seen = append(seen, s)
		}
	})
	res, err := runner.Run(context.Background(), mustParse(t, src), runner.Options{Store: store, Sinks: []events.Sink{watch}})
	if err != nil {
		t.Fatal(err)
	}
	// Zhu & Gupta at steps 0, 5, 10, 15, 20 with s_f = 0.5, exponent 3:
	// 0.5·(1 − (1 − t/20)³) = 0, 0.2890625, 0.4375, 0.4921875, 0.5, of
	// 32 and 16 neurons rounded: 0+0, 9+5, 14+7, 16+8, 16+8 of 48.
	want := []float64{0, 14.0 / 48, 21.0 / 48, 24.0 / 48}
	if len(seen) != len(want) {
		t.Fatalf("channel sparsity went through %v, want %v", seen, want)
	}
	for i := range want {
		if math.Abs(seen[i]-want[i]) > 1e-9 {
			t.Errorf("point %d: channel sparsity %g, want %g", i, seen[i], want[i])
		}
	}
	got := res.Stages[2].Metrics
	before, after := float64(2*32+32+32*16+16+16*4+4), float64(2*16+16+16*8+8+8*4+4)
	for k, v := range map[string]float64{"params_before": before, "params_after": after, "params": after, "channels_removed": 24, "width/fc1": 16, "width/fc2": 8} {
		if got[k] != v {
			t.Errorf("%s = %g, want %g", k, got[k], v)
		}
	}
	if got["rebuild_max_diff"] > 1e-5 || !(got["latency_speedup"] > 0) || !(got["runtime_speedup"] > 0) || !(got["runtime_after_ms"] > 0) {
		t.Errorf("rebuild diff %g, latency speed-up %g, runtime speed-up %g (%g ms after)", got["rebuild_max_diff"], got["latency_speedup"], got["runtime_speedup"], got["runtime_after_ms"])
	}
	if acc := res.Final["test_accuracy"]; acc < 0.95 {
		t.Errorf("test accuracy of the gradually pruned model: %g", acc)
	}
	checkHalvedWeights(t, store, res.RunID)

	// Stopped at step 18 of the schedule (3 updates after the masks last
	// changed): every silenced neuron's weights and bias are exactly 0.
	store2, first := runStopped(t, src, 2, 18)
	checkSilenced(t, store2, first.RunID, map[string]int{"fc1": 16, "fc2": 8})
	checkResumedLikeWhole(t, store2, first.RunID, res)
}

// TestGradualStructuredAtZero: a dense baseline written as the same
// stage at sparsity 0 trains and evaluates the model unchanged.
func TestGradualStructuredAtZero(t *testing.T) {
	src := base + "  - prune: {structure: channels, schedule: gradual, target_sparsity: 0, end_step: 10}\n" +
		"  - train: {epochs: 1}\n  - evaluate: {split: test}\n  - train: {epochs: 1}\n"
	res, err := runner.Run(context.Background(), mustParse(t, src), runner.Options{Store: newStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Stages[1].Metrics; got["channels_removed"] != 0 || got["params"] != 2*32+32+32*16+16+16*4+4 {
		t.Errorf("train stage results %v", got)
	}
}

// checkSilenced checks, in a run's newest checkpoint, that each layer's
// channel mask silences silenced of its neurons and that their weights
// and biases are exactly 0 while the others' are not all 0.
func checkSilenced(t *testing.T, store *runs.Store, id string, silenced map[string]int) {
	t.Helper()
	loaded, err := loadCheckpoint(gomlxctx.New(), store.CheckpointDir(id))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]float32{}
	for name, v := range loaded {
		if scope, leaf := gomlxctx.VariableScopeAndNameFromParameterName(name); strings.HasPrefix(scope, "/mlp/") {
			values[strings.TrimPrefix(scope, "/mlp/")+"/"+leaf] = tensors.MustCopyFlatData[float32](v)
		}
	}
	for layer, n := range silenced {
		mask, w, b := values[layer+"/channel_mask"], values[layer+"/weights"], values[layer+"/biases"]
		if zeros(mask) != n || len(b) != len(mask) || len(w)%len(mask) != 0 {
			t.Fatalf("%s: mask %v (want %d zeros), %d weights, %d biases", layer, mask, n, len(w), len(b))
		}
		width := len(mask)
		for c, m := range mask {
			column := 0
			for i := c; i < len(w); i += width {
				if w[i] != 0 {
					column++
				}
			}
			if m == 0 && (column > 0 || b[c] != 0) {
				t.Errorf("%s: silenced neuron %d has %d weights off 0, bias %g", layer, c, column, b[c])
			}
			if m == 1 && column == 0 {
				t.Errorf("%s: kept neuron %d has every weight at 0", layer, c)
			}
		}
	}
}

// TestBadStructuredKeys: structured pruning's mistakes are positioned
// errors before any work, removing every channel of a layer included —
// also when an earlier structured stage leaves too few.
func TestBadStructuredKeys(t *testing.T) {
	train := "  - train: {epochs: 1}\n"
	cases := map[string]string{
		train + "  - prune: {structure: channels, target_sparsity: 0.99}\n":                                                                     "p.yaml:8:12: prune: structured pruning at 0.99 would remove every one of fc1's 32 channels",
		train + "  - prune: {structure: channels, target_sparsity: 0.5, layers: {fc2: 0.97}}\n":                                                 "p.yaml:8:65: prune: structured pruning at 0.97 would remove every one of fc2's 16 channels",
		train + "  - prune: {structure: channels, target_sparsity: 0.9}\n" + train + "  - prune: {structure: channels, target_sparsity: 0.8}\n": "p.yaml:10:12: prune: structured pruning at 0.8 would remove every one of fc2's 2 channels",
		train + "  - prune: {structure: channels, target_sparsity: 0.5, end_step: 100}\n":                                                       "p.yaml:8:56: prune: end_step does not apply to structure: channels",
		train + "  - prune: {structure: channels, target_sparsity: 0.5, scope: global}\n":                                                       "scope: global applies to weights",
		train + "  - prune: {structure: channels, target_sparsity: 0.5, layers: {logits: 0.5}}\n":                                               "the logits layer's outputs are the classes",
		"  - prune: {structure: channels, target_sparsity: 0.5}\n":                                                                              "p.yaml:7:12: prune: pruning at once needs trained weights",
		train + "  - prune: {structure: channels, schedule: gradual, target_sparsity: 0.5, end_step: 100}\n":                                    "p.yaml:8:75: prune: the schedule ends at step 100, but the training after it takes 15 steps",
		train + "  - prune: {structure: channels, schedule: gradual, target_sparsity: 0.5, end_step: 10}\n  - prune: {target_sparsity: 0.5}\n":  "p.yaml:8:12: prune: schedule: gradual removes channels during training: put a train stage between it and the prune stage after it",
		train + "  - prune: {target_sparsity: 0.5, rounds: 4}\n":                                                                                "p.yaml:8:35: prune: rounds applies to schedule: iterative",
		train + "  - prune: {target_sparsity: 0.5, taylor_batches: 4}\n":                                                                        "taylor_batches applies to criterion: taylor",
		train + "  - prune: {target_sparsity: 0.5, schedule: iterative, rounds: 4, end_step: 2}\n":                                              "4 rounds of iterative pruning need end_step at least 3 steps after begin_step",
		train + "  - prune: {target_sparsity: 0.5, criterion: han, scope: layer}\n":                                                             "p.yaml:8:51: prune: criterion: han sets one quality parameter for every layer",
		train + "  - prune: {target_sparsity: 0.5, relative_quality: {conv: 0.3}}\n":                                                            "p.yaml:8:35: prune: relative_quality applies to criterion: han",
		train + "  - prune: {structure: channels, target_sparsity: 0.5, criterion: han}\n":                                                      "criterion: han ranks weights",
		train + "  - prune: {target_sparsity: 0.5, criterion: han, relative_quality: {pool: 1}}\n":                                              `relative_quality names no layer of the mlp model: "pool"`,
	}
	for stages, want := range cases {
		_, err := recipe.Parse("p.yaml", []byte(base+stages+"  - train: {epochs: 1}\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", stages, err, want)
		}
	}
}

// TestChannelScheduleMayEndOnTheLastStep: a schedule ending on the last
// step of the training after it (15 steps of blobs) is accepted; one step
// later is not.
func TestChannelScheduleMayEndOnTheLastStep(t *testing.T) {
	for end, ok := range map[string]bool{"15": true, "16": false} {
		src := base + "  - prune: {structure: channels, schedule: gradual, target_sparsity: 0.5, end_step: " + end + "}\n  - train: {epochs: 1}\n"
		if _, err := recipe.Parse("p.yaml", []byte(src)); (err == nil) != ok {
			t.Errorf("end_step %s: %v", end, err)
		}
	}
}

// TestIterativeSchedule: geometric rounds, by hand: 3 rounds to 0.875
// at steps 10, 20, 30 leave 1−0.125^(k/3) = 0.5, 0.75, 0.875.
func TestIterativeSchedule(t *testing.T) {
	s := prune.Schedule{Target: 0.875, Begin: 10, End: 30, Rounds: 3}
	for step, want := range map[int]struct {
		s     float64
		prune bool
	}{0: {0, false}, 9: {0, false}, 10: {0.5, true}, 15: {0.5, false}, 20: {0.75, true}, 29: {0.75, false}, 30: {0.875, true}, 100: {0.875, false}} {
		got, p := s.At(step)
		if math.Abs(got-want.s) > 1e-12 || p != want.prune {
			t.Errorf("step %d: %g %v, want %g %v", step, got, p, want.s, want.prune)
		}
	}
}

// TestTaylorCriterion: gradient×weight scores drive one-shot pruning of
// weights and then of channels; the masks survive the channel cut.
func TestTaylorCriterion(t *testing.T) {
	store := newStore(t)
	src := base + "  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}\n" +
		"  - prune: {schedule: oneshot, target_sparsity: 0.5, criterion: taylor, taylor_batches: 4, exclude: [logits]}\n" +
		"  - prune: {structure: channels, target_sparsity: 0.25, criterion: taylor}\n" +
		"  - train: {epochs: 1}\n"
	res, err := runner.Run(context.Background(), mustParse(t, src), runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Stages[1].Metrics["sparsity"]; math.Abs(got-0.5) > 0.01 {
		t.Errorf("sparsity after taylor pruning %g, want 0.5", got)
	}
	if w := res.Stages[2].Metrics; w["width/fc1"] != 24 || w["width/fc2"] != 12 {
		t.Errorf("widths after removing a quarter: fc1 %g, fc2 %g; want 24, 12", w["width/fc1"], w["width/fc2"])
	}
	weights, masks := weights(t, store, res.RunID)
	if len(masks["fc1"]) != 2*24 || len(weights["fc2"]) != 24*12 {
		t.Errorf("fc1 mask %d values, fc2 weights %d", len(masks["fc1"]), len(weights["fc2"]))
	}
}

// TestIterativeStage: three rounds over the training that follows leave
// every layer at the target, having passed 1−(1−s)^(1/3) and ^(2/3).
func TestIterativeStage(t *testing.T) {
	store := newStore(t)
	src := base + "  - prune: {schedule: iterative, rounds: 3, target_sparsity: 0.875, begin_step: 0, end_step: 20}\n" +
		"  - train: {epochs: 2, log_every: 1, optimizer: {name: adam, learning_rate: 0.01}}\n"
	var seen []float64
	watch := events.SinkFunc(func(e events.Event) {
		if s, ok := e.Metrics["sparsity"]; ok && e.Kind == events.Step && (len(seen) == 0 || seen[len(seen)-1] != s) {
			seen = append(seen, s)
		}
	})
	res, err := runner.Run(context.Background(), mustParse(t, src), runner.Options{Store: store, Sinks: []events.Sink{watch}})
	if err != nil {
		t.Fatal(err)
	}
	// Rounds at steps 0, 10 and 20: 0.5, 0.75, 0.875 of each layer.
	want := []float64{0.5, 0.75, 0.875}
	if len(seen) != 3 {
		t.Fatalf("sparsity went through %v, want about %v", seen, want)
	}
	for i := range want {
		if math.Abs(seen[i]-want[i]) > 0.01 {
			t.Errorf("round %d: sparsity %g, want %g", i+1, seen[i], want[i])
		}
	}
	w, m := weights(t, store, res.RunID)
	for layer, mask := range m {
		if zeros(mask) != int(math.Floor(0.875*float64(len(mask)))) || zeros(w[layer]) < zeros(mask) {
			t.Errorf("%s: %d of %d masked, %d weights at 0", layer, zeros(mask), len(mask), zeros(w[layer]))
		}
	}
}

// checkHalvedWeights checks that a run's newest checkpoint holds the blobs
// MLP with half its neurons (hidden 32 and 16 become 16 and 8).
func checkHalvedWeights(t *testing.T, store *runs.Store, id string) {
	t.Helper()
	w, _ := weights(t, store, id)
	if len(w["fc1"]) != 2*16 || len(w["fc2"]) != 16*8 || len(w["logits"]) != 8*4 {
		t.Errorf("checkpointed weights: fc1 %d, fc2 %d, logits %d", len(w["fc1"]), len(w["fc2"]), len(w["logits"]))
	}
}

// checkResumedLikeWhole resumes a stopped run and checks that it ends with
// the test loss of the run never stopped.
func checkResumedLikeWhole(t *testing.T, store *runs.Store, id string, whole *runner.Result) {
	t.Helper()
	resumed, err := runner.Resume(context.Background(), store, id, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(resumed.Final["test_loss"]-whole.Final["test_loss"]) > 1e-6 {
		t.Errorf("test loss %.9g resumed, %.9g uninterrupted", resumed.Final["test_loss"], whole.Final["test_loss"])
	}
}

// runStopped runs the recipe src in a new store, stopped (as ctrl-c
// does) once stage index stage has taken step steps.
func runStopped(t *testing.T, src string, stage, step int) (*runs.Store, *runner.Result) {
	t.Helper()
	store := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Step && e.StageIndex == stage && e.StageStep >= step {
			cancel()
		}
	})
	res, err := runner.Run(ctx, mustParse(t, src), runner.Options{Store: store, Sinks: []events.Sink{stop}})
	if err != runner.ErrStopped {
		t.Fatalf("stopping: %v", err)
	}
	return store, res
}

// newStore opens a run store in a temporary folder, closed with the test.
func newStore(t *testing.T) *runs.Store {
	t.Helper()
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// TestScheduleInEpochs: begin_epoch, end_epoch and frequency_epochs are
// steps of the recipe's batch size — (600 − 100) / 32 = 15 steps an
// epoch, 31 at batch 16 — so a schedule keeps its place in the training
// when the batch size changes; giving a point in both units, or in epochs
// for data counted only when it loads, is an error at the key.
func TestScheduleInEpochs(t *testing.T) {
	stage := "  - prune: {target_sparsity: 0.5, begin_epoch: 0.2, end_epoch: 0.8, frequency_epochs: 0.2}\n  - train: {epochs: 1}\n"
	for batch, want := range map[string]prune.Schedule{
		"32": {Begin: 3, End: 12, Frequency: 3}, // 0.2·15, 0.8·15, 0.2·15
		"16": {Begin: 6, End: 25, Frequency: 6}, // 0.2·31 = 6.2, 0.8·31 = 24.8
		"64": {Begin: 1, End: 6, Frequency: 1},  // 7 steps: 1.4, 5.6, 1.4
	} {
		src := strings.Replace(base, "batch_size: 32", "batch_size: "+batch, 1) + "  - train: {epochs: 1}\n" + stage
		rec := mustParse(t, src)
		got := rec.Stages[1].Settings.(*prune.Stage).Schedule
		if got.Begin != want.Begin || got.End != want.End || got.Frequency != want.Frequency {
			t.Errorf("batch %s: begin %d end %d frequency %d, want %d %d %d", batch, got.Begin, got.End, got.Frequency, want.Begin, want.End, want.Frequency)
		}
	}
	for src, want := range map[string]string{
		base + "  - train: {epochs: 1}\n  - prune: {target_sparsity: 0.5, end_epoch: 0.5, end_step: 4}\n  - train: {epochs: 1}\n": "prune: give end_epoch or end_step, not both",
		base + "  - train: {epochs: 1}\n  - prune: {target_sparsity: 0.5, end_epoch: 2}\n  - train: {epochs: 1}\n":                "p.yaml:8:35: prune: the schedule ends at step 30, but the training after it takes 15 steps",
		base + "  - train: {epochs: 1}\n  - prune: {target_sparsity: 0.5, begin_epoch: -1}\n  - train: {epochs: 1}\n":             "begin_epoch must be 0 or more",
	} {
		if _, err := recipe.Parse("p.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
	folder := strings.Replace(base, "{dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 200}",
		"{dataset: imagefolder, dir: /nowhere, size: [8, 8], channels: 1}", 1)
	_, err := recipe.Parse("p.yaml", []byte(folder+"  - train: {epochs: 1}\n  - prune: {target_sparsity: 0.5, end_epoch: 0.5}\n  - train: {epochs: 1}\n"))
	if err == nil || !strings.Contains(err.Error(), "end_epoch needs a dataset whose size the recipe knows") {
		t.Errorf("image folder: %v", err)
	}
}

// TestRandomCriterion: the control criterion reaches the sparsity asked
// for, gradually as at once, and removes other weights than magnitude
// does: at 50% of fc1, by chance about half the weights magnitude keeps.
func TestRandomCriterion(t *testing.T) {
	train := "  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}\n"
	run := func(criterion string) map[string][]float32 {
		store := newStore(t)
		src := base + train + "  - prune: {target_sparsity: 0.5, criterion: " + criterion + ", end_step: 10, frequency: 2, exclude: [logits]}\n" + train +
			"  - prune: {structure: channels, target_sparsity: 0.25, criterion: " + criterion + "}\n" + train
		res, err := runner.Run(context.Background(), mustParse(t, src), runner.Options{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Stages[2].Metrics["sparsity"]; math.Abs(got-0.5) > 0.01 {
			t.Errorf("%s: sparsity %g after the gradual schedule, want 0.5", criterion, got)
		}
		if w := res.Stages[3].Metrics; w["width/fc1"] != 24 || w["width/fc2"] != 12 {
			t.Errorf("%s: widths fc1 %g, fc2 %g; want 24, 12", criterion, w["width/fc1"], w["width/fc2"])
		}
		_, masks := weights(t, store, res.RunID)
		return masks
	}
	random, magnitude := run("random")["fc2"], run("l1")["fc2"]
	if len(random) != len(magnitude) {
		t.Fatalf("fc2 masks of %d and %d values", len(random), len(magnitude))
	}
	same, kept := 0, 0
	for i := range random {
		if magnitude[i] == 1 {
			kept++
			if random[i] == 1 {
				same++
			}
		}
	}
	if f := float64(same) / float64(kept); f < 0.3 || f > 0.7 {
		t.Errorf("random pruning kept %.2f of the weights magnitude kept in fc2: want about half", f)
	}
}

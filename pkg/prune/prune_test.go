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
	for name, v := range loaded {
		scope, leaf, _ := strings.Cut(strings.TrimPrefix(name, "/mlp/"), "/")
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
			store, err := runs.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
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
			store, err := runs.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
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
		store, err := runs.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
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

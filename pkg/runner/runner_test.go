package runner

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

func init() {
	// Tests run on the pure-Go backend whatever the machine has.
	os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
}

func mustParse(t *testing.T, src string) *recipe.Recipe {
	t.Helper()
	r, err := recipe.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func openStore(t *testing.T) *runs.Store {
	t.Helper()
	s, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const blobsRecipe = `name: blobs-test
seed: 3
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 200}
model: {arch: mlp, hidden: [16]}
stages:
  - evaluate: {split: test}
  - train: {epochs: 3, optimizer: {name: adam, learning_rate: 0.01}, schedule: {name: step, step_size: 15, gamma: 0.5}, log_every: 5}
  - evaluate: {split: test}
`

// TestRunRecordsEverything trains on synthetic blobs and checks what the
// store and the event stream hold afterwards.
func TestRunRecordsEverything(t *testing.T) {
	store := openStore(t)
	var kinds []events.Kind
	var steps int
	sink := events.SinkFunc(func(e events.Event) {
		kinds = append(kinds, e.Kind)
		if e.Kind == events.Step {
			steps++
			if e.Metrics["samples_per_s"] < 0 || e.Total == 0 {
				t.Errorf("step event without throughput or total: %+v", e)
			}
		}
	})
	res, err := Run(context.Background(), mustParse(t, blobsRecipe), Options{Store: store, Sinks: []events.Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != runs.Finished || res.Backend != "go" {
		t.Fatalf("result %+v", res)
	}
	before, after := res.Stages[0].Metrics["test_accuracy"], res.Final["test_accuracy"]
	// Gaussian blobs are separable: training must lift accuracy well above chance.
	if after < 0.9 || after <= before {
		t.Errorf("test accuracy before %.3f, after %.3f; want > 0.9 and an improvement", before, after)
	}
	tr := res.Stages[1].Metrics
	if tr["steps"] != 3*15 || tr["samples_per_s"] <= 0 || tr["ms_per_step"] <= 0 || tr["params"] != 2*16+16+16*4+4 {
		t.Errorf("train stage metrics %v", tr)
	}
	if steps != 9 {
		t.Errorf("%d step events, want 9 (45 steps, every 5)", steps)
	}
	if kinds[0] != events.RunStarted || kinds[len(kinds)-1] != events.RunFinished {
		t.Errorf("event order %v", kinds)
	}

	run, err := store.Get(res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != runs.Finished || run.Params["model.arch"] != "mlp" || len(run.Stages) != 3 ||
		run.Final["test_accuracy"] != after || !strings.Contains(run.Recipe, "blobs-test") {
		t.Errorf("stored run %+v", run)
	}
	if run.Stages[1].PlannedSteps != 45 {
		t.Errorf("train stage planned steps %d, want 45", run.Stages[1].PlannedSteps)
	}
	loss, err := store.Series(res.RunID, "loss")
	if err != nil || len(loss) != 9 {
		t.Errorf("loss series: %d points, err %v", len(loss), err)
	}
	// The step schedule halves the rate every 15 steps: the 45th step (index 44) uses 0.01·0.5².
	lr, _ := store.Series(res.RunID, "learning_rate")
	if len(lr) != 9 || math.Abs(lr[0].Value-0.01) > 1e-9 || math.Abs(lr[8].Value-0.0025) > 1e-9 {
		t.Errorf("learning_rate series %v, want 0.01 … 0.0025", lr)
	}
	val, _ := store.Series(res.RunID, "validation_accuracy")
	if len(val) != 3 {
		t.Errorf("validation_accuracy series has %d points, want one per epoch (3)", len(val))
	}
	if files, _ := filepath.Glob(filepath.Join(store.CheckpointDir(res.RunID), "checkpoint-*")); len(files) == 0 {
		t.Errorf("no checkpoint written in %s", store.CheckpointDir(res.RunID))
	}
}

// TestRunFailuresLeaveAFailedRecord: data that does not load — files
// missing, or one that does not decode — is a one-line error found before
// the run is recorded, so it leaves no run behind (a run that fails later,
// as a diverged one, leaves a failed record: TestDivergedRunFailsClearly).
func TestRunFailuresLeaveAFailedRecord(t *testing.T) {
	empty := t.TempDir()
	truncated := t.TempDir()
	writeTruncatedIDX(t, truncated)
	cases := []struct {
		name, src, want string
		recorded        bool
	}{
		{"missing dataset", strings.Replace(blobsRecipe, "dataset: blobs,", "dataset: cifar10, dir: "+empty+",", 1), empty, false},
		{"truncated IDX", strings.Replace(blobsRecipe, "dataset: blobs,", "dataset: mnist, dir: "+truncated+",", 1), "train-images-idx3-ubyte", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := openStore(t)
			res, err := Run(context.Background(), mustParse(t, c.src), Options{Store: store})
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want one line mentioning %q", err, c.want)
			}
			list, _ := store.List()
			if !c.recorded {
				if len(list) != 0 || res != nil {
					t.Errorf("store holds %d runs; want none for a problem found before the run", len(list))
				}
				return
			}
			if len(list) != 1 || list[0].Status != runs.Failed || list[0].Error != err.Error() || res.Status != runs.Failed {
				t.Errorf("store holds %d runs (%+v); want one failed run with the error", len(list), list)
			}
			if _, statErr := os.Stat(store.CheckpointDir(res.RunID)); statErr == nil {
				t.Errorf("a failed run wrote a checkpoint")
			}
		})
	}
}

// TestConvNetTrainsOnPureGo: LeNet-5 learns the synthetic shapes on the
// pure-Go backend (portable convolution and pooling).
func TestConvNetTrainsOnPureGo(t *testing.T) {
	src := strings.Replace(strings.Replace(blobsRecipe, "dataset: blobs", "dataset: synthetic-images", 1),
		"{arch: mlp, hidden: [16]}", "{arch: lenet5}", 1)
	// Adam at 0.01 (blobsRecipe's rate) leaves LeNet-5 dead from some
	// initial weights, and the weights a seed draws differ between the Go
	// backends (their random bit streams differ): 0.002 over 6 epochs learns
	// from either (93–94% on both, measured).
	src = strings.Replace(strings.Replace(src, "epochs: 3", "epochs: 6", 1), "learning_rate: 0.01", "learning_rate: 0.002", 1)
	res, err := Run(context.Background(), mustParse(t, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Four shapes: chance is 0.25. A broken gradient stays near it.
	before, after := res.Stages[0].Metrics["test_accuracy"], res.Final["test_accuracy"]
	if after < 0.75 || after-before < 0.4 {
		t.Errorf("LeNet-5 on synthetic shapes: test accuracy %.3f before training, %.3f after; want ≥ 0.75 and a gain ≥ 0.4", before, after)
	}
}

// writeTruncatedIDX writes MNIST-named files whose image file promises 60000
// images but holds a few bytes.
func writeTruncatedIDX(t *testing.T, dir string) {
	header := []byte{0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3}
	labels := []byte{0, 0, 8, 1, 0, 0, 0xea, 0x60, 1}
	for name, b := range map[string][]byte{
		"train-images-idx3-ubyte": header, "train-labels-idx1-ubyte": labels,
		"t10k-images-idx3-ubyte": header, "t10k-labels-idx1-ubyte": labels,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	stopAfter := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Step && e.StageStep >= 10 {
			cancel()
		}
	})
	src := strings.Replace(blobsRecipe, "epochs: 3", "epochs: 50", 1)
	res, err := Run(ctx, mustParse(t, src), Options{Store: store, Sinks: []events.Sink{stopAfter}})
	if err != ErrStopped || res.Status != runs.Stopped {
		t.Fatalf("got %v / %v, want ErrStopped", err, res.Status)
	}
	run, _ := store.Get(res.RunID)
	if run.Status != runs.Stopped {
		t.Errorf("stored status %s", run.Status)
	}
	if files, _ := filepath.Glob(filepath.Join(store.CheckpointDir(res.RunID), "checkpoint-*")); len(files) == 0 {
		t.Errorf("a stopped run must leave a checkpoint")
	}
}

// TestDevices: on a one-device backend `devices: all` trains as a single
// replica and says so; asking for more devices than exist is an error.
func TestDevices(t *testing.T) {
	src := strings.Replace(blobsRecipe, "log_every: 5}", "log_every: 5, devices: all}", 1)
	var logs []string
	sink := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Log {
			logs = append(logs, e.Message)
		}
	})
	if _, err := Run(context.Background(), mustParse(t, src), Options{Sinks: []events.Sink{sink}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "has 1 device; training as a single replica") {
		t.Errorf("no single-replica notice in %q", logs)
	}
	src = strings.Replace(blobsRecipe, "log_every: 5}", "log_every: 5, devices: 4}", 1)
	_, err := Run(context.Background(), mustParse(t, src), Options{})
	if err == nil || !strings.Contains(err.Error(), "devices: 4 requested, the go backend has 1") {
		t.Errorf("4 devices on a 1-device backend: %v", err)
	}
}

// TestResumeMatchesUninterrupted stops a run in the middle of an epoch,
// resumes it from its checkpoint, and gets the test loss of a run that was
// never stopped: same weights, optimizer state, schedule step and data order.
func TestResumeMatchesUninterrupted(t *testing.T) {
	whole, err := Run(context.Background(), mustParse(t, blobsRecipe), Options{Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}

	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	stopMidEpoch := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Step && e.StageStep >= 20 { // epoch 2 of 15-step epochs
			cancel()
		}
	})
	stopped, err := Run(ctx, mustParse(t, blobsRecipe), Options{Store: store, Sinks: []events.Sink{stopMidEpoch}})
	if err != ErrStopped {
		t.Fatalf("first part: %v", err)
	}
	firstStep := 0
	seeFirstStep := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Step && firstStep == 0 {
			firstStep = e.StageStep
		}
	})
	res, err := Resume(context.Background(), store, stopped.RunID, Options{Sinks: []events.Sink{seeFirstStep}})
	if err != nil {
		t.Fatal(err)
	}
	// It continued, not restarted: the first step it reports is past the checkpoint (step 20).
	if firstStep != 25 {
		t.Errorf("the resumed run first reported stage step %d, want 25", firstStep)
	}
	if res.RunID != stopped.RunID || res.Status != runs.Finished {
		t.Fatalf("resumed %+v", res)
	}
	if res.Final["params"] != whole.Final["params"] {
		t.Errorf("resumed run counts %g parameters, uninterrupted %g (optimizer state must stay non-trainable)", res.Final["params"], whole.Final["params"])
	}
	got, want := res.Final["test_loss"], whole.Final["test_loss"]
	if math.Abs(got-want) > 1e-6*math.Abs(want) {
		t.Errorf("test loss after resuming %.9g, uninterrupted %.9g", got, want)
	}
	run, _ := store.Get(res.RunID)
	if run.Status != runs.Finished || len(run.Stages) != 3 {
		t.Errorf("stored run %s with %d stages", run.Status, len(run.Stages))
	}
	if loss, _ := store.Series(res.RunID, "loss"); len(loss) != 9 {
		t.Errorf("loss series has %d points after resuming, want 9 (no step recorded twice)", len(loss))
	}
	if _, err := Resume(context.Background(), store, res.RunID, Options{}); err == nil {
		t.Errorf("resuming a finished run: want an error")
	}
}

// TestAugmentedTraining: a train stage with augment still learns the
// synthetic shapes (the jitter moves them, not their class); a recipe
// augmenting points, or with a bad augment key, is a positioned error.
func TestAugmentedTraining(t *testing.T) {
	src := strings.Replace(strings.Replace(blobsRecipe, "dataset: blobs", "dataset: synthetic-images", 1),
		"{arch: mlp, hidden: [16]}", "{arch: lenet5}", 1)
	src = strings.Replace(strings.Replace(src, "epochs: 3", "epochs: 6, augment: {shift: 2, flip: true}", 1), "learning_rate: 0.01", "learning_rate: 0.002", 1)
	var lines []string
	sink := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Log {
			lines = append(lines, e.Message)
		}
	})
	res, err := Run(context.Background(), mustParse(t, src), Options{Sinks: []events.Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	if after := res.Final["test_accuracy"]; after < 0.75 {
		t.Errorf("LeNet-5 on jittered synthetic shapes: test accuracy %.3f, want ≥ 0.75", after)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "augmented: shift ±2 px, horizontal flip") {
		t.Errorf("the log does not say the training was augmented:\n%s", strings.Join(lines, "\n"))
	}

	for bad, want := range map[string]string{
		"augment: {flip: true}": "augment shifts and mirrors images; the blobs dataset holds points",
		"augment: {shift: -1}":  "augment.shift",
		"augment: {shift: 40}":  "at most 16",
		"augment: {rotate: 5}":  `unknown key "rotate"`,
		"augment: {flip: 1.5}":  "augment.flip",
	} {
		_, err := recipe.Parse("a.yaml", []byte(strings.Replace(blobsRecipe, "epochs: 3", "epochs: 1, "+bad, 1)))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "a.yaml:") {
			t.Errorf("%s: %v, want a positioned error with %q", bad, err, want)
		}
	}
}

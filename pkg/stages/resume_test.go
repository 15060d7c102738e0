package stages_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	_ "github.com/lathe-ml/lathe/pkg/stages"
)

func init() { os.Setenv("GOMLX_NO_AUTO_INSTALL", "1") }

const blobs = `name: resume-test
seed: 5
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 600, test_size: 200}
model: {arch: mlp, hidden: [32, 16]}
stages:
  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}
`

// after is the train stage that follows the stage under test in each
// case: 3 epochs of 15 steps, checkpointed every 5.
const after = "  - train: {epochs: 3, checkpoint_every: 5, log_every: 5, optimizer: {name: adam, learning_rate: 0.01}}\n"

// sessionCases put each kind that changes the session (recipe.OnSession)
// after a first train stage, then a train stage and files.
var sessionCases = map[string]string{
	"prune gradual":            "  - prune: {target_sparsity: 0.7, begin_step: 0, end_step: 30, frequency: 5}\n" + after,
	"prune one-shot":           "  - prune: {target_sparsity: 0.5, schedule: oneshot}\n" + after,
	"prune channels":           "  - prune: {structure: channels, target_sparsity: 0.5}\n" + after,
	"prune channels gradually": "  - prune: {structure: channels, schedule: gradual, target_sparsity: 0.5, begin_step: 0, end_step: 30, frequency: 5}\n" + after,
	"prune by sensitivity":     "  - sensitivity: {sparsities: [0.5, 0.8], target_sparsity: 0.6}\n  - prune: {target_sparsity: 0.6, schedule: oneshot, layers: sensitivity}\n" + after,
	"quantize qat":             "  - quantize: {mode: qat}\n" + after,
	"distill (student)":        "  - distill: {teacher: {stage: 1}, student: {arch: mlp, hidden: [8]}, epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}\n" + after,
}

const tail = "  - export: {name: final}\n  - quantize: {mode: ptq, name: final.int8, calibration_batches: 2}\n  - evaluate: {split: test}\n"

// TestEveryKindResumesLikeAnUninterruptedRun: a run stopped right after a
// stage that changes the session, or in the middle of the train stage
// after it, and resumed ends with the same metrics, bit-identical weights
// and the same model files as a run never stopped. Before effects were
// declared, the qat case lost its fake quantization on resume.
func TestEveryKindResumesLikeAnUninterruptedRun(t *testing.T) {
	names := slices.Sorted(maps.Keys(sessionCases))
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			src := blobs + sessionCases[name] + tail
			whole := runOnce(t, src, nil)
			// The case's stages follow the first train stage; its last is the train after.
			train := strings.Count(sessionCases[name], "  - ")
			rightAfter := func(e events.Event) bool { return e.Kind == events.StageFinished && e.StageIndex == train-1 }
			midTrain := func(e events.Event) bool { return e.Kind == events.Step && e.StageIndex == train && e.StageStep >= 22 }
			for what, stop := range map[string]func(events.Event) bool{"right after it": rightAfter, "mid-train after it": midTrain} {
				resumed := runOnce(t, src, stop)
				compareRuns(t, what, whole, resumed)
			}
		})
	}
}

// outcome is what a run left: its final metrics, its newest checkpoint's
// variables and the model files in its folder.
type outcome struct {
	final     map[string]float64
	variables map[string][]byte
	files     map[string][32]byte
}

// runOnce runs src in a new store; when stop says so, it cancels the run
// (as ctrl-c does) and resumes it.
func runOnce(t *testing.T, src string, stop func(events.Event) bool) outcome {
	t.Helper()
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec, err := recipe.Parse("r.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := false
	sink := events.SinkFunc(func(e events.Event) {
		if stop != nil && !stopped && stop(e) {
			stopped = true
			cancel()
		}
	})
	res, err := runner.Run(ctx, rec, runner.Options{Store: store, Sinks: []events.Sink{sink}})
	if stop != nil {
		if err != runner.ErrStopped {
			t.Fatalf("stopping: %v", err)
		}
		if res, err = runner.Resume(context.Background(), store, res.RunID, runner.Options{}); err != nil {
			t.Fatalf("resuming: %v", err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return outcome{final: res.Final, variables: checkpointed(t, store.CheckpointDir(res.RunID)), files: modelFiles(t, store.RunDir(res.RunID))}
}

func compareRuns(t *testing.T, what string, whole, resumed outcome) {
	t.Helper()
	for k, v := range whole.final {
		if timing(k) {
			continue
		}
		if got, ok := resumed.final[k]; !ok || !(got == v || math.IsNaN(got) && math.IsNaN(v)) {
			t.Errorf("stopped %s: %s = %v resumed, %v uninterrupted", what, k, got, v)
		}
	}
	for name, v := range whole.variables {
		if got, ok := resumed.variables[name]; !ok || string(got) != string(v) {
			t.Errorf("stopped %s: variable %s differs from the uninterrupted run's", what, name)
		}
	}
	if len(resumed.variables) != len(whole.variables) {
		t.Errorf("stopped %s: %d variables resumed, %d uninterrupted", what, len(resumed.variables), len(whole.variables))
	}
	for name, h := range whole.files {
		if resumed.files[name] != h {
			t.Errorf("stopped %s: %s differs from the uninterrupted run's", what, name)
		}
	}
	if len(whole.files) == 0 || len(resumed.files) != len(whole.files) {
		t.Errorf("stopped %s: %d model files resumed, %d uninterrupted", what, len(resumed.files), len(whole.files))
	}
}

// timing says a result is a wall-clock measurement, which no two runs
// share, or a moving average of the train steps, which restarts on resume.
func timing(key string) bool {
	if strings.HasPrefix(key, "train_") {
		return true
	}
	for _, s := range []string{"_ms", "_s", "speedup", "latency", "per_step"} {
		if strings.Contains(key, s) {
			return true
		}
	}
	return false
}

// checkpointed reads the model's and optimizers' variables of the newest
// checkpoint in dir, as bytes.
func checkpointed(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	h, err := checkpoints.Build(gomlxctx.New()).Dir(dir).Done()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for name, v := range h.LoadedVariables() {
		if strings.Contains(name, "/metrics/") { // moving averages of the train steps
			continue
		}
		if err := v.ConstBytes(func(b []byte) { out[name] = slices.Clone(b) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no variables in %s", dir)
	}
	return out
}

var producer = regexp.MustCompile(`"producer":\s*"[^"]*"`)

// modelFiles hashes the .safetensors files in a run's folder: their
// tensors and metadata, but not the producer (which names the run).
func modelFiles(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, p := range paths {
		f, err := infer.ReadFile(p, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range f.Metadata {
			f.Metadata[k] = producer.ReplaceAllString(v, "")
		}
		var b bytes.Buffer
		if err := f.Encode(&b); err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = sha256.Sum256(b.Bytes())
	}
	return out
}

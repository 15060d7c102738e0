package stages_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/internal/stagetest"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// contractRecipes run every shipped kind, and the settings that change
// what it records, on tiny data.
var contractRecipes = []string{
	blobs + `  - evaluate: {split: validation}
  - sensitivity: {sparsities: [0.5], target_sparsity: 0.5}
  - prune: {target_sparsity: 0.5, schedule: oneshot, layers: sensitivity}
  - prune: {schedule: iterative, rounds: 2, target_sparsity: 0.8, begin_step: 0, end_step: 10, criterion: taylor, taylor_batches: 2}
  - prune: {target_sparsity: 0.9, begin_step: 10, end_step: 20, frequency: 5}
  - train: {steps: 25, log_every: 5}
  - quantize: {mode: qat}
  - train: {steps: 5, precision: fp16}
  - quantize: {mode: ptq, name: q, formats: [safetensors, onnx]}
  - export: {name: e, formats: [safetensors, onnx]}
  - report: {models: {baseline: e, combined: q}, train_steps: 2, seconds: 0.1}
`,
	blobs + `  - prune: {structure: channels, schedule: gradual, target_sparsity: 0.5, begin_step: 0, end_step: 10, frequency: 5}
  - train: {steps: 15, log_every: 5, accumulate_steps: 3}
  - prune: {structure: channels, target_sparsity: 0.3}
  - distill: {teacher: {stage: 1}, student: {arch: mlp, hidden: [8]}, steps: 10, baseline: true, hint: {teacher: features, student: fc1}, transfer_set: 200}
`,
	// Attention transfer needs feature maps: two LeNet-5s on small images.
	`name: contract-attention
seed: 5
backend: go
data: {dataset: synthetic-images, batch_size: 16, validation: 32, train_size: 128, test_size: 32}
model: {arch: lenet5}
stages:
  - train: {steps: 4}
  - distill: {teacher: {stage: 1}, student: {arch: lenet5, widths: {conv1: 3, conv2: 8}}, steps: 4, attention: {pairs: [{teacher: conv1, student: conv1}]}}
`,
}

// TestResultsMatchTheirDeclarations is the results contract: every result
// and series a stage records is declared by its kind (the runner refuses
// the run otherwise), and every single result a kind declares is recorded
// by one of the runs here, so a declaration cannot keep a name the stage
// no longer writes.
func TestResultsMatchTheirDeclarations(t *testing.T) {
	// The report times ONNX Runtime where setup.sh installed it: its two
	// results are recorded only then (required under CI).
	script, err := filepath.Abs("../../scripts/ort-infer.js")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LATHE_ORT_SCRIPT", script)
	noORT := bench.ORTAvailable(script)
	if noORT != nil && os.Getenv("CI") != "" {
		t.Fatalf("ONNX Runtime: %v", noORT)
	}
	recorded := map[string]map[string]bool{} // kind → names
	for _, src := range contractRecipes {
		store, err := runs.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		rec, err := recipe.Parse("c.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, st := range rec.Stages {
			kinds = append(kinds, st.Kind)
		}
		var allowedSeries []results.Result
		for _, st := range res.Stages {
			if recorded[st.Kind] == nil {
				recorded[st.Kind] = map[string]bool{}
			}
			for k := range st.Metrics {
				recorded[st.Kind][k] = true
			}
			_, series := results.Allowed(recipe.Declared, st.Kind, kinds)
			allowedSeries = append(allowedSeries, series...)
		}
		names, err := store.MetricNames(res.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if bad := results.Undeclared(allowedSeries, setOf(names)); len(bad) > 0 {
			t.Errorf("series no stage kind of the recipe declares: %v", bad)
		}
		store.Close()
	}
	for _, kind := range recipe.Kinds() {
		if strings.HasSuffix(kind, "_test") {
			continue
		}
		d, _ := recipe.Declared(kind)
		if len(d.Results) == 0 && len(d.Includes) == 0 {
			t.Errorf("kind %s declares no results", kind)
		}
		for _, r := range d.Results {
			found := false
			for name := range recorded[kind] {
				found = found || r.Matches(name)
			}
			peer := strings.Contains(r.Name, "_onnxruntime_") || strings.Contains(r.Name, "_alone_")
			if !found && noORT != nil && kind == "report" && peer {
				t.Logf("kind %s declares %s, not recorded: %v", kind, r.Name, noORT)
				continue
			}
			if !found {
				t.Errorf("kind %s declares %s, which none of its stages here recorded", kind, r.Name)
			}
		}
	}
}

func setOf(names []string) map[string]float64 {
	out := map[string]float64{}
	for _, n := range names {
		out[n] = 0
	}
	return out
}

// A test kind whose stage records "stepz" where its declaration says
// "steps": what renaming a result in a stage without its declaration does.
func init() {
	stagetest.Register("renamed_test")
	k, _ := recipe.LookupKind("renamed_test")
	recipe.Register(recipe.Kind{Name: "renamed_result_test", Keys: k.Keys, HasSteps: true, Results: k.Results,
		New: func() recipe.Settings { return renamed{k.New().(runner.Stage)} }})
}

type renamed struct{ runner.Stage }

func (r renamed) Run(ctx context.Context, s *runner.Session) (map[string]float64, error) {
	m, err := r.Stage.Run(ctx, s)
	m["stepz"] = m["steps"]
	delete(m, "steps")
	return m, err
}

// TestRenamedResultFailsTheRun: a stage that records a result under a name
// its kind does not declare fails the run, naming the result.
func TestRenamedResultFailsTheRun(t *testing.T) {
	rec, err := recipe.Parse("r.yaml", []byte(strings.Replace(blobs, "  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}\n", "  - renamed_result_test: {n: 3}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = runner.Run(context.Background(), rec, runner.Options{})
	if err == nil || !strings.Contains(err.Error(), "stage kind renamed_result_test recorded stepz, which its declaration (recipe.Kind.Results) does not list") {
		t.Errorf("got %v", err)
	}
	rec, err = recipe.Parse("r.yaml", []byte(strings.Replace(blobs, "  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}\n", "  - renamed_test: {n: 3}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Run(context.Background(), rec, runner.Options{}); err != nil {
		t.Errorf("the kind as declared: %v", err)
	}
}

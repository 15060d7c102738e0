package tradeoff

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runner"
)

func init() {
	recipe.Register(recipe.Kind{Name: "report", Keys: []string{"models", "split", "max_drop_pp", "train_steps", "seconds", "title", "onnxruntime"}, Effects: recipe.Files, Results: reportDeclaration,
		New: func() recipe.Settings {
			return &Stage{Split: "test", MaxDropPP: report.DefaultMaxDropPP, TrainSteps: 10, Seconds: 2}
		}})
}

// Stage is the `report` recipe stage: it measures the model files the
// stages before it wrote (export and quantize stages), in one process,
// and writes the trade-off report into the run's folder — report.md with
// the table and the seed's three claims beside what was measured,
// report.json, accuracy_size.png and accuracy_latency.png.
//
//   - report: {models: {baseline: baseline, quantized: baseline.int8, pruned: pruned, combined: combined}}
//
// models maps roles (baseline, quantized, pruned, distilled, combined)
// to model files by base name; without it every model file of the run
// is a row, oldest first, the first the baseline and the last the
// combined model. train_steps times that many train steps of the
// recipe's model in float32 and bfloat16 (0: none; the training claim is
// then not measured); seconds is how long each batch size is timed.
// onnxruntime (default true) also times ONNX Runtime on the baseline's
// and the combined model's ONNX form where setup.sh installed it (the
// report says why not where it did not), beside the runtime timed the
// same way.
//
// Results: <role>_accuracy, <role>_agreement (with the baseline's
// picks), <role>_bytes, <role>_batch64_ms for each role (and
// <role>_alone_batch64_ms, <role>_onnxruntime_batch64_ms for the baseline
// and the combined model when ONNX Runtime ran); size_ratio,
// speedup_batch64 and accuracy_drop_pp of the combined model against the
// baseline; train_f32_ms, train_bf16_ms; and
// claim_size_met, claim_training_met, claim_inference_met (1 or 0).
type Stage struct {
	Picks      []Pick
	Split      string
	MaxDropPP  float64
	TrainSteps int
	Seconds    float64
	Title      string
	// NoORT leaves ONNX Runtime out (onnxruntime: false); by default the
	// report times it beside the runtime where setup.sh installed it, and
	// says why not where it did not.
	NoORT bool
}

// Set implements recipe.Settings.
func (st *Stage) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	switch f.Key {
	case "models":
		var fields []recipe.Field
		if fields, err = d.Fields(f.Value, "models", report.Roles); err != nil {
			return err
		}
		st.Picks = nil
		for _, m := range fields {
			name, err := d.String(m.Value, "models."+m.Key)
			if err != nil {
				return err
			}
			st.Picks = append(st.Picks, Pick{Role: m.Key, Name: name, at: m.Value})
		}
		if len(st.Picks) == 0 {
			return d.Errorf(f.Value, "models must name at least one model file, e.g. {baseline: baseline, combined: combined}")
		}
		slices.SortStableFunc(st.Picks, func(a, b Pick) int {
			return slices.Index(report.Roles, a.Role) - slices.Index(report.Roles, b.Role)
		})
	case "split":
		st.Split, err = d.Enum(f.Value, "split", recipe.Splits)
	case "max_drop_pp":
		st.MaxDropPP, err = d.Positive(f.Value, "max_drop_pp")
	case "train_steps":
		st.TrainSteps, err = d.Int(f.Value, "train_steps", 0)
	case "seconds":
		st.Seconds, err = d.Positive(f.Value, "seconds")
	case "title":
		st.Title, err = d.String(f.Value, "title")
	case "onnxruntime":
		var on bool
		on, err = d.Bool(f.Value, "onnxruntime")
		st.NoORT = !on
	}
	return err
}

// Check implements recipe.Settings: a stage before this one writes a model
// file, and every model named is written by one.
func (st *Stage) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	if st.Split == "validation" && rec.Data.Validation == 0 {
		return d.Errorf(at, "report measures the validation split but data.validation is 0")
	}
	var written []string
	for _, other := range rec.Stages {
		if other.Node() == at {
			break
		}
		if w, ok := other.Settings.(recipe.ModelWriter); ok {
			written = append(written, w.ModelFiles()...)
		}
	}
	if len(written) == 0 {
		return d.Errorf(at, "report compares the model files the stages before it write, and none does: put an export or quantize stage before it")
	}
	for _, p := range st.Picks {
		if !slices.Contains(written, p.Name) {
			if len(written) == 0 {
				return d.Errorf(p.at, "models.%s: %q is not written by any stage before the report (no export or quantize stage writes a model file)", p.Role, p.Name)
			}
			return d.Errorf(p.at, "models.%s: %q is not written by any stage before the report (they write %s)", p.Role, p.Name, strings.Join(written, ", "))
		}
	}
	return nil
}

// Files implements recipe.FileWriter.
func (st *Stage) Files() []string {
	return []string{report.JSONFile, report.MarkdownFile, report.SizePlotFile, report.LatencyPlotFile}
}

// PlannedSteps implements recipe.Settings: a report takes no steps.
func (st *Stage) PlannedSteps(int) int { return 0 }

// String describes the stage in a few words.
func (st *Stage) String() string { return fmt.Sprintf("report (%d models)", len(st.Picks)) }

// Run implements runner.Stage.
func (st *Stage) Run(_ context.Context, s *runner.Session) (map[string]float64, error) {
	dir, err := s.RunDir()
	if err != nil {
		return nil, err
	}
	store := s.Store()
	if dir == "" || store == nil {
		return nil, fmt.Errorf("report: the run is not recorded, so the model files it reads were not kept")
	}
	run, err := store.Get(s.RunID)
	if err != nil {
		return nil, err
	}
	list, err := RunModels(run, dir, st.Picks)
	if err != nil {
		return nil, err
	}
	set := s.Data.Split(st.Split)
	if set == nil {
		return nil, fmt.Errorf("report: the run holds out no %s split", st.Split)
	}
	title := st.Title
	if title == "" {
		title = s.Recipe.Name
	}
	s.Log("report: measuring %d models on %d %s examples, in the runtime and on %s", len(list), set.Len(), st.Split, s.BackendName)
	opts := Options{Title: title, Backend: s.Backend, BackendName: s.BackendName, Features: s.Data.Raw(set.Features),
		Labels: set.Labels, Split: st.Split, MinTime: time.Duration(st.Seconds * float64(time.Second)), MaxDropPP: st.MaxDropPP}
	if !st.NoORT {
		opts.ORTScript = ortScript()
	}
	t, err := Measure(list, opts)
	if err != nil {
		return nil, err
	}
	if st.TrainSteps > 0 {
		base := models.Spec{Model: s.Model.Spec.Model}
		tr, err := TrainSteps(s.Backend, s.BackendName, base, s.Recipe.Data.BatchSize, s.Data.Train.ExampleShape, s.Data.Train.NumClasses, st.TrainSteps)
		if err != nil {
			s.Log("report: %v", err)
		}
		t.Training = tr
	}
	if err := report.WriteFiles(dir, t); err != nil {
		return nil, err
	}
	for _, c := range t.Claims() {
		s.Log("report: %s", c.Line())
	}
	for _, line := range t.Peer.Lines() {
		s.Log("report: %s", line)
	}
	s.Log("report: wrote %s/%s, %s and %s", dir, report.MarkdownFile, report.SizePlotFile, report.LatencyPlotFile)
	return resultsOf(t), nil
}

// ortScript is ONNX Runtime's reference script: $LATHE_ORT_SCRIPT, else
// the repository's, found from the working folder up (a run started in
// the repository or one of its folders, as the notebooks run in
// notebooks/), else the relative path, whose absence the report explains.
func ortScript() string {
	if p := os.Getenv("LATHE_ORT_SCRIPT"); p != "" {
		return p
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			if p := filepath.Join(dir, bench.ORTScript); fileExists(p) {
				return p
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return bench.ORTScript
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// resultsOf are the report's figures as the stage's results in the store.
func resultsOf(t *report.Tradeoff) map[string]float64 {
	res := map[string]float64{}
	for _, v := range t.Variants {
		if v.Role == "" {
			continue
		}
		res[v.Role+"_accuracy"] = v.Accuracy
		res[v.Role+"_agreement"] = v.Agreement
		res[v.Role+"_bytes"] = v.Bytes
		res[v.Role+"_batch64_ms"] = v.RuntimeMs64
	}
	if p := t.Peer; p != nil {
		for _, r := range p.Rows {
			if r.Batch == 64 && slices.Contains(report.Roles, r.Variant) {
				res[r.Variant+"_alone_batch64_ms"] = r.RuntimeMs
				res[r.Variant+"_onnxruntime_batch64_ms"] = r.PeerMs
			}
		}
		for _, a := range p.Accuracy {
			if slices.Contains(report.Roles, a.Variant) {
				res[a.Variant+"_onnxruntime_accuracy"] = a.Peer
			}
		}
	}
	base, _ := t.Baseline()
	comb, _ := t.Combined()
	res["size_ratio"] = base.Bytes / comb.Bytes
	res["speedup_batch64"] = base.RuntimeMs64 / comb.RuntimeMs64
	res["accuracy_drop_pp"] = 100 * (base.Accuracy - comb.Accuracy)
	if t.Training != nil {
		res["train_f32_ms"], res["train_bf16_ms"] = t.Training.F32Ms, t.Training.BF16Ms
	}
	for _, c := range t.Claims() {
		res["claim_"+c.Key+"_met"] = map[bool]float64{true: 1, false: 0}[c.Met]
		res["claim_"+c.Key+"_reduction"] = c.Measured
	}
	return res
}

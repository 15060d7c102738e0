package quant

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/onnx"
	"github.com/lathe-ml/lathe/pkg/prune"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/timing"
)

func init() {
	recipe.Register(recipe.Kind{Name: "quantize", Keys: []string{"mode", "bits", "weights", "observer", "calibration_batches", "freeze_after", "exclude", "name", "check", "formats"},
		Effects: recipe.ModelHooks | recipe.Files, Results: quantizeDeclaration,
		New: func() recipe.Settings {
			return &Stage{Mode: "ptq", Weights: "per_channel", Observer: "minmax", CalibrationBatches: 32, Name: "model.int8", CheckOn: "test"}
		}})
}

// Observers names the calibration observers a quantize stage may use.
var Observers = []string{"minmax", "moving_average_minmax", "percentile", "mse"}

// Stage is the `quantize` recipe stage in post-training mode (ptq): it
// exports the current model in float32, runs calibration_batches batches
// of training examples (never the split it reports on) through it to
// observe each layer's input range, quantizes every dense and conv2d
// layer not excluded to int8 — weights symmetric per output channel,
// activations affine per tensor, batch norm already folded — and writes
// <name>.safetensors into the run's folder. It then measures both files
// on the check split and times them, in the runtime, in one process.
//
//   - quantize: {mode: ptq, observer: percentile, calibration_batches: 32}
//   - quantize: {mode: ptq, formats: [safetensors, onnx]} also writes
//     <name>.onnx: the int8 model in ONNX's QDQ form (opset 13), which
//     ONNX Runtime runs with its integer kernels.
//
// Results: f32_bytes, int8_bytes and size_ratio (bytes on disk);
// f32_<split>_accuracy, int8_<split>_accuracy, int8_accuracy_drop_pp
// (percentage points), int8_agreement (the int8 model picks the float
// graph's class) and int8_fakequant_agreement (it picks the class of the
// same int8 file run as fake quantization in a GoMLX graph); f32_batch64_ms, int8_batch64_ms and int8_speedup; and
// per layer weight_sqnr_db/<layer>, input_sqnr_db/<layer>,
// input_min/<layer>, input_max/<layer>, input_scale/<layer>.
type Stage struct {
	Mode string
	// Weights is per_channel (a scale per output channel, the default) or
	// per_tensor (one scale per layer, as TF Lite's first int8 models).
	Weights            string
	Observer           string
	CalibrationBatches int
	Exclude            prune.Exclusions
	Name               string
	// CheckOn is the split measured (the check key).
	CheckOn string
	// FreezeAfter (qat) stops the activation observers after this many
	// training steps; 0 never does.
	FreezeAfter int
	// ONNX also writes the int8 model as <name>.onnx, in QDQ form
	// (formats: [safetensors, onnx]).
	ONNX bool

	modeAt, freezeAt, observerAt recipe.Node
	observerSet                  bool
}

// Set implements recipe.Settings.
func (st *Stage) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	switch f.Key {
	case "mode":
		st.Mode, err = d.Enum(f.Value, "mode", []string{"ptq", "qat"})
		st.modeAt = f.Value
	case "freeze_after":
		st.FreezeAfter, err = d.Int(f.Value, "freeze_after", 0)
		st.freezeAt = f.Value
	case "bits":
		var bits int
		if bits, err = d.Int(f.Value, "bits", 1); err == nil && bits != 8 {
			err = d.Errorf(f.Value, "bits %d: want 8 (the runtime's integer kernels are int8)", bits)
		}
	case "weights":
		st.Weights, err = d.Enum(f.Value, "weights", []string{"per_channel", "per_tensor"})
	case "observer":
		st.Observer, err = d.Enum(f.Value, "observer", Observers)
		st.observerAt, st.observerSet = f.Value, true
	case "calibration_batches":
		st.CalibrationBatches, err = d.Int(f.Value, "calibration_batches", 1)
	case "exclude":
		err = st.Exclude.Set(d, f.Value)
	case "name":
		st.Name, err = d.String(f.Value, "name")
		if err == nil && (st.Name == "" || filepath.Base(st.Name) != st.Name || st.Name[0] == '.') {
			err = d.Errorf(f.Value, "name %q: want a file name without a folder", st.Name)
		}
	case "check":
		st.CheckOn, err = d.Enum(f.Value, "check", append([]string{"none"}, recipe.Splits...))
	case "formats":
		var items []recipe.Node
		if items, err = d.List(f.Value, "formats"); err != nil {
			return err
		}
		st.ONNX = false
		for _, it := range items {
			var format string
			if format, err = d.Enum(it, "format", export.Formats); err != nil {
				return err
			}
			st.ONNX = st.ONNX || format == "onnx"
		}
	}
	return err
}

// Check implements recipe.Settings.
func (st *Stage) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	if st.CheckOn == "validation" && rec.Data.Validation == 0 {
		return d.Errorf(at, "quantize checks on the validation split but data.validation is 0")
	}
	if st.Mode == "qat" {
		if !st.observerSet {
			st.Observer = "moving_average_minmax"
		} else if st.Observer != "minmax" && st.Observer != "moving_average_minmax" {
			return d.Errorf(st.observerAt, "quantize: qat observes in the training graph: observer minmax or moving_average_minmax, not %s", st.Observer)
		}
	} else if st.freezeAt != nil {
		return d.Errorf(st.freezeAt, "quantize: freeze_after applies to mode qat")
	}
	if st.Mode == "qat" && !trainsAfter(at, rec) {
		return d.Errorf(st.modeAt, "quantize: mode qat fakes int8 in the train stages after it, and none follows: add a train stage after it (then a ptq stage converts), or use mode: ptq")
	}
	return st.Exclude.Check(d, at, rec, "quantize")
}

// trainsAfter reports whether a train stage follows the stage written at.
func trainsAfter(at recipe.Node, rec *recipe.Recipe) bool {
	seen := false
	for _, other := range rec.Stages {
		if seen && other.Kind == "train" {
			return true
		}
		seen = seen || other.Node() == at
	}
	return false
}

// PlannedSteps implements recipe.Settings: quantizing takes no steps.
func (st *Stage) PlannedSteps(int) int { return 0 }

// ModelFiles implements recipe.ModelWriter: a ptq stage writes the int8
// file and its float twin.
func (st *Stage) ModelFiles() []string {
	if st.Mode == "qat" {
		return nil
	}
	return []string{st.Name, strings.TrimSuffix(infer.TwinName(st.Name), infer.Ext)}
}

// Files implements recipe.FileWriter.
func (st *Stage) Files() []string {
	if st.Mode == "qat" {
		return nil
	}
	files := []string{infer.FileName(st.Name), infer.TwinName(st.Name)}
	if st.ONNX {
		files = append(files, st.Name+".onnx")
	}
	return files
}

// String describes the stage in a few words.
func (st *Stage) String() string {
	return fmt.Sprintf("quantize int8 (%s, %s observer)", st.Mode, st.Observer)
}

// Run implements runner.Stage.
func (st *Stage) Run(_ context.Context, s *runner.Session) (map[string]float64, error) {
	if st.Mode == "qat" {
		st.installQAT(s)
		s.Log("quantize: fake quantization (int8 weights per channel, 7-bit inputs, %s observer) in every train stage from now on; a later quantize stage converts with the learned ranges", st.Observer)
		return map[string]float64{"qat_freeze_after": float64(st.FreezeAfter)}, nil
	}
	src := export.SourceOf(s)
	f32, err := export.Build(src)
	if err != nil {
		return nil, err
	}
	calib, n := calibrationExamples(s, st.CalibrationBatches)
	ranges := qatRanges(s.Ctx, s.Model.Spec.Arch)
	int8File, layers, err := PTQ(f32, calib, n, PTQOptions{Observer: st.Observer, PerTensorWeights: st.Weights == "per_tensor",
		Batch: s.Recipe.Data.BatchSize, Exclude: st.excluded(f32), Ranges: ranges})
	if err != nil {
		return nil, err
	}
	dir, err := s.RunDir()
	if err != nil {
		return nil, err
	}
	if dir == "" { // a run that is not recorded: measure the files in a temporary folder
		if dir, err = os.MkdirTemp("", "lathe-quantize-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	res := map[string]float64{}
	f32Path, int8Path := filepath.Join(dir, infer.TwinName(st.Name)), filepath.Join(dir, infer.FileName(st.Name))
	for _, w := range []struct {
		path string
		file *infer.File
		key  string
	}{{f32Path, f32, "f32_bytes"}, {int8Path, int8File, "int8_bytes"}} {
		if err := w.file.WriteFile(w.path); err != nil {
			return nil, err
		}
		info, err := os.Stat(w.path)
		if err != nil {
			return nil, err
		}
		res[w.key] = float64(info.Size())
	}
	res["size_ratio"] = res["f32_bytes"] / res["int8_bytes"]
	if st.ONNX {
		if res["int8_onnx_bytes"], err = writeONNX(int8File, filepath.Join(dir, st.Name+".onnx")); err != nil {
			return nil, err
		}
	}
	res["qat_ranges"] = float64(len(ranges)) // layers whose input range QAT's observers recorded
	for _, l := range layers {
		res["weight_sqnr_db/"+l.Layer] = l.WeightSQNR
		res["input_sqnr_db/"+l.Layer] = l.InputSQNR
		res["input_min/"+l.Layer] = float64(l.Min)
		res["input_max/"+l.Layer] = float64(l.Max)
		res["input_scale/"+l.Layer] = float64(l.Scale)
	}

	var models [2]*infer.Model
	for i, f := range []*infer.File{f32, int8File} {
		if models[i], err = infer.New(f); err != nil {
			return nil, err
		}
	}
	checked := ""
	if st.CheckOn != "none" {
		if err := st.check(s, src, int8File, models, res); err != nil {
			return nil, err
		}
		checked = fmt.Sprintf(", %s accuracy %.2f%% → %.2f%%", st.CheckOn, 100*res["f32_"+st.CheckOn+"_accuracy"], 100*res["int8_"+st.CheckOn+"_accuracy"])
	}
	f32ms, int8ms, err := timeInterleaved(models[0], models[1], 64, 500*time.Millisecond)
	if err != nil {
		return nil, err
	}
	res["f32_batch64_ms"], res["int8_batch64_ms"], res["int8_speedup"] = f32ms, int8ms, f32ms/int8ms
	s.Log("quantize: %s int8 (%d layers, %s observer): %.0f → %.0f bytes (%.2f×)%s, batch 64 %.3f → %.3f ms (%.2f×, %s kernels)",
		int8Path, len(layers), st.Observer, res["f32_bytes"], res["int8_bytes"], res["size_ratio"], checked, f32ms, int8ms, f32ms/int8ms, models[1].Kernels())
	s.Log("quantize: the runtime's paths, float file: %s; int8 file: %s", infer.FormatPaths(models[0].Paths()), infer.FormatPaths(models[1].Paths()))
	return res, nil
}

// check measures both files on the check split: their accuracy, how often
// the int8 file picks the float graph's class, and how often it agrees
// with its own fake-quantized graph.
func (st *Stage) check(s *runner.Session, src export.Source, int8File *infer.File, models [2]*infer.Model, res map[string]float64) error {
	set := s.Data.Split(st.CheckOn)
	if set == nil {
		return fmt.Errorf("quantize: the run holds out no %s split", st.CheckOn)
	}
	for i, m := range models {
		a, err := export.Check(src, m, set.Features, set.Labels)
		if err != nil {
			return err
		}
		res[[]string{"f32_", "int8_"}[i]+st.CheckOn+"_accuracy"] = a.Accuracy
		if i == 1 {
			res["int8_agreement"] = a.Same
		}
	}
	var err error
	raw := s.Data.Raw(set.Features)
	if res["int8_fakequant_agreement"], err = FakeQuantAgreement(s.Backend, int8File, models[1], raw, len(set.Labels)); err != nil {
		return err
	}
	res["int8_accuracy_drop_pp"] = 100 * (res["f32_"+st.CheckOn+"_accuracy"] - res["int8_"+st.CheckOn+"_accuracy"])
	return nil
}

// writeONNX writes an int8 model file as ONNX (QDQ form) and returns its
// size on disk.
func writeONNX(f *infer.File, path string) (float64, error) {
	g, err := infer.GraphOf(f)
	if err != nil {
		return 0, err
	}
	if err := onnx.WriteFile(path, g, f.Tensors); err != nil {
		return 0, fmt.Errorf("quantize: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return float64(info.Size()), nil
}

// installQAT puts fake quantization on the current model's layers, for
// every train stage from now on.
func (st *Stage) installQAT(s *runner.Session) {
	prefix := "/" + s.Model.Spec.Arch + "/"
	s.Model.AddHooks(QATHooks(QATOptions{Observer: st.Observer, FreezeAfter: st.FreezeAfter,
		Exclude: func(scope string) bool { return !st.Exclude.Keeps(strings.TrimPrefix(scope, prefix)) }}))
}

// Restore implements runner.Restorer: a run resumed after a qat stage
// trains with fake quantization again; the observers' ranges and step
// count come back from the checkpoint.
func (st *Stage) Restore(_ context.Context, s *runner.Session) error {
	if st.Mode == "qat" {
		st.installQAT(s)
	}
	return nil
}

// excluded lists the file's layers the stage leaves in float32.
func (st *Stage) excluded(f *infer.File) []string {
	g, err := infer.GraphOf(f)
	if err != nil {
		return nil
	}
	var out []string
	for _, op := range g.Ops {
		if quantizable(op) && !st.Exclude.Keeps(op.Name) {
			out = append(out, op.Name)
		}
	}
	return out
}

// calibrationExamples draws batches·batch_size training examples (all
// when there are fewer), seeded by the recipe, as raw values.
func calibrationExamples(s *runner.Session, batches int) ([]float32, int) {
	train := s.Data.Train
	size := len(train.Features) / len(train.Labels)
	n := min(len(train.Labels), batches*s.Recipe.Data.BatchSize)
	order := rand.New(rand.NewPCG(uint64(s.Recipe.Seed), 0x9e3779b9)).Perm(len(train.Labels))[:n]
	picked := make([]float32, 0, n*size)
	for _, i := range order {
		picked = append(picked, train.Features[i*size:(i+1)*size]...)
	}
	return s.Data.Raw(picked), n
}

// timeInterleaved returns two models' median latency in ms at a batch
// size, called in turn (timing.Interleave) for at least d.
func timeInterleaved(a, b *infer.Model, batch int, d time.Duration) (float64, float64, error) {
	x := make([]float32, batch*a.InputSize())
	for i := range x {
		x[i] = float32(i%17) / 17
	}
	out := make([]float32, batch*a.Classes())
	ms, err := timing.Interleave([]timing.Engine{
		{Call: func() error { return a.Predict(x, batch, out) }},
		{Call: func() error { return b.Predict(x, batch, out) }},
	}, d)
	if err != nil {
		return 0, 0, fmt.Errorf("quantize: timing the files: %w", err)
	}
	return ms[0], ms[1], nil
}

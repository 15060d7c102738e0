package distill

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/spec"
)

func init() {
	recipe.Register(recipe.Kind{Name: "distill", Keys: append(slices.Clone(ownKeys), trainKeys...), HasSteps: true, Effects: recipe.Weights | recipe.Architecture | recipe.Files, Results: distillDeclaration, New: newStage})
}

// ownKeys are the distill stage's own keys; trainKeys are a train stage's
// that it takes as they are (the student's schedule).
var (
	ownKeys   = []string{"teacher", "student", "temperature", "alpha", "hint", "attention", "baseline", "check", "transfer_set"}
	trainKeys = []string{"epochs", "steps", "optimizer", "schedule", "clip", "precision", "precision_fallback",
		"log_every", "checkpoint", "checkpoint_every", "nonfinite", "augment"}
)

// Defaults: Hinton et al. found temperatures from 2.5 to 4 best for
// students much smaller than their teacher (8 and more for a large one);
// torchdistill's and ModelOpt's examples mix with alpha 0.9. The
// attention weight is Zagoruyko & Komodakis' β = 1000.
const (
	DefaultTemperature     = 4
	DefaultAlpha           = 0.9
	DefaultHintWeight      = 1
	DefaultAttentionWeight = 1000
)

// Features names, in a hint or attention pair, what a model's logits
// layer reads: the flattened features of the penultimate layer (after the
// global pooling of a ResNet, after fc2 of LeNet-5).
const Features = "features"

// Stage is the `distill` recipe stage: it trains a student (any zoo
// model) to imitate a teacher. The teacher runs in inference mode, in
// Lathe's runtime, on every training batch of the student; its outputs
// enter the student's train step as inputs (Model.SetTrainInputs), so the
// student's graph holds none of its weights — none can train, no gradient
// is built towards them, and its parameters are not the student's. See
// the package doc for a recipe.
//
// The teacher is the model an earlier stage of the recipe left (stage N,
// 1-based: kept as a Lathe model file, teacher-stageN.safetensors in the
// run's folder, when that stage ends), the final model of another run, or
// a Lathe model file. Its classes must be the student's data's, checked
// before the run starts.
//
// After the stage the student is the session's model: later stages
// (quantize, export, evaluate) work on it, without the distillation loss.
//
// With transfer_set: N both students learn from the first N examples of
// the training split only (Hinton et al.'s transfer set), where a
// teacher's soft targets carry the most a student would otherwise miss.
//
// Results, on the check split (test by default): teacher_, alone_ (with
// baseline) and student_ accuracy and errors; teacher_params and
// student_params; gap_closed, the fraction of the teacher–student error
// gap the distilled student closed ((alone − student) / (alone − teacher)
// errors, NaN when the teacher is no better than the student alone).
type Stage struct {
	Train       *runner.TrainStage
	Teacher     TeacherRef
	Student     spec.Model
	Temperature float64
	Alpha       float64
	// Hint is the feature loss (nil: none); Attention the attention
	// transfer pairs (none: none).
	Hint            *Pair
	Attention       []Pair
	AttentionWeight float64
	Baseline        bool
	CheckOn         string
	// TransferSet, when not 0, is how many training examples (the first
	// of the training split) the students learn from — Hinton et al.'s
	// transfer set; the teacher learned from them all.
	TransferSet int

	// Where the keys were written, for errors found after parsing.
	dec                                *recipe.Decoder
	teacherAt, hintAt, attentionAt, at recipe.Node
	index                              int  // the stage's place in the recipe
	keepsTeacher                       bool // it writes its teacher stage's model file (see Files)
	batchSize                          int
	teacher                            *teacherModel
}

// TeacherRef names the teacher: exactly one of Stage (1-based, an earlier
// stage of the recipe), Run (an id, id prefix or name) or File.
type TeacherRef struct {
	Stage int
	Run   string
	File  string
}

func (r TeacherRef) String() string {
	switch {
	case r.Stage > 0:
		return fmt.Sprintf("stage %d's model", r.Stage)
	case r.Run != "":
		return "run " + r.Run
	}
	return r.File
}

// Pair names a teacher value and a student value that a feature loss
// compares. Teacher names are the teacher's model file's values (conv1,
// pool2, fc1, stage3/block1/add, global_avg_pool…); student names are
// its zoo layers (fc1, conv2: the layer's output after its
// non-linearity). Features, on either side, is what the logits layer
// reads.
type Pair struct {
	Teacher, Student string
	Weight           float64
}

func newStage() recipe.Settings {
	k, _ := recipe.LookupKind("train")
	return &Stage{Train: k.New().(*runner.TrainStage), Temperature: DefaultTemperature, Alpha: DefaultAlpha,
		AttentionWeight: DefaultAttentionWeight, CheckOn: "test"}
}

// Set implements recipe.Settings.
func (st *Stage) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	switch f.Key {
	case "teacher":
		st.teacherAt = f.Value
		st.Teacher, err = decodeTeacher(d, f.Value)
	case "student":
		st.Student, err = d.Model(f.Value)
	case "temperature":
		st.Temperature, err = d.Positive(f.Value, "temperature")
	case "alpha":
		// alpha 1 is allowed: soft targets alone.
		if st.Alpha, err = d.NonNegative(f.Value, "alpha"); err == nil && st.Alpha > 1 {
			err = d.Errorf(f.Value, "alpha must be in [0, 1], got %g", st.Alpha)
		}
	case "hint":
		st.hintAt = f.Value
		var p Pair
		if p, err = decodePair(d, f.Value, "hint", DefaultHintWeight); err == nil {
			st.Hint = &p
		}
	case "attention":
		st.attentionAt = f.Value
		st.Attention, st.AttentionWeight, err = decodeAttention(d, f.Value)
	case "baseline":
		st.Baseline, err = d.Bool(f.Value, "baseline")
	case "check":
		st.CheckOn, err = d.Enum(f.Value, "check", recipe.Splits)
	case "transfer_set":
		st.TransferSet, err = d.Int(f.Value, "transfer_set", 1)
	default:
		err = st.Train.Set(d, f)
	}
	return err
}

func decodeTeacher(d *recipe.Decoder, n recipe.Node) (TeacherRef, error) {
	var ref TeacherRef
	fields, err := d.Fields(n, "teacher", []string{"stage", "run", "file"})
	if err != nil {
		return ref, err
	}
	if len(fields) != 1 {
		return ref, d.Errorf(n, "teacher needs exactly one of stage (an earlier stage's number), run (an id or name) or file (a Lathe model file)")
	}
	f := fields[0]
	switch f.Key {
	case "stage":
		ref.Stage, err = d.Int(f.Value, "teacher stage", 1)
	case "run":
		if ref.Run, err = d.String(f.Value, "teacher run"); err == nil && ref.Run == "" {
			err = d.Errorf(f.Value, "teacher run is empty: give a run's id or name")
		}
	case "file":
		if ref.File, err = d.String(f.Value, "teacher file"); err == nil && ref.File == "" {
			err = d.Errorf(f.Value, "teacher file is empty: give a Lathe model file's path")
		}
	}
	return ref, err
}

func decodePair(d *recipe.Decoder, n recipe.Node, what string, weight float64) (Pair, error) {
	p := Pair{Weight: weight}
	fields, err := d.Fields(n, what, []string{"teacher", "student", "weight"})
	if err != nil {
		return p, err
	}
	for _, f := range fields {
		switch f.Key {
		case "teacher":
			p.Teacher, err = d.String(f.Value, what+" teacher")
		case "student":
			p.Student, err = d.String(f.Value, what+" student")
		case "weight":
			p.Weight, err = d.Positive(f.Value, what+" weight")
		}
		if err != nil {
			return p, err
		}
	}
	if p.Teacher == "" || p.Student == "" {
		return p, d.Errorf(n, "%s needs a teacher and a student layer (%s on either side: what the logits layer reads)", what, Features)
	}
	return p, nil
}

// decodeAttention reads attention: {pairs: [{teacher: …, student: …}, …], weight: 1000}.
func decodeAttention(d *recipe.Decoder, n recipe.Node) ([]Pair, float64, error) {
	weight := float64(DefaultAttentionWeight)
	fields, err := d.Fields(n, "attention", []string{"pairs", "weight"})
	if err != nil {
		return nil, 0, err
	}
	var pairs []Pair
	for _, f := range fields {
		switch f.Key {
		case "weight":
			if weight, err = d.Positive(f.Value, "attention weight"); err != nil {
				return nil, 0, err
			}
		case "pairs":
			items, err := d.List(f.Value, "attention pairs")
			if err != nil {
				return nil, 0, err
			}
			for _, item := range items {
				p, err := decodePair(d, item, "an attention pair", 1)
				if err != nil {
					return nil, 0, err
				}
				pairs = append(pairs, p)
			}
		}
	}
	if len(pairs) == 0 {
		return nil, 0, d.Errorf(n, "attention needs pairs: [{teacher: <layer>, student: <layer>}, …] of feature maps of the same height and width")
	}
	return pairs, weight, nil
}

// Check implements recipe.Settings.
func (st *Stage) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	st.dec, st.at = d, at
	st.batchSize = rec.Data.BatchSize
	st.index = -1
	st.keepsTeacher = st.Teacher.Stage > 0
	for i, s := range rec.Stages {
		if s.Node() == at {
			st.index = i
		}
		// The first of several distill stages with one teacher stage
		// writes its file; the others read it.
		if other, ok := s.Settings.(*Stage); ok && st.index < 0 && other.Teacher.Stage == st.Teacher.Stage {
			st.keepsTeacher = false
		}
	}
	if st.teacherAt == nil {
		return d.Errorf(at, "distill needs a teacher: {stage: N} (an earlier stage's model), {run: <id or name>} or {file: <model file>}")
	}
	if st.Student.Arch == "" {
		return d.Errorf(at, "distill needs a student: a model written as the recipe's model section is ({arch: mlp, hidden: [800, 800]})")
	}
	if err := st.Student.Accepts(rec.Data.Dataset); err != nil {
		return d.Errorf(at, "distill student: %v", err)
	}
	if shape := rec.Data.ExampleShape(); rec.Data.Dataset == "imagefolder" {
		if err := st.Student.AcceptsShape(shape); err != nil {
			return d.Errorf(at, "distill student: %v", err)
		}
	}
	if st.Teacher.Stage > 0 {
		if err := st.checkTeacherStage(d, rec); err != nil {
			return err
		}
	}
	if st.Teacher.File != "" && filepath.Ext(st.Teacher.File) != ".safetensors" {
		return d.Errorf(st.teacherAt, "teacher file %s: want a Lathe model file (.safetensors, as lathe export or an export stage writes)", st.Teacher.File)
	}
	if st.CheckOn == "validation" && rec.Data.Validation == 0 {
		return d.Errorf(at, "distill checks on the validation split but data.validation is 0")
	}
	if st.TransferSet > 0 && st.TransferSet < rec.Data.BatchSize {
		return d.Errorf(at, "transfer_set %d is smaller than one batch (data.batch_size %d)", st.TransferSet, rec.Data.BatchSize)
	}
	if (st.Train.Epochs == 0) == (st.Train.Steps == 0) {
		return d.Errorf(at, "distill stage needs exactly one of epochs or steps (the student's schedule)")
	}
	if err := st.Train.Check(d, at, rec); err != nil {
		return err
	}
	layers := append(st.Student.Layers(), Features)
	pairs := st.Attention
	if st.Hint != nil {
		pairs = append([]Pair{*st.Hint}, pairs...)
	}
	for i, p := range pairs {
		where := st.hintAt
		if st.Hint == nil || i > 0 {
			where = st.attentionAt
		}
		if !slices.Contains(layers, p.Student) {
			return d.Errorf(where, "student layer %q: %s has %s", p.Student, st.Student.Arch, strings.Join(layers, ", "))
		}
	}
	for _, p := range st.Attention {
		if p.Student == Features || p.Teacher == Features || !st.Student.IsConvolutional() {
			return d.Errorf(st.attentionAt, "attention transfer compares feature maps (height × width × channels): %s is no convolution's output", p.Student)
		}
	}
	return nil
}

// checkTeacherStage: the teacher stage is an earlier one that trains (or
// any earlier one, for an imported model).
func (st *Stage) checkTeacherStage(d *recipe.Decoder, rec *recipe.Recipe) error {
	n := st.Teacher.Stage
	if st.index >= 0 && n > st.index {
		return d.Errorf(st.teacherAt, "teacher stage %d: the teacher must be trained by an earlier stage (this is stage %d)", n, st.index+1)
	}
	if n > len(rec.Stages) {
		return d.Errorf(st.teacherAt, "teacher stage %d: the recipe has %d stages", n, len(rec.Stages))
	}
	// An imported model (model.onnx) is trained before any stage: any
	// stage's model can teach, the file's as it stands at that stage.
	if !rec.Stages[n-1].HasSteps() && rec.Model.ONNX == "" {
		return d.Errorf(st.teacherAt, "teacher stage %d is a %s stage, which trains nothing: name the stage that trains the teacher", n, rec.Stages[n-1].Kind)
	}
	return nil
}

// Files implements recipe.FileWriter: a teacher trained by an earlier
// stage is kept as a model file, so a resumed run finds it.
func (st *Stage) Files() []string {
	if st.keepsTeacher {
		return []string{stageTeacherFile(st.Teacher.Stage - 1)}
	}
	return nil
}

// PlannedSteps implements recipe.Settings: the student's schedule, twice
// with a baseline.
func (st *Stage) PlannedSteps(perEpoch int) int {
	if st.TransferSet > 0 && st.batchSize > 0 {
		perEpoch = min(perEpoch, st.TransferSet/st.batchSize)
	}
	n := st.Train.PlannedSteps(perEpoch)
	if st.Baseline {
		return 2 * n
	}
	return n
}

// CapSteps implements recipe.StepCapper: each training of the student
// takes at most n steps.
func (st *Stage) CapSteps(n int) recipe.Settings {
	c := *st
	c.Train = st.Train.CapSteps(n).(*runner.TrainStage)
	return &c
}

// String describes the stage in a few words.
func (st *Stage) String() string {
	student := st.Student.Arch
	if len(st.Student.Hidden) > 0 {
		student += fmt.Sprint(st.Student.Hidden)
	}
	s := fmt.Sprintf("distill %s into %s (T %g, alpha %g)", st.Teacher, student, st.Temperature, st.Alpha)
	if st.TransferSet > 0 {
		s += fmt.Sprintf(", on a transfer set of %d examples", st.TransferSet)
	}
	if st.Baseline {
		s += ", with the student alone as baseline"
	}
	return s
}

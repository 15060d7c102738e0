// Package recipe reads Lathe's recipe files and runs them.
//
// A recipe is one YAML file naming a dataset, a model and an ordered list of
// stages; the same file runs from the command line, a notebook or the
// dashboard. Parsing checks everything it can before any work starts and
// reports each mistake as one line, file:line:col: what is wrong and what is
// allowed. Unknown keys are errors, so a typo never silently falls back to a
// default.
//
//	name: mnist-lenet
//	seed: 42
//	backend: auto
//	data: {dataset: mnist, batch_size: 128, validation: 5000}
//	model: {arch: lenet5}
//	stages:
//	  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 1e-3}}
//	  - evaluate: {split: test}
//
// Example:
//
//	rec, err := recipe.ParseFile("recipes/quickstart.yaml")
//	if err != nil { return err } // e.g. quickstart.yaml:7:5: unknown key "epoch" in train stage (did you mean "epochs"?); allowed: …
//	res, err := recipe.Run(ctx, rec, recipe.Options{Store: store})
package recipe

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/models"
)

// Recipe is a parsed, validated recipe.
type Recipe struct {
	Path        string // file it came from ("" for text given in code)
	Source      []byte // the text as written
	Name        string
	Description string
	Seed        int64
	Backend     string
	Data        Data
	Model       models.Spec
	Stages      []Stage
	// Params are the recipe's values flattened to dotted keys, as stored with a run.
	Params map[string]string
}

// Data says what to train and evaluate on.
type Data struct {
	Dataset       string
	Dir           string // where the files are, for datasets that need it
	BatchSize     int
	EvalBatchSize int
	// Validation is how many training examples are held out for validation;
	// -1 (unset) means a tenth of the training split.
	Validation int
	Normalize  bool // standardize with the training split's mean and std (default true)
	TrainSize  int  // synthetic datasets only
	TestSize   int  // synthetic datasets only
}

// Stage is one step of a recipe; exactly one of its kind's fields is set.
type Stage struct {
	Kind     string // "train" or "evaluate"
	Line     int    // where the stage starts in the file
	Train    *TrainStage
	Evaluate *EvaluateStage
}

// TrainStage trains the model for a number of epochs or steps.
type TrainStage struct {
	Epochs     int
	Steps      int
	Optimizer  Optimizer
	LogEvery   int  // steps between progress events (0: about 50 per epoch)
	Checkpoint bool // save a checkpoint after every epoch and at the end (default true)
}

// Optimizer names an optimizer and its hyper-parameters (PyTorch's names).
type Optimizer struct {
	Name         string
	LearningRate float64
	WeightDecay  float64
}

// EvaluateStage measures loss and accuracy on a split.
type EvaluateStage struct {
	Split string // test, validation or train
}

var (
	topLevelKeys  = []string{"name", "description", "seed", "backend", "data", "model", "stages"}
	dataKeys      = []string{"dataset", "dir", "batch_size", "eval_batch_size", "validation", "normalize", "train_size", "test_size"}
	modelKeys     = []string{"arch", "hidden", "activation", "dropout"}
	stageKinds    = []string{"train", "evaluate"}
	trainKeys     = []string{"epochs", "steps", "optimizer", "log_every", "checkpoint"}
	optimizerKeys = []string{"name", "learning_rate", "weight_decay"}
	evaluateKeys  = []string{"split"}
	// Optimizers this version runs; the full set (momentum, RMSProp, AdamW, …) is pkg/optim's.
	Optimizers  = []string{"sgd", "adam"}
	Splits      = []string{"test", "validation", "train"}
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// ParseFile reads and parses a recipe file.
func ParseFile(path string) (*Recipe, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	return Parse(path, src)
}

// Parse parses recipe text; file names it in errors.
func Parse(file string, src []byte) (*Recipe, error) {
	d := &decoder{file: file}
	body, err := d.parseDocument(src)
	if err != nil {
		return nil, err
	}
	r := &Recipe{Path: file, Source: src, Seed: 42, Backend: "auto", Params: map[string]string{}}
	fields, err := d.mapping(body, "the recipe", topLevelKeys)
	if err != nil {
		return nil, err
	}
	have := map[string]ast.Node{}
	for _, f := range fields {
		have[f.key] = f.keyNode
		switch f.key {
		case "name":
			if r.Name, err = d.str(f.value, "name"); err == nil && !namePattern.MatchString(r.Name) {
				err = d.errAt(f.value, "name %q must start with a letter or digit and use only letters, digits, '.', '_' and '-'", r.Name)
			}
		case "description":
			r.Description, err = d.str(f.value, "description")
		case "seed":
			r.Seed, err = d.integer(f.value, "seed", 0)
		case "backend":
			if r.Backend, err = d.str(f.value, "backend"); err == nil {
				if verr := backend.Validate(r.Backend); verr != nil {
					err = d.errAt(f.value, "%v", verr)
				}
			}
		case "data":
			r.Data, err = d.data(f.value)
		case "model":
			r.Model, err = d.model(f.value)
		case "stages":
			r.Stages, err = d.stages(f.value)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, key := range []string{"name", "data", "model", "stages"} {
		if have[key] == nil {
			return nil, &Error{File: d.file, Line: 1, Col: 1, Msg: fmt.Sprintf("missing required key %q (a recipe needs name, data, model and stages)", key)}
		}
	}
	flatten("", body, r.Params)
	return r, nil
}

func (d *decoder) data(n ast.Node) (Data, error) {
	data := Data{BatchSize: 128, Validation: -1, Normalize: true}
	fields, err := d.mapping(n, "data", dataKeys)
	if err != nil {
		return data, err
	}
	var v int64
	for _, f := range fields {
		switch f.key {
		case "dataset":
			data.Dataset, err = d.enum(f.value, "dataset", datasets.Names())
		case "dir":
			data.Dir, err = d.str(f.value, "data.dir")
		case "batch_size":
			v, err = d.integer(f.value, "data.batch_size", 1)
			data.BatchSize = int(v)
		case "eval_batch_size":
			v, err = d.integer(f.value, "data.eval_batch_size", 1)
			data.EvalBatchSize = int(v)
		case "validation":
			v, err = d.integer(f.value, "data.validation", 0)
			data.Validation = int(v)
		case "normalize":
			data.Normalize, err = d.boolean(f.value, "data.normalize")
		case "train_size":
			v, err = d.integer(f.value, "data.train_size", 1)
			data.TrainSize = int(v)
		case "test_size":
			v, err = d.integer(f.value, "data.test_size", 1)
			data.TestSize = int(v)
		}
		if err != nil {
			return data, err
		}
	}
	if data.Dataset == "" {
		return data, d.errAt(n, "data needs a dataset (one of %s)", strings.Join(datasets.Names(), ", "))
	}
	if data.EvalBatchSize == 0 {
		data.EvalBatchSize = max(data.BatchSize, 500)
	}
	return data, nil
}

func (d *decoder) model(n ast.Node) (models.Spec, error) {
	var spec models.Spec
	fields, err := d.mapping(n, "model", modelKeys)
	if err != nil {
		return spec, err
	}
	for _, f := range fields {
		switch f.key {
		case "arch":
			spec.Arch, err = d.enum(f.value, "model arch", models.Archs)
		case "activation":
			spec.Activation, err = d.enum(f.value, "activation", models.Activations)
		case "dropout":
			if spec.Dropout, err = d.number(f.value, "model.dropout"); err == nil && (spec.Dropout < 0 || spec.Dropout >= 1) {
				err = d.errAt(f.value, "model.dropout must be in [0, 1), got %g", spec.Dropout)
			}
		case "hidden":
			var items []ast.Node
			if items, err = d.sequence(f.value, "model.hidden"); err == nil {
				for _, item := range items {
					var w int64
					if w, err = d.integer(item, "a hidden layer width", 1); err != nil {
						break
					}
					spec.Hidden = append(spec.Hidden, int(w))
				}
			}
		}
		if err != nil {
			return spec, err
		}
	}
	if spec.Arch == "" {
		return spec, d.errAt(n, "model needs an arch (one of %s)", strings.Join(models.Archs, ", "))
	}
	if spec.Arch != "mlp" && (spec.Hidden != nil || spec.Dropout != 0) {
		return spec, d.errAt(n, "model.hidden and model.dropout apply to the mlp arch only, not %s", spec.Arch)
	}
	return spec, spec.Validate()
}

func (d *decoder) stages(n ast.Node) ([]Stage, error) {
	items, err := d.sequence(n, "stages")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, d.errAt(n, "stages is empty: add at least one of %s", strings.Join(stageKinds, ", "))
	}
	var stages []Stage
	for i, item := range items {
		what := fmt.Sprintf("stage %d", i+1)
		var kind string
		var body ast.Node
		if s, ok := unwrap(item).(*ast.StringNode); ok { // "- evaluate" with all defaults
			kind = s.Value
		} else {
			fields, err := d.mapping(item, what, stageKinds)
			if err != nil {
				return nil, stageKindError(d, err, item, what)
			}
			if len(fields) != 1 {
				return nil, d.errAt(item, "%s must have exactly one kind (%s), got %d keys", what, strings.Join(stageKinds, ", "), len(fields))
			}
			kind, body = fields[0].key, fields[0].value
		}
		if !contains(stageKinds, kind) {
			msg := fmt.Sprintf("unknown stage %q", kind)
			if s := suggest(kind, stageKinds); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, d.errAt(item, "%s; allowed: %s", msg, strings.Join(stageKinds, ", "))
		}
		st := Stage{Kind: kind}
		if tk := item.GetToken(); tk != nil && tk.Position != nil {
			st.Line = tk.Position.Line
		}
		switch kind {
		case "train":
			st.Train, err = d.train(body, item)
		case "evaluate":
			st.Evaluate, err = d.evaluate(body)
		}
		if err != nil {
			return nil, err
		}
		stages = append(stages, st)
	}
	return stages, nil
}

// stageKindError rewords an unknown-key error at a stage's top as an unknown stage.
func stageKindError(d *decoder, err error, item ast.Node, what string) error {
	if e, ok := err.(*Error); ok && strings.HasPrefix(e.Msg, "unknown key ") {
		e.Msg = "unknown stage " + strings.TrimPrefix(e.Msg, "unknown key ")
		e.Msg = strings.Replace(e.Msg, " in "+what, "", 1)
		return e
	}
	return err
}

func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := unwrap(n).(*ast.NullNode)
	return ok
}

func (d *decoder) train(n, stageNode ast.Node) (*TrainStage, error) {
	t := &TrainStage{Checkpoint: true, Optimizer: Optimizer{Name: "adam"}}
	if isNull(n) {
		return nil, d.errAt(stageNode, "train stage needs epochs or steps")
	}
	fields, err := d.mapping(n, "train stage", trainKeys)
	if err != nil {
		return nil, err
	}
	var v int64
	for _, f := range fields {
		switch f.key {
		case "epochs":
			v, err = d.integer(f.value, "epochs", 1)
			t.Epochs = int(v)
		case "steps":
			v, err = d.integer(f.value, "steps", 1)
			t.Steps = int(v)
		case "log_every":
			v, err = d.integer(f.value, "log_every", 1)
			t.LogEvery = int(v)
		case "checkpoint":
			t.Checkpoint, err = d.boolean(f.value, "checkpoint")
		case "optimizer":
			t.Optimizer, err = d.optimizer(f.value)
		}
		if err != nil {
			return nil, err
		}
	}
	if (t.Epochs == 0) == (t.Steps == 0) {
		return nil, d.errAt(n, "train stage needs exactly one of epochs or steps")
	}
	if t.Optimizer.LearningRate == 0 {
		t.Optimizer.LearningRate = defaultLearningRate[t.Optimizer.Name]
	}
	return t, nil
}

// defaultLearningRate follows PyTorch's defaults where it has one (Adam),
// and the usual starting point where it does not (SGD).
var defaultLearningRate = map[string]float64{"sgd": 0.01, "adam": 1e-3}

func (d *decoder) optimizer(n ast.Node) (Optimizer, error) {
	o := Optimizer{Name: "adam"}
	if s, ok := unwrap(n).(*ast.StringNode); ok { // optimizer: sgd
		name, err := d.enum(s, "optimizer", Optimizers)
		o.Name = name
		return o, err
	}
	fields, err := d.mapping(n, "optimizer", optimizerKeys)
	if err != nil {
		return o, err
	}
	for _, f := range fields {
		switch f.key {
		case "name":
			o.Name, err = d.enum(f.value, "optimizer", Optimizers)
		case "learning_rate":
			o.LearningRate, err = d.positive(f.value, "learning_rate")
		case "weight_decay":
			if o.WeightDecay, err = d.number(f.value, "weight_decay"); err == nil && o.WeightDecay < 0 {
				err = d.errAt(f.value, "weight_decay must be at least 0, got %g", o.WeightDecay)
			}
		}
		if err != nil {
			return o, err
		}
	}
	if o.WeightDecay > 0 && o.Name != "adam" {
		return o, d.errAt(n, "weight_decay is supported with adam only in this version")
	}
	return o, nil
}

func (d *decoder) evaluate(n ast.Node) (*EvaluateStage, error) {
	e := &EvaluateStage{Split: "test"}
	if isNull(n) {
		return e, nil
	}
	fields, err := d.mapping(n, "evaluate stage", evaluateKeys)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		if f.key == "split" {
			if e.Split, err = d.enum(f.value, "split", Splits); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

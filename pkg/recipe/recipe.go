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
	"github.com/lathe-ml/lathe/pkg/amp"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/optim"
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
	// Variants run the recipe several times with other train settings
	// (optimizer, schedule, precision…), one run each: see Expand.
	Variants []Variant
}

// Variant is one named alternative of a recipe's train stages.
type Variant struct {
	Name   string
	Seed   int64
	Stages []Stage // the recipe's stages with this variant's train settings
	Params map[string]string
}

// Expand returns the recipes to run: the recipe itself, or one per variant
// named <recipe>/<variant>, each with params variant=<name>.
func (r *Recipe) Expand() []*Recipe {
	if len(r.Variants) == 0 {
		return []*Recipe{r}
	}
	out := make([]*Recipe, 0, len(r.Variants))
	for _, v := range r.Variants {
		c := *r
		c.Name = r.Name + "/" + v.Name
		c.Seed = v.Seed
		c.Stages = v.Stages
		c.Variants = nil
		c.Params = map[string]string{"variant": v.Name}
		for k, val := range r.Params {
			if !strings.HasPrefix(k, "variants.") {
				c.Params[k] = val
			}
		}
		for k, val := range v.Params {
			c.Params[k] = val
		}
		out = append(out, &c)
	}
	return out
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
	Epochs int
	Steps  int
	// Optimizer with its schedule and clipping; PyTorch's names and defaults.
	Optimizer optim.Config
	// Precision is f32, bf16 or fp16 (pkg/amp); PrecisionFallback, when set,
	// is used where the backend lacks Precision.
	Precision         string
	PrecisionFallback string
	// AccumulateSteps > 1 applies one update per that many micro-batches.
	AccumulateSteps int
	// Devices is how many devices train data-parallel: 0 (unset) one,
	// -1 ("all") every device the backend has.
	Devices    int
	LogEvery   int  // steps between progress events (0: about 50 per epoch)
	Checkpoint bool // save a checkpoint after every epoch and at the end (default true)
}

// EvaluateStage measures loss and accuracy on a split.
type EvaluateStage struct {
	Split string // test, validation or train
}

var (
	topLevelKeys = []string{"name", "description", "seed", "backend", "data", "model", "stages", "variants"}
	// variantKeys: what a variant may change; train keys apply to every train stage.
	variantKeys = []string{"name", "seed", "optimizer", "schedule", "clip", "precision", "precision_fallback", "accumulate_steps", "devices"}
	dataKeys    = []string{"dataset", "dir", "batch_size", "eval_batch_size", "validation", "normalize", "train_size", "test_size"}
	modelKeys   = []string{"arch", "hidden", "activation", "dropout"}
	stageKinds  = []string{"train", "evaluate"}
	trainKeys   = []string{"epochs", "steps", "optimizer", "schedule", "clip", "precision", "precision_fallback",
		"accumulate_steps", "devices", "log_every", "checkpoint"}
	optimizerKeys = []string{"name", "learning_rate", "momentum", "dampening", "nesterov", "betas", "eps",
		"weight_decay", "amsgrad", "alpha", "centered", "lr_decay", "initial_accumulator_value"}
	scheduleKeys = []string{"name", "step_size", "gamma", "warmup_steps", "min_learning_rate",
		"max_learning_rate", "pct_start", "div_factor", "final_div_factor"}
	clipKeys     = []string{"norm", "value"}
	evaluateKeys = []string{"split"}
	Splits       = []string{"test", "validation", "train"}
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
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
	var variants ast.Node
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
		case "variants":
			variants = f.value // after the stages they vary, wherever it stands
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
	if variants != nil {
		if r.Variants, err = d.variants(variants, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (d *decoder) variants(n ast.Node, base *Recipe) ([]Variant, error) {
	items, err := d.sequence(n, "variants")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, d.errAt(n, "variants is empty: remove it or list at least one")
	}
	seen := map[string]bool{}
	var out []Variant
	for i, item := range items {
		what := fmt.Sprintf("variant %d", i+1)
		fields, err := d.mapping(item, what, variantKeys)
		if err != nil {
			return nil, err
		}
		v := Variant{Seed: base.Seed, Params: map[string]string{}}
		var overrides []field
		for _, f := range fields {
			switch f.key {
			case "name":
				if v.Name, err = d.str(f.value, "variant name"); err == nil && !namePattern.MatchString(v.Name) {
					err = d.errAt(f.value, "variant name %q must use only letters, digits, '.', '_' and '-'", v.Name)
				}
			case "seed":
				v.Seed, err = d.integer(f.value, "seed", 0)
			default:
				overrides = append(overrides, f)
			}
			if err != nil {
				return nil, err
			}
		}
		if v.Name == "" {
			return nil, d.errAt(item, "%s needs a name", what)
		}
		if seen[v.Name] {
			return nil, d.errAt(item, "duplicate variant name %q", v.Name)
		}
		seen[v.Name] = true
		for _, st := range base.Stages {
			if st.Kind == "train" {
				t := *st.Train
				if err := d.trainFields(overrides, &t); err != nil {
					return nil, err
				}
				if err := d.finishTrain(item, &t); err != nil {
					return nil, err
				}
				st.Train = &t
			}
			v.Stages = append(v.Stages, st)
		}
		flatten("variant", item, v.Params)
		out = append(out, v)
	}
	return out, nil
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
	t := &TrainStage{Checkpoint: true, Optimizer: optim.Config{Name: "adam"}, Precision: "f32", AccumulateSteps: 1}
	if isNull(n) {
		return nil, d.errAt(stageNode, "train stage needs epochs or steps")
	}
	fields, err := d.mapping(n, "train stage", trainKeys)
	if err != nil {
		return nil, err
	}
	if err := d.trainFields(fields, t); err != nil {
		return nil, err
	}
	if (t.Epochs == 0) == (t.Steps == 0) {
		return nil, d.errAt(n, "train stage needs exactly one of epochs or steps")
	}
	return t, d.finishTrain(n, t)
}

// trainFields applies a train stage's keys to t (also used for variants).
func (d *decoder) trainFields(fields []field, t *TrainStage) error {
	var v int64
	var err error
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
			// A new optimizer starts from its own defaults; schedule and clipping stay.
			fresh := optim.Config{Name: "adam", Schedule: t.Optimizer.Schedule, ClipNorm: t.Optimizer.ClipNorm, ClipValue: t.Optimizer.ClipValue}
			err = d.optimizer(f.value, &fresh)
			t.Optimizer = fresh
		case "schedule":
			t.Optimizer.Schedule = optim.Schedule{}
			err = d.schedule(f.value, &t.Optimizer.Schedule)
		case "clip":
			t.Optimizer.ClipNorm, t.Optimizer.ClipValue = 0, 0
			err = d.clip(f.value, &t.Optimizer)
		case "precision":
			t.Precision, err = d.enum(f.value, "precision", amp.Precisions)
		case "precision_fallback":
			t.PrecisionFallback, err = d.enum(f.value, "precision_fallback", amp.Precisions)
		case "accumulate_steps":
			v, err = d.integer(f.value, "accumulate_steps", 1)
			t.AccumulateSteps = int(v)
		case "devices":
			if str, ok := unwrap(f.value).(*ast.StringNode); ok && str.Value == "all" {
				t.Devices = -1
			} else if v, err = d.integer(f.value, "devices", 1); err != nil {
				err = d.errAt(f.value, "devices must be all or a number of devices (at least 1), got %s", describe(f.value))
			} else {
				t.Devices = int(v)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finishTrain checks cross-key rules and fills the optimizer's defaults.
func (d *decoder) finishTrain(n ast.Node, t *TrainStage) error {
	if t.AccumulateSteps > 1 && t.Precision == string(amp.FP16) {
		return d.errAt(n, "accumulate_steps cannot be combined with precision fp16 (its loss scaling) in this version")
	}
	t.Optimizer = optim.Defaults(t.Optimizer)
	if err := t.Optimizer.Validate(); err != nil {
		return d.errAt(n, "train stage: %v", err)
	}
	return nil
}

func (d *decoder) optimizer(n ast.Node, o *optim.Config) error {
	if s, ok := unwrap(n).(*ast.StringNode); ok { // optimizer: sgd
		name, err := d.enum(s, "optimizer", optim.Names)
		o.Name = name
		return err
	}
	fields, err := d.mapping(n, "optimizer", optimizerKeys)
	if err != nil {
		return err
	}
	for _, f := range fields {
		switch f.key {
		case "name":
			o.Name, err = d.enum(f.value, "optimizer", optim.Names)
		case "learning_rate":
			o.LearningRate, err = d.positive(f.value, "learning_rate")
		case "momentum":
			o.Momentum, err = d.fraction(f.value, "momentum")
		case "dampening":
			o.Dampening, err = d.fraction(f.value, "dampening")
		case "nesterov":
			o.Nesterov, err = d.boolean(f.value, "nesterov")
		case "amsgrad":
			o.AMSGrad, err = d.boolean(f.value, "amsgrad")
		case "centered":
			o.Centered, err = d.boolean(f.value, "centered")
		case "alpha":
			o.Alpha, err = d.fraction(f.value, "alpha")
		case "eps":
			o.Eps, err = d.nonNegative(f.value, "eps")
		case "weight_decay":
			o.WeightDecay, err = d.nonNegative(f.value, "weight_decay")
		case "lr_decay":
			o.LRDecay, err = d.nonNegative(f.value, "lr_decay")
		case "initial_accumulator_value":
			o.InitialAccumulatorValue, err = d.nonNegative(f.value, "initial_accumulator_value")
		case "betas":
			var items []ast.Node
			if items, err = d.sequence(f.value, "betas"); err == nil {
				if len(items) != 2 {
					err = d.errAt(f.value, "betas must be a list of two numbers such as [0.9, 0.999], got %d", len(items))
				}
				for i := 0; err == nil && i < len(items); i++ {
					o.Betas[i], err = d.fraction(items[i], "betas")
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) schedule(n ast.Node, s *optim.Schedule) error {
	if str, ok := unwrap(n).(*ast.StringNode); ok { // schedule: cosine
		name, err := d.enum(str, "schedule", optim.ScheduleNames)
		s.Name = name
		return err
	}
	fields, err := d.mapping(n, "schedule", scheduleKeys)
	if err != nil {
		return err
	}
	var v int64
	for _, f := range fields {
		switch f.key {
		case "name":
			s.Name, err = d.enum(f.value, "schedule", optim.ScheduleNames)
		case "step_size":
			v, err = d.integer(f.value, "step_size", 1)
			s.StepSize = int(v)
		case "warmup_steps":
			v, err = d.integer(f.value, "warmup_steps", 0)
			s.WarmupSteps = int(v)
		case "gamma":
			s.Gamma, err = d.positive(f.value, "gamma")
		case "min_learning_rate":
			s.MinLearningRate, err = d.nonNegative(f.value, "min_learning_rate")
		case "max_learning_rate":
			s.MaxLearningRate, err = d.positive(f.value, "max_learning_rate")
		case "pct_start":
			s.PctStart, err = d.fraction(f.value, "pct_start")
		case "div_factor":
			s.DivFactor, err = d.positive(f.value, "div_factor")
		case "final_div_factor":
			s.FinalDivFactor, err = d.positive(f.value, "final_div_factor")
		}
		if err != nil {
			return err
		}
	}
	if s.Name == "" {
		return d.errAt(n, "schedule needs a name (one of %s)", strings.Join(optim.ScheduleNames, ", "))
	}
	if err := s.Validate(); err != nil {
		return d.errAt(n, "%v", err)
	}
	return nil
}

func (d *decoder) clip(n ast.Node, o *optim.Config) error {
	fields, err := d.mapping(n, "clip", clipKeys)
	if err != nil {
		return err
	}
	for _, f := range fields {
		switch f.key {
		case "norm":
			o.ClipNorm, err = d.positive(f.value, "clip.norm")
		case "value":
			o.ClipValue, err = d.positive(f.value, "clip.value")
		}
		if err != nil {
			return err
		}
	}
	return nil
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

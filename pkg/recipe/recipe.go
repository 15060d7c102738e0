// Package recipe reads Lathe's recipe files: it parses, validates and
// expands them, and links no GoMLX (the dashboard uses it); package runner
// runs them.
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
// Stage kinds are plug-ins: each registers itself with Register (package
// runner registers the built-in ones, train and evaluate), declaring its
// keys, whether it has steps and how many it plans. A program parses the
// kinds it links, as database/sql knows the drivers it imports.
//
// Example:
//
//	import _ "github.com/lathe-ml/lathe/pkg/stages" // every shipped stage kind
//
//	rec, err := recipe.ParseFile("recipes/quickstart.yaml")
//	if err != nil { return err } // e.g. quickstart.yaml:7:5: unknown key "epoch" in train stage (did you mean "epochs"?); allowed: …
package recipe

import (
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/lathe-ml/lathe/pkg/onnximport"
	"github.com/lathe-ml/lathe/pkg/spec"
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
	Model       spec.Model
	Stages      []Stage
	// Params are the recipe's values flattened to dotted keys, as stored with a run.
	Params map[string]string
	// Variants run the recipe several times with other stage settings
	// (optimizer, schedule, precision, a pruning target…), one run each: see Expand.
	Variants []Variant
	// Seeds, when set, run the recipe (each variant) once per seed: a
	// result is then a mean with its spread, not one draw (see Expand).
	Seeds []int64
}

// Variant is one named alternative of a recipe's stage settings.
type Variant struct {
	Name   string
	Seed   int64
	Stages []Stage // the recipe's stages with this variant's settings
	Params map[string]string
}

// VariantParam is the run parameter naming a run's variant.
const VariantParam = "variant"

// Expand returns the recipes to run: the recipe itself, or one per variant
// named <recipe>/<variant>, each with params variant=<name>; with Seeds,
// each of those once per seed, named …/seed<N> with params seed=<N>.
func (r *Recipe) Expand() []*Recipe {
	var out []*Recipe
	if len(r.Variants) == 0 {
		out = []*Recipe{r}
	} else {
		for _, v := range r.Variants {
			c := *r
			c.Name = r.Name + "/" + v.Name
			c.Seed = v.Seed
			c.Stages = v.Stages
			c.Variants = nil
			c.Params = map[string]string{VariantParam: v.Name}
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
	}
	if len(r.Seeds) == 0 {
		return out
	}
	var seeded []*Recipe
	for _, one := range out {
		for _, seed := range r.Seeds {
			c := *one
			c.Name = fmt.Sprintf("%s/seed%d", one.Name, seed)
			c.Seed = seed
			c.Seeds = nil
			c.Params = maps.Clone(one.Params)
			delete(c.Params, "seeds")
			c.Params["seed"] = strconv.FormatInt(seed, 10)
			seeded = append(seeded, &c)
		}
	}
	return seeded
}

// SetSeeds makes the recipe run once per seed (Seeds), as a `seeds:` key
// would: `lathe run --seeds`.
func (r *Recipe) SetSeeds(seeds []int64) error {
	if err := checkSeeds(seeds); err != nil {
		return err
	}
	r.Seeds = seeds
	if err := r.checkVariantSeeds(); err != nil {
		r.Seeds = nil
		return err
	}
	r.Params["seeds"] = fmt.Sprint(seeds)
	return nil
}

// checkVariantSeeds refuses seeds beside a variant that sets its own seed:
// which one would the variant's runs use?
func (r *Recipe) checkVariantSeeds() error {
	for _, v := range r.Variants {
		if _, own := v.Params["variant.seed"]; own {
			return fmt.Errorf("variant %s sets its own seed; with seeds every variant runs once per seed", quoted(v.Name))
		}
	}
	return nil
}

// checkSeeds: at least two, each once (one seed is the seed key).
func checkSeeds(seeds []int64) error {
	if len(seeds) < 2 {
		return fmt.Errorf("seeds lists %d seed(s): give at least two (one is the seed key)", len(seeds))
	}
	for i, s := range seeds {
		if s < 0 {
			return fmt.Errorf("seed %d is negative", s)
		}
		if slices.Contains(seeds[:i], s) {
			return fmt.Errorf("seed %d is listed twice", s)
		}
	}
	return nil
}

// seeds decodes the seeds list.
func (d *Decoder) seeds(n Node) ([]int64, error) {
	items, err := d.List(n, "seeds")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, item := range items {
		s, err := d.Int64(item, "a seed", 0)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := checkSeeds(out); err != nil {
		return nil, d.Errorf(n, "%v", err)
	}
	return out, nil
}

// Variant returns the expanded recipe of the named variant.
func (r *Recipe) Variant(name string) (*Recipe, bool) {
	for _, one := range r.Expand() {
		if one.Params[VariantParam] == name {
			return one, true
		}
	}
	return nil, false
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
	// Stats, when set (normalize: {mean, std}), are the mean and std to
	// standardize with instead of the training split's: those a model
	// trained elsewhere was trained with (PyTorch's transforms.Normalize).
	Stats     *Stats
	TrainSize int // a synthetic set's size; of a real one, the first so many examples
	TestSize  int // the same for the test split
	// Pad adds this many zero pixels on every side of each image
	// (Fashion-MNIST's 28×28 padded by 2 is the 32×32 of CIFAR-sized models).
	Pad int
	// An image folder (dataset: imagefolder, see datasets.LoadFolder): the
	// size its images are resized to, their channels (1 or 3), the
	// fraction of each class tested when Dir has no test/ folder, and
	// whether images that do not decode are left out.
	Size         [2]int
	Channels     int
	TestFraction float64
	SkipBad      bool
	// A table (dataset: csv, see datasets.LoadCSV): the file, and the
	// column holding the class; the others are features.
	File, Label string
}

// Stats are a standardization's constants: (x − Mean) / Std.
type Stats struct{ Mean, Std float64 }

// ExampleShape is the shape of one example the data gives, nil where the
// dataset's files decide it.
func (data Data) ExampleShape() []int {
	if data.Dataset == "imagefolder" {
		return []int{data.Size[0] + 2*data.Pad, data.Size[1] + 2*data.Pad, data.Channels}
	}
	ds, ok := spec.LookupDataset(data.Dataset)
	if !ok || ds.ExampleShape == nil {
		return nil
	}
	shape := slices.Clone(ds.ExampleShape)
	if len(shape) == 3 {
		shape[0], shape[1] = shape[0]+2*data.Pad, shape[1]+2*data.Pad
	}
	return shape
}

var (
	topLevelKeys = []string{"name", "description", "seed", "seeds", "backend", "data", "model", "stages", "variants"}
	dataKeys     = []string{"dataset", "dir", "batch_size", "eval_batch_size", "validation", "normalize", "train_size", "test_size", "pad", "size", "channels", "test_fraction", "skip_bad", "file", "label"}
	folderKeys   = []string{"size", "channels", "skip_bad"}
	csvKeys      = []string{"file", "label"}
	modelKeys    = []string{"arch", "onnx", "hidden", "activation", "dropout", "widths"}
	// Splits are the data splits a stage may name.
	Splits      = []string{"test", "validation", "train"}
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// ParseFile reads and parses a recipe file.
func ParseFile(path string) (*Recipe, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	defer f.Close()
	// Read one byte past the bound: Parse reports a file that is too big
	// without this reading all of it.
	src, err := io.ReadAll(io.LimitReader(f, MaxRecipeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", path, err)
	}
	return Parse(path, src)
}

// Parse parses recipe text; file names it in errors.
func Parse(file string, src []byte) (*Recipe, error) {
	d := &Decoder{file: file}
	body, err := d.parseDocument(src)
	if err != nil {
		return nil, err
	}
	r := &Recipe{Path: file, Source: src, Seed: 42, Backend: "auto", Params: map[string]string{}}
	fields, err := d.Fields(body, "the recipe", topLevelKeys)
	if err != nil {
		return nil, err
	}
	have := map[string]Node{}
	for _, f := range fields {
		have[f.Key] = f.Value
		switch f.Key {
		case "name":
			if r.Name, err = d.String(f.Value, "name"); err == nil && !namePattern.MatchString(r.Name) {
				err = d.Errorf(f.Value, "name %s must start with a letter or digit and use only letters, digits, '.', '_' and '-'", quoted(r.Name))
			}
		case "description":
			r.Description, err = d.String(f.Value, "description")
		case "seed":
			r.Seed, err = d.Int64(f.Value, "seed", 0)
		case "seeds":
			r.Seeds, err = d.seeds(f.Value)
		case "backend":
			if r.Backend, err = d.String(f.Value, "backend"); err == nil {
				if verr := spec.ValidateBackend(r.Backend); verr != nil {
					err = d.Errorf(f.Value, "%v", verr)
				}
			}
		case "data":
			r.Data, err = d.data(f.Value)
		case "model":
			r.Model, err = d.model(f.Value)
		case "stages":
			r.Stages, err = d.stages(f.Value)
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
	// Cross-section rules, now that every section is read wherever it stands.
	if err := r.Model.Accepts(r.Data.Dataset); err != nil {
		return nil, d.Errorf(valueAt(have["model"], "arch"), "%v", err)
	}
	if err := checkImported(d, r, have["model"]); err != nil {
		return nil, err
	}
	if r.Data.Dataset == "imagefolder" {
		if err := r.Model.AcceptsShape(r.Data.ExampleShape()); err != nil {
			return nil, d.Errorf(valueAt(have["model"], "arch"), "%v (data.size and data.channels)", err)
		}
	}
	if err := d.checkSizes(r.Data, have["data"]); err != nil {
		return nil, err
	}
	for i := range r.Stages {
		if err := r.Stages[i].check(d, r); err != nil {
			return nil, err
		}
	}
	if err := d.checkFiles(r.Stages, ""); err != nil {
		return nil, err
	}
	flatten("", body, r.Params)
	if have["seed"] != nil && have["seeds"] != nil {
		return nil, d.Errorf(have["seeds"], "give seed or seeds, not both")
	}
	if v := have["variants"]; v != nil {
		if r.Variants, err = d.variants(v, r); err != nil {
			return nil, err
		}
	}
	if len(r.Seeds) > 0 {
		if err := r.checkVariantSeeds(); err != nil {
			return nil, d.Errorf(have["seeds"], "%v", err)
		}
	}
	return r, nil
}

// checkImported checks an imported model's input against the data: the
// file fixes one example's shape (features may come as images of as many
// values, flattened).
func checkImported(d *Decoder, r *Recipe, at Node) error {
	if r.Model.ONNX == "" {
		return nil
	}
	imp, err := onnximport.Load(r.Model.ONNX)
	if err != nil {
		return d.Errorf(valueAt(at, "onnx"), "model.onnx: %v", err)
	}
	shape := r.Data.ExampleShape()
	if shape == nil {
		return nil // known once the files are read
	}
	if !imp.Takes(shape) {
		return d.Errorf(valueAt(at, "onnx"), "model.onnx %s takes examples of shape %v (height, width, channels), but data %s gives %v",
			r.Model.ONNX, imp.Example, r.Data.Dataset, shape)
	}
	return nil
}

// checkSizes checks the data section against the dataset's size before any
// data loads: the validation split leaves training examples, and a batch
// fits in what is left.
func (d *Decoder) checkSizes(data Data, at Node) error {
	total, validation, ok := data.sizes()
	if !ok {
		return nil
	}
	if validation >= total {
		return d.Errorf(valueAt(at, "validation"), "data.validation %d holds out all %d training examples of %s; it must be less", validation, total, data.Dataset)
	}
	if left := total - validation; data.BatchSize > left {
		return d.Errorf(valueAt(at, "batch_size"), "data.batch_size %d is larger than the %d training examples of %s left after %d for validation", data.BatchSize, left, data.Dataset, validation)
	}
	return nil
}

// sizes are the examples of the dataset's training split and those held
// out of it for validation; false for a dataset the spec table lacks or
// whose files decide (an image folder).
func (data Data) sizes() (total, validation int, ok bool) {
	ds, ok := spec.LookupDataset(data.Dataset)
	if !ok || ds.FromFiles {
		return 0, 0, false
	}
	total = ds.TrainExamples(data.TrainSize)
	validation = data.Validation
	if validation < 0 {
		validation = total / 10
	}
	return total, validation, true
}

// StepsPerEpoch is how many steps one epoch of the training split takes
// (the last partial batch is dropped); 0 when the dataset's size is not
// known before it loads.
func (data Data) StepsPerEpoch() int {
	total, validation, ok := data.sizes()
	if !ok || data.BatchSize <= 0 || validation >= total {
		return 0
	}
	return (total - validation) / data.BatchSize
}

// valueAt is where key's value is written in mapping n (n itself if not there).
func valueAt(n Node, key string) Node {
	if m, ok := Unwrap(n).(*ast.MappingNode); ok {
		for _, mv := range m.Values {
			if strings.TrimSpace(mv.Key.String()) == key {
				return mv.Value
			}
		}
	}
	if mv, ok := Unwrap(n).(*ast.MappingValueNode); ok && strings.TrimSpace(mv.Key.String()) == key {
		return mv.Value
	}
	return n
}

func (d *Decoder) data(n Node) (Data, error) {
	data := Data{BatchSize: 128, Validation: -1, Normalize: true}
	fields, err := d.Fields(n, "data", dataKeys)
	if err != nil {
		return data, err
	}
	for _, f := range fields {
		switch f.Key {
		case "dataset":
			data.Dataset, err = d.Enum(f.Value, "dataset", spec.DatasetNames())
		case "dir":
			data.Dir, err = d.String(f.Value, "data.dir")
		case "batch_size":
			data.BatchSize, err = d.Int(f.Value, "data.batch_size", 1)
		case "eval_batch_size":
			data.EvalBatchSize, err = d.Int(f.Value, "data.eval_batch_size", 1)
		case "validation":
			data.Validation, err = d.Int(f.Value, "data.validation", 0)
		case "normalize":
			if _, isMap := Unwrap(f.Value).(*ast.MappingNode); isMap {
				data.Normalize = true
				data.Stats, err = d.stats(f.Value)
			} else {
				data.Normalize, err = d.Bool(f.Value, "data.normalize")
			}
		case "train_size":
			data.TrainSize, err = d.Int(f.Value, "data.train_size", 1)
		case "test_size":
			data.TestSize, err = d.Int(f.Value, "data.test_size", 1)
		case "pad":
			if data.Pad, err = d.Int(f.Value, "data.pad", 0); err == nil && data.Pad > 64 {
				err = d.Errorf(f.Value, "data.pad %d: at most 64 pixels", data.Pad)
			}
		case "size":
			var items []Node
			if items, err = d.List(f.Value, "data.size"); err == nil && len(items) != 2 {
				err = d.Errorf(f.Value, "data.size: want [height, width], got %d numbers", len(items))
			}
			for i := 0; err == nil && i < len(items); i++ {
				if data.Size[i], err = d.Int(items[i], "data.size", 1); err == nil && data.Size[i] > 4096 {
					err = d.Errorf(items[i], "data.size: %d pixels, at most 4096", data.Size[i])
				}
			}
		case "channels":
			if data.Channels, err = d.Int(f.Value, "data.channels", 1); err == nil && data.Channels != 1 && data.Channels != 3 {
				err = d.Errorf(f.Value, "data.channels %d: 1 (gray) or 3 (RGB)", data.Channels)
			}
		case "test_fraction":
			if data.TestFraction, err = d.Fraction(f.Value, "data.test_fraction"); err == nil && (data.TestFraction == 0 || data.TestFraction == 1) {
				err = d.Errorf(f.Value, "data.test_fraction %g: want a fraction between 0 and 1", data.TestFraction)
			}
		case "skip_bad":
			data.SkipBad, err = d.Bool(f.Value, "data.skip_bad")
		case "file":
			if data.File, err = d.String(f.Value, "data.file"); err == nil && data.File == "" {
				err = d.Errorf(f.Value, "data.file is empty: give the CSV file's path")
			}
		case "label":
			if data.Label, err = d.String(f.Value, "data.label"); err == nil && data.Label == "" {
				err = d.Errorf(f.Value, "data.label is empty: give the name of the column holding the class")
			}
		}
		if err != nil {
			return data, err
		}
	}
	if data.Dataset == "" {
		return data, d.Errorf(n, "data needs a dataset (one of %s)", strings.Join(spec.DatasetNames(), ", "))
	}
	if data.Dataset == "imagefolder" {
		if data.Dir == "" {
			return data, d.Errorf(n, "data: dataset imagefolder needs dir (a folder of one sub-folder of images per class)")
		}
		if data.Size[0] == 0 {
			return data, d.Errorf(n, "data: dataset imagefolder needs size: [height, width] (every image is resized to it)")
		}
		if data.Channels == 0 {
			data.Channels = 3
		}
	} else {
		for _, key := range folderKeys {
			if at := valueAt(n, key); at != n {
				return data, d.Errorf(at, "data.%s applies to dataset imagefolder only, not %s", key, data.Dataset)
			}
		}
	}
	if data.Dataset == "csv" {
		if data.File == "" || data.Label == "" {
			return data, d.Errorf(n, "data: dataset csv needs file (the table) and label (the column holding the class)")
		}
		if at := valueAt(n, "pad"); at != n {
			return data, d.Errorf(at, "data.pad: dataset csv has no images to pad")
		}
	} else {
		for _, key := range csvKeys {
			if at := valueAt(n, key); at != n {
				return data, d.Errorf(at, "data.%s applies to dataset csv only, not %s", key, data.Dataset)
			}
		}
	}
	if at := valueAt(n, "test_fraction"); at != n && data.Dataset != "imagefolder" && data.Dataset != "csv" {
		return data, d.Errorf(at, "data.test_fraction applies to datasets imagefolder and csv only, not %s", data.Dataset)
	}
	if ds, ok := spec.LookupDataset(data.Dataset); ok && data.Pad > 0 && len(ds.ExampleShape) != 3 && !ds.FromFiles {
		return data, d.Errorf(valueAt(n, "pad"), "data.pad: dataset %s has no images to pad (%d features per example)", data.Dataset, ds.ExampleShape[0])
	}
	if data.EvalBatchSize == 0 {
		data.EvalBatchSize = max(data.BatchSize, 500)
	}
	return data, nil
}

// stats reads normalize: {mean: M, std: S}.
func (d *Decoder) stats(n Node) (*Stats, error) {
	fields, err := d.Fields(n, "data.normalize", []string{"mean", "std"})
	if err != nil {
		return nil, err
	}
	if len(fields) != 2 {
		return nil, d.Errorf(n, "data.normalize needs both mean and std (or true or false)")
	}
	st := &Stats{}
	for _, f := range fields {
		var v float64
		if v, err = d.Number(f.Value, "data.normalize."+f.Key); err != nil {
			return nil, err
		}
		if f.Key == "mean" {
			st.Mean = v
		} else if st.Std = v; v <= 0 {
			return nil, d.Errorf(f.Value, "data.normalize.std must be positive, got %g", v)
		}
	}
	return st, nil
}

// Model reads a model description written as the recipe's model section
// is (a distillation student).
func (d *Decoder) Model(n Node) (spec.Model, error) { return d.model(n) }

func (d *Decoder) model(n Node) (spec.Model, error) {
	var m spec.Model
	fields, err := d.Fields(n, "model", modelKeys)
	if err != nil {
		return m, err
	}
	var widthsAt Node
	for _, f := range fields {
		switch f.Key {
		case "arch":
			m.Arch, err = d.Enum(f.Value, "model arch", spec.Archs())
		case "onnx":
			if m.ONNX, err = d.String(f.Value, "model.onnx"); err == nil {
				var imp *onnximport.Model
				if imp, err = onnximport.Load(m.ONNX); err != nil {
					err = d.Errorf(f.Value, "model.onnx: %v", err)
				} else {
					m.Arch = imp.Arch
				}
			}
		case "activation":
			m.Activation, err = d.Enum(f.Value, "activation", spec.Activations)
		case "dropout":
			if m.Dropout, err = d.Number(f.Value, "model.dropout"); err == nil && (m.Dropout < 0 || m.Dropout >= 1) {
				err = d.Errorf(f.Value, "model.dropout must be in [0, 1), got %g", m.Dropout)
			}
		case "hidden":
			var items []Node
			if items, err = d.List(f.Value, "model.hidden"); err == nil {
				for _, item := range items {
					var w int
					if w, err = d.Int(item, "a hidden layer width", 1); err != nil {
						break
					}
					m.Hidden = append(m.Hidden, w)
				}
			}
		case "widths":
			widthsAt = f.Value
			m.Widths, err = d.widths(f.Value)
		}
		if err != nil {
			return m, err
		}
	}
	if m.ONNX != "" {
		for _, f := range fields {
			if f.Key != "onnx" {
				return m, d.Errorf(f.Value, "model.%s does not apply to an imported model (model.onnx): its file fixes the architecture", f.Key)
			}
		}
		return m, nil
	}
	if m.Arch == "" {
		return m, d.Errorf(n, "model needs an arch (one of %s) or an ONNX file to import (onnx: FILE)", strings.Join(spec.Archs(), ", "))
	}
	if m.Arch != "mlp" && (m.Hidden != nil || m.Dropout != 0) {
		return m, d.Errorf(n, "model.hidden and model.dropout apply to the mlp arch only, not %s", m.Arch)
	}
	if err := m.Validate(); err != nil {
		if widthsAt != nil && strings.HasPrefix(err.Error(), "widths:") {
			n = widthsAt
		}
		return m, d.Errorf(n, "model.%v", err)
	}
	return m, nil
}

// widths reads model.widths: layer names to their number of outputs
// (neurons or filters), a zoo model made wider or narrower.
func (d *Decoder) widths(n Node) (map[string]int, error) {
	fields, err := d.AnyFields(n, "model.widths")
	if err != nil {
		return nil, err
	}
	widths := map[string]int{}
	for _, f := range fields {
		if widths[f.Key], err = d.Int(f.Value, "the width of layer "+f.Key, 1); err != nil {
			return nil, err
		}
	}
	return widths, nil
}

// IsNull reports whether a node is absent or YAML's null.
func IsNull(n Node) bool {
	if n == nil {
		return true
	}
	_, ok := Unwrap(n).(*ast.NullNode)
	return ok
}

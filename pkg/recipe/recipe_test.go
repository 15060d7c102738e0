package recipe_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	_ "github.com/lathe-ml/lathe/pkg/stages" // every shipped kind, to parse the shipped recipes
	"github.com/lathe-ml/lathe/recipes"
)

const issueExample = `name: mnist-lenet
seed: 42
backend: auto
data: {dataset: mnist, batch_size: 128, validation: 5000}
model: {arch: lenet5}
stages:
  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 1e-3}}
  - evaluate: {split: test}
`

func TestParseExample(t *testing.T) {
	r, err := recipe.Parse("example.yaml", []byte(issueExample))
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "mnist-lenet" || r.Seed != 42 || r.Backend != "auto" || r.Data.Dataset != "mnist" ||
		r.Data.BatchSize != 128 || r.Data.Validation != 5000 || r.Model.Arch != "lenet5" || len(r.Stages) != 2 {
		t.Fatalf("parsed %+v", r)
	}
	tr, ok := r.Stages[0].Settings.(*runner.TrainStage)
	if !ok || tr.Epochs != 2 || tr.Optimizer.Name != "adam" || tr.Optimizer.LearningRate != 1e-3 || !tr.Checkpoint {
		t.Fatalf("train stage %+v", tr)
	}
	if r.Stages[1].Settings.(*runner.EvaluateStage).Split != "test" || r.Stages[1].Line != 8 {
		t.Fatalf("evaluate stage %+v", r.Stages[1])
	}
	if r.Params["data.batch_size"] != "128" || r.Params["stages.0.train.optimizer.name"] != "adam" {
		t.Fatalf("params %v", r.Params)
	}
}

func TestShippedRecipesParse(t *testing.T) {
	for _, name := range recipes.Names() {
		src, err := recipes.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recipe.Parse(recipes.Path(name), src); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// positionRE matches the one-line file:line:col: prefix every error must carry.
var positionRE = regexp.MustCompile(`^bad\.yaml:(\d+):(\d+): `)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		line, col int
		want      string // substring of the message
	}{
		{"typo in a key", strings.Replace(issueExample, "epochs: 2", "epoch: 2", 1), 7, 13, `unknown key "epoch" in train stage (did you mean "epochs"?)`},
		{"typo at top level", strings.Replace(issueExample, "seed:", "sede:", 1), 2, 1, `unknown key "sede" in the recipe (did you mean "seed"?)`},
		{"wrong type", strings.Replace(issueExample, "batch_size: 128", "batch_size: big", 1), 4, 36, "data.batch_size must be an integer, got the string \"big\""},
		{"negative", strings.Replace(issueExample, "batch_size: 128", "batch_size: -1", 1), 4, 36, "data.batch_size must be at least 1"},
		{"unknown stage", strings.Replace(issueExample, "- evaluate:", "- evalute:", 1), 8, 5, `unknown stage "evalute" (did you mean "evaluate"?); allowed: distill, evaluate, export, prune, quantize, report, sensitivity, train`},
		{"unimplemented stage", strings.Replace(issueExample, "- evaluate: {split: test}", "- teleport: {temperature: 4}", 1), 8, 5, `unknown stage "teleport"`},
		{"unknown dataset", strings.Replace(issueExample, "dataset: mnist", "dataset: mnsit", 1), 4, 17, `unknown dataset "mnsit" (did you mean "mnist"?)`},
		{"unknown arch", strings.Replace(issueExample, "lenet5", "alexnet", 1), 5, 15, `unknown model arch "alexnet"`},
		{"bad optimizer", strings.Replace(issueExample, "name: adam", "name: adamax", 1), 7, 42, `unknown optimizer "adamax" (did you mean "adam"?)`},
		{"bad betas", strings.Replace(issueExample, "name: adam,", "name: adam, betas: [0.9],", 1), 7, 55, "betas must be a list of two numbers"},
		{"momentum out of range", strings.Replace(issueExample, "name: adam,", "name: sgd, momentum: 1.5,", 1), 7, 57, "momentum must be in [0, 1)"},
		{"nesterov without momentum", strings.Replace(issueExample, "name: adam,", "name: sgd, nesterov: true,", 1), 7, 12, "nesterov needs momentum > 0"},
		{"unknown schedule", strings.Replace(issueExample, "epochs: 2,", "epochs: 2, schedule: cosin,", 1), 7, 34, `unknown schedule "cosin" (did you mean "cosine"?)`},
		{"step schedule without step_size", strings.Replace(issueExample, "epochs: 2,", "epochs: 2, schedule: {name: step},", 1), 7, 34, "schedule step needs step_size"},
		{"bad devices", strings.Replace(issueExample, "epochs: 2,", "epochs: 2, devices: many,", 1), 7, 33, "devices must be all or a number of devices"},
		{"bad clip key", strings.Replace(issueExample, "epochs: 2,", "epochs: 2, clip: {max_norm: 1},", 1), 7, 31, `unknown key "max_norm" in clip`},
		{"bad learning rate", strings.Replace(issueExample, "1e-3", "fast", 1), 7, 63, "learning_rate must be a number"},
		{"epochs and steps", strings.Replace(issueExample, "epochs: 2", "epochs: 2, steps: 10", 1), 7, 12, "exactly one of epochs or steps"},
		{"missing model", strings.Replace(issueExample, "model: {arch: lenet5}\n", "", 1), 1, 1, `missing required key "model"`},
		{"bad backend", strings.Replace(issueExample, "backend: auto", "backend: tpu", 1), 3, 10, `unknown backend "tpu"`},
		{"yaml syntax", strings.Replace(issueExample, "{dataset: mnist,", "{dataset: [mnist,", 1), 4, 0, "YAML syntax"},
		{"stages not a list", strings.Replace(issueExample, "stages:\n  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 1e-3}}\n  - evaluate: {split: test}\n", "stages: 5\n", 1), 6, 9, "stages must be a list, got the integer 5"},
		{"duplicate key", issueExample + "seed: 1\n", 9, 1, `mapping key "seed" already defined at [2:1]`},
		{"model cannot take the dataset", strings.Replace(issueExample, "dataset: mnist", "dataset: spirals", 1), 5, 15, "model lenet5 needs images (height×width×channels); dataset spirals gives 2 features per example"},
		{"hidden on a cnn", strings.Replace(issueExample, "{arch: lenet5}", "{arch: lenet5, hidden: [10]}", 1), 5, 8, "apply to the mlp arch only"},
		{"width of no layer", strings.Replace(issueExample, "{arch: lenet5}", "{arch: lenet5, widths: {conv9: 4}}", 1), 5, 31, `model.widths: "conv9" is no layer of the lenet5 model`},
		{"zero width", strings.Replace(issueExample, "{arch: lenet5}", "{arch: lenet5, widths: {conv1: 0}}", 1), 5, 39, "the width of layer conv1 must be at least 1"},
		{"pad without images", strings.Replace(issueExample, "{dataset: mnist,", "{dataset: spirals, pad: 2,", 1), 4, 31, "data.pad: dataset spirals has no images to pad"},
		{"pad too large", strings.Replace(issueExample, "{dataset: mnist,", "{dataset: mnist, pad: 65,", 1), 4, 29, "data.pad 65: at most 64 pixels"},
		{"residual widths", strings.Replace(issueExample, "{arch: lenet5}", "{arch: resnet8, widths: {stem/conv: 8}}", 1), 5, 32, "need the same width"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := recipe.Parse("bad.yaml", []byte(c.src))
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			m := positionRE.FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("error lacks file:line:col: %q", msg)
			}
			if c.col != 0 && (m[1] != itoa(c.line) || m[2] != itoa(c.col)) {
				t.Errorf("positionRE %s:%s, want %d:%d (%s)", m[1], m[2], c.line, c.col, msg)
			} else if m[1] != itoa(c.line) {
				t.Errorf("line %s, want %d (%s)", m[1], c.line, msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not say %q", msg, c.want)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	src := "name: d\ndata: {dataset: blobs}\nmodel: {arch: mlp}\nstages:\n  - train: {steps: 5}\n  - evaluate\n"
	r, err := recipe.Parse("d.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Stages[0].Settings.(*runner.TrainStage)
	if r.Seed != 42 || r.Backend != "auto" || r.Data.BatchSize != 128 || r.Data.Validation != -1 || !r.Data.Normalize ||
		tr.Optimizer.Name != "adam" || tr.Optimizer.LearningRate != 1e-3 ||
		r.Stages[1].Settings.(*runner.EvaluateStage).Split != "test" {
		t.Fatalf("defaults: %+v %+v", r, tr)
	}
}

// TestZeroIsNotUnset: a key written as 0 stays 0. The expected values are
// the literals written in the recipe; the unset case is PyTorch's documented
// AdamW default (weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8).
func TestZeroIsNotUnset(t *testing.T) {
	base := "name: z\ndata: {dataset: blobs}\nmodel: {arch: mlp}\nstages:\n  - train: {steps: 5, optimizer: %s}\n"
	parse := func(opt string) *runner.TrainStage {
		t.Helper()
		r, err := recipe.Parse("z.yaml", []byte(strings.Replace(base, "%s", opt, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return r.Stages[0].Settings.(*runner.TrainStage)
	}
	o := parse("{name: adamw, weight_decay: 0, betas: [0, 0], eps: 0}").Optimizer
	if o.WeightDecay != 0 || o.Betas != [2]float64{0, 0} || o.Eps != 0 {
		t.Errorf("written zeros replaced: weight_decay %g, betas %v, eps %g", o.WeightDecay, o.Betas, o.Eps)
	}
	o = parse("{name: adamw}").Optimizer
	if o.WeightDecay != 0.01 || o.Betas != [2]float64{0.9, 0.999} || o.Eps != 1e-8 || o.LearningRate != 1e-3 {
		t.Errorf("adamw defaults: %+v", o)
	}
	o = parse("{name: sgd, learning_rate: 0.1, momentum: 0}").Optimizer
	if o.Momentum != 0 || o.LearningRate != 0.1 {
		t.Errorf("sgd: %+v", o)
	}
}

// TestVariantsOverrideAnyStage: a variant overrides any stage kind's keys,
// by kind or as bare keys, and only in stages of kinds that have them.
func TestVariantsOverrideAnyStage(t *testing.T) {
	src := "name: v\ndata: {dataset: blobs, validation: 50}\nmodel: {arch: mlp}\nstages:\n  - train: {steps: 5}\n  - evaluate\n" +
		"variants:\n  - {name: a, optimizer: sgd}\n  - {name: b, evaluate: {split: validation}, train: {steps: 9}}\n"
	r, err := recipe.Parse("v.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := r.Variant("a")
	b, _ := r.Variant("b")
	if got := a.Stages[0].Settings.(*runner.TrainStage).Optimizer.Name; got != "sgd" {
		t.Errorf("variant a optimizer %s", got)
	}
	if tr := b.Stages[0].Settings.(*runner.TrainStage); tr.Steps != 9 || tr.Optimizer.Name != "adam" {
		t.Errorf("variant b train %+v", tr)
	}
	if ev := b.Stages[1].Settings.(*runner.EvaluateStage); ev.Split != "validation" {
		t.Errorf("variant b evaluate %+v", ev)
	}
	if r.Stages[0].Settings.(*runner.TrainStage).Steps != 5 {
		t.Error("a variant changed the recipe's own stage")
	}
	bad := strings.Replace(src, "optimizer: sgd", "optimiser: sgd", 1)
	if _, err := recipe.Parse("v.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), `did you mean "optimizer"`) {
		t.Errorf("variant typo: %v", err)
	}
	bad = strings.Replace(src, "split: validation", "split: nowhere", 1)
	if _, err := recipe.Parse("v.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "v.yaml:9:") {
		t.Errorf("variant bad value: %v", err)
	}
}

// TestSeedsRunEachVariantPerSeed: `seeds` runs every variant once per
// seed, named …/seed<N> with that seed; the mistakes are positioned errors.
func TestSeedsRunEachVariantPerSeed(t *testing.T) {
	src := "name: v\nseeds: [7, 8, 9]\ndata: {dataset: blobs, validation: 50}\nmodel: {arch: mlp}\nstages:\n  - train: {steps: 5}\n" +
		"variants:\n  - {name: a, optimizer: sgd}\n  - {name: b}\n"
	r, err := recipe.Parse("v.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, one := range r.Expand() {
		got = append(got, one.Name+":"+strconv.FormatInt(one.Seed, 10)+":"+one.Params["seed"]+":"+one.Params[recipe.VariantParam])
		if _, ok := one.Params["seeds"]; ok {
			t.Errorf("%s keeps the seeds param", one.Name)
		}
	}
	want := []string{"v/a/seed7:7:7:a", "v/a/seed8:8:8:a", "v/a/seed9:9:9:a", "v/b/seed7:7:7:b", "v/b/seed8:8:8:b", "v/b/seed9:9:9:b"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("expanded %v, want %v", got, want)
	}
	plain, err := recipe.Parse("p.yaml", []byte(strings.Replace(strings.Split(src, "variants:")[0], "seeds: [7, 8, 9]", "seed: 3", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.SetSeeds([]int64{1, 2}); err != nil {
		t.Fatal(err)
	}
	if ex := plain.Expand(); len(ex) != 2 || ex[0].Name != "v/seed1" || ex[1].Seed != 2 {
		t.Errorf("--seeds on a recipe without variants: %d runs, first %s", len(ex), ex[0].Name)
	}
	for bad, want := range map[string]string{
		strings.Replace(src, "seeds: [7, 8, 9]", "seeds: [7]", 1):             "v.yaml:2:8: seeds lists 1 seed(s)",
		strings.Replace(src, "seeds: [7, 8, 9]", "seeds: [7, 8, 7]", 1):       "seed 7 is listed twice",
		strings.Replace(src, "seeds: [7, 8, 9]", "seed: 1\nseeds: [7, 8]", 1): "give seed or seeds, not both",
		strings.Replace(src, "{name: b}", "{name: b, seed: 5}", 1):            `variant "b" sets its own seed`,
		strings.Replace(src, "seeds: [7, 8, 9]", "seeds: [7, x]", 1):          "v.yaml:2:",
	} {
		if _, err := recipe.Parse("v.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line with %q", bad, err, want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// FuzzParse: any input gives a recipe or a one-line positioned error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(issueExample))
	f.Add([]byte("name: x\nstages:\n  - train:\n"))
	f.Add([]byte("{]"))
	f.Add([]byte("a: &x [*x]"))
	f.Add([]byte("name: x\ndata: {dataset: blobs, batch_size: 1e400}\n"))
	for _, name := range recipes.Names() {
		src, _ := recipes.Get(name)
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := recipe.Parse("fuzz.yaml", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %q", err)
			}
			return
		}
		if r.Name == "" || len(r.Stages) == 0 {
			t.Fatalf("accepted an incomplete recipe: %+v", r)
		}
	})
}

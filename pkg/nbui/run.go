package nbui

import (
	"context"
	"fmt"
	"html"
	"sort"
	"strings"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	_ "github.com/lathe-ml/lathe/pkg/stages" // every shipped stage kind
)

// Outcome is what Run did: one result per run (one per variant), in order.
type Outcome struct {
	Recipe  *recipe.Recipe
	Results []*runner.Result
	// Group ties the variant runs (the run parameter runs.GroupParam); "" for one run.
	Group   string
	RunsDir string
	// Redraws is how many times the live view was drawn.
	Redraws int
}

// Run runs a recipe — a file path, or the name of a shipped recipe — with a
// live plot and table, records it in the run store and shows a summary.
func Run(ref string, opts ...Option) (*Outcome, error) {
	rec, err := Load(ref)
	if err != nil {
		showError(err)
		return nil, err
	}
	return RunRecipe(rec, opts...)
}

// RunYAML parses recipe text written in the notebook (named name in errors,
// e.g. "my-recipe.yaml") and runs it as Run does.
func RunYAML(name, text string, opts ...Option) (*Outcome, error) {
	rec, err := recipe.Parse(name, []byte(text))
	if err != nil {
		showError(err)
		return nil, err
	}
	return RunRecipe(rec, opts...)
}

// Load reads ref as a recipe file when one exists there, else as a shipped
// recipe name, as `lathe run` does.
func Load(ref string) (*recipe.Recipe, error) { return recipe.Load(ref) }

// RunRecipe runs a parsed (or Go-built) recipe: every variant in turn, tied
// by one group id as `lathe run` ties them, all drawn on one live view.
func RunRecipe(rec *recipe.Recipe, opts ...Option) (*Outcome, error) {
	cfg := newConfig(opts)
	// A recipe (any variant) the backend cannot run is refused before the
	// store is opened, as `lathe run` does.
	if err := runner.Preflight(rec, cfg.backend); err != nil {
		showError(err)
		return nil, err
	}
	store, err := runs.Open(cfg.runsDir)
	if err != nil {
		showError(err)
		return nil, err
	}
	defer store.Close()

	out := &Outcome{Recipe: rec, RunsDir: cfg.runsDir}
	live := NewLive()
	live.Every = cfg.every
	if cfg.width > 0 {
		live.Width, live.Height = cfg.width, cfg.height
	}
	live.ShowLogs = cfg.logLines
	if cfg.steps > 0 {
		display().Show(Output{Text: fmt.Sprintf("fast mode: each stage with steps cut to %d steps (LATHE_FAST=1 or nbui.Steps)", cfg.steps),
			HTML: fmt.Sprintf("<i>fast mode: each stage with steps cut to %d steps</i>", cfg.steps)})
	}
	var runErr error
	out.Results, out.Group, runErr = runner.RunAll(context.Background(), shorten(rec, cfg.steps),
		runner.Options{Backend: cfg.backend, Store: store, Sinks: []events.Sink{live}}, nil)
	if runErr != nil && len(out.Results) > 0 {
		runErr = fmt.Errorf("%s: %w", out.Results[len(out.Results)-1].Name, runErr)
	}
	out.Redraws = live.Redraws()
	if runErr != nil {
		showError(runErr)
		return out, runErr
	}
	if err := summarize(store, out); err != nil {
		return out, err
	}
	return out, nil
}

// shorten returns rec with every stage that can be cut short capped at
// steps steps (a copy, variants included: the caller's recipe is left as
// it was).
func shorten(rec *recipe.Recipe, steps int) *recipe.Recipe {
	if steps <= 0 {
		return rec
	}
	capStages := func(stages []recipe.Stage) []recipe.Stage {
		out := make([]recipe.Stage, len(stages))
		for i, st := range stages {
			if c, ok := st.Settings.(recipe.StepCapper); ok {
				st.Settings = c.CapSteps(steps)
			}
			out[i] = st
		}
		return out
	}
	c := *rec
	c.Stages = capStages(rec.Stages)
	c.Variants = make([]recipe.Variant, len(rec.Variants))
	for i, v := range rec.Variants {
		v.Stages = capStages(v.Stages)
		c.Variants[i] = v
	}
	c.Params = make(map[string]string, len(rec.Params)+1)
	for k, v := range rec.Params {
		c.Params[k] = v
	}
	c.Params["fast_steps"] = itoa(steps)
	return &c
}

// summarize shows the finished runs: a line per run, and for variants the
// comparison table and overlaid loss curves, as `lathe run` prints them.
func summarize(store *runs.Store, out *Outcome) error {
	var lines []string
	for _, res := range out.Results {
		lines = append(lines, resultLine(res))
	}
	display().Show(Output{Text: strings.Join(lines, "\n"),
		HTML: "<pre>" + html.EscapeString(strings.Join(lines, "\n")) + "</pre>"})
	if out.Group == "" {
		return nil
	}
	list, err := report.Group(store, out.Recipe.Name)
	if err != nil {
		return err
	}
	return showComparison(store, list, "train_loss")
}

func resultLine(res *runner.Result) string {
	keys := make([]string, 0, len(res.Final))
	for k := range res.Final {
		if strings.HasSuffix(k, "_accuracy") && !strings.HasPrefix(k, "train") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, strings.ReplaceAll(k, "_", " ")+" "+runs.FormatPercent(res.Final[k]))
	}
	return fmt.Sprintf("run %s %s on %s in %.1f s: %s", res.RunID, res.Status, res.Backend, res.Final["wall_s"], strings.Join(parts, ", "))
}

// Must shows err in the cell and stops the cell with a panic, so that a
// failing step fails the notebook (and CI) instead of going unnoticed.
func Must(err error) {
	if err != nil {
		showError(err)
		panic(err)
	}
}

func showError(err error) {
	display().Show(Output{Text: "error: " + err.Error(),
		HTML: `<pre style="color:#b00;white-space:pre-wrap">error: ` + html.EscapeString(err.Error()) + "</pre>"})
}

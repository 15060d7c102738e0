package nbui

import (
	"context"
	"fmt"
	"html"
	"sort"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Outcome is what Run did: one result per run (one per variant), in order.
type Outcome struct {
	Recipe  *recipe.Recipe
	Results []*recipe.Result
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
	store, err := runs.Open(cfg.runsDir)
	if err != nil {
		showError(err)
		return nil, err
	}
	defer store.Close()

	out := &Outcome{Recipe: rec, RunsDir: cfg.runsDir}
	expanded := rec.Expand()
	if len(expanded) > 1 {
		out.Group = runs.NewID(time.Now())
	}
	live := NewLive()
	live.Every = cfg.every
	if cfg.width > 0 {
		live.Width, live.Height = cfg.width, cfg.height
	}
	live.ShowLogs = cfg.logLines
	sinks := []events.Sink{live}
	if cfg.steps > 0 {
		display().Show(Output{Text: fmt.Sprintf("fast mode: each train stage cut to %d steps (LATHE_FAST=1 or nbui.Steps)", cfg.steps),
			HTML: fmt.Sprintf("<i>fast mode: each train stage cut to %d steps</i>", cfg.steps)})
	}
	var runErr error
	for _, one := range expanded {
		one = shorten(one, cfg.steps)
		if out.Group != "" {
			one.Params[runs.GroupParam] = out.Group
		}
		res, err := recipe.Run(context.Background(), one, recipe.Options{Backend: cfg.backend, Store: store, Sinks: sinks})
		if res != nil {
			out.Results = append(out.Results, res)
		}
		if err != nil {
			runErr = fmt.Errorf("%s: %w", one.Name, err)
			break
		}
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

// shorten returns rec with every train stage cut to at most steps steps (a
// copy: the caller's recipe is left as it was). A stage given in epochs is
// set to exactly steps steps: its length in steps depends on the data. Progress is logged about
// twenty times per stage so the live view has something to draw.
func shorten(rec *recipe.Recipe, steps int) *recipe.Recipe {
	if steps <= 0 {
		return rec
	}
	c := *rec
	c.Stages = make([]recipe.Stage, len(rec.Stages))
	for i, st := range rec.Stages {
		if st.Kind == "train" && st.Train != nil {
			t := *st.Train
			if t.Steps == 0 || t.Steps > steps { // a cap: never more steps than the recipe asks
				t.Epochs, t.Steps = 0, steps
			}
			if t.LogEvery == 0 || t.LogEvery > steps/10 {
				t.LogEvery = max(1, steps/20)
			}
			st.Train = &t
		}
		c.Stages[i] = st
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

func resultLine(res *recipe.Result) string {
	keys := make([]string, 0, len(res.Final))
	for k := range res.Final {
		if strings.HasSuffix(k, "_accuracy") && !strings.HasPrefix(k, "train") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f%%", strings.ReplaceAll(k, "_", " "), 100*res.Final[k]))
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

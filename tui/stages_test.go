package tui

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/internal/stagetest"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runner" // the built-in stage kinds, as the lathe binary links them
	"github.com/lathe-ml/lathe/pkg/runs"
	_ "github.com/lathe-ml/lathe/pkg/stages" // every shipped stage kind, as the lathe binary links them
)

// A stage kind declared in a package of its own, registered in one line;
// the dashboard shows it from what the store recorded and what it
// declares: its panel among the charts and its compare column.
func init() { stagetest.Register("gauge_test") }

// TestDashboardShowsAnExtraStageKind parses, runs and records a recipe with
// a kind the dashboard has never heard of, then opens it in the run view.
func TestDashboardShowsAnExtraStageKind(t *testing.T) {
	t.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	src := "name: gauged\nbackend: go\ndata: {dataset: blobs, train_size: 200, test_size: 50}\nmodel: {arch: mlp, hidden: [4]}\n" +
		"stages:\n  - gauge_test: {n: 7}\n  - evaluate\n"
	rec, err := recipe.Parse("gauged.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Run(context.Background(), rec, runner.Options{Store: store}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	m := New(Options{Dir: dir, Refresh: time.Second, WorkDir: dir, Executable: "/nonexistent/lathe", sampler: fakeSample})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = pollOnce(t, m)
	mustContain(t, view(m, dir), "gauged", "finished")
	m = press(t, m, "enter")
	mustContain(t, view(m, dir), "step 7/7 (100%)", "✓ 1 gauge_test", "100% 7 steps", "✓ 2 evaluate", "train 0.1429",
		"gauge_test level")
	run, err := runsOf(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, p := range panelsFor(run.names, run.run) {
		titles = append(titles, p.title)
	}
	if !slices.Contains(titles, "gauge_test level") {
		t.Errorf("panels %q: no gauge_test level panel", titles)
	}
	if !slices.ContainsFunc(summaryColumns(), func(c results.Column) bool { return c.Title == "LEVEL" && c.Name == "gauge_test_level" }) {
		t.Errorf("compare columns %v: no LEVEL column", summaryColumns())
	}
}

// runsOf reads the only run of the store in dir, with its series' names.
func runsOf(t *testing.T, dir string) (struct {
	run   *runs.Run
	names []string
}, error) {
	var out struct {
		run   *runs.Run
		names []string
	}
	store, err := runs.OpenExisting(dir)
	if err != nil {
		return out, err
	}
	defer store.Close()
	list, err := store.List()
	if err != nil || len(list) != 1 {
		return out, fmt.Errorf("%d runs, %v", len(list), err)
	}
	out.run = list[0]
	out.names, err = store.MetricNames(out.run.ID)
	return out, err
}

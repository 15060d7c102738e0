package tui

import (
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/internal/stagetest"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner" // the built-in stage kinds, as the lathe binary links them
	"github.com/lathe-ml/lathe/pkg/runs"
	_ "github.com/lathe-ml/lathe/pkg/stages" // every shipped stage kind, as the lathe binary links them
)

// A stage kind declared in a package of its own, registered in one line;
// the dashboard shows it from what the store recorded.
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
	mustContain(t, view(m, dir), "step 7/7 (100%)", "✓ 1 gauge_test", "100% 7 steps", "✓ 2 evaluate", "train 0.1429")
}

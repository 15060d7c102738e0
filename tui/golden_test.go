package tui

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
)

// TestGolden runs the real bubbletea program (teatest) on a fixed store,
// clock and machine at fixed sizes without colours, drives it with keys,
// and compares the final screen with testdata/TestGolden/<case>.golden.
// After an intended change of the views: go test ./tui -run TestGolden -update
func TestGolden(t *testing.T) {
	defer func(d time.Duration) { systemEvery = d }(systemEvery)
	systemEvery = time.Hour // one sample, taken at start: sparklines stay fixed

	// Each step sends keys, then waits for text that shows they took effect.
	type step struct {
		keys []string
		wait string
	}
	cases := []struct {
		name  string
		w, h  int
		steps []step
		more  []fixtureRun // runs added to the fixture's
	}{
		{"runs_80x24", 80, 24, nil, nil},
		{"run_80x24", 80, 24, []step{{[]string{"enter"}, "charts 1–2 of 5"}}, nil},
		{"compare_80x24", 80, 24, []step{{[]string{"down", "down", "down", "c"}, "‹ train_loss ›"}}, nil},
		{"help_80x24", 80, 24, []step{{[]string{"?"}, "reverse sort"}}, nil},
		{"runs_preview_120x40", 120, 40, []step{{nil, "epoch time"}}, nil},
		{"run_finished_params_120x40", 120, 40, []step{{[]string{"G", "enter"}, "charts 1–"}, {[]string{"p"}, "params (10)"}}, nil},
		{"compare_accuracy_120x40", 120, 40, []step{{[]string{"/", "optim", "enter", "a", "c"}, "‹ train_loss ›"},
			{[]string{"right", "right", "right"}, "‹ validation_accuracy ›"}}, nil},
		// A pruned run (second newest): its sparsity panel is the fifth chart.
		{"run_pruned_80x24", 80, 24, []step{{[]string{"down", "enter"}, "charts 1–2 of 6"},
			{[]string{"right", "right"}, "charts 5–6 of 6"}}, prunedRuns(t)},
		{"run_pruned_120x40", 120, 40, []step{{[]string{"down", "enter"}, "charts 1–6 of 6"}}, prunedRuns(t)},
		{"compare_pruned_120x40", 120, 40, []step{{[]string{"down", "c"}, "‹ train_loss ›"}}, prunedRuns(t)},
		// A quantized run (second newest): its quantization panel is the fifth chart.
		{"run_quantized_80x24", 80, 24, []step{{[]string{"down", "enter"}, "charts 1–2 of 6"},
			{[]string{"right", "right"}, "charts 5–6 of 6"}}, quantizedRuns(t)},
		{"run_quantized_120x40", 120, 40, []step{{[]string{"down", "enter"}, "charts 1–6 of 6"}}, quantizedRuns(t)},
		{"compare_quantized_160x40", 160, 40, []step{{[]string{"down", "c"}, "‹ train_loss ›"}}, quantizedRuns(t)},
	}
	pkgDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			newFixtureStoreIn(t, filepath.Join(base, "runs"))
			writeFixtureRuns(t, filepath.Join(base, "runs"), c.more)
			t.Chdir(base)
			opts := fixtureOptions("runs")
			opts.WorkDir = base
			tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(c.w, c.h))
			waitFor(t, tm, "quickstart", "rss 350 MiB")
			for _, s := range c.steps {
				for _, k := range s.keys {
					if len(k) > 1 && !contains([]string{"enter", "right", "esc", "down"}, k) {
						tm.Type(k)
					} else {
						tm.Send(keyMsg(k))
					}
				}
				waitFor(t, tm, s.wait)
			}
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
			// Goldens live in the package's testdata, not in the run's folder.
			if err := os.Chdir(pkgDir); err != nil {
				t.Fatal(err)
			}
			golden.RequireEqual(t, []byte(normalize(final.View(), base)+"\n"))
		})
	}
}

// waitFor reads the program's output until every text has appeared.
func waitFor(t *testing.T, tm *teatest.TestModel, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, text := range texts {
			if !bytes.Contains(b, []byte(text)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// TestProgramQuitsOnQ: the real program ends on q, as on ctrl+c.
func TestProgramQuitsOnQ(t *testing.T) {
	for _, k := range []tea.KeyMsg{keyMsg("q"), keyMsg("ctrl+c")} {
		dir := newFixtureStore(t)
		tm := teatest.NewTestModel(t, New(fixtureOptions(dir)), teatest.WithInitialTermSize(80, 24))
		waitFor(t, tm, "quickstart")
		tm.Send(k)
		tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
		if out := tm.FinalModel(t).View(); !strings.Contains(out, "quickstart") {
			t.Errorf("final view after %s:\n%s", k, out)
		}
	}
}

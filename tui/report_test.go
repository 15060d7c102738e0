package tui

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runs"
)

const idSeed = "20261207-030000-seed"

// seedTradeoff is a seed pipeline's report with round figures: the
// combined model is 400,000 / 32,000 = 12.5× smaller and 10 / 2.5 = 4×
// faster than the baseline, 0.6 pp less accurate.
func seedTradeoff() *report.Tradeoff {
	nan := math.NaN()
	return &report.Tradeoff{Title: "seed-pipeline-cpu", Split: "test", Examples: 10000, Backend: "go", Kernels: "avx2",
		Variants: []report.Variant{
			{Role: "baseline", Name: "baseline", Weights: "f32", Accuracy: 0.90, Params: 100000, NonZero: 100000, Bytes: 400000, ONNXBytes: 401000,
				FLOPs: 2e6, RuntimeMs1: 0.5, RuntimeMs64: 10, BackendMs1: 5, BackendMs64: 200, TrainS: 600},
			{Role: "quantized", Name: "baseline.int8", Weights: "int8", Accuracy: 0.899, Params: 100000, NonZero: 99000, Bytes: 104000, ONNXBytes: nan,
				FLOPs: 2e6, RuntimeMs1: 0.3, RuntimeMs64: 5, BackendMs1: nan, BackendMs64: nan, TrainS: 600},
			{Role: "combined", Name: "combined", Weights: "int8", Accuracy: 0.894, Params: 30000, NonZero: 29500, Bytes: 32000, ONNXBytes: nan,
				FLOPs: 0.6e6, RuntimeMs1: 0.2, RuntimeMs64: 2.5, BackendMs1: nan, BackendMs64: nan, TrainS: 1000},
		},
		Training: &report.Training{Model: "lenet5", Backend: "go", Batch: 128, Devices: 1, F32Ms: 400, BF16Ms: 520},
	}
}

func seedRun(t testing.TB, start time.Time) fixtureRun {
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	return fixtureRun{
		run: runs.Run{ID: idSeed, Name: "seed-pipeline-cpu", RecipePath: "recipes/seed-pipeline-cpu.yaml", Recipe: fixtureRecipe(t, "quickstart"),
			Backend: "go", Started: start, Params: map[string]string{"name": "seed-pipeline-cpu", "seed": "42"}},
		plan: &runs.Plan{Stages: []runs.PlannedStage{{Index: 0, Kind: "train", HasSteps: true, Steps: 10}, {Index: 1, Kind: "report"}}},
		stages: []fixtureStage{
			{kind: "train", planned: 10, started: at(0), ended: at(600), status: runs.Finished, metrics: map[string]float64{"steps": 10}},
			{kind: "report", started: at(600), ended: at(660), status: runs.Finished,
				metrics: map[string]float64{"claim_size_met": 1, "claim_training_met": 0, "claim_inference_met": 0, "size_ratio": 12.5}},
		},
		finished: at(660), status: runs.Finished, final: map[string]float64{"wall_s": 660},
	}
}

// TestReportView: r in a run's view swaps the charts for its trade-off
// report — the table, the claims with their verdicts, and the chart
// with one glyph per variant, the smaller file to the left and the more
// accurate one higher — drawn in exactly the screen.
func TestReportView(t *testing.T) {
	dir := newFixtureStore(t)
	writeFixtureRuns(t, dir, []fixtureRun{seedRun(t, t0.Add(30*time.Minute))})
	runDir := filepath.Join(dir, idSeed)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteFiles(runDir, seedTradeoff()); err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{140, 60}, {100, 30}} {
		m := New(fixtureOptions(dir))
		m, _ = update(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = pollOnce(t, m)
		m = openRun(t, m, idSeed)
		m = pollOnce(t, m) // reads the report of the run now watched
		if m.reports[idSeed] == nil || m.reports[idSeed].err != nil {
			t.Fatalf("report not read: %+v", m.reports[idSeed])
		}
		out := ansi.Strip(m.View())
		if strings.Contains(out, "Model size −50%") {
			t.Fatalf("the report shows before r:\n%s", out)
		}
		m = press(t, m, "r")
		out = ansi.Strip(m.View())
		checkFits(t, m.View(), size[0], size[1])
		mustContain(t, out, "trade-off report", "VARIANT", "12.50", "4.00",
			"Model size −50% with high accuracy (L1-norm pruning 50% + int8) — met",
			"Training time −50% (multi-GPU mixed-precision training) — NOT met")
		if size[1] < 40 {
			continue // no room left for the chart
		}
		// The chart: B (400 kB, 90%) right of and above C (32 kB, 89.4%).
		br, bc := glyphAt(out, 'B')
		cr, cc := glyphAt(out, 'C')
		if br < 0 || cr < 0 || !(bc > cc) || !(br < cr) {
			t.Errorf("chart: B at line %d col %d, C at line %d col %d:\n%s", br, bc, cr, cc, out)
		}
		mustContain(t, out, "B baseline", "Q quantized", "C combined", "Pareto front")
	}
	// A run without a report says so under r.
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = pollOnce(t, m)
	m = openRun(t, m, idQuickstart)
	m = press(t, m, "r")
	mustContain(t, ansi.Strip(m.View()), "no trade-off report for this run")
}

// glyphAt is the line and column of the chart's point glyph g: a line of
// the chart (it has the axis '│') holding g alone between spaces.
func glyphAt(out string, g rune) (int, int) {
	for i, l := range strings.Split(out, "\n") {
		if !strings.ContainsRune(l, '│') {
			continue
		}
		rs := []rune(l)
		for j, r := range rs {
			if r == g && (j == 0 || rs[j-1] == ' ' || rs[j-1] == '·') && (j == len(rs)-1 || rs[j+1] == ' ' || rs[j+1] == '·') {
				return i, j
			}
		}
	}
	return -1, -1
}

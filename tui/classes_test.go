package tui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestRunViewShowsClassCounts: a run's classes, as the runner recorded
// them in its plan, are listed in the run view's params panel with the
// training split's imbalance.
func TestRunViewShowsClassCounts(t *testing.T) {
	dir := newFixtureStore(t)
	s, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &runs.Run{ID: "20261126-091500-eeee", Name: "my-folder", Started: fixtureNow.Add(-time.Minute), Backend: "go", PID: deadPID}
	if err := s.Create(r); err != nil {
		t.Fatal(err)
	}
	plan := trainEvalPlan(10, 1300, 130, 400)
	plan.Classes = []runs.ClassCount{{Name: "cat", Train: 900, Validation: 90, Test: 200}, {Name: "dog", Train: 300, Validation: 30, Test: 100}, {Name: "fox", Train: 100, Validation: 10, Test: 100}}
	if err := s.SetPlan(r.ID, *plan); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(r.ID, runs.Finished, "", map[string]float64{"wall_s": 60}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	m = pollOnce(t, m)
	t2, ok := m.table.selectRun(r.ID)
	if !ok {
		t.Fatal("run not shown")
	}
	m.table = t2
	m = press(t, m, "enter", "p") // the params panel
	mustContain(t, view(m, dir), "classes:", "cat 900/90/200", "dog 300/30/100", "fox 100/10/100",
		"imbalanced: cat has 9.0× the training", "examples of fox")
}

package tui

import (
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	// Goldens and assertions read plain text: no colours, as under NO_COLOR.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// t0 is when the fixture's first run started; fixtureNow is the clock the
// dashboard reads in tests.
var (
	t0         = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	fixtureNow = t0.Add(20 * time.Minute)
)

const (
	deadPID = 1<<22 + 4321 // above Linux's largest pid: never alive
	// alivePID is the running fixture's process: init, always alive and the
	// same on every machine (so goldens match), and never a `lathe run`, so
	// the dashboard refuses to signal it.
	alivePID = 1
)

// fixture ids, newest first in the table.
const (
	idRunning     = "20261126-091500-aaaa"
	idInterrupted = "20261126-091000-bbbb"
	idFailed      = "20261126-090800-cccc"
	idAdam        = "20261126-090500-dddd"
	idSGD         = "20261126-090400-eeee"
	idQuickstart  = "20261126-090000-ffff"
)

// The fixture's recipes are written out here rather than read from the
// shipped ones, so editing a shipped recipe does not change the goldens.
var fixtureRecipes = map[string]string{
	"quickstart": "name: quickstart\nseed: 42\nbackend: auto\ndata: {dataset: mnist, batch_size: 64, validation: 5000}\n" +
		"model: {arch: mlp, hidden: [128]}\nstages:\n  - train: {epochs: 4, optimizer: {name: adam, learning_rate: 1e-3}}\n" +
		"  - evaluate: {split: test}\n",
	"spirals": "name: spirals\nseed: 7\nbackend: auto\ndata: {dataset: spirals, batch_size: 64, validation: 200}\n" +
		"model: {arch: mlp, hidden: [64, 64]}\nstages:\n  - train: {epochs: 30, optimizer: {name: adam, learning_rate: 1e-2}}\n" +
		"  - evaluate: {split: test}\n",
	"fashion-mlp": "name: fashion-mlp\nseed: 42\nbackend: auto\ndata: {dataset: fashion-mnist, batch_size: 128, validation: 5000}\n" +
		"model: {arch: mlp, hidden: [256]}\nstages:\n  - train: {epochs: 8, optimizer: {name: adam, learning_rate: 1e-3}}\n" +
		"  - evaluate: {split: test}\n",
	"mnist-lenet": "name: mnist-lenet\nseed: 42\nbackend: auto\ndata: {dataset: mnist, batch_size: 128, validation: 5000}\n" +
		"model: {arch: lenet5}\nstages:\n  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 1e-3}}\n" +
		"  - evaluate: {split: test}\n",
}

func fixtureRecipe(t testing.TB, name string) string {
	src, ok := fixtureRecipes[name]
	if !ok {
		t.Fatalf("no fixture recipe %q", name)
	}
	return src
}

// optimizerRecipe is a spirals recipe with its optimizer swapped.
func optimizerRecipe(opt, lr string) string {
	return "name: optimizers-compare\ndescription: one model, several optimizers\nseed: 7\nbackend: go\n" +
		"data: {dataset: spirals, batch_size: 64, validation: 200}\nmodel: {arch: mlp, hidden: [64, 64]}\n" +
		"stages:\n  - train: {epochs: 30, optimizer: {name: " + opt + ", learning_rate: " + lr + "}}\n  - evaluate: {split: test}\n"
}

type fixtureRun struct {
	run      runs.Run
	plan     *runs.Plan // as the runner records it once the data is loaded
	stages   []fixtureStage
	finished time.Time // zero: still running
	status   runs.Status
	errMsg   string
	final    map[string]float64
	points   []runs.Point
}

type fixtureStage struct {
	kind           string
	planned        int       // steps, recorded when the stage starts
	started, ended time.Time // ended zero: running
	status         runs.Status
	metrics        map[string]float64
}

// trainPoints writes what a train stage records: step metrics every
// logEvery steps and per-epoch validation, with curves shaped like real
// training (loss falling, accuracy rising) and deterministic.
func trainPoints(stage, firstStep, steps, perEpoch, logEvery int, start time.Time, stepTime time.Duration, rate float64) []runs.Point {
	var pts []runs.Point
	for s := 1; s <= steps; s++ {
		step := firstStep + s - 1
		at := start.Add(time.Duration(s) * stepTime)
		x := float64(step)
		loss := 0.05 + 2.2*math.Exp(-x/(rate*300)) + 0.02*math.Sin(x/7)
		acc := 1 - loss/2.4
		if s%logEvery == 0 || s == steps {
			for _, m := range []struct {
				name string
				v    float64
			}{{"loss", loss + 0.05*math.Sin(x)}, {"train_loss", loss}, {"train_accuracy", acc},
				{"learning_rate", 1e-3}, {"samples_per_s", 2000 + 150*math.Sin(x/50)}} {
				pts = append(pts, runs.Point{Stage: stage, Step: step, Name: m.name, Value: m.v, Time: at})
			}
		}
		if s%perEpoch == 0 {
			pts = append(pts,
				runs.Point{Stage: stage, Step: step, Name: "epoch_s", Value: float64(perEpoch) * stepTime.Seconds(), Time: at},
				runs.Point{Stage: stage, Step: step, Name: "validation_loss", Value: loss * 1.1, Time: at},
				runs.Point{Stage: stage, Step: step, Name: "validation_accuracy", Value: acc - 0.01, Time: at})
		}
	}
	return pts
}

func fixtureRuns(t testing.TB) []fixtureRun {
	qsStart := t0
	qs := fixtureRun{
		run: runs.Run{ID: idQuickstart, Name: "quickstart", RecipePath: "recipes/quickstart.yaml", Recipe: fixtureRecipe(t, "quickstart"),
			Backend: "go", Started: qsStart, Params: map[string]string{"name": "quickstart", "seed": "42", "data.dataset": "mnist",
				"data.batch_size": "64", "model.arch": "mlp", "model.hidden": "[128]", "stages.0.train.epochs": "4",
				"stages.0.train.optimizer.name": "adam", "stages.0.train.optimizer.learning_rate": "1e-3", "stages.1.evaluate.split": "test"}},
		stages: []fixtureStage{
			{kind: "train", planned: 3436, started: qsStart.Add(2 * time.Second), ended: qsStart.Add(4*time.Minute + 30*time.Second), status: runs.Finished,
				metrics: map[string]float64{"steps": 3436, "validation_accuracy": 0.9721, "train_loss": 0.081}},
			{kind: "evaluate", started: qsStart.Add(4*time.Minute + 30*time.Second), ended: qsStart.Add(4*time.Minute + 32*time.Second), status: runs.Finished,
				metrics: map[string]float64{"test_accuracy": 0.9731, "test_loss": 0.0895}},
		},
		plan:     trainEvalPlan(3436, 55000, 5000, 10000),
		finished: qsStart.Add(4*time.Minute + 33*time.Second), status: runs.Finished,
		final:  map[string]float64{"test_accuracy": 0.9731, "test_loss": 0.0895, "wall_s": 273, "params": 101770, "samples_per_s": 2012},
		points: trainPoints(0, 1, 3436, 859, 17, qsStart.Add(2*time.Second), 75*time.Millisecond, 3),
	}
	qs.points = append(qs.points, runs.Point{Stage: 1, Step: 3436, Name: "test_loss", Value: 0.0895, Time: qsStart.Add(272 * time.Second)},
		runs.Point{Stage: 1, Step: 3436, Name: "test_accuracy", Value: 0.9731, Time: qsStart.Add(272 * time.Second)})

	// Two variant runs of one recipe, as `lathe run optimizers-compare` records them.
	opt := func(id, name, lr string, start time.Time, rate, acc float64) fixtureRun {
		return fixtureRun{
			run: runs.Run{ID: id, Name: "optimizers-compare/" + name, RecipePath: "optimizers-compare.yaml", Recipe: optimizerRecipe(name, lr),
				Backend: "go", Started: start, Params: map[string]string{"name": "optimizers-compare", "seed": "7",
					"group": "20261126-090400-0000", "variant": name,
					"stages.0.train.optimizer.name": name, "stages.0.train.optimizer.learning_rate": lr}},
			stages: []fixtureStage{
				{kind: "train", planned: 840, started: start.Add(time.Second), ended: start.Add(40 * time.Second), status: runs.Finished,
					metrics: map[string]float64{"steps": 840, "validation_accuracy": acc}},
				{kind: "evaluate", started: start.Add(40 * time.Second), ended: start.Add(41 * time.Second), status: runs.Finished,
					metrics: map[string]float64{"test_accuracy": acc + 0.004}},
			},
			plan:     trainEvalPlan(840, 1800, 200, 500),
			finished: start.Add(41 * time.Second), status: runs.Finished,
			final:  map[string]float64{"test_accuracy": acc + 0.004, "wall_s": 41, "samples_per_s": 1500 * rate},
			points: trainPoints(0, 1, 840, 28, 8, start.Add(time.Second), 45*time.Millisecond, rate),
		}
	}
	adam := opt(idAdam, "adam", "1e-3", t0.Add(5*time.Minute), 1, 0.982)
	sgd := opt(idSGD, "sgd", "0.1", t0.Add(4*time.Minute), 2.5, 0.874)

	failed := fixtureRun{
		run: runs.Run{ID: idFailed, Name: "fashion-mlp", RecipePath: "recipes/fashion-mlp.yaml", Recipe: fixtureRecipe(t, "fashion-mlp"),
			Backend: "go", Started: t0.Add(8 * time.Minute), Params: map[string]string{"name": "fashion-mlp"}},
		finished: t0.Add(8*time.Minute + 1*time.Second), status: runs.Failed,
		errMsg: "fashion-mnist: no dataset in /usr/share/datasets/fashion-mnist (install dataset-fashion-mnist)",
	}
	interrupted := fixtureRun{
		run: runs.Run{ID: idInterrupted, Name: "mnist-lenet", RecipePath: "recipes/mnist-lenet.yaml", Recipe: fixtureRecipe(t, "mnist-lenet"),
			Backend: "go", Started: t0.Add(10 * time.Minute), PID: deadPID, Params: map[string]string{"name": "mnist-lenet"}},
		plan:   trainEvalPlan(858, 55000, 5000, 10000),
		stages: []fixtureStage{{kind: "train", planned: 858, started: t0.Add(10*time.Minute + 3*time.Second), status: runs.Running}},
		points: trainPoints(0, 1, 200, 429, 20, t0.Add(10*time.Minute+3*time.Second), 200*time.Millisecond, 2),
	}
	// Running: 500 of spirals' 30×28 = 840 steps, the last point a second ago.
	runStart := fixtureNow.Add(-30 * time.Second)
	stepTime := 50 * time.Millisecond
	running := fixtureRun{
		run: runs.Run{ID: idRunning, Name: "spirals", RecipePath: "recipes/spirals.yaml", Recipe: fixtureRecipe(t, "spirals"),
			Backend: "go", Started: runStart, PID: alivePID, Params: map[string]string{"name": "spirals", "seed": "7"}},
		plan:   trainEvalPlan(840, 1800, 200, 500),
		stages: []fixtureStage{{kind: "train", planned: 840, started: runStart.Add(2 * time.Second), status: runs.Running}},
		points: trainPoints(0, 1, 500, 28, 8, fixtureNow.Add(-time.Second-500*stepTime), stepTime, 0.5),
	}
	return []fixtureRun{qs, sgd, adam, failed, interrupted, running}
}

// trainEvalPlan is the plan of a recipe that trains for steps, then
// evaluates on the test split.
func trainEvalPlan(steps, train, validation, test int) *runs.Plan {
	return &runs.Plan{Stages: []runs.PlannedStage{{Index: 0, Kind: "train", HasSteps: true, Steps: steps}, {Index: 1, Kind: "evaluate"}},
		Splits: map[string]int{"train": train, "validation": validation, "test": test}}
}

// newFixtureStore writes the fixture runs into a new store with fixed
// times (the store stamps stage and end times with the clock, so they are
// set afterwards in SQL) and returns its directory.
func newFixtureStore(t testing.TB) string {
	dir := t.TempDir()
	newFixtureStoreIn(t, dir)
	return dir
}

func newFixtureStoreIn(t testing.TB, dir string) { writeFixtureRuns(t, dir, fixtureRuns(t)) }

// writeFixtureRuns records fs in the store in dir, creating it if needed.
func writeFixtureRuns(t testing.TB, dir string, fs []fixtureRun) {
	s, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "runs.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, f := range fs {
		r := f.run
		if err := s.Create(&r); err != nil {
			t.Fatal(err)
		}
		if f.plan != nil {
			if err := s.SetPlan(r.ID, *f.plan); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AppendMetrics(r.ID, f.points); err != nil {
			t.Fatal(err)
		}
		for i, st := range f.stages {
			if err := s.StartStage(r.ID, i, st.kind, st.planned); err != nil {
				t.Fatal(err)
			}
			if st.status != runs.Running {
				if err := s.FinishStage(r.ID, i, st.status, st.metrics); err != nil {
					t.Fatal(err)
				}
			}
			exec(`UPDATE stages SET started_ns=?, finished_ns=? WHERE run_id=? AND idx=?`, st.started.UnixNano(), nullTime(st.ended), r.ID, i)
		}
		if f.status != "" {
			if err := s.Finish(r.ID, f.status, f.errMsg, f.final); err != nil {
				t.Fatal(err)
			}
			exec(`UPDATE runs SET finished_ns=? WHERE id=?`, f.finished.UnixNano(), r.ID)
			for i, st := range f.stages {
				exec(`UPDATE stages SET finished_ns=? WHERE run_id=? AND idx=?`, nullTime(st.ended), r.ID, i)
			}
		}
	}
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fakeSample is a fixed machine: 2 cores at 37%, 3 of 8 GiB, no GPU.
func fakeSample(prev systemSample, pids []int) systemSample {
	s := systemSample{at: fixtureNow, cores: 2, cpuPercent: 37, cpuOK: true, memUsed: 3 << 30, memTotal: 8 << 30, memOK: true,
		procs: map[int]procStat{}}
	for _, pid := range pids {
		s.procs[pid] = procStat{cpuPercent: 180, cpuOK: true, rss: 350 << 20, threads: 9}
	}
	return s
}

func fixtureOptions(dir string) Options {
	return Options{Dir: dir, Refresh: 40 * time.Millisecond, Now: func() time.Time { return fixtureNow },
		WorkDir: dir, Executable: "/nonexistent/lathe", sampler: fakeSample}
}

// normalize replaces what differs between machines (the store's temporary
// path) and trailing blanks, so goldens compare across runs.
func normalize(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "RUNS")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// declared is the panel a registered kind declares under title, as
// panelsFor would place it.
func declared(t *testing.T, title string) panel {
	t.Helper()
	for _, dp := range declaredPanels() {
		if dp.Title == title {
			return panel{title: dp.Title, decl: &dp.Panel, kind: dp.kind}
		}
	}
	t.Fatalf("no stage kind declares a %q panel", title)
	return panel{}
}

// quantization draws the quantize kind's declared table panel of run r.
func quantization(t *testing.T, r *runs.Run, st styles, w, h int) string {
	return table(declared(t, "quantization"), r, st, w, h)
}

// quantResults are the results the quantization panel shows of run r.
func quantResults(t *testing.T, r *runs.Run) map[string]float64 {
	return tableResults(r, declared(t, "quantization").decl.Table)
}

// converted is a run whose quantize stage converted to int8.
var converted = &runs.Run{Stages: []runs.StageResult{{Kind: "quantize", Metrics: map[string]float64{"int8_bytes": 1000}}}}

package nbui

import (
	"bytes"
	"github.com/lathe-ml/lathe/pkg/spec"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

func record(t *testing.T) *Recorder {
	t.Helper()
	rec := &Recorder{}
	prev := SetDisplay(rec)
	t.Cleanup(func() { SetDisplay(prev) })
	return rec
}

// TestLiveRedrawsInPlace: every draw replaces the same two outputs (plot
// and table); nothing is appended, and the last plot is a decodable PNG.
func TestLiveRedrawsInPlace(t *testing.T) {
	out := record(t)
	live := NewLive()
	live.Every = 10
	live.Handle(events.Event{Kind: events.RunStarted, RunID: "r1", Message: "quickstart"})
	live.Handle(events.Event{Kind: events.Log, RunID: "r1", Message: "data: mnist"})
	for step := 5; step <= 100; step += 5 {
		live.Handle(events.Event{Kind: events.Step, RunID: "r1", Step: step, Total: 100, Epoch: 1,
			Metrics: map[string]float64{"train_loss": 1 / float64(step), "train_accuracy": 0.5 + float64(step)/300}})
	}
	live.Handle(events.Event{Kind: events.EpochEnded, RunID: "r1", Step: 100, Metrics: map[string]float64{"validation_accuracy": 0.9}})
	live.Handle(events.Event{Kind: events.Evaluated, RunID: "r1", Step: 100, Metrics: map[string]float64{"test_accuracy": 0.91}})
	live.Handle(events.Event{Kind: events.RunFinished, RunID: "r1", Message: "finished", Metrics: map[string]float64{"wall_s": 3}})

	if len(out.Shown) != 0 {
		t.Errorf("live view appended %d outputs", len(out.Shown))
	}
	if len(out.Order) != 2 {
		t.Fatalf("live view used %d display ids, want 2 (plot, table): %v", len(out.Order), out.Order)
	}
	// 1 at the start, 10 every 10 steps, evaluation, finish; the epoch end
	// comes right after step 100's draw, so it redraws only on a slow machine.
	if n := live.Redraws(); n < 1+10+2 || n > 1+10+3 {
		t.Errorf("redraws %d, want 13 or 14", n)
	}
	plots, table := out.Updates[out.Order[0]], out.Updates[out.Order[1]]
	if len(plots) != live.Redraws() || len(table) != live.Redraws() {
		t.Errorf("%d plot and %d table updates for %d redraws", len(plots), len(table), live.Redraws())
	}
	if plots[0].PNG != nil || !strings.Contains(plots[0].HTML, "waiting") {
		t.Errorf("first draw, before any step, should hold the plot's place: %+v", plots[0])
	}
	last := plots[len(plots)-1]
	if _, err := png.Decode(bytes.NewReader(last.PNG)); err != nil {
		t.Fatalf("last plot is not a PNG: %v", err)
	}
	if last.Meta["lathe_live"] != "plot" || last.Meta["lathe_redraws"] != live.Redraws() || last.Meta["lathe_step"] != 100 {
		t.Errorf("plot metadata %v", last.Meta)
	}
	html := table[len(table)-1].HTML
	for _, want := range []string{"quickstart", "finished", "100 / 100", "91.00%", "90.00%", "data: mnist"} {
		if !strings.Contains(html, want) {
			t.Errorf("final table lacks %q:\n%s", want, html)
		}
	}
	if live.Err() != nil {
		t.Error(live.Err())
	}
}

// TestLiveDrawsADivergedRun: NaN and infinite losses do not stop the live
// plot (they are left off its axes) and the table shows them.
func TestLiveDrawsADivergedRun(t *testing.T) {
	out := record(t)
	live := NewLive()
	live.Handle(events.Event{Kind: events.RunStarted, RunID: "r1", Message: "diverge"})
	for step, loss := range []float64{2, 1, math.Inf(1), math.NaN()} {
		live.Handle(events.Event{Kind: events.Step, RunID: "r1", Step: step + 1, Total: 4, Epoch: 1,
			Metrics: map[string]float64{"train_loss": loss, "train_accuracy": math.NaN()}})
	}
	live.Handle(events.Event{Kind: events.RunFinished, RunID: "r1", Message: "failed"})
	if live.Err() != nil {
		t.Fatal(live.Err())
	}
	plots, table := out.Updates[out.Order[0]], out.Updates[out.Order[1]]
	if _, err := png.Decode(bytes.NewReader(plots[len(plots)-1].PNG)); err != nil {
		t.Errorf("last plot is not a PNG: %v", err)
	}
	if html := table[len(table)-1].HTML; !strings.Contains(html, "NaN") {
		t.Errorf("the table hides the NaN:\n%s", html)
	}
}

func TestShortenCopies(t *testing.T) {
	src, err := Load("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	short := shorten(src, 30)
	train := func(r *recipe.Recipe) *runner.TrainStage { return r.Stages[0].Settings.(*runner.TrainStage) }
	if train(src).Epochs != 4 || train(src).Steps != 0 || src.Params["fast_steps"] != "" {
		t.Errorf("shorten changed the original recipe: %+v %v", train(src), src.Params["fast_steps"])
	}
	tr := train(short)
	if tr.Steps != 30 || tr.Epochs != 0 || tr.LogEvery < 1 || tr.LogEvery > 3 || short.Params["fast_steps"] != "30" {
		t.Errorf("shortened train stage %+v, params fast_steps=%q", tr, short.Params["fast_steps"])
	}
	few, err := recipe.Parse("few.yaml", []byte("name: few\ndata: {dataset: spirals}\nmodel: {arch: mlp}\nstages:\n  - train: {steps: 10}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := train(shorten(few, 30)).Steps; got != 10 {
		t.Errorf("a 10-step stage became %d steps under a cap of 30", got)
	}
	if shorten(src, 0) != src {
		t.Error("shorten(0) should leave the recipe alone")
	}
}

func TestValidateShowsPositionedError(t *testing.T) {
	out := record(t)
	_, err := Validate("mine.yaml", "name: x\ndata: {dataset: spirals}\nmodel: {arch: mlp}\nstages:\n  - train: {epoch: 3}\n")
	if err == nil {
		t.Fatal("a typo passed validation")
	}
	if len(out.Shown) != 1 || !strings.Contains(out.Shown[0].HTML, `mine.yaml:5:13: unknown key &#34;epoch&#34;`) {
		t.Errorf("shown %+v", out.Shown)
	}
}

func TestSummarize(t *testing.T) {
	s, err := Summarize(spec.Model{Arch: "mlp", Hidden: []int{128}}, []int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := 784*128 + 128 + 128*10 + 10; s.Params != want {
		t.Errorf("params %d, want %d", s.Params, want)
	}
	if len(s.Layers) != 2 || s.Layers[0].Scope != "/mlp/fc1" || s.Layers[0].Params != 784*128+128 {
		t.Errorf("layers %+v", s.Layers)
	}
	if len(s.Output) != 2 || s.Output[1] != 10 {
		t.Errorf("output %v", s.Output)
	}
	if _, err := Summarize(spec.Model{Arch: "nope"}, []int{2}, 2); err == nil {
		t.Error("unknown architecture accepted")
	}
}

func TestImagesPNG(t *testing.T) {
	set := &datasets.Set{Name: "tiny", ExampleShape: []int{2, 3, 1}, NumClasses: 2, ClassNames: []string{"zero", "one"},
		Features: make([]float32, 3*6), Labels: []int32{0, 1, 1}}
	img, labels, err := ImagesPNG(set, 5, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	// 2 columns of 6 px + 3 gaps of 4; 2 rows of 4 px + 3 gaps.
	if b := decoded.Bounds(); b.Dx() != 2*6+3*4 || b.Dy() != 2*4+3*4 {
		t.Errorf("grid %v", b)
	}
	if strings.Join(labels, ",") != "zero,one,one" {
		t.Errorf("labels %v", labels)
	}
	points := &datasets.Set{Name: "pts", ExampleShape: []int{2}, Features: []float32{1, 2}, Labels: []int32{0}}
	if _, _, err := ImagesPNG(points, 1, 1, 1); err == nil {
		t.Error("point set rendered as images")
	}
}

// TestRunRecordsGroupedVariants runs a tiny two-variant recipe end to end:
// both runs land in the store, finished, tied by one group as `lathe run`
// ties them, drawn on one live view; Compare and ShowRun read them back.
func TestRunRecordsGroupedVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small models")
	}
	t.Setenv("GOMLX_BACKEND", "go")
	dir := t.TempDir()
	t.Setenv(runs.EnvDir, dir)
	out := record(t)
	const text = `
name: tiny
data: {dataset: spirals, batch_size: 32, validation: 64, train_size: 256, test_size: 64}
model: {arch: mlp, hidden: [16]}
stages:
  - train: {epochs: 5, optimizer: {name: adam, learning_rate: 1e-2}, checkpoint: false}
  - evaluate: {split: test}
variants:
  - {name: a}
  - {name: b, optimizer: {name: sgd, learning_rate: 0.1}}
`
	res, err := RunYAML("tiny.yaml", text, Steps(12), RedrawEvery(3))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || res.Group == "" || res.RunsDir != dir {
		t.Fatalf("outcome %+v", res)
	}
	if len(out.Order) != 2 {
		t.Errorf("variants drew on %d display ids, want one plot and one table", len(out.Order))
	}
	store, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, err := report.Group(store, "tiny")
	if err != nil || len(list) != 2 {
		t.Fatalf("report.Group found %d runs (%v)", len(list), err)
	}
	for _, r := range list {
		if r.Status != runs.Finished || r.Params[runs.GroupParam] != res.Group || r.Params["fast_steps"] != "12" || r.Final["steps"] != 12 {
			t.Errorf("run %s: status %s, params %v, steps %v", r.Name, r.Status, r.Params, r.Final["steps"])
		}
	}
	shown := len(out.Shown)
	if err := ShowRun("tiny/b"); err != nil {
		t.Fatal(err)
	}
	if err := Compare("train_loss", "tiny"); err != nil {
		t.Fatal(err)
	}
	images := 0
	for _, o := range out.Shown[shown:] {
		if o.PNG != nil {
			images++
		}
	}
	if images != 2 {
		t.Errorf("ShowRun and Compare showed %d images, want 2", images)
	}
}

// TestLiveEveryRestartsPerRun: with RedrawEvery, the second run of a group
// redraws on its own steps, not only when it passes the first run's last step.
func TestLiveEveryRestartsPerRun(t *testing.T) {
	out := record(t)
	live := NewLive()
	live.Every = 10
	for _, id := range []string{"a", "b"} {
		live.Handle(events.Event{Kind: events.RunStarted, RunID: id, Message: "g/" + id})
		for step := 1; step <= 30; step++ {
			live.Handle(events.Event{Kind: events.Step, RunID: id, Step: step, Total: 30, Metrics: map[string]float64{"train_loss": 1}})
		}
	}
	// Per run: the start and steps 10, 20, 30.
	if got := len(out.Updates[out.Order[0]]); got != 8 {
		t.Errorf("%d plot draws for two runs of 30 steps at every 10, want 8", got)
	}
}

// TestLiveShowsSparsity: once a run reports its sparsity (a prune stage
// runs), the plot gains a third panel (a wider image) and the table a
// sparsity column; a later stage's progress is shown against its own total.
func TestLiveShowsSparsity(t *testing.T) {
	out := record(t)
	live := NewLive()
	live.Every = 5
	live.Handle(events.Event{Kind: events.RunStarted, RunID: "r1", Message: "prune", Time: time.Now()})
	width := func() int {
		plots := out.Updates[out.Order[0]]
		img, err := png.Decode(bytes.NewReader(plots[len(plots)-1].PNG))
		if err != nil {
			t.Fatal(err)
		}
		return img.Bounds().Dx()
	}
	for step := 1; step <= 10; step++ {
		m := map[string]float64{"train_loss": 1, "train_accuracy": 0.5}
		if step > 5 {
			m["sparsity"] = 0.1 * float64(step)
		}
		// A second train stage: the global step runs 20 ahead of the stage's.
		live.Handle(events.Event{Kind: events.Step, RunID: "r1", Step: 20 + step, StageStep: step, Total: 10, Metrics: m})
		if step == 5 {
			if w := width(); w != int(live.Width*96) {
				t.Errorf("before any sparsity the plot is %d px wide, want two panels' %v", w, live.Width*96)
			}
		}
	}
	live.Handle(events.Event{Kind: events.RunFinished, RunID: "r1", Message: "finished"})
	if w := width(); w != int(live.Width*4/3*96) {
		t.Errorf("with sparsity the plot is %d px wide, want three panels' %v", w, live.Width*4/3*96)
	}
	table := out.Updates[out.Order[1]]
	if last := table[len(table)-1]; !strings.Contains(last.HTML, ">sparsity<") || !strings.Contains(last.HTML, "100.00%") ||
		!strings.Contains(last.Text, "sparsity 100.00%") || !strings.Contains(last.Text, "step 30 (stage 10 / 10)") {
		t.Errorf("table without the sparsity: %s\n%s", last.HTML, last.Text)
	}
	if live.Err() != nil {
		t.Error(live.Err())
	}
}

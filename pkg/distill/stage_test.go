package distill

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// The teacher (2-48-40-4) and the student (2-8-4) have weights of shapes
// the other has not, so a graph walk can tell them apart.
const blobsHead = `name: distill-test
seed: 5
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 640, test_size: 400}
model: {arch: mlp, hidden: [48, 40]}
stages:
`

const (
	teacherParams = (2*48 + 48) + (48*40 + 40) + (40*4 + 4)
	studentParams = (2*8 + 8) + (8*4 + 4)
)

func runRecipe(t *testing.T, store *runs.Store, src string, sinks ...events.Sink) *runner.Result {
	t.Helper()
	rec, err := recipe.Parse("d.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store, Sinks: sinks})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runCountingSteps runs src (recorded in store, unless nil) and counts
// the train steps taken, for a recipe that must fail before any.
func runCountingSteps(t *testing.T, store *runs.Store, src string) (*runner.Result, int, error) {
	t.Helper()
	rec, err := recipe.Parse("d.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	sink := events.SinkFunc(func(e events.Event) {
		if e.Kind == events.Step {
			steps++
		}
	})
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store, Sinks: []events.Sink{sink}})
	return res, steps, err
}

func openStore(t *testing.T) *runs.Store {
	t.Helper()
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// TestDistillStage: teacher from stage 1, baseline, hint through a
// projection. The report's numbers are consistent with one another and
// with the parameter counts worked out by hand; the student is the model
// after the stage; both phases' curves are in the store under their own
// names.
func TestDistillStage(t *testing.T) {
	store := openStore(t)
	res := runRecipe(t, store, blobsHead+`  - train: {epochs: 3, optimizer: {name: adam, learning_rate: 0.01}}
  - distill:
      teacher: {stage: 1}
      student: {arch: mlp, hidden: [8]}
      temperature: 3
      alpha: 0.7
      hint: {teacher: features, student: fc1}
      baseline: true
      epochs: 2
      optimizer: {name: adam, learning_rate: 0.01}
  - evaluate: {split: test}
`)
	m := res.Stages[1].Metrics
	if m["teacher_params"] != teacherParams || m["student_params"] != studentParams {
		t.Errorf("teacher_params %g student_params %g, want %d and %d", m["teacher_params"], m["student_params"], teacherParams, studentParams)
	}
	// After the stage the student is the model: the evaluate stage's
	// accuracy is the distilled student's, and only its parameters count.
	if ev := res.Stages[2].Metrics["test_accuracy"]; ev != m["student_test_accuracy"] {
		t.Errorf("evaluate after distill: %g, the distilled student had %g", ev, m["student_test_accuracy"])
	}
	const n = 400
	for _, who := range []string{"teacher", "alone", "student"} {
		acc, errs := m[who+"_test_accuracy"], m[who+"_test_errors"]
		if math.Abs((1-acc)*n-errs) > 0.5 {
			t.Errorf("%s: accuracy %g but %g errors of %d", who, acc, errs, n)
		}
	}
	teacher, alone, student := m["teacher_test_errors"], m["alone_test_errors"], m["student_test_errors"]
	if alone > teacher {
		want := (alone - student) / (alone - teacher)
		if math.Abs(m["gap_closed"]-want) > 1e-12 {
			t.Errorf("gap_closed %g, want (%g−%g)/(%g−%g) = %g", m["gap_closed"], alone, student, alone, teacher, want)
		}
	} else if !math.IsNaN(m["gap_closed"]) {
		t.Errorf("no gap (teacher %g, alone %g): gap_closed %g, want NaN", teacher, alone, m["gap_closed"])
	}
	// (640 − 100 validation) / 32 = 16 steps an epoch.
	if m["alone_steps"] != 32 || m["steps"] != 32 {
		t.Errorf("steps alone %g, distilled %g, want 32 each (2 epochs of 16)", m["alone_steps"], m["steps"])
	}
	if _, err := os.Stat(filepath.Join(store.RunDir(res.RunID), stageTeacherFile(0))); err != nil {
		t.Errorf("stage 1's model was not kept as the teacher: %v", err)
	}
	// Both phases are in the store, under their own names.
	for _, name := range []string{"alone_train_loss", "train_loss", "alone_validation_accuracy", "validation_accuracy"} {
		points, err := store.Series(res.RunID, name)
		if err != nil || len(points) == 0 {
			t.Errorf("no %s series in the store (%v)", name, err)
		}
	}
	// The distilled phase records its terms; each is a part of the
	// batch's loss, the rest being (1 − α)·CE ≥ 0: loss ≥ soft + hint at
	// every logged step. No attention pairs, no attention series; the
	// student alone has no terms.
	series := func(name string) map[int]float64 {
		points, err := store.Series(res.RunID, name)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]float64{}
		for _, p := range points {
			out[p.Step] = p.Value
		}
		return out
	}
	loss, soft, hint := series("loss"), series("soft_loss"), series("hint_loss")
	if len(soft) == 0 || len(hint) != len(soft) || len(series("attention_loss")) != 0 || len(series("alone_soft_loss")) != 0 {
		t.Fatalf("term series: %d soft, %d hint, %d attention, %d alone_soft points; want soft and hint alike, no others",
			len(soft), len(hint), len(series("attention_loss")), len(series("alone_soft_loss")))
	}
	for step, s := range soft {
		l, ok := loss[step]
		if !ok {
			t.Fatalf("step %d: a soft_loss point but no loss", step)
		}
		if s < 0 || hint[step] < 0 || l < s+hint[step]-1e-5 {
			t.Errorf("step %d: loss %g, soft %g, hint %g: want 0 ≤ soft + hint ≤ loss", step, l, s, hint[step])
		}
	}
}

// TestTeacherRunUnchanged: a teacher taken from another run leaves that
// run's files bit for bit as they were, and its exported weights equal
// those exported before the distillation.
func TestTeacherRunUnchanged(t *testing.T) {
	store := openStore(t)
	teacherRun := runRecipe(t, store, blobsHead+"  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 0.01}}\n")
	before := hashTree(t, store.RunDir(teacherRun.RunID))
	exportBefore := exportRun(t, store, teacherRun.RunID)

	res := runRecipe(t, store, blobsHead+`  - distill:
      teacher: {run: `+teacherRun.RunID+`}
      student: {arch: mlp, hidden: [8]}
      steps: 30
      optimizer: {name: adam, learning_rate: 0.01}
`)
	if res.Stages[0].Metrics["student_params"] != studentParams {
		t.Errorf("student_params %g, want %d", res.Stages[0].Metrics["student_params"], studentParams)
	}
	after := hashTree(t, store.RunDir(teacherRun.RunID))
	if !maps2Equal(before, after) {
		t.Errorf("the teacher run's files changed:\nbefore %v\nafter  %v", before, after)
	}
	exportAfter := exportRun(t, store, teacherRun.RunID)
	for name, tensor := range exportBefore.Tensors {
		other, ok := exportAfter.Tensors[name]
		if !ok || !bytes.Equal(tensor.Data, other.Data) {
			t.Errorf("teacher tensor %s differs after distillation", name)
		}
	}
}

// TestTeacherNotInTrainGraph builds the distillation's train step and
// walks its graph: no node has the shape of a teacher weight (the
// teacher's layers are not computed there, so no gradient towards them
// can be), while the student's weights and their gradients are there.
// The teacher's outputs reach the graph as inputs, and only the
// trainable variables — the student's and the hint's projection — get
// gradients.
func TestTeacherNotInTrainGraph(t *testing.T) {
	probe := &graphProbe{}
	recipe.Register(recipe.Kind{Name: "distill_probe_test", HasSteps: true, Effects: recipe.ModelHooks | recipe.Architecture | recipe.LoopHooks,
		Results: results.Declaration{Results: termResults, Series: termResults, Includes: []results.Include{{Kind: "train"}}}, New: func() recipe.Settings { return probe }})
	store := openStore(t)
	runRecipe(t, store, blobsHead+`  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}
  - distill_probe_test: {}
`)
	if probe.graph == nil {
		t.Fatal("the probe saw no train graph")
	}
	teacherShapes := [][]int{{2, 48}, {48}, {48, 40}, {40, 4}}
	var sawStudent bool
	for _, node := range probe.graph.Nodes() {
		dims := node.Shape().Dimensions
		for _, ts := range teacherShapes {
			if slices.Equal(dims, ts) {
				t.Errorf("the train graph has a node of a teacher weight's shape %v: %s", ts, node)
			}
		}
		if slices.Equal(dims, []int{2, 8}) {
			sawStudent = true
		}
	}
	if !sawStudent {
		t.Error("the walk saw no node of the student's first weight's shape [2 8]: it is not the train graph")
	}
	for _, v := range probe.trainable {
		if !strings.HasPrefix(v, "/mlp/") && !strings.HasPrefix(v, "/"+lossScope+"/") {
			t.Errorf("trainable variable %s is neither the student's nor the hint's projection", v)
		}
	}
	if !slices.Contains(probe.trainable, "/"+lossScope+"/hint_projection/weights") {
		t.Errorf("no hint projection among the trainable variables %v", probe.trainable)
	}
}

// graphProbe is a stage that wires a distillation (teacher: stage 1) into
// the session, runs one train step and keeps the graph it was built in.
type graphProbe struct {
	graph     *graph.Graph
	trainable []string
}

func (p *graphProbe) Set(*recipe.Decoder, recipe.Field) error                  { return nil }
func (p *graphProbe) Check(*recipe.Decoder, recipe.Node, *recipe.Recipe) error { return nil }
func (p *graphProbe) PlannedSteps(int) int                                     { return 1 }

func (p *graphProbe) Run(ctx context.Context, s *runner.Session) (map[string]float64, error) {
	f, err := export.Build(export.SourceOf(s))
	if err != nil {
		return nil, err
	}
	st := newStage().(*Stage)
	st.Student.Arch, st.Student.Hidden = "mlp", []int{8}
	st.Hint = &Pair{Teacher: Features, Student: Features, Weight: 1}
	st.dec = &recipe.Decoder{}
	st.Train.Steps = 1
	if err := st.useTeacher(s, f); err != nil {
		return nil, err
	}
	if err := st.student(s); err != nil {
		return nil, err
	}
	if _, err := st.wire(s); err != nil {
		return nil, err
	}
	s.Model.AddLoss(runner.LossTerm{Name: "probe", Fn: func(_ *gomlxctx.Context, _ []*graph.Node, logits *graph.Node) *graph.Node {
		p.graph = logits.Graph()
		return graph.ScalarZero(logits.Graph(), logits.DType())
	}})
	out, err := st.Train.Run(ctx, s)
	for v := range s.Ctx.IterVariables() {
		if v.Trainable {
			p.trainable = append(p.trainable, v.Scope()+"/"+v.Name())
		}
	}
	return out, err
}

// TestTeacherClassesMismatch: a teacher predicting other classes than the
// student's data is an error at the recipe's teacher key, before the
// recipe's first stage takes a step.
func TestTeacherClassesMismatch(t *testing.T) {
	store := openStore(t)
	other := runRecipe(t, store, strings.Replace(blobsHead, "dataset: blobs", "dataset: spirals", 1)+
		"  - train: {steps: 5, optimizer: {name: adam, learning_rate: 0.01}}\n")
	src := blobsHead + `  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}
  - distill:
      teacher: {run: ` + other.RunID + `}
      student: {arch: mlp, hidden: [8]}
      steps: 10
`
	res, steps, err := runCountingSteps(t, store, src)
	want := "d.yaml:9:16: teacher run " + other.RunID + " predicts 2 classes (0, 1) but the student learns blobs's 4: a teacher must predict the student's classes"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	if steps != 0 || (res != nil && len(res.Stages) != 0) {
		t.Errorf("%d steps and %v stages ran before the error", steps, res)
	}
}

// TestBadDistillKeys: mistakes are positioned errors when the recipe is read.
func TestBadDistillKeys(t *testing.T) {
	train := "  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}\n"
	cases := map[string]string{
		"{student: {arch: mlp}, epochs: 1}":                                                                          "d.yaml:8:14: distill needs a teacher",
		"{teacher: {stage: 1}, epochs: 1}":                                                                           "d.yaml:8:14: distill needs a student",
		"{teacher: {stage: 1, run: x}, student: {arch: mlp}, epochs: 1}":                                             "d.yaml:8:24: teacher needs exactly one of stage",
		"{teacher: {stage: 3}, student: {arch: mlp}, epochs: 1}":                                                     "d.yaml:8:24: teacher stage 3: the teacher must be trained by an earlier stage (this is stage 2)",
		"{teacher: {file: t.onnx}, student: {arch: mlp}, epochs: 1}":                                                 "d.yaml:8:24: teacher file t.onnx: want a Lathe model file",
		"{teacher: {stage: 1}, student: {arch: mlp}, epochs: 1, alpha: 1.5}":                                         "d.yaml:8:76: alpha must be in [0, 1], got 1.5",
		"{teacher: {stage: 1}, student: {arch: mlp}, epochs: 1, temperature: 0}":                                     "d.yaml:8:82: temperature must be greater than 0",
		"{teacher: {stage: 1}, student: {arch: mlp}}":                                                                "d.yaml:8:14: distill stage needs exactly one of epochs or steps",
		"{teacher: {stage: 1}, student: {arch: mlp}, epochs: 1, hint: {teacher: features, student: fc7}}":            `d.yaml:8:75: student layer "fc7": mlp has fc1, logits, features`,
		"{teacher: {stage: 1}, student: {arch: mlp}, epochs: 1, attention: {pairs: [{teacher: fc1, student: fc1}]}}": "d.yaml:8:80: attention transfer compares feature maps",
		"{teacher: {stage: 1}, student: {arch: mlp}, epochs: 1, temprature: 2}":                                      `d.yaml:8:69: unknown key "temprature" in distill stage (did you mean "temperature"?)`,
	}
	for keys, want := range cases {
		_, err := recipe.Parse("d.yaml", []byte(blobsHead+train+"  - distill: "+keys+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", keys, err, want)
		}
	}
}

// TestTeacherFeedMatchesGraph: the teacher values the runtime feeds the
// train step are the teacher graph's (export.ValuesFn on GoMLX), in the
// same layout, for a batch standardized as the session standardizes it.
func TestTeacherFeedMatchesGraph(t *testing.T) {
	store := openStore(t)
	res := runRecipe(t, store, blobsHead+"  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}\n")
	f := exportRun(t, store, res.RunID)
	tm, err := newTeacherModel(f, "test")
	if err != nil {
		t.Fatal(err)
	}
	features, err := tm.value(Features)
	if err != nil {
		t.Fatal(err)
	}
	const mean, std = 0.25, 2
	feed, err := newTeacherFeed(tm, runner.Splits{Mean: mean, Std: std}, []string{features}, [][]int{{40}})
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{0.5, -1, 2, 0.25, -3, 1.5}
	got, err := feed.inputs([]*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, 3, 2)})
	if err != nil {
		t.Fatal(err)
	}
	values, err := export.ValuesFn(f, false)
	if err != nil {
		t.Fatal(err)
	}
	want := run32(t, func(g *graph.Graph) []*graph.Node {
		in := graph.Const(g, tensors.FromFlatDataAndDimensions(x, 3, 2))
		raw := graph.AddScalar(graph.MulScalar(in, std), mean)
		v := values(raw)
		return []*graph.Node{graph.ConvertDType(v[tm.graph.Output], dtypes.Float64), graph.ConvertDType(v[features], dtypes.Float64)}
	})
	for i, name := range []string{"logits", "features"} {
		g := tensors.MustCopyFlatData[float32](got[i])
		if len(g) != len(want[i]) {
			t.Fatalf("%s: %d values, want %d", name, len(g), len(want[i]))
		}
		for j := range g {
			if math.Abs(float64(g[j]-want[i][j])) > 1e-4*math.Max(1, math.Abs(float64(want[i][j]))) {
				t.Fatalf("%s[%d]: runtime %g, GoMLX graph %g", name, j, g[j], want[i][j])
			}
		}
	}
	if !slices.Equal(got[1].Shape().Dimensions, []int{3, 40}) {
		t.Errorf("features shape %v, want [3 40]", got[1].Shape())
	}
}

func run32(t *testing.T, fn func(g *graph.Graph) []*graph.Node) [][]float32 {
	t.Helper()
	vals := run(t, fn)
	out := make([][]float32, len(vals))
	for i, v := range vals {
		for _, x := range v {
			out[i] = append(out[i], float32(x))
		}
	}
	return out
}

func exportRun(t *testing.T, store *runs.Store, id string) *infer.File {
	t.Helper()
	s, err := runner.Reopen(context.Background(), store, id, "go")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := export.Build(export.SourceOf(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func hashTree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func maps2Equal(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestStageTeacherCheckedBeforeTraining: a teacher trained by an earlier
// stage does not exist yet when the run starts, but its graph does: a
// feature pair naming a value it lacks is an error at the pair's key
// before stage 1 takes a step.
func TestStageTeacherCheckedBeforeTraining(t *testing.T) {
	src := blobsHead + `  - train: {epochs: 1, optimizer: {name: adam, learning_rate: 0.01}}
  - distill:
      teacher: {stage: 1}
      student: {arch: mlp, hidden: [8]}
      hint: {teacher: fc9, student: fc1}
      steps: 10
`
	_, steps, err := runCountingSteps(t, nil, src)
	want := `d.yaml:11:13: teacher layer "fc9": the teacher (stage 1's model) has fc1, fc2, features`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	if steps != 0 {
		t.Errorf("%d steps ran before the error", steps)
	}
}

// TestResumeInEitherPhase: a run stopped while the student trains alone,
// or while it is distilled, resumes from its checkpoint (the teacher read
// back from the run's folder, the baseline's figures from the
// checkpoint) and ends with the uninterrupted run's figures.
func TestResumeInEitherPhase(t *testing.T) {
	src := blobsHead + `  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 0.01}}
  - distill:
      teacher: {stage: 1}
      student: {arch: mlp, hidden: [8]}
      hint: {teacher: features, student: fc1}
      baseline: true
      epochs: 2
      checkpoint_every: 5
      optimizer: {name: adam, learning_rate: 0.01}
  - evaluate: {split: test}
`
	run := func(phase string, stopAt int) *runner.Result {
		store := openStore(t)
		rec, err := recipe.Parse("d.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stop := events.SinkFunc(func(e events.Event) {
			if stopAt > 0 && e.Kind == events.Step && e.Stage == "distill" && e.Phase == phase && e.StageStep >= stopAt {
				cancel()
			}
		})
		res, err := runner.Run(ctx, rec, runner.Options{Store: store, Sinks: []events.Sink{stop}})
		if stopAt == 0 {
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		if err != runner.ErrStopped {
			t.Fatalf("stopping in phase %q: %v", phase, err)
		}
		res, err = runner.Resume(context.Background(), store, res.RunID, runner.Options{})
		if err != nil {
			t.Fatalf("resuming from phase %q: %v", phase, err)
		}
		return res
	}
	whole := run("", 0)
	for _, phase := range []string{"alone_", ""} {
		resumed := run(phase, 12)
		for _, k := range []string{"teacher_test_errors", "alone_test_errors", "student_test_errors", "test_loss"} {
			if math.Abs(whole.Final[k]-resumed.Final[k]) > 1e-6 {
				t.Errorf("stopped in phase %q: %s %g resumed, %g uninterrupted", phase, k, resumed.Final[k], whole.Final[k])
			}
		}
	}
}

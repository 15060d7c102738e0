package distill

import (
	"fmt"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/ops"
	"github.com/lathe-ml/lathe/pkg/runner"
)

// lossScope is where the distillation term's variables (a hint's
// projection) live: the runner builds a term named n under /loss_<n>.
const (
	lossName  = "distill"
	lossScope = "loss_" + lossName
)

// The series of the distillation's terms, each as it enters the loss
// (weighted): soft targets α·T²·KL, the hint's weighted MSE, attention
// transfer's weighted sum over its pairs.
const (
	softLoss      = "soft_loss"
	hintLoss      = "hint_loss"
	attentionLoss = "attention_loss"
)

// termValues keeps each term's value of the last train step in a
// non-trainable variable, which the loop reads after the step.
type termValues struct {
	mu    sync.Mutex
	scope string   // the variables' scope, once a graph made them
	names []string // the terms this wiring has
}

// keep stores a term's value in the variable named name.
func (t *termValues) keep(ctx *gomlxctx.Context, name string, value *graph.Node) {
	c := ctx.In("terms").Checked(false)
	v := c.VariableWithValue(name, float32(0)).SetTrainable(false)
	v.SetValueGraph(graph.ConvertDType(graph.StopGradient(value), dtypes.Float32))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scope = c.Scope()
	if !slices.Contains(t.names, name) {
		t.names = append(t.names, name)
	}
}

// read adds the terms' last values to a step's metrics.
func (t *termValues) read(s *runner.Session, m map[string]float64) error {
	t.mu.Lock()
	scope, names := t.scope, slices.Clone(t.names)
	t.mu.Unlock()
	for _, name := range names {
		v, ok, err := s.ReadScalar(scope, name)
		if err != nil {
			return err
		}
		if ok {
			m[name] = v
		}
	}
	return nil
}

// wiring is what wire added to the student: the teacher's values each
// pair reads and their shapes, for the log.
type wiring struct {
	teacherValues []string
	shapes        [][2][]int // per pair: teacher's and student's value, one example
}

func (w *wiring) describe(st *Stage) string {
	msg := fmt.Sprintf("soft targets at temperature %g, alpha %g", st.Temperature, st.Alpha)
	for i, p := range st.pairs() {
		kind := "attention transfer"
		if st.Hint != nil && i == 0 {
			kind = "hint"
			if w.shapes[i][0][len(w.shapes[i][0])-1] != w.shapes[i][1][len(w.shapes[i][1])-1] {
				kind += " through a learned projection"
			}
		}
		msg += fmt.Sprintf("; %s teacher %s %v ← student %s %v", kind, p.Teacher, w.shapes[i][0], p.Student, w.shapes[i][1])
	}
	return msg
}

// wire adds the distillation loss to the session's (fresh) student: the
// hard loss scaled by 1 − alpha in training, and a term built inside the
// train graph — alpha times the soft-target loss, plus the hint and
// attention terms on the student values the capture hooks hand over —
// from the teacher's values for the same batch, which the teacher (in
// Lathe's runtime, outside the graph) computes for every training batch
// and the step receives as inputs after the images.
func (st *Stage) wire(s *runner.Session) (*wiring, error) {
	t := st.teacher
	pairs := st.pairs()
	w := &wiring{}
	for _, p := range pairs {
		name, err := t.value(p.Teacher)
		if err != nil {
			return nil, err
		}
		w.teacherValues = append(w.teacherValues, name)
	}
	capture := newCapture(models.Spec{Model: st.Student}, pairs)
	if len(pairs) > 0 {
		var err error
		if w.shapes, err = st.checkShapes(s, t, w.teacherValues, capture); err != nil {
			return nil, err
		}
	}
	feed, err := newTeacherFeed(t, s.Data, w.teacherValues, w.teacherDims())
	if err != nil {
		return nil, err
	}
	s.Model.SetTrainInputs(feed.inputs)
	s.Model.AddHooks(capture.hooks())
	s.Model.Loss = hardLoss(s, s.Model.Loss, st.Alpha)
	terms := &termValues{}
	s.Model.AddLoss(runner.LossTerm{Name: lossName, Fn: func(ctx *gomlxctx.Context, inputs []*graph.Node, logits *graph.Node) *graph.Node {
		// inputs: the images, the teacher's logits, then each pair's teacher value.
		teacherLogits := inputs[1]
		soft := graph.MulScalar(SoftTarget(logits, teacherLogits, st.Temperature), st.Alpha)
		terms.keep(ctx, softLoss, soft)
		loss := soft
		got := capture.take(logits.Graph())
		var hint, attention *graph.Node
		for i, p := range pairs {
			teacher := inputs[2+i]
			student := graph.ConvertDType(got[p.Student], teacher.DType())
			if st.Hint != nil && i == 0 {
				student = project(ctx.In("hint_projection"), student, teacher.Shape().Dimensions[teacher.Rank()-1])
				hint = graph.MulScalar(Hint(student, teacher), p.Weight)
				loss = graph.Add(loss, hint)
				continue
			}
			term := graph.MulScalar(AttentionTransfer(student, teacher), st.AttentionWeight*p.Weight)
			if attention == nil {
				attention = term
			} else {
				attention = graph.Add(attention, term)
			}
			loss = graph.Add(loss, term)
		}
		if hint != nil {
			terms.keep(ctx, hintLoss, hint)
		}
		if attention != nil {
			terms.keep(ctx, attentionLoss, attention)
		}
		return loss
	}})
	// Each term's value at the last step joins the step's metrics, so the
	// run records them as series beside train_loss: which term the
	// student is minimizing, and whether a hint swamps the soft targets.
	s.AddLoopHooks(func(l *runner.Loop) {
		l.AfterStep("distill terms", runner.PriorityReport-1, func(info *runner.StepInfo) error {
			return terms.read(s, info.Metrics)
		})
	})
	return w, nil
}

// teacherDims are one example's shape of each pair's teacher value.
func (w *wiring) teacherDims() [][]int {
	out := make([][]int, len(w.shapes))
	for i, s := range w.shapes {
		out[i] = s[0]
	}
	return out
}

// checkShapes builds the teacher and the student on a throwaway graph (no
// weights are made) and checks that each pair's values can be compared:
// the same rank, and the same height and width for feature maps.
func (st *Stage) checkShapes(s *runner.Session, t *teacherModel, teacherValues []string, capture *capture) ([][2][]int, error) {
	example := s.Data.Train.ExampleShape
	teacherFn, err := export.ValuesFn(t.file, false)
	if err != nil {
		return nil, fmt.Errorf("distill: the teacher (%s): %w", t.from, err)
	}
	g := graph.NewGraph(s.Backend, "distill_shapes")
	defer g.Finalize()
	var out [][2][]int
	err = catch(func() {
		x := graph.Parameter(g, "x", shapes.Make(dtypes.Float32, append([]int{1}, example...)...))
		tv := teacherFn(x)
		spec := models.Spec{Model: st.Student, Hooks: capture.hooks()}
		fn, err := spec.ModelFn(s.Model.NumClasses)
		if err != nil {
			panic(err)
		}
		fn(gomlxctx.New().Checked(false), nil, []*graph.Node{x})
		got := capture.take(g)
		for i, p := range st.pairs() {
			ts, ss := tv[teacherValues[i]].Shape().Dimensions[1:], got[p.Student].Shape().Dimensions[1:]
			out = append(out, [2][]int{ts, ss})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("distill: building the teacher and the student: %w", err)
	}
	for i, p := range st.pairs() {
		ts, ss := out[i][0], out[i][1]
		hint := st.Hint != nil && i == 0
		switch {
		case len(ts) != len(ss):
			return nil, st.dec.Errorf(st.pairAt(i), "teacher %s %v and student %s %v: one is a feature map and the other a vector", p.Teacher, ts, p.Student, ss)
		case len(ts) == 3 && (ts[0] != ss[0] || ts[1] != ss[1]):
			return nil, st.dec.Errorf(st.pairAt(i), "teacher %s %v and student %s %v: feature maps must have the same height and width", p.Teacher, ts, p.Student, ss)
		case !hint && len(ts) != 3:
			return nil, st.dec.Errorf(st.pairAt(i), "attention transfer compares feature maps: teacher %s is %v, student %s %v", p.Teacher, ts, p.Student, ss)
		}
	}
	return out, nil
}

// catch runs fn, turning a panic (GoMLX reports shape errors so) into an error.
func catch(fn func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", p)
			}
		}
	}()
	fn()
	return nil
}

// project maps x's last axis to width with a learned dense layer (a 1×1
// convolution on a feature map): FitNets' regressor, trained with the
// student and dropped with the loss. x is returned as it is when its
// width is already the teacher's.
func project(ctx *gomlxctx.Context, x *graph.Node, width int) *graph.Node {
	dims := x.Shape().Dimensions
	in := dims[len(dims)-1]
	if in == width {
		return x
	}
	g := x.Graph()
	weights := ctx.VariableWithShape("weights", shapes.Make(x.DType(), in, width)).ValueGraph(g)
	biases := ctx.WithInitializer(initializers.Zero).VariableWithShape("biases", shapes.Make(x.DType(), width)).ValueGraph(g)
	y := graph.Add(ops.MatMul(graph.Reshape(x, -1, in), weights), graph.InsertAxes(biases, 0))
	return graph.Reshape(y, append(append([]int(nil), dims[:len(dims)-1]...), width)...)
}

// capture hands the student's values a pair names from the model's hooks
// to the loss term, graph by graph: a layer's output after its
// non-linearity, or (Features) what the logits layer reads.
type capture struct {
	arch    string
	spec    models.Spec
	layers  map[string]string // hook name (/mlp/fc1) → pair name (fc1)
	mu      sync.Mutex
	byGraph map[graph.GraphId]map[string]*graph.Node
}

func newCapture(student models.Spec, pairs []Pair) *capture {
	c := &capture{arch: student.Arch, spec: student, layers: map[string]string{}, byGraph: map[graph.GraphId]map[string]*graph.Node{}}
	for _, p := range pairs {
		if p.Student == Features {
			c.layers["/"+student.Arch+"/logits"] = Features
		} else {
			c.layers["/"+student.Arch+"/"+p.Student] = p.Student
		}
	}
	return c
}

func (c *capture) put(name string, x *graph.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.byGraph[x.Graph().GraphId()]
	if m == nil {
		m = map[string]*graph.Node{}
		c.byGraph[x.Graph().GraphId()] = m
	}
	m[name] = x
}

// take returns (and forgets) what was captured while building g.
func (c *capture) take(g *graph.Graph) map[string]*graph.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.byGraph[g.GraphId()]
	delete(c.byGraph, g.GraphId())
	return m
}

func (c *capture) hooks() models.Hooks {
	if len(c.layers) == 0 {
		return models.Hooks{}
	}
	return models.Hooks{
		Activation: func(_ *gomlxctx.Context, name string, x *graph.Node) *graph.Node {
			if pair, ok := c.layers[name]; ok && pair != Features {
				c.put(pair, c.spec.Activate(x))
			}
			return x
		},
		Input: func(_ *gomlxctx.Context, name string, x *graph.Node) *graph.Node {
			if c.layers[name] == Features && name == "/"+c.arch+"/logits" {
				c.put(Features, x)
			}
			return x
		},
	}
}

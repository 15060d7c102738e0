package distill

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/runner"
)

// Context parameters a checkpoint keeps about the baseline, so a run
// resumed after it still reports it.
const (
	paramAloneAccuracy = "distill_alone_accuracy"
	paramAloneErrors   = "distill_alone_errors"
)

// Run implements runner.Stage.
func (st *Stage) Run(ctx context.Context, s *runner.Session) (map[string]float64, error) {
	if st.teacher == nil {
		return nil, fmt.Errorf("distill: the teacher (%s) was not prepared: stage %d did not keep its model", st.Teacher, st.Teacher.Stage)
	}
	t := st.teacher
	out := map[string]float64{"temperature": st.Temperature, "alpha": st.Alpha, "teacher_params": float64(t.params())}
	if st.Teacher.Stage > 0 {
		out["teacher_stage"] = float64(st.Teacher.Stage) // the dashboard draws that stage's curves as the teacher's
	}
	set := s.Data.Split(st.CheckOn)
	teacherAcc, teacherErrors, err := st.teacherAccuracy(s)
	if err != nil {
		return nil, err
	}
	out["teacher_"+st.CheckOn+"_accuracy"], out["teacher_"+st.CheckOn+"_errors"] = teacherAcc, float64(teacherErrors)
	s.Log("distill: teacher (%s, %d parameters): %s accuracy %.2f%%, %d errors in %d", t.from, t.params(), st.CheckOn, 100*teacherAcc, teacherErrors, set.Len())

	if st.TransferSet > 0 {
		full := s.Data.Train
		if st.TransferSet > full.Len() {
			return nil, fmt.Errorf("distill: transfer_set %d: the training split has %d examples", st.TransferSet, full.Len())
		}
		defer s.UseTrainSet(full.Subset(firstN(st.TransferSet)))()
		s.Log("distill: the students learn from the first %d of %d training examples (the transfer set)", st.TransferSet, full.Len())
		out["transfer_set"] = float64(st.TransferSet)
	}

	// The teacher's variables, if it was this run's model, go: the
	// student is trained from scratch in its place — unless the run
	// resumes inside this stage, when the checkpoint holds the student
	// as it was.
	if s.ResumeStep() > 0 {
		st.plainStudent(s)
	} else if err := st.student(s); err != nil {
		return nil, err
	}
	steps := st.Train.PlannedSteps(s.Data.Train.Len() / s.Recipe.Data.BatchSize)
	offset := 0
	aloneErrors := -1
	if st.Baseline {
		offset = steps
		if s.ResumeStep() < steps {
			s.Log("distill: the student alone first, on the same schedule")
			m, err := st.Train.RunPhase(ctx, s, runner.Phase{Prefix: alonePrefix})
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				out[alonePrefix+k] = v
			}
			acc, errs, err := st.evaluate(s)
			if err != nil {
				return nil, err
			}
			s.Ctx.SetParam(paramAloneAccuracy, acc)
			s.Ctx.SetParam(paramAloneErrors, float64(errs))
			if err := st.student(s); err != nil { // afresh, for the distilled one
				return nil, err
			}
		}
		acc, errs := paramOr(s, paramAloneAccuracy), paramOr(s, paramAloneErrors)
		out[alonePrefix+st.CheckOn+"_accuracy"], out[alonePrefix+st.CheckOn+"_errors"] = acc, errs
		aloneErrors = int(errs)
		s.Log("distill: student alone: %s accuracy %.2f%%, %v errors", st.CheckOn, 100*acc, errs)
	}

	w, err := st.wire(s)
	if err != nil {
		return nil, err
	}
	s.Log("distill: %s", w.describe(st))
	m, err := st.Train.RunPhase(ctx, s, runner.Phase{Offset: offset})
	if err != nil {
		return nil, err
	}
	for k, v := range m {
		out[k] = v
	}
	acc, errs, err := st.evaluate(s)
	if err != nil {
		return nil, err
	}
	studentParams := st.studentParams(s)
	out["params"], out["student_params"] = float64(studentParams), float64(studentParams)
	out["params_ratio"] = float64(t.params()) / float64(studentParams)
	out[st.CheckOn+"_accuracy"], out["student_"+st.CheckOn+"_accuracy"], out["student_"+st.CheckOn+"_errors"] = acc, acc, float64(errs)
	s.Log("distill: distilled student (%d parameters, %.1f× fewer): %s accuracy %.2f%%, %d errors", studentParams, out["params_ratio"], st.CheckOn, 100*acc, errs)
	if st.Baseline {
		out["gap_closed"] = GapClosed(teacherErrors, aloneErrors, errs)
		closed := fmt.Sprintf("%.0f%% of the gap closed", 100*out["gap_closed"])
		if math.IsNaN(out["gap_closed"]) {
			closed = "no gap to close (the teacher made no fewer errors than the student alone)"
		}
		s.Log("distill: errors: teacher %d, student alone %d, distilled %d: %s", teacherErrors, aloneErrors, errs, closed)
	}
	// Later stages get the student, without the teacher's loss.
	st.plainStudent(s)
	return out, nil
}

// Restore implements runner.Restorer: after the stage the student is the
// model (its variables come back from the checkpoint).
func (st *Stage) Restore(_ context.Context, s *runner.Session) error {
	st.plainStudent(s)
	return nil
}

// GapClosed is the fraction of the error gap between the student trained
// alone and its teacher that distillation closed: (alone − distilled) /
// (alone − teacher). It is NaN when the teacher makes no fewer errors than
// the student alone, as there is no gap to close.
func GapClosed(teacher, alone, distilled int) float64 {
	if alone <= teacher {
		return math.NaN()
	}
	return float64(alone-distilled) / float64(alone-teacher)
}

// student makes a fresh student the session's model: the old model's
// variables (the teacher's when it was this run's, or a first student's)
// and their optimizer state are deleted, so the student starts from its
// initializers.
func (st *Stage) student(s *runner.Session) error {
	old := "/" + s.Model.Spec.Arch
	if err := s.DeleteVariables(func(scope, _ string) bool {
		return inScope(scope, old) || inScope(scope, "/"+st.Student.Arch) || strings.HasPrefix(scope, "/"+lossScope)
	}); err != nil {
		return err
	}
	st.plainStudent(s)
	return nil
}

func (st *Stage) plainStudent(s *runner.Session) {
	s.ReplaceModel(models.Spec{Model: st.Student})
}

func firstN(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func inScope(scope, root string) bool {
	return scope == root || strings.HasPrefix(scope, root+"/")
}

// studentParams counts the student's own parameters: its model's
// trainable variables, not the hint's projection (used in training only).
func (st *Stage) studentParams(s *runner.Session) int {
	n := 0
	for v := range s.Ctx.IterVariables() {
		if v.Trainable && inScope(v.Scope(), "/"+st.Student.Arch) {
			n += v.Shape().Size()
		}
	}
	return n
}

// evaluate returns the current model's accuracy and errors on the check split.
func (st *Stage) evaluate(s *runner.Session) (float64, int, error) {
	m, err := s.Evaluate(st.CheckOn)
	if err != nil {
		return 0, 0, err
	}
	acc := m[st.CheckOn+"_accuracy"]
	return acc, errorsOf(acc, s.Data.Split(st.CheckOn).Len()), nil
}

func errorsOf(accuracy float64, n int) int {
	if math.IsNaN(accuracy) {
		return n
	}
	return int(math.Round((1 - accuracy) * float64(n)))
}

// teacherAccuracy runs the teacher file in Lathe's runtime on the check split.
func (st *Stage) teacherAccuracy(s *runner.Session) (float64, int, error) {
	m, err := infer.New(st.teacher.file)
	if err != nil {
		return 0, 0, fmt.Errorf("distill: the teacher (%s): %w", st.teacher.from, err)
	}
	set := s.Data.Split(st.CheckOn)
	size := set.ExampleSize()
	const batch = 256
	raw := make([]float32, batch*size)
	logits := make([]float32, batch*m.Classes())
	errs := 0
	for start := 0; start < set.Len(); start += batch {
		n := min(batch, set.Len()-start)
		copy(raw, s.Data.Raw(set.Features[start*size:(start+n)*size]))
		if err := m.Predict(raw[:n*size], n, logits[:n*m.Classes()]); err != nil {
			return 0, 0, fmt.Errorf("distill: the teacher (%s): %w", st.teacher.from, err)
		}
		for i := 0; i < n; i++ {
			if infer.Argmax(logits[i*m.Classes():(i+1)*m.Classes()]) != int(set.Labels[start+i]) {
				errs++
			}
		}
	}
	return 1 - float64(errs)/float64(set.Len()), errs, nil
}

// paramOr reads a float context parameter; NaN when absent.
func paramOr(s *runner.Session, key string) float64 {
	v, ok := s.Ctx.GetParam(key)
	if !ok {
		return math.NaN()
	}
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return math.NaN()
}

// hardLoss is the model's own loss (the recipe's cross entropy), scaled
// by 1 − alpha in training graphs only: evaluation reports the plain loss,
// comparable with the student trained alone.
func hardLoss(s *runner.Session, base train.LossFn, alpha float64) train.LossFn {
	return func(labels, predictions []*graph.Node) *graph.Node {
		loss := base(labels, predictions)
		if s.Ctx.IsTraining(predictions[0].Graph()) {
			loss = graph.MulScalar(loss, 1-alpha)
		}
		return loss
	}
}

package distill

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// teacherModel is a teacher as a Lathe model file: whatever it came from
// (an earlier stage, a run, a file), it runs in Lathe's runtime with batch
// norm folded and no dropout — inference mode by construction.
type teacherModel struct {
	file  *infer.File
	graph *infer.Graph
	from  string // for messages: "stage 1's model", "run 2026…", a path
}

func newTeacherModel(f *infer.File, from string) (*teacherModel, error) {
	g, err := infer.GraphOf(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	return &teacherModel{file: f, graph: g, from: from}, nil
}

// params counts the teacher's weights and biases.
func (t *teacherModel) params() int {
	n := 0
	for _, tensor := range t.file.Tensors {
		if len(tensor.Shape) == 0 {
			continue
		}
		size := 1
		for _, d := range tensor.Shape {
			size *= d
		}
		n += size
	}
	return n
}

// value resolves a pair's teacher name to one of the graph's values.
func (t *teacherModel) value(name string) (string, error) {
	if name == Features {
		for _, op := range t.graph.Ops {
			if op.Name == t.graph.Output {
				return op.Inputs[0], nil
			}
		}
	}
	var names []string
	for _, op := range t.graph.Ops {
		if op.Name == name && op.Name != t.graph.Output {
			return name, nil
		}
		if op.Name != t.graph.Output {
			names = append(names, op.Name)
		}
	}
	return "", fmt.Errorf("teacher layer %q: the teacher (%s) has %s", name, t.from, strings.Join(append(names, Features), ", "))
}

// stageTeacherFile is where the model of stage index (0-based) is kept
// for the distill stages that name it.
func stageTeacherFile(index int) string {
	return infer.FileName(fmt.Sprintf("teacher-stage%d", index+1))
}

// Precheck implements runner.Prechecker: a teacher file must be a Lathe
// model file whose weights are all finite, and a teacher run a finished
// run of the store, before the run is recorded.
func (st *Stage) Precheck(store *runs.Store) error {
	switch {
	case st.Teacher.File != "":
		f, err := infer.ReadFile(st.Teacher.File, 0)
		if err == nil {
			_, err = infer.GraphOf(f)
		}
		if err != nil { // it names the file
			return st.dec.Errorf(st.teacherAt, "teacher: %v", err)
		}
		// Its soft targets would be NaN, and the student's loss with them.
		if bad := f.NonFinite(); bad != nil {
			return st.dec.Errorf(st.teacherAt, "teacher %s: %s: a teacher's outputs must be numbers", st.Teacher.File, infer.DescribeNonFinite(bad))
		}
	case st.Teacher.Run != "":
		if store == nil {
			return st.dec.Errorf(st.teacherAt, "teacher %s: a teacher run is looked up in the run store, and this run is not recorded in one", st.Teacher)
		}
		run, err := store.Get(st.Teacher.Run)
		if err != nil {
			return st.dec.Errorf(st.teacherAt, "teacher %s: %v", st.Teacher, err)
		}
		if run.Status != runs.Finished {
			return st.dec.Errorf(st.teacherAt, "teacher %s: run %s is %s, not finished: its model is not final", st.Teacher, run.ID, run.Status)
		}
	}
	return nil
}

// Prepare implements runner.Preparer: before any stage runs, the teacher
// is read (a file, another run) and checked against the student's data,
// or, for an earlier stage's model, arranged to be kept when that stage
// ends. Every error names the recipe's teacher key.
func (st *Stage) Prepare(ctx context.Context, s *runner.Session) error {
	st.teacher = nil
	var (
		f   *infer.File
		err error
	)
	switch {
	case st.Teacher.File != "":
		f, err = infer.ReadFile(st.Teacher.File, 0)
	case st.Teacher.Run != "":
		f, err = runTeacher(ctx, s, st.Teacher.Run)
	case st.Teacher.Stage > 0:
		return st.keepStageModel(s)
	}
	if err != nil {
		return st.dec.Errorf(st.teacherAt, "teacher %s: %v", st.Teacher, err)
	}
	return st.useTeacher(s, f)
}

// useTeacher checks the teacher file and makes it the stage's teacher.
func (st *Stage) useTeacher(s *runner.Session, f *infer.File) error {
	t, err := st.checkTeacher(s, f, st.Teacher.String())
	if err != nil {
		return err
	}
	st.teacher = t
	return nil
}

// checkTeacher checks a teacher file against the student's data (classes,
// example shape) and against the stage's feature pairs: each names a value
// of the teacher the runtime shows, of a shape the student's value can be
// compared with. It needs the file's graph, not its weights.
func (st *Stage) checkTeacher(s *runner.Session, f *infer.File, from string) (*teacherModel, error) {
	t, err := newTeacherModel(f, from)
	if err != nil {
		return nil, st.dec.Errorf(st.teacherAt, "teacher %v", err)
	}
	train := s.Data.Train
	if len(t.graph.Classes) != train.NumClasses || len(train.ClassNames) == train.NumClasses && !slices.Equal(t.graph.Classes, train.ClassNames) {
		return nil, st.dec.Errorf(st.teacherAt, "teacher %s predicts %d classes%s but the student learns %s's %d%s: a teacher must predict the student's classes",
			st.Teacher, len(t.graph.Classes), brief(t.graph.Classes), s.Recipe.Data.Dataset, train.NumClasses, brief(train.ClassNames))
	}
	if !slices.Equal(t.graph.Input.Shape, train.ExampleShape) {
		return nil, st.dec.Errorf(st.teacherAt, "teacher %s takes examples of shape %v but %s's are %v", st.Teacher, t.graph.Input.Shape, s.Recipe.Data.Dataset, train.ExampleShape)
	}
	pairs := st.pairs()
	var names []string
	for i, p := range pairs {
		name, err := t.value(p.Teacher)
		if err != nil {
			return nil, st.dec.Errorf(st.pairAt(i), "%v", err)
		}
		names = append(names, name)
	}
	if len(pairs) == 0 {
		return t, nil
	}
	shapes, err := st.checkShapes(s, t, names, newCapture(models.Spec{Model: st.Student}, pairs))
	if err != nil {
		return nil, err
	}
	dims := make([][]int, len(shapes))
	for i := range shapes {
		dims[i] = shapes[i][0]
	}
	if _, err := newTeacherFeed(t, s.Data, names, dims); err != nil {
		return nil, st.dec.Errorf(st.teacherAt, "%v", err)
	}
	return t, nil
}

// keepStageModel arranges for the teacher stage's model to be exported
// when it ends (to the run's folder when the run is recorded, so that a
// resumed run finds it), or reads it back when a resumed run has already
// passed that stage.
func (st *Stage) keepStageModel(s *runner.Session) error {
	index := st.Teacher.Stage - 1
	dir, err := s.RunDir()
	if err != nil {
		return err
	}
	path := ""
	if dir != "" {
		path = filepath.Join(dir, stageTeacherFile(index))
	}
	// A resumed run that has passed the stage (or stopped right after it)
	// reads back what it kept.
	if resumed := s.ResumeStage(); resumed >= index && path != "" {
		f, err := infer.ReadFile(path, 0)
		switch {
		case err == nil:
			return st.useTeacher(s, f)
		case resumed > index || !errors.Is(err, fs.ErrNotExist):
			return st.dec.Errorf(st.teacherAt, "teacher stage %d's model, kept when it ended: %v", st.Teacher.Stage, err)
		}
	}
	// The stage's model is trained later; its graph — the values the
	// feature pairs name and their shapes — is known now: check it on
	// the model as the recipe builds it, in a throwaway context.
	preview := export.SourceOf(s)
	preview.Ctx = gomlxctx.New()
	f, err := export.Build(preview)
	if err != nil {
		return fmt.Errorf("distill: building stage %d's model to check it as a teacher: %w", st.Teacher.Stage, err)
	}
	if _, err := st.checkTeacher(s, f, st.Teacher.String()); err != nil {
		return err
	}
	s.AfterStage(index, func() error {
		f, err := export.Build(export.SourceOf(s))
		if err != nil {
			return fmt.Errorf("distill: keeping stage %d's model as the teacher: %w", st.Teacher.Stage, err)
		}
		if path != "" {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) { // several distill stages may name it
				if err := f.WriteFile(path); err != nil {
					return fmt.Errorf("distill: keeping stage %d's model as the teacher: %w", st.Teacher.Stage, err)
				}
			}
		}
		return st.useTeacher(s, f)
	})
	return nil
}

// runTeacher exports another run's final model.
func runTeacher(ctx context.Context, s *runner.Session, ref string) (*infer.File, error) {
	store := s.Store()
	if store == nil {
		return nil, fmt.Errorf("a teacher run is looked up in the run store, and this run is not recorded in one")
	}
	other, err := runner.Reopen(ctx, store, ref, s.BackendName)
	if err != nil {
		return nil, err
	}
	defer other.Close()
	return export.Build(export.SourceOf(other))
}

// pairs are the hint (first, when there is one) and the attention pairs.
func (st *Stage) pairs() []Pair {
	if st.Hint == nil {
		return st.Attention
	}
	return append([]Pair{*st.Hint}, st.Attention...)
}

// pairAt is where pair i of pairs was written.
func (st *Stage) pairAt(i int) recipe.Node {
	if st.Hint != nil && i == 0 {
		return st.hintAt
	}
	return st.attentionAt
}

// brief lists up to 4 class names in parentheses ("" for none).
func brief(names []string) string {
	switch {
	case len(names) == 0:
		return ""
	case len(names) > 4:
		return " (" + strings.Join(names[:4], ", ") + ", …)"
	}
	return " (" + strings.Join(names, ", ") + ")"
}

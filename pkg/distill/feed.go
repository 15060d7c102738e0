package distill

import (
	"fmt"
	"github.com/lathe-ml/lathe/pkg/runner"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/lathe-ml/lathe/pkg/infer"
)

// teacherFeed runs the teacher in Lathe's runtime on each training batch
// and hands its logits and the values the feature losses read to the
// student's train step as inputs. The runtime is an inference engine (no
// dropout, batch norm folded, no variables), and it is 20–50× faster than
// GoMLX's pure-Go backend at a forward pass, so the teacher costs the
// step little.
type teacherFeed struct {
	model  *infer.Model
	data   runner.Splits // its standardization is undone for the runtime
	values []string
	sizes  []int   // one example's size of each value
	dims   [][]int // and its shape
	raw    []float32
	logits []float32
	out    [][]float32
}

// newTeacherFeed plans the teacher and checks, on one example, that the
// runtime shows every value the losses read, with the size the teacher's
// graph gives it.
func newTeacherFeed(t *teacherModel, data runner.Splits, values []string, dims [][]int) (*teacherFeed, error) {
	m, err := infer.New(t.file)
	if err != nil {
		return nil, fmt.Errorf("distill: the teacher (%s): %w", t.from, err)
	}
	f := &teacherFeed{model: m, data: data, values: values, dims: dims}
	for _, d := range dims {
		size := 1
		for _, x := range d {
			size *= x
		}
		f.sizes = append(f.sizes, size)
	}
	seen := map[string]int{}
	var shown []string
	x := make([]float32, m.InputSize())
	err = m.Trace(x, 1, make([]float32, m.Classes()), func(name string, data []float32) {
		seen[name] = len(data)
		shown = append(shown, name)
	})
	if err != nil {
		return nil, fmt.Errorf("distill: the teacher (%s): %w", t.from, err)
	}
	for i, v := range values {
		n, ok := seen[v]
		switch {
		case !ok:
			return nil, fmt.Errorf("distill: the teacher's runtime does not show %q (it fuses it into the next op); values it shows: %s", v, strings.Join(shown, ", "))
		case n != f.sizes[i]:
			return nil, fmt.Errorf("distill: the teacher's %q has %d values per example in the runtime, %v in its graph", v, n, dims[i])
		}
	}
	return f, nil
}

// inputs implements runner.TrainInputs: the teacher's logits [n, classes]
// and each value [n, dims…] for the batch in inputs[0].
func (f *teacherFeed) inputs(in []*tensors.Tensor) ([]*tensors.Tensor, error) {
	x := in[0]
	n := x.Shape().Dimensions[0]
	size := f.model.InputSize()
	if x.Shape().Size() != n*size {
		return nil, fmt.Errorf("distill: a batch of shape %v for a teacher that takes %d values per example", x.Shape(), size)
	}
	f.raw = grow(f.raw, n*size)
	f.logits = grow(f.logits, n*f.model.Classes())
	if err := tensors.ConstFlatData(x, func(flat []float32) {
		copy(f.raw, f.data.Raw(flat))
	}); err != nil {
		return nil, fmt.Errorf("distill: reading the batch for the teacher: %w", err)
	}
	if len(f.out) != len(f.values) {
		f.out = make([][]float32, len(f.values))
	}
	visit := func(name string, data []float32) {
		for i, v := range f.values {
			if v == name {
				f.out[i] = append(f.out[i][:0], data...)
			}
		}
	}
	var err error
	if len(f.values) == 0 {
		err = f.model.Predict(f.raw, n, f.logits)
	} else {
		err = f.model.Trace(f.raw, n, f.logits, visit)
	}
	if err != nil {
		return nil, fmt.Errorf("distill: the teacher: %w", err)
	}
	out := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(append([]float32(nil), f.logits...), n, f.model.Classes())}
	for i := range f.values {
		out = append(out, tensors.FromFlatDataAndDimensions(append([]float32(nil), f.out[i]...), append([]int{n}, f.dims[i]...)...))
	}
	return out, nil
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

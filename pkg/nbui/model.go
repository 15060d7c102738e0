package nbui

import (
	"fmt"
	"github.com/lathe-ml/lathe/pkg/spec"
	"html"
	"strings"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go backend the summary is built on
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/models"
)

// Layer is one scope of a model's variables, in creation order.
type Layer struct {
	Scope     string   // e.g. /mlp/fc1
	Variables []string // "weights [784 256]"
	Params    int      // trainable values
}

// Summary describes a model: its layers with their variables' shapes and
// parameter counts, and the shape of its input and logits.
type Summary struct {
	Arch         string
	Input        []int // one batch: [batch, example dims…]
	Output       []int
	Layers       []Layer
	Params       int // trainable
	NonTrainable int
}

// Summarize builds the model once (batch of 1) on the pure-Go backend and
// reads its variables back. example is one example's shape ([28 28 1] for
// MNIST) and classes the number of classes.
func Summarize(m spec.Model, example []int, classes int) (s *Summary, err error) {
	fn, err := models.Spec{Model: m}.ModelFn(classes)
	if err != nil {
		return nil, err
	}
	b, err := backends.NewWithConfig("go")
	if err != nil {
		return nil, err
	}
	defer b.Finalize()
	defer func() { // GoMLX reports shape mistakes by panicking while building the graph.
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("building %s for examples of shape %v: %v", m.Arch, example, p)
		}
	}()
	ctx := context.New().Checked(false)
	input := append([]int{1}, example...)
	exec, err := context.NewExec(b, ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
		return fn(ctx, nil, []*graph.Node{x})[0]
	})
	if err != nil {
		return nil, err
	}
	outs, err := exec.Exec(tensors.FromShape(shapes.Make(dtypes.Float32, input...)))
	if err != nil {
		return nil, err
	}
	s = &Summary{Arch: m.Arch, Input: input, Output: outs[0].Shape().Dimensions}
	index := map[string]int{}
	for v := range ctx.IterVariables() {
		size := v.Shape().Size()
		if !v.Trainable {
			s.NonTrainable += size
			continue
		}
		i, ok := index[v.Scope()]
		if !ok {
			i = len(s.Layers)
			index[v.Scope()] = i
			s.Layers = append(s.Layers, Layer{Scope: v.Scope()})
		}
		s.Layers[i].Variables = append(s.Layers[i].Variables, fmt.Sprintf("%s %v", v.Name(), v.Shape().Dimensions))
		s.Layers[i].Params += size
		s.Params += size
	}
	return s, nil
}

// String is the summary as a text table.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: input %v → logits %v\n", s.Arch, s.Input, s.Output)
	for _, l := range s.Layers {
		fmt.Fprintf(&b, "  %-28s %-40s %10d\n", l.Scope, strings.Join(l.Variables, ", "), l.Params)
	}
	fmt.Fprintf(&b, "  %d trainable parameters", s.Params)
	if s.NonTrainable > 0 {
		fmt.Fprintf(&b, ", %d non-trainable values", s.NonTrainable)
	}
	return b.String()
}

// HTML is the summary as a table.
func (s *Summary) HTML() string {
	rows := make([][]string, 0, len(s.Layers)+1)
	for _, l := range s.Layers {
		rows = append(rows, []string{l.Scope, strings.Join(l.Variables, ", "), fmt.Sprint(l.Params)})
	}
	rows = append(rows, []string{"total", "", fmt.Sprintf("%d trainable parameters", s.Params)})
	return fmt.Sprintf("<b>%s</b>: input %v → logits %v", html.EscapeString(s.Arch), s.Input, s.Output) +
		htmlTable([]string{"layer", "variables", "parameters"}, rows)
}

// Show displays the summary in the cell.
func (s *Summary) Show() { display().Show(Output{Text: s.String(), HTML: s.HTML()}) }

// ShowModel summarizes and shows a model: Summarize then Show.
func ShowModel(m spec.Model, example []int, classes int) (*Summary, error) {
	s, err := Summarize(m, example, classes)
	if err != nil {
		showError(err)
		return nil, err
	}
	s.Show()
	return s, nil
}

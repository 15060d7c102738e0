package distill

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// run builds fn on the pure-Go backend and returns its outputs' values.
func run(t *testing.T, fn func(g *graph.Graph) []*graph.Node) [][]float64 {
	t.Helper()
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	exec, err := graph.NewExec(b, func(g *graph.Graph) []*graph.Node { return fn(g) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec()
	if err != nil {
		t.Fatal(err)
	}
	var vals [][]float64
	for _, o := range out {
		vals = append(vals, tensors.MustCopyFlatData[float64](o))
	}
	return vals
}

var (
	teacherLogits = [][]float64{{2, 0, -1}, {0.5, 0.5, 3}}
	studentLogits = [][]float64{{0, 0, 0}, {1, -1, 2}}
)

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want)) }

// TestSoftTarget: T = 2 on two examples. Worked by hand for the first:
// softmax([1, 0, −0.5]) = [0.6285, 0.2312, 0.1402] against the uniform
// [⅓, ⅓, ⅓] is a KL of 0.19265; the second's is 0.06007; their mean times
// T² = 4 is 0.50545 (PyTorch's kl_div(…, reduction="batchmean")·T² gives
// 0.5054478445330508 in float64). The gradient towards the student is
// T·(softmax(s/T) − softmax(t/T))/batch; towards the teacher, zero.
func TestSoftTarget(t *testing.T) {
	const T = 2.0
	out := run(t, func(g *graph.Graph) []*graph.Node {
		s, tc := graph.Const(g, studentLogits), graph.Const(g, teacherLogits)
		loss := SoftTarget(s, tc, T)
		grads := graph.Gradient(loss, s, tc)
		return []*graph.Node{loss, grads[0], grads[1]}
	})
	if want := 0.5054478445330508; !near(out[0][0], want) {
		t.Errorf("soft-target loss %.16g, want %.16g", out[0][0], want)
	}
	softmax := func(v []float64) []float64 {
		var sum float64
		e := make([]float64, len(v))
		for i, x := range v {
			e[i] = math.Exp(x / T)
			sum += e[i]
		}
		for i := range e {
			e[i] /= sum
		}
		return e
	}
	for b := range studentLogits {
		ps, pt := softmax(studentLogits[b]), softmax(teacherLogits[b])
		for j := range ps {
			if want := T * (ps[j] - pt[j]) / 2; math.Abs(out[1][b*3+j]-want) > 1e-12 {
				t.Errorf("∂loss/∂student[%d][%d] = %g, want %g", b, j, out[1][b*3+j], want)
			}
			if out[2][b*3+j] != 0 {
				t.Errorf("∂loss/∂teacher[%d][%d] = %g, want 0 (StopGradient)", b, j, out[2][b*3+j])
			}
		}
	}
}

// TestCombined: labels 0 and 2 give the student a cross entropy of
// (ln 3 + (ln(e + e⁻¹ + e²) − 2))/2 = 0.72381; alpha 0.7 mixes it with the
// soft-target loss above: 0.7·0.50545 + 0.3·0.72381 = 0.57096. Alpha 0
// leaves the hard loss alone.
func TestCombined(t *testing.T) {
	hard := (math.Log(3) + math.Log(math.E+1/math.E+math.E*math.E) - 2) / 2
	out := run(t, func(g *graph.Graph) []*graph.Node {
		s, tc := graph.Const(g, studentLogits), graph.Const(g, teacherLogits)
		labels := graph.Const(g, []int32{0, 2})
		return []*graph.Node{Combined(labels, s, tc, 2, 0.7), Combined(labels, s, tc, 2, 0)}
	})
	if want := 0.7*0.5054478445330508 + 0.3*hard; !near(out[0][0], want) {
		t.Errorf("combined loss %.16g, want %.16g", out[0][0], want)
	}
	if !near(out[1][0], hard) {
		t.Errorf("alpha 0: %.16g, want the cross entropy %.16g", out[1][0], hard)
	}
}

// TestHint: ((1−0)² + 0² + (3−5)² + (4−3)²)/4 = 1.5; no gradient reaches
// the teacher's feature.
func TestHint(t *testing.T) {
	out := run(t, func(g *graph.Graph) []*graph.Node {
		s := graph.Const(g, [][]float64{{1, 2}, {3, 4}})
		tc := graph.Const(g, [][]float64{{0, 2}, {5, 3}})
		loss := Hint(s, tc)
		return []*graph.Node{loss, graph.Gradient(loss, tc)[0]}
	})
	if out[0][0] != 1.5 {
		t.Errorf("hint loss %g, want 1.5", out[0][0])
	}
	for i, v := range out[1] {
		if v != 0 {
			t.Errorf("∂hint/∂teacher[%d] = %g, want 0", i, v)
		}
	}
}

// TestAttentionTransfer: one 2×2 example, a student of 2 channels and a
// teacher of 3. The student's mean squares per position are [0.5, 0.5,
// 2.5, 1] (norm √7.75), the teacher's [5/3, 1/3, 1/3, 2/3] (norm √31/3);
// the mean squared difference of the normalized maps is 8/31 = 0.258065
// (the authors' at() on the same maps in PyTorch: 0.25806451612903236).
func TestAttentionTransfer(t *testing.T) {
	out := run(t, func(g *graph.Graph) []*graph.Node {
		s := graph.Const(g, [][][][]float64{{{{1, 0}, {0, 1}}, {{2, 1}, {-1, 1}}}})
		tc := graph.Const(g, [][][][]float64{{{{1, 2, 0}, {1, 0, 0}}, {{0, 0, 1}, {0, 1, 1}}}})
		zero := graph.ZerosLike(tc)
		return []*graph.Node{AttentionTransfer(s, tc), AttentionTransfer(graph.Slice(s, graph.AxisRange(), graph.AxisRange(), graph.AxisRange(), graph.AxisRange(0, 1)), zero)}
	})
	if want := 8.0 / 31; math.Abs(out[0][0]-want) > 1e-12 {
		t.Errorf("attention transfer %.16g, want %.16g", out[0][0], want)
	}
	if math.IsNaN(out[1][0]) {
		t.Errorf("an all-zero teacher map gives NaN")
	}
}

package optim

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// reference is testdata/reference.json, written by testdata/reference.py
// with PyTorch 1.13.
type reference struct {
	Steps      int         `json:"steps"`
	Initial    [][]float64 `json:"initial"`
	Optimizers []struct {
		Case   string             `json:"case"`
		Kwargs map[string]any     `json:"kwargs"`
		Extra  map[string]float64 `json:"extra"`
		Params [][][]float64      `json:"params"` // [step][tensor][element]
	} `json:"optimizers"`
	Schedules []struct {
		Case         string         `json:"case"`
		Config       map[string]any `json:"config"`
		TotalSteps   int            `json:"total_steps"`
		LearningRate float64        `json:"learning_rate"`
		Rates        []float64      `json:"rates"`
	} `json:"schedules"`
}

func loadReference(t *testing.T) *reference {
	t.Helper()
	data, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	return &ref
}

var goBackend = sync.OnceValue(func() backends.Backend {
	b, err := backends.NewWithConfig("go")
	if err != nil {
		panic(err)
	}
	return b
})

// configFromKwargs maps torch.optim keyword arguments to a Config.
func configFromKwargs(name string, kw map[string]any) Config {
	c := Config{Name: name}
	num := func(k string) float64 { v, _ := kw[k].(float64); return v }
	c.LearningRate = num("lr")
	c.Momentum, c.Dampening, c.WeightDecay = num("momentum"), num("dampening"), num("weight_decay")
	c.LRDecay, c.InitialAccumulatorValue, c.Alpha = num("lr_decay"), num("initial_accumulator_value"), num("alpha")
	c.Nesterov, _ = kw["nesterov"].(bool)
	c.Centered, _ = kw["centered"].(bool)
	c.AMSGrad, _ = kw["amsgrad"].(bool)
	if b, ok := kw["betas"].([]any); ok {
		c.Betas = [2]float64{b[0].(float64), b[1].(float64)}
	}
	if name == "adamw" && c.WeightDecay == 0 {
		c.WeightDecay = 0.01
	}
	return c
}

// linspace is torch.linspace in float32.
func linspace(a, b float64, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(a + (b-a)*float64(i)/float64(n-1))
	}
	return out
}

// runSteps trains the reference's two tensors with opt on the reference loss
// Σ 0.5·c·p² + d·p + 0.1·p³ and returns the parameters after each step and
// the learning rate each step used.
func runSteps(t *testing.T, ref *reference, opt optimizers.Interface, steps int, scale float64) (params [][][]float64, rates []float64) {
	t.Helper()
	ctx := context.New()
	shapes := [][]int{{3, 4}, {5}}
	var vars []*context.Variable
	for k, init := range ref.Initial {
		data := make([]float32, len(init))
		for i, v := range init {
			data[i] = float32(v)
		}
		vars = append(vars, ctx.In("model").VariableWithValue([]string{"p1", "p2"}[k], tensors.FromFlatDataAndDimensions(data, shapes[k]...)))
	}
	exec := context.MustNewExec(goBackend(), ctx, func(ctx *context.Context, g *graph.Graph) *graph.Node {
		var loss *graph.Node
		for k, v := range vars {
			p := v.ValueGraph(g)
			n := p.Shape().Size()
			c := graph.MulScalar(graph.Const(g, tensors.FromFlatDataAndDimensions(linspace(0.5, 2, n), shapes[k]...)), float64(k+1))
			d := graph.MulScalar(graph.Const(g, tensors.FromFlatDataAndDimensions(linspace(-0.4, 0.3, n), shapes[k]...)), scale)
			term := graph.ReduceAllSum(graph.Add(graph.Add(graph.MulScalar(graph.Mul(c, graph.Square(p)), 0.5), graph.Mul(d, p)),
				graph.MulScalar(graph.Mul(p, graph.Square(p)), 0.1)))
			if loss == nil {
				loss = term
			} else {
				loss = graph.Add(loss, term)
			}
		}
		opt.UpdateGraph(ctx, g, loss)
		return loss
	})
	for range steps {
		exec.MustExec()
		var step [][]float64
		for _, v := range vars {
			var flat []float64
			for _, x := range tensors.MustCopyFlatData[float32](v.MustValue()) {
				flat = append(flat, float64(x))
			}
			step = append(step, flat)
		}
		params = append(params, step)
		lr := ctx.InAbsPath("/" + Scope).GetVariable(optimizers.ParamLearningRate)
		rates = append(rates, float64(lr.MustValue().Value().(float32)))
	}
	return params, rates
}

// closeTo: |got-want| ≤ tol·max(|want|, 0.1). The parameters here are
// O(0.5); an element that cancels to near zero is judged at the tensor's
// scale, since f32 rounding of a difference of O(0.5) numbers is absolute.
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), 0.1)
}

// TestOptimizersMatchPyTorch runs every optimizer for six steps on the
// reference tensors and compares each parameter after each step with
// PyTorch's, to 1e-5 relative (f32 here, f64 in the reference).
func TestOptimizersMatchPyTorch(t *testing.T) {
	ref := loadReference(t)
	seen := map[string]bool{}
	for _, c := range ref.Optimizers {
		t.Run(c.Case, func(t *testing.T) {
			name := strings.Fields(c.Case)[0]
			seen[name] = true
			cfg := configFromKwargs(name, c.Kwargs)
			cfg.ClipNorm, cfg.ClipValue = c.Extra["clip_norm"], c.Extra["clip_value"]
			scale := c.Extra["scale"]
			if scale == 0 {
				scale = 1
			}
			opt, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := runSteps(t, ref, opt, ref.Steps, scale)
			for s := range got {
				for k := range got[s] {
					for i := range got[s][k] {
						if w := c.Params[s][k][i]; !closeTo(got[s][k][i], w, 1e-5) {
							t.Fatalf("step %d tensor %d element %d: %.9g, PyTorch %.9g", s+1, k, i, got[s][k][i], w)
						}
					}
				}
			}
		})
	}
	for _, name := range Names {
		if !seen[name] {
			t.Errorf("optimizer %s has no reference case", name)
		}
	}
}

// TestSchedulesMatchPyTorch compares Schedule.Rate and the rate the graph
// uses with PyTorch's schedulers over 30 steps.
func TestSchedulesMatchPyTorch(t *testing.T) {
	ref := loadReference(t)
	seen := map[string]bool{"constant": true}
	for _, c := range ref.Schedules {
		t.Run(c.Case, func(t *testing.T) {
			num := func(k string) float64 { v, _ := c.Config[k].(float64); return v }
			s := Schedule{Name: c.Config["name"].(string), StepSize: int(num("step_size")), Gamma: num("gamma"),
				WarmupSteps: int(num("warmup_steps")), MinLearningRate: num("min_learning_rate"),
				MaxLearningRate: num("max_learning_rate"), TotalSteps: c.TotalSteps}
			seen[s.Name] = true
			for i, want := range c.Rates {
				if got := s.Rate(c.LearningRate, i); math.Abs(got-want) > 1e-12 {
					t.Fatalf("Rate(step %d) = %.9g, PyTorch %.9g", i, got, want)
				}
			}
			opt, err := New(Config{Name: "sgd", LearningRate: c.LearningRate, Schedule: s})
			if err != nil {
				t.Fatal(err)
			}
			_, rates := runSteps(t, ref, opt, len(c.Rates), 1)
			for i, want := range c.Rates {
				if math.Abs(rates[i]-want) > 1e-5*math.Abs(want) {
					t.Fatalf("graph rate at step %d = %.9g, PyTorch %.9g", i, rates[i], want)
				}
			}
		})
	}
	for _, name := range ScheduleNames {
		if !seen[name] {
			t.Errorf("schedule %s has no reference case", name)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []Config{
		{Name: "adamax"}, {Name: "sgd", LearningRate: -1}, {Name: "sgd", Nesterov: true},
		{Name: "adam", Betas: [2]float64{0.9, 1}}, {Name: "sgd", Schedule: Schedule{Name: "step"}},
		{Name: "sgd", Schedule: Schedule{Name: "cosinus"}},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
}

// Package optim is Lathe's optimizers, learning-rate schedules and gradient
// clipping, with PyTorch's names, defaults and update rules, so a recipe
// ported from PyTorch trains the same way.
//
// Optimizers: sgd (momentum, dampening, Nesterov), adagrad, rmsprop
// (momentum, centered), adam (amsgrad), adamw (decoupled weight decay), lamb
// and lion. Schedules: constant, step, exponential, cosine (with linear
// warm-up) and one-cycle. Clipping: by global norm or by value.
//
// Every piece of state — moments, step counts, the current learning rate —
// is a context variable under /optimizers, so GoMLX checkpoints save it and
// a resumed run continues exactly. The learning rate in use is kept in
// /optimizers/learning_rate for the run to report.
//
// Example:
//
//	opt, err := optim.New(optim.Config{Name: "adamw", LearningRate: 1e-3, WeightDecay: 0.01,
//		Schedule: optim.Schedule{Name: "cosine", WarmupSteps: 100, TotalSteps: 5000},
//		ClipNorm: 1})
//	trainer := train.NewTrainer(backend, ctx, modelFn, lossFn, opt, nil, nil)
package optim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Names lists the optimizers.
var Names = []string{"sgd", "adagrad", "rmsprop", "adam", "adamw", "lamb", "lion"}

// keys are the hyper-parameters each optimizer takes, by their recipe
// names: the arguments of its torch.optim class, and for lamb and lion
// (not in torch.optim) those of the reference implementations
// pkg/optim/testdata/reference.py follows (You et al. 2020, Algorithm 2;
// lucidrains/lion-pytorch). A recipe that sets one an optimizer ignores
// (momentum on adam) is an error, not a silent no-op.
var keys = map[string][]string{
	"sgd":     {"learning_rate", "momentum", "dampening", "nesterov", "weight_decay"},
	"adagrad": {"learning_rate", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"},
	"rmsprop": {"learning_rate", "alpha", "eps", "weight_decay", "momentum", "centered"},
	"adam":    {"learning_rate", "betas", "eps", "weight_decay", "amsgrad"},
	"adamw":   {"learning_rate", "betas", "eps", "weight_decay", "amsgrad"},
	"lamb":    {"learning_rate", "betas", "eps", "weight_decay"},
	"lion":    {"learning_rate", "betas", "weight_decay"},
}

// Keys lists the hyper-parameters the named optimizer takes (nil for an
// unknown name).
func Keys(name string) []string { return keys[name] }

// Config is an optimizer with its hyper-parameters, named as in PyTorch.
// Zero values mean PyTorch's defaults (see Defaults).
type Config struct {
	Name         string
	LearningRate float64
	// SGD and RMSProp.
	Momentum  float64
	Dampening float64 // sgd
	Nesterov  bool    // sgd
	// Adam family, LAMB and Lion.
	Betas   [2]float64
	Eps     float64
	AMSGrad bool // adam, adamw
	// RMSProp.
	Alpha    float64
	Centered bool
	// AdaGrad.
	LRDecay                 float64
	InitialAccumulatorValue float64
	// WeightDecay is L2 added to the gradient for sgd, adagrad, rmsprop and
	// adam (as PyTorch does), decoupled (p ← p·(1-lr·wd)) for adamw and lion,
	// and added to the update before the trust ratio for lamb.
	WeightDecay float64

	Schedule Schedule
	// ClipNorm rescales all gradients together when their global L2 norm
	// exceeds it (torch.nn.utils.clip_grad_norm_); ClipValue clamps each
	// gradient element to [-ClipValue, ClipValue]. 0 disables.
	ClipNorm, ClipValue float64
}

// Defaults returns cfg with PyTorch's defaults filled in for unset values:
// lr 0.01 for sgd/adagrad/rmsprop, 1e-3 for adam/adamw/lamb, 1e-4 for lion;
// betas (0.9, 0.999), (0.9, 0.99) for lion; eps 1e-8, 1e-10 for adagrad,
// 1e-6 for lamb; alpha 0.99; adamw's weight decay 0.01.
func Defaults(cfg Config) Config {
	if cfg.LearningRate == 0 {
		switch cfg.Name {
		case "adam", "adamw", "lamb":
			cfg.LearningRate = 1e-3
		case "lion":
			cfg.LearningRate = 1e-4
		default:
			cfg.LearningRate = 0.01
		}
	}
	if cfg.Betas == [2]float64{} {
		cfg.Betas = [2]float64{0.9, 0.999}
		if cfg.Name == "lion" {
			cfg.Betas = [2]float64{0.9, 0.99}
		}
	}
	if cfg.Eps == 0 {
		switch cfg.Name {
		case "adagrad":
			cfg.Eps = 1e-10
		case "lamb":
			cfg.Eps = 1e-6
		default:
			cfg.Eps = 1e-8
		}
	}
	if cfg.Alpha == 0 {
		cfg.Alpha = 0.99
	}
	if cfg.Name == "adamw" && cfg.WeightDecay == 0 {
		cfg.WeightDecay = 0.01
	}
	if cfg.Schedule.Name == "" {
		cfg.Schedule.Name = "constant"
	}
	return cfg
}

// DefaultsFor is the named optimizer with all of PyTorch's defaults: what a
// recipe gets for every key it does not write (a key written as 0 stays 0).
func DefaultsFor(name string) Config { return Defaults(Config{Name: name}) }

// Validate reports the first hyper-parameter PyTorch would reject.
func (cfg Config) Validate() error {
	switch {
	case !slices.Contains(Names, cfg.Name):
		return fmt.Errorf("unknown optimizer %q (allowed: %s)", cfg.Name, strings.Join(Names, ", "))
	case cfg.LearningRate <= 0:
		return fmt.Errorf("learning_rate must be greater than 0, got %g", cfg.LearningRate)
	case cfg.Momentum < 0 || cfg.Momentum >= 1:
		return fmt.Errorf("momentum must be in [0, 1), got %g", cfg.Momentum)
	case cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0):
		return fmt.Errorf("nesterov needs momentum > 0 and dampening 0")
	case cfg.Betas[0] < 0 || cfg.Betas[0] >= 1 || cfg.Betas[1] < 0 || cfg.Betas[1] >= 1:
		return fmt.Errorf("betas must be in [0, 1), got %v", cfg.Betas)
	case cfg.Eps < 0 || cfg.WeightDecay < 0 || cfg.ClipNorm < 0 || cfg.ClipValue < 0 || cfg.LRDecay < 0:
		return fmt.Errorf("eps, weight_decay, lr_decay and clipping must be at least 0")
	case cfg.Alpha <= 0 || cfg.Alpha >= 1:
		return fmt.Errorf("alpha must be in (0, 1), got %g", cfg.Alpha)
	}
	return cfg.Schedule.Validate()
}

// Scope holds every optimizer variable.
const Scope = optimizers.Scope

// New returns the optimizer for cfg (after Defaults). It implements GoMLX's
// optimizers.Interface, and UpdateGraphWithGradients for gradient
// accumulation (train.Trainer.AccumulateGradients).
func New(cfg Config) (*Optimizer, error) {
	cfg = Defaults(cfg)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Optimizer{cfg: cfg}, nil
}

// Optimizer is a configured optimizer.
type Optimizer struct {
	cfg Config
}

// Config returns the optimizer's configuration, defaults filled in.
func (o *Optimizer) Config() Config { return o.cfg }

// UpdateGraph adds to the step's graph: the gradients of every trainable
// variable, clipping, the scheduled learning rate and the update rule.
func (o *Optimizer) UpdateGraph(ctx *context.Context, g *graph.Graph, loss *graph.Node) {
	o.UpdateGraphWithGradients(ctx, ctx.BuildTrainableVariablesGradientsGraph(loss), loss.DType())
}

// UpdateGraphWithGradients applies gradients given in the order of the
// context's trainable variables (as GoMLX's gradient accumulation gives them).
func (o *Optimizer) UpdateGraphWithGradients(ctx *context.Context, grads []*graph.Node, dtype dtypes.DType) {
	o.Apply(ctx, grads, dtype, nil)
}

// Apply applies gradients; when skip (a boolean scalar, may be nil) is true
// at run time nothing changes — variables, moments, the optimizer's step
// count — as when PyTorch's GradScaler skips optimizer.step(). The global
// step (the loop's count) advances either way.
func (o *Optimizer) Apply(ctx *context.Context, grads []*graph.Node, dtype dtypes.DType, skip *graph.Node) {
	if len(grads) == 0 {
		panic(fmt.Errorf("optim: no gradients: the model has no trainable variables"))
	}
	g := grads[0].Graph()
	var vars []*context.Variable
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	if len(vars) != len(grads) {
		panic(fmt.Errorf("optim: %d gradients for %d trainable variables", len(grads), len(vars)))
	}
	_ = optimizers.IncrementGlobalStepGraph(ctx, g, dtype)
	// The optimizer's own step count (1 on the first update), as PyTorch keeps per optimizer.
	stepVar := ctx.InAbsPath("/"+Scope+"/"+o.cfg.Name).Checked(false).WithInitializer(initializers.Zero).
		VariableWithShape(optimizers.GlobalStepVariableName, shapes.Make(dtype)).SetTrainable(false)
	step := graph.OnePlus(stepVar.ValueGraph(g))
	stepVar.SetValueGraph(keep(skip, stepVar.ValueGraph(g), step))

	lr := o.cfg.Schedule.rate(o.cfg.LearningRate, graph.SubScalar(step, 1))
	lrVar := ctx.InAbsPath("/"+Scope).Checked(false).WithInitializer(initializers.Zero).
		VariableWithShape(optimizers.ParamLearningRate, lr.Shape()).SetTrainable(false)
	lrVar.SetValueGraph(lr)

	grads = clip(grads, o.cfg.ClipNorm, o.cfg.ClipValue)
	for i, v := range vars {
		o.apply(ctx, g, v, grads[i], lr, step, skip)
	}
}

// keep is old where skip is true, else updated (updated when skip is nil).
func keep(skip, old, updated *graph.Node) *graph.Node {
	if skip == nil {
		return updated
	}
	return graph.Where(skip, old, updated)
}

// Clear resets the optimizer's state (moments and step count).
func (o *Optimizer) Clear(ctx *context.Context) error {
	ctx.InAbsPath("/" + Scope + "/" + o.cfg.Name).DeleteVariablesInScope()
	return nil
}

// state returns (creating at init) a per-variable state tensor named
// /optimizers/<name>/<variable scope>/<variable>_<what>.
func (o *Optimizer) state(ctx *context.Context, v *context.Variable, what string, init float64) *context.Variable {
	sctx := ctx.InAbsPath("/" + Scope + "/" + o.cfg.Name + v.Scope()).Checked(false)
	if existing := sctx.GetVariable(v.Name() + "_" + what); existing != nil {
		// Asking again must not replace its initializer. A variable loaded from
		// a checkpoint comes back trainable: state never is.
		return existing.SetTrainable(false)
	}
	fill := func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		return graph.BroadcastToShape(graph.Scalar(g, shape.DType, init), shape)
	}
	return sctx.WithInitializer(fill).VariableWithShape(v.Name()+"_"+what, v.Shape()).SetTrainable(false)
}

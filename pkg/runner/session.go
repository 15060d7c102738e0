package runner

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/optim"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Session is one run in progress: what every stage works on. It owns the
// backend, the data, the GoMLX context (the variables), checkpoints, the
// event bus and the current model; a stage reads and changes them, and the
// stages after it see what it left (a pruned or quantized model, say).
type Session struct {
	Recipe      *recipe.Recipe
	RunID       string
	Backend     backends.Backend
	BackendName string
	Data        Splits
	// dataLog holds what loading the data found, logged once the run has
	// started (the data loads before the run is recorded).
	dataLog []string
	// Ctx holds the model's variables, optimizer state and everything a
	// checkpoint saves.
	Ctx   *gomlxctx.Context
	Model *Model
	// Step is the global step, across stages; StageIndex the running stage.
	Step       int
	StageIndex int

	bus   *events.Bus
	store *runs.Store
	// recorder writes the run's events to the store; a checkpoint flushes
	// it first, so no point before the checkpoint can be lost.
	recorder *runs.Recorder
	// ckpt loaded the run's newest intact checkpoint (if any) and hands its
	// variables to the graphs; ckptDir is where checkpoints are written
	// ("" when the run is not recorded).
	ckpt    *checkpoints.Handler
	ckptDir string
	// checkpointed: a checkpoint was loaded, so the model's variables come
	// from it rather than from their initializers or an imported file.
	checkpointed bool
	// lastCheckpoint is the global step of the newest checkpoint saved or
	// loaded (-1: none), for error messages; lastSave when it was saved.
	lastCheckpoint int
	lastSave       time.Time
	// resumed is the stored run being continued (nil for a new run); from is
	// where its checkpoint left off.
	resumed *runs.Run
	from    position
	// loopHooks are added to every train loop from now on (AddLoopHooks),
	// and optimizer wrappers wrap every train stage's optimizer
	// (WrapOptimizer), innermost first.
	loopHooks []func(*Loop)
	wrappers  []func(optimizers.Interface) optimizers.Interface
	// loopHookAdds and wrapperAdds count additions, and installed says
	// which stage left which effect on the current model (see settle).
	loopHookAdds, wrapperAdds int
	installed                 []installed
	// evaluator evaluates the current model; rebuilt when the model changes.
	evaluator *train.Trainer
	evalFor   int // the model version the evaluator was built for
	// phase is the part of the running stage a train loop is in (see
	// TrainStage.RunPhase); afterStage the hooks run when a stage ends.
	phase      Phase
	afterStage map[int][]func() error
}

// Splits are the data a run trains and evaluates on, standardized with the
// training split's statistics.
type Splits struct {
	Train, Validation, Test *datasets.Set
	// Mean and Std are what every value was standardized with: (x −
	// Mean) / Std (0 and 1 when the recipe does not normalize). An exported
	// model applies them to raw inputs.
	Mean, Std float32
	// Means and Stds, when set, standardize each feature on its own
	// instead (a CSV table's columns): (x[f] − Means[f]) / Stds[f].
	Means, Stds []float32
}

// Raw undoes the standardization of values from a split: model files
// take raw values and standardize them themselves.
func (s Splits) Raw(standardized []float32) []float32 {
	out := make([]float32, len(standardized))
	if n := len(s.Means); n > 0 {
		for i, v := range standardized {
			out[i] = v*s.Stds[i%n] + s.Means[i%n]
		}
		return out
	}
	std := s.Std
	if std == 0 {
		std = 1
	}
	for i, v := range standardized {
		out[i] = v*std + s.Mean
	}
	return out
}

// Split returns the named split (test, validation or train); nil when the
// recipe holds no validation split.
func (s Splits) Split(name string) *datasets.Set {
	switch name {
	case "train":
		return s.Train
	case "validation":
		return s.Validation
	}
	return s.Test
}

// Log emits a line worth showing the user.
func (s *Session) Log(format string, args ...any) {
	s.Emit(events.Event{Kind: events.Log, Message: fmt.Sprintf(format, args...)})
}

// Emit sends an event about the running stage.
func (s *Session) Emit(e events.Event) {
	e.RunID = s.RunID
	if e.Kind != events.RunStarted && e.Kind != events.RunFinished && e.Kind != events.Log {
		if s.phase.Prefix != "" && (e.Kind == events.Step || e.Kind == events.EpochEnded) {
			e.Metrics = prefixed(s.phase.Prefix, e.Metrics)
			e.Phase = s.phase.Prefix
		}
		e.StageIndex = s.StageIndex
		if e.Stage == "" && s.StageIndex < len(s.Recipe.Stages) {
			e.Stage = s.Recipe.Stages[s.StageIndex].Kind
		}
	}
	s.bus.Emit(e)
}

// AddLoopHooks has fn add its hooks to the training loop of every train
// stage that runs after this call: how a technique acts while training
// goes on (a pruning schedule before each step, observers frozen at a
// step). fn runs once per loop, after the stage's own hooks are in place.
func (s *Session) AddLoopHooks(fn func(*Loop)) {
	s.loopHooks = append(s.loopHooks, fn)
	s.loopHookAdds++
}

// RunDir is the folder where the run keeps its files (checkpoints, a
// stage's tables and plots), created if needed; "" when the run is not
// recorded.
func (s *Session) RunDir() (string, error) {
	if s.store == nil {
		return "", nil
	}
	dir := s.store.RunDir(s.RunID)
	return dir, os.MkdirAll(dir, 0o755)
}

// freshOptimizer deletes the named optimizer's state — its moments and
// step count under /optimizers/<name> — from the context and from what a
// checkpoint loaded that no graph has asked for yet (else a resume would
// bring it back): a train stage starts its optimizer and schedule afresh,
// as a new torch.optim optimizer and scheduler do.
func (s *Session) freshOptimizer(name string) error {
	scope := "/" + optim.Scope + "/" + name
	return s.DeleteVariables(func(varScope, _ string) bool {
		return varScope == scope || strings.HasPrefix(varScope, scope+"/")
	})
}

// DeleteVariables deletes the variables for which match is true, from the
// context and from what a checkpoint loaded that no graph has asked for
// yet (else the next graph would load it back): a technique that reshapes
// weights drops the state kept for the old shapes.
func (s *Session) DeleteVariables(match func(scope, name string) bool) error {
	var doomed [][2]string
	for v := range s.Ctx.IterVariables() {
		if match(v.Scope(), v.Name()) {
			doomed = append(doomed, [2]string{v.Scope(), v.Name()})
		}
	}
	if s.ckpt != nil {
		for param := range s.ckpt.LoadedVariables() {
			scope, name := gomlxctx.VariableScopeAndNameFromParameterName(param)
			if match(scope, name) {
				doomed = append(doomed, [2]string{scope, name})
			}
		}
	}
	for _, v := range doomed {
		// Context.DeleteVariable tells the checkpoint's loader too.
		if err := s.Ctx.DeleteVariable(v[0], v[1]); err != nil {
			return err
		}
	}
	return nil
}

// WrapOptimizer has every train stage that runs after this call wrap its
// optimizer with fn: how a technique acts on the update itself (a pruning
// mask reapplied to the weights after it, say). Wrappers added later wrap
// the earlier ones.
func (s *Session) WrapOptimizer(fn func(optimizers.Interface) optimizers.Interface) {
	s.wrappers = append(s.wrappers, fn)
	s.wrapperAdds++
}

// NewTrainer returns a GoMLX trainer of the current model with opt. It
// also evaluates the model from then on: GoMLX's NewTrainer deletes the
// optimizer's learning-rate variable, so a second trainer built while
// another trains would break the first.
func (s *Session) NewTrainer(opt optimizers.Interface) (*train.Trainer, error) {
	modelFn, err := s.Model.modelFn()
	if err != nil {
		return nil, err
	}
	trainMetrics, evalMetrics := s.Model.gomlxMetrics()
	tr := train.NewTrainer(s.Backend, s.Ctx, modelFn, s.Model.Loss, opt, trainMetrics, evalMetrics)
	s.evaluator, s.evalFor = tr, s.Model.version
	return tr, nil
}

// Evaluate measures the current model on a split: its loss and every
// metric, named <split>_loss, <split>_accuracy….
func (s *Session) Evaluate(split string) (map[string]float64, error) {
	set := s.Data.Split(split)
	if set == nil {
		return nil, fmt.Errorf("evaluate: the recipe holds out no %s split", split)
	}
	if s.evaluator == nil || s.evalFor != s.Model.version {
		// Its optimizer is never used: evaluation does not update.
		if _, err := s.NewTrainer(optimizers.Adam().Done()); err != nil {
			return nil, err
		}
	}
	ds, err := datasets.NewBatches(set, s.Recipe.Data.EvalBatchSize, false, 0, false)
	if err != nil {
		return nil, err
	}
	values, err := s.evaluator.Eval(ds)
	if err != nil {
		return nil, fmt.Errorf("evaluating the %s split: %w", split, err)
	}
	defer finalize(values...)
	// Eval returns [mean loss+regularization, mean loss, eval metrics…].
	names := append([]string{"", "loss"}, s.Model.metricNames()...)
	out := map[string]float64{}
	for i, name := range names {
		if name == "" || i >= len(values) {
			continue
		}
		v, err := scalar(values[i])
		if err != nil {
			return nil, fmt.Errorf("evaluating the %s split: %s: %w", split, name, err)
		}
		out[split+"_"+name] = v
	}
	return out, nil
}

// ReadScalar reads a scalar context variable; ok is false when it does not exist.
func (s *Session) ReadScalar(scope, name string) (v float64, ok bool, err error) {
	variable := s.Ctx.InAbsPath(scope).GetVariable(name)
	if variable == nil {
		return 0, false, nil
	}
	t, err := variable.Value()
	if err != nil {
		return 0, true, fmt.Errorf("reading %s/%s: %w", scope, name, err)
	}
	v, err = scalar(t)
	if err != nil {
		return 0, true, fmt.Errorf("reading %s/%s: %w", scope, name, err)
	}
	return v, true, nil
}

// CountParams counts the model's trainable parameters (optimizer, scaler
// and mask state are not trainable).
func (s *Session) CountParams() int {
	n := 0
	for v := range s.Ctx.IterVariables() {
		if v.Trainable {
			n += v.Shape().Size()
		}
	}
	return n
}

// SaveCheckpoint saves the session's variables with where the run is:
// stage index and steps done in it.
func (s *Session) SaveCheckpoint(stageStep int) error {
	if s.ckptDir == "" {
		return nil
	}
	// A checkpoint past points the store does not hold would leave a hole
	// in the series once a run resumes from it: skip it while the store
	// cannot take them (a full disk); the next one retries.
	if s.recorder != nil {
		if err := s.recorder.Flush(); err != nil {
			s.Log("checkpoint at global step %d skipped: the store could not record the metrics before it (%v)", s.Step, err)
			return nil
		}
	}
	s.markPosition(s.StageIndex, s.phase.Offset+stageStep)
	if err := writeCheckpoint(s.Ctx, s.ckpt, s.ckptDir, s.Step); err != nil {
		return fmt.Errorf("saving the checkpoint of global step %d in %s: %w (%s)", s.Step, s.ckptDir, err, s.checkpointNote())
	}
	s.lastCheckpoint, s.lastSave = s.Step, time.Now()
	return nil
}

// checkpointNote says where the newest good checkpoint is, for an error.
func (s *Session) checkpointNote() string {
	if s.ckptDir == "" || s.lastCheckpoint < 0 {
		return "no checkpoint was saved before it"
	}
	return fmt.Sprintf("the last good checkpoint is at global step %d in %s", s.lastCheckpoint, s.ckptDir)
}

// startStep is where the running stage begins: 0, or the checkpoint's step
// when the run resumes inside it.
func (s *Session) startStep() int {
	if s.resumed != nil && s.StageIndex == s.from.stage {
		return max(s.from.stageStep-s.phase.Offset, 0)
	}
	return 0
}

// ResumeStep is where the running stage resumes: the steps of it done
// before the checkpoint the run resumed from (0 when it starts afresh).
func (s *Session) ResumeStep() int {
	if s.resumed != nil && s.StageIndex == s.from.stage {
		return s.from.stageStep
	}
	return 0
}

// ResumeStage is the stage (0-based) of the checkpoint a resumed run
// continues from; -1 for a new run.
func (s *Session) ResumeStage() int {
	if s.resumed == nil {
		return -1
	}
	return s.from.stage
}

// Store is the run store recording the run (nil when it is not recorded):
// where a stage finds another run (a distillation teacher).
func (s *Session) Store() *runs.Store { return s.store }

// Model is the session's current model: the zoo architecture with the
// hooks techniques added, the loss it trains on and the metrics it reports.
type Model struct {
	Spec       models.Spec
	NumClasses int
	// Loss is the base loss on labels and logits (sparse categorical cross
	// entropy by default); AddLoss adds terms to it.
	Loss    train.LossFn
	terms   []LossTerm
	metrics []Metric
	// trainInputs computes extra inputs for each training batch.
	trainInputs TrainInputs
	version     int // bumped on every change: graphs built before are stale
	hookAdds    int
}

// LossTerm adds to the training loss, built inside the train graph from
// the model's inputs and logits (distillation: a teacher's soft targets).
type LossTerm struct {
	Name string
	Fn   func(ctx *gomlxctx.Context, inputs []*graph.Node, logits *graph.Node) *graph.Node
}

// TrainInputs computes, for each training batch, tensors that the train
// step receives after the batch's own inputs — a LossTerm finds them in
// inputs[1:] — from those inputs (standardized, as the model sees them).
// A distillation teacher runs so, outside the student's train graph: the
// student's gradient cannot reach what is not in its graph, and GoMLX's
// pure-Go backend deadlocks when a teacher's and a student's matmuls
// run side by side in one graph (see NOTES.md).
type TrainInputs func(inputs []*tensors.Tensor) ([]*tensors.Tensor, error)

// SetTrainInputs makes fn compute the extra inputs of every training
// batch (nil: none). Evaluation graphs never see them.
func (m *Model) SetTrainInputs(fn TrainInputs) {
	m.trainInputs = fn
	m.version++
}

// AddLoss adds a term to the training loss.
func (m *Model) AddLoss(t LossTerm) {
	m.terms = append(m.terms, t)
	m.version++
}

// ReplaceModel makes spec the session's current model, as a new one: the
// recipe's loss and metrics, no hooks and no loss terms. Every stage after
// this call reads it (its architecture, widths and scope) instead of the
// recipe's. The hooks, optimizer wrappers and loop hooks that earlier
// stages installed were made for the old model's layers: they do not
// carry over, and the run's log says which stages' effects were dropped.
// The variables are the caller's to delete or keep: a distillation stage
// puts its student in the teacher's place this way.
func (s *Session) ReplaceModel(spec models.Spec) {
	version := s.Model.version + 1
	s.Model = newModel(s.Recipe, s.Model.NumClasses)
	s.Model.Spec = models.Spec{Model: spec.Model, ComputeDType: spec.ComputeDType}
	s.Model.version += version
	s.wrappers, s.loopHooks = nil, nil
	s.dropInstalled(spec.Arch)
}

// UseTrainSet makes set the training split until restore is called: a
// stage that trains on part of the data (a distillation transfer set)
// says so instead of rewriting the session's splits.
func (s *Session) UseTrainSet(set *datasets.Set) (restore func()) {
	full := s.Data.Train
	s.Data.Train = set
	return func() { s.Data.Train = full }
}

// AddHooks adds weight and activation hooks after those already there.
func (m *Model) AddHooks(h models.Hooks) {
	m.Spec.Hooks = models.Chain(m.Spec.Hooks, h)
	m.version++
	m.hookAdds++
}

// AddMetric adds a metric, reported by name.
func (m *Model) AddMetric(metric Metric) {
	m.metrics = append(m.metrics, metric)
	m.version++
}

// SetSpec replaces the architecture description (a technique that reshapes
// the model); hooks are kept.
func (m *Model) SetSpec(spec models.Spec) {
	spec.Hooks = m.Spec.Hooks
	m.Spec = spec
	m.version++
}

// metricNames are the metrics' names, in order.
func (m *Model) metricNames() []string {
	out := make([]string, len(m.metrics))
	for i, mt := range m.metrics {
		out[i] = mt.Name
	}
	return out
}

func (m *Model) modelFn() (train.ModelFn, error) {
	base, err := m.Spec.ModelFn(m.NumClasses)
	if err != nil {
		return nil, err
	}
	if len(m.terms) == 0 {
		return base, nil
	}
	terms := append([]LossTerm(nil), m.terms...)
	return func(ctx *gomlxctx.Context, spec any, inputs []*graph.Node) []*graph.Node {
		out := base(ctx, spec, inputs)
		if ctx.IsTraining(out[0].Graph()) {
			for _, t := range terms {
				train.AddLoss(ctx, t.Fn(ctx.In("loss_"+t.Name), inputs, out[0]))
			}
		}
		return out
	}, nil
}

// Metric is a metric the model reports by name: Train is updated by every
// train step (a moving average, reported as train_<name>), Eval runs over a
// whole split (reported as <split>_<name>).
type Metric struct {
	Name        string
	Train, Eval metrics.Interface
}

// Accuracy is the classification accuracy, a fraction in [0, 1].
func Accuracy() Metric {
	return Metric{Name: "accuracy",
		Train: metrics.NewMovingAverageSparseCategoricalAccuracy("Moving Average Accuracy", "~acc", 0.01),
		Eval:  metrics.NewSparseCategoricalAccuracy("Mean Accuracy", "#acc")}
}

func (m *Model) gomlxMetrics() (trainMetrics, evalMetrics []metrics.Interface) {
	for _, mt := range m.metrics {
		trainMetrics = append(trainMetrics, mt.Train)
		evalMetrics = append(evalMetrics, mt.Eval)
	}
	return trainMetrics, evalMetrics
}

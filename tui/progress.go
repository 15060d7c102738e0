package tui

import (
	"time"

	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// plan is what a run's recipe says it will do, read from the recipe text
// stored with the run: the dashboard runs in another process than the
// training and sees only what the store holds.
type plan struct {
	ok     bool // the recipe parsed
	stages []planStage
	// perEpoch is the steps per epoch the recipe implies (training examples
	// less validation, over the batch size, partial batch dropped); 0 when
	// the dataset's size is not known here.
	perEpoch int
}

type planStage struct {
	kind          string
	epochs, steps int
}

// trainSizes are the training split sizes of the datasets Lathe loads.
var trainSizes = map[string]int{"mnist": 60000, "fashion-mnist": 60000, "cifar10": 50000}

var syntheticSets = map[string]bool{"blobs": true, "spirals": true, "synthetic-images": true}

func planOf(r *runs.Run) plan {
	if r.Recipe == "" {
		return plan{}
	}
	rec, err := recipe.Parse(r.RecipePath, []byte(r.Recipe))
	if err != nil {
		return plan{} // a recipe of another Lathe version: show what the store says
	}
	p := plan{ok: true}
	for _, st := range rec.Stages {
		ps := planStage{kind: st.Kind}
		if st.Train != nil {
			ps.epochs, ps.steps = st.Train.Epochs, st.Train.Steps
		}
		p.stages = append(p.stages, ps)
	}
	n, ok := trainSizes[rec.Data.Dataset]
	if syntheticSets[rec.Data.Dataset] {
		n, ok = rec.Data.TrainSize, true
		if n == 0 {
			n = datasets.DefaultSyntheticTrainSize
		}
	}
	if ok && rec.Data.BatchSize > 0 {
		val := rec.Data.Validation
		if val < 0 {
			val = n / 10
		}
		p.perEpoch = (n - val) / rec.Data.BatchSize
	}
	return p
}

// estimate is where a run stands: its stage, its step against the steps
// planned, and when it will end at its current pace.
type estimate struct {
	stage      int    // index of the current (or last) stage; -1 before the first starts
	stageKind  string // its kind
	stages     int    // stages in the recipe (or recorded, when the recipe is unknown)
	step       int    // global step reached
	total      int    // global steps planned over all train stages; 0 if unknown
	stageStep  int    // steps done in the current train stage
	stageTotal int    // steps planned in it; 0 if unknown
	rate       float64
	eta        time.Duration // to the end of the last train stage; valid when etaOK
	etaOK      bool
}

// fraction of the planned training steps done, and whether it is known.
func (e estimate) fraction() (float64, bool) {
	if e.total <= 0 {
		return 0, false
	}
	return min(1, float64(e.step)/float64(e.total)), true
}

func (e estimate) stageFraction() (float64, bool) {
	if e.stageTotal <= 0 {
		return 0, false
	}
	return min(1, float64(e.stageStep)/float64(e.stageTotal)), true
}

// estimateRun combines the recipe's plan, the stage records and the metric
// progress. Steps per epoch come from the data once an epoch has ended
// (exact), and from the recipe before then (exact for the shipped datasets).
func estimateRun(r *runs.Run, prog *runs.Progress, pl plan, now time.Time) estimate {
	e := estimate{stage: -1, stages: len(pl.stages)}
	if len(r.Stages) > e.stages {
		e.stages = len(r.Stages)
	}
	if n := len(r.Stages); n > 0 {
		cur := r.Stages[n-1]
		for _, st := range r.Stages {
			if st.Status == runs.Running {
				cur = st
				break
			}
		}
		e.stage, e.stageKind = cur.Index, cur.Kind
	}
	if prog == nil {
		prog = &runs.Progress{}
	}
	e.step = prog.Step

	// stepBefore(i) is the global step when stage i began.
	stepBefore := func(i int) int {
		s := 0
		for _, sp := range prog.Stages {
			if sp.Stage < i {
				s = max(s, sp.LastStep)
			}
		}
		return s
	}
	perEpoch := pl.perEpoch
	for _, sp := range prog.Stages {
		if sp.FirstEpochStep > 0 && sp.Stage < len(pl.stages) && pl.stages[sp.Stage].kind == "train" {
			if n := sp.FirstEpochStep - stepBefore(sp.Stage); n > 0 {
				perEpoch = n
				break
			}
		}
	}
	planned := func(ps planStage) int {
		if ps.steps > 0 {
			return ps.steps
		}
		return ps.epochs * perEpoch
	}
	// The runner records each train stage's planned steps once it starts:
	// exact, where the recipe gives only an estimate.
	plannedAt := func(i int) int {
		if i < len(r.Stages) && r.Stages[i].PlannedSteps > 0 {
			return r.Stages[i].PlannedSteps
		}
		return planned(pl.stages[i])
	}
	known := pl.ok
	for i, ps := range pl.stages {
		if ps.kind == "train" {
			n := plannedAt(i)
			if n == 0 {
				known = false
			}
			e.total += n
		}
	}
	if !known {
		e.total = 0
	}

	if e.stage >= 0 && e.stage < len(pl.stages) && pl.stages[e.stage].kind == "train" {
		e.stageTotal = plannedAt(e.stage)
		e.stageStep = max(0, e.step-stepBefore(e.stage))
	}
	if r.Status == runs.Finished && e.total > 0 {
		e.stageStep = e.stageTotal
	}

	// Pace: steps per second over the current stage's points, so the time
	// spent compiling or evaluating does not count as training.
	if sp, ok := prog.Stage(e.stage); ok && r.Status == runs.Running && e.stageKind == "train" {
		if dt := sp.LastTime.Sub(sp.FirstTime).Seconds(); dt > 0 && sp.LastStep > sp.FirstStep {
			e.rate = float64(sp.LastStep-sp.FirstStep) / dt
			if e.total > 0 {
				left := time.Duration(float64(e.total-e.step) / e.rate * float64(time.Second))
				left -= now.Sub(sp.LastTime) // time already spent since the last point
				e.eta, e.etaOK = max(0, left), true
			}
		}
	}
	return e
}

package tui

import (
	"time"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// plan is what a run will do, as far as the store says: the runner records
// its Plan once the data is loaded (every stage, whether it has steps, and
// how many), and each stage's planned steps when it starts. The dashboard
// runs in another process than the training and reads only the store: it
// never parses the recipe or guesses a dataset's size, and it tells a
// stage that trains by HasSteps, never by its kind's name.
type plan struct {
	// recorded: the runner recorded a plan, so every stage is known. A run
	// from before plans were recorded (or that failed before its data
	// loaded) shows only the stages it started, and no total.
	recorded bool
	stages   []planStage // by stage index
}

type planStage struct {
	known    bool // in the plan or recorded (a gap in the indexes is not)
	kind     string
	hasSteps bool // progress is counted in steps
	steps    int  // steps planned; 0 when unknown
}

// planOf reads a run's plan from its record: the runner's Plan, with the
// planned steps each started stage recorded (exact, where the plan may
// not have known them yet). For a run without a Plan a stage is known to
// have steps only once it recorded how many.
func planOf(r *runs.Run) plan {
	var p plan
	at := func(i int) *planStage {
		for len(p.stages) <= i {
			p.stages = append(p.stages, planStage{})
		}
		return &p.stages[i]
	}
	if r.Plan != nil {
		p.recorded = true
		for _, st := range r.Plan.Stages {
			if st.Index < 0 {
				continue
			}
			ps := at(st.Index)
			*ps = planStage{known: true, kind: st.Kind, hasSteps: st.HasSteps, steps: max(0, st.Steps)}
		}
	}
	for _, st := range r.Stages {
		if st.Index < 0 {
			continue
		}
		ps := at(st.Index)
		ps.known, ps.kind = true, st.Kind
		if st.PlannedSteps > 0 {
			ps.hasSteps, ps.steps = true, st.PlannedSteps
		}
	}
	return p
}

// stage returns stage i of the plan ({} when unknown).
func (p plan) stage(i int) planStage {
	if i < 0 || i >= len(p.stages) {
		return planStage{}
	}
	return p.stages[i]
}

// estimate is where a run stands: its stage, its step against the steps
// planned, and when it will end at its current pace.
type estimate struct {
	stage      int    // index of the current (or last) stage; -1 before the first starts
	stageKind  string // its kind
	stages     int    // stages planned (or recorded, when there is no plan)
	step       int    // global step reached
	total      int    // global steps planned over all stages with steps; 0 if unknown
	stageStep  int    // steps done in the current stage, if it has steps
	stageTotal int    // steps planned in it; 0 if unknown or it has none
	rate       float64
	eta        time.Duration // to the end of the last stage with steps; valid when etaOK
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

// estimateRun combines the plan, the stage records and the metric
// progress. The total is known when every stage with steps says how many:
// for a run with a recorded plan, or one that finished (all its stages
// recorded); otherwise the run shows its step without a total or an ETA.
func estimateRun(r *runs.Run, prog *runs.Progress, pl plan, now time.Time) estimate {
	e := estimate{stage: -1, stages: len(pl.stages)}
	if n := len(r.Stages); n > 0 {
		cur := r.Stages[n-1]
		for _, st := range r.Stages {
			if st.Status == runs.Running {
				cur = st
				break
			}
		}
		e.stage, e.stageKind = cur.Index, cur.Kind
		e.stages = max(e.stages, cur.Index+1)
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
	known := pl.recorded || r.Status == runs.Finished
	withSteps := 0
	for _, ps := range pl.stages {
		if ps.hasSteps {
			withSteps++
			if ps.steps == 0 {
				known = false
			}
			e.total += ps.steps
		}
	}
	if !known || withSteps == 0 {
		e.total = 0
	}

	cur := pl.stage(e.stage)
	if cur.hasSteps {
		e.stageTotal = cur.steps
		e.stageStep = max(0, e.step-stepBefore(e.stage))
	}
	if r.Status == runs.Finished && e.total > 0 {
		e.stageStep = e.stageTotal
	}

	// Pace: steps per second over the current stage's points, so the time
	// spent compiling or evaluating does not count as training.
	if sp, ok := prog.Stage(e.stage); ok && r.Status == runs.Running && cur.hasSteps {
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

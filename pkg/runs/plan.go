package runs

// Plan is what a run will do, recorded by the runner once its data is loaded.
type Plan struct {
	Stages []PlannedStage `json:"stages"`
	Splits map[string]int `json:"splits,omitempty"` // examples per split: train, validation, test
}

// PlannedStage is one stage of a Plan. Readers tell stages that train from
// the others by HasSteps, never by their kind's name.
type PlannedStage struct {
	Index    int    `json:"index"`
	Kind     string `json:"kind"`
	HasSteps bool   `json:"has_steps"`       // the stage trains (progress is counted in steps)
	Steps    int    `json:"steps,omitempty"` // steps planned; 0 when unknown
	// Files are the files the stage will write into the run's folder,
	// declared by its kind before the run starts (the run's manifest).
	Files []string `json:"files,omitempty"`
}

// Stage returns the planned stage with index idx, if the plan has it.
func (p *Plan) Stage(idx int) (PlannedStage, bool) {
	if p == nil {
		return PlannedStage{}, false
	}
	for _, st := range p.Stages {
		if st.Index == idx {
			return st, true
		}
	}
	return PlannedStage{}, false
}

package runs

import (
	"fmt"
	"strings"
)

// Plan is what a run will do, recorded by the runner once its data is loaded.
type Plan struct {
	Stages []PlannedStage `json:"stages"`
	Splits map[string]int `json:"splits,omitempty"` // examples per split: train, validation, test
	// Classes are the examples of each class in each split, in class order.
	Classes []ClassCount `json:"classes,omitempty"`
}

// ClassCount is one class's examples in each split.
type ClassCount struct {
	Name                    string `json:"name"`
	Train, Validation, Test int
}

// ClassLine describes the classes' counts in a line ("" without them),
// and says how imbalanced the training split is when its largest class
// has 1.5 times or more the examples of its smallest.
func ClassLine(classes []ClassCount) string {
	if len(classes) == 0 {
		return ""
	}
	parts := make([]string, len(classes))
	for i, c := range classes {
		parts[i] = fmt.Sprintf("%s %d/%d/%d", c.Name, c.Train, c.Validation, c.Test)
	}
	line := "classes (train/validation/test): " + strings.Join(parts, ", ")
	if note := Imbalance(classes); note != "" {
		line += "; " + note
	}
	return line
}

// Imbalance says how imbalanced the training split is when its largest
// class has 1.5 times or more the examples of its smallest, or that a
// class has none; "" otherwise.
func Imbalance(classes []ClassCount) string {
	if len(classes) == 0 {
		return ""
	}
	lo, hi := classes[0], classes[0]
	for _, c := range classes {
		if c.Train < lo.Train {
			lo = c
		}
		if c.Train > hi.Train {
			hi = c
		}
	}
	switch {
	case lo.Train == 0:
		return fmt.Sprintf("%s has no training example", lo.Name)
	case float64(hi.Train) >= 1.5*float64(lo.Train):
		return fmt.Sprintf("imbalanced: %s has %.1f× the training examples of %s", hi.Name, float64(hi.Train)/float64(lo.Train), lo.Name)
	}
	return ""
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

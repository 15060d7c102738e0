package optim

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
)

// ScheduleNames lists the learning-rate schedules.
var ScheduleNames = []string{"constant", "step", "exponential", "cosine", "onecycle"}

// scheduleKeys are the parameters each schedule takes, by recipe name.
var scheduleKeys = map[string][]string{
	"constant":    {},
	"step":        {"step_size", "gamma"},
	"exponential": {"gamma"},
	"cosine":      {"warmup_steps", "min_learning_rate"},
	"onecycle":    {"max_learning_rate", "pct_start", "div_factor", "final_div_factor"},
}

// ScheduleKeys lists the parameters the named schedule takes (nil for an
// unknown name).
func ScheduleKeys(name string) []string { return scheduleKeys[name] }

// Schedule is a learning-rate schedule over optimizer steps, with PyTorch's
// semantics: the rate used at step s (from 0) is what the torch scheduler
// gives after s calls to scheduler.step().
type Schedule struct {
	Name string
	// step: StepLR(step_size, gamma); exponential: ExponentialLR(gamma).
	StepSize int
	Gamma    float64
	// cosine: WarmupSteps of LinearLR(start_factor=1/WarmupSteps) then
	// CosineAnnealingLR(T_max=TotalSteps-WarmupSteps, eta_min=MinLearningRate),
	// chained as SequentialLR does.
	WarmupSteps     int
	MinLearningRate float64
	// onecycle: OneCycleLR(max_lr=MaxLearningRate, total_steps=TotalSteps,
	// pct_start, div_factor, final_div_factor, anneal_strategy='cos',
	// cycle_momentum=False). Zero values take PyTorch's defaults (0.3, 25, 1e4;
	// max_lr defaults to the optimizer's learning rate).
	MaxLearningRate float64
	PctStart        float64
	DivFactor       float64
	FinalDivFactor  float64
	// TotalSteps is the length of the training stage, set by the runner.
	TotalSteps int
}

// Validate checks the schedule's parameters.
func (s Schedule) Validate() error {
	switch {
	case s.Name == "":
		return nil
	case !slices.Contains(ScheduleNames, s.Name):
		return fmt.Errorf("unknown schedule %q (allowed: %s)", s.Name, strings.Join(ScheduleNames, ", "))
	case s.Name == "step" && (s.StepSize < 1 || s.Gamma <= 0):
		return fmt.Errorf("schedule step needs step_size ≥ 1 and gamma > 0")
	case s.Name == "exponential" && s.Gamma <= 0:
		return fmt.Errorf("schedule exponential needs gamma > 0")
	case s.WarmupSteps < 0 || s.MinLearningRate < 0:
		return fmt.Errorf("warmup_steps and min_learning_rate must be at least 0")
	case s.PctStart < 0 || s.PctStart >= 1:
		return fmt.Errorf("pct_start must be in (0, 1), got %g", s.PctStart)
	}
	return nil
}

// Rate is the learning rate at step s (from 0) for base rate lr, in Go:
// the same formula the graph uses, for reports and tests.
func (s Schedule) Rate(lr float64, step int) float64 {
	x := float64(step)
	switch s.Name {
	case "step":
		return lr * math.Pow(s.Gamma, math.Floor(x/float64(s.StepSize)))
	case "exponential":
		return lr * math.Pow(s.Gamma, x)
	case "cosine":
		w := float64(s.WarmupSteps)
		if x < w {
			f0 := 1 / w
			return lr * (f0 + (1-f0)*x/w)
		}
		tMax := math.Max(float64(s.TotalSteps)-w, 1)
		return s.MinLearningRate + (lr-s.MinLearningRate)*(1+math.Cos(math.Pi*(x-w)/tMax))/2
	case "onecycle":
		maxLR, initial, minLR, end1, end2 := s.oneCycle(lr)
		if x <= end1 {
			return cosAnneal(initial, maxLR, x/end1)
		}
		return cosAnneal(maxLR, minLR, (x-end1)/(end2-end1))
	}
	return lr
}

func cosAnneal(start, end, pct float64) float64 {
	return end + (start-end)/2*(math.Cos(math.Pi*pct)+1)
}

func (s Schedule) oneCycle(lr float64) (maxLR, initial, minLR, end1, end2 float64) {
	maxLR = s.MaxLearningRate
	if maxLR == 0 {
		maxLR = lr
	}
	pct, div, finalDiv := s.PctStart, s.DivFactor, s.FinalDivFactor
	if pct == 0 {
		pct = 0.3
	}
	if div == 0 {
		div = 25
	}
	if finalDiv == 0 {
		finalDiv = 1e4
	}
	initial = maxLR / div
	minLR = initial / finalDiv
	end1 = pct*float64(s.TotalSteps) - 1
	end2 = float64(s.TotalSteps) - 1
	return
}

// rate builds the scheduled learning rate in the graph from the step index
// (from 0, a float scalar).
func (s Schedule) rate(lr float64, step *graph.Node) *graph.Node {
	g, dtype := step.Graph(), step.DType()
	c := func(x float64) *graph.Node { return graph.Scalar(g, dtype, x) }
	switch s.Name {
	case "step":
		return graph.MulScalar(graph.Pow(c(s.Gamma), graph.Floor(graph.DivScalar(step, float64(s.StepSize)))), lr)
	case "exponential":
		return graph.MulScalar(graph.Pow(c(s.Gamma), step), lr)
	case "cosine":
		w := float64(s.WarmupSteps)
		tMax := math.Max(float64(s.TotalSteps)-w, 1)
		cosine := graph.AddScalar(graph.MulScalar(graph.OnePlus(graph.Cos(graph.MulScalar(graph.SubScalar(step, w), math.Pi/tMax))),
			(lr-s.MinLearningRate)/2), s.MinLearningRate)
		if s.WarmupSteps == 0 {
			return cosine
		}
		f0 := 1 / w
		warm := graph.MulScalar(graph.AddScalar(graph.MulScalar(step, (1-f0)/w), f0), lr)
		return graph.Where(graph.LessThan(step, c(w)), warm, cosine)
	case "onecycle":
		maxLR, initial, minLR, end1, end2 := s.oneCycle(lr)
		anneal := func(start, end float64, pct *graph.Node) *graph.Node {
			return graph.AddScalar(graph.MulScalar(graph.OnePlus(graph.Cos(graph.MulScalar(pct, math.Pi))), (start-end)/2), end)
		}
		up := anneal(initial, maxLR, graph.DivScalar(step, end1))
		down := anneal(maxLR, minLR, graph.DivScalar(graph.SubScalar(step, end1), end2-end1))
		return graph.Where(graph.LessOrEqual(step, c(end1)), up, down)
	}
	return c(lr)
}

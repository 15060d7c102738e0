package runner

import (
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/lathe-ml/lathe/pkg/optim"
	"github.com/lathe-ml/lathe/pkg/recipe"
)

// The keys of a train stage's optimizer, schedule and clip mappings.
var (
	optimizerKeys = []string{"name", "learning_rate", "momentum", "dampening", "nesterov", "betas", "eps",
		"weight_decay", "amsgrad", "alpha", "centered", "lr_decay", "initial_accumulator_value"}
	scheduleKeys = []string{"name", "step_size", "gamma", "warmup_steps", "min_learning_rate",
		"max_learning_rate", "pct_start", "div_factor", "final_div_factor"}
	clipKeys = []string{"norm", "value"}
)

// decodeOptimizer reads `optimizer: adam` or a mapping. Keys not written
// take the optimizer's own defaults; a key written as 0 stays 0.
func decodeOptimizer(d *recipe.Decoder, n recipe.Node) (optim.Config, error) {
	if s, ok := recipe.Unwrap(n).(*ast.StringNode); ok {
		name, err := d.Enum(s, "optimizer", optim.Names)
		return optim.DefaultsFor(name), err
	}
	fields, err := d.Fields(n, "optimizer", optimizerKeys)
	if err != nil {
		return optim.Config{}, err
	}
	name := "adam"
	for _, f := range fields {
		if f.Key == "name" {
			if name, err = d.Enum(f.Value, "optimizer", optim.Names); err != nil {
				return optim.Config{}, err
			}
		}
	}
	if err := checkApplies(d, fields, "optimizer", name, optim.Keys(name)); err != nil {
		return optim.Config{}, err
	}
	o := optim.DefaultsFor(name)
	for _, f := range fields {
		switch f.Key {
		case "learning_rate":
			o.LearningRate, err = d.Positive(f.Value, "learning_rate")
		case "momentum":
			o.Momentum, err = d.Fraction(f.Value, "momentum")
		case "dampening":
			o.Dampening, err = d.Fraction(f.Value, "dampening")
		case "nesterov":
			o.Nesterov, err = d.Bool(f.Value, "nesterov")
		case "amsgrad":
			o.AMSGrad, err = d.Bool(f.Value, "amsgrad")
		case "centered":
			o.Centered, err = d.Bool(f.Value, "centered")
		case "alpha":
			o.Alpha, err = d.Fraction(f.Value, "alpha")
		case "eps":
			o.Eps, err = d.NonNegative(f.Value, "eps")
		case "weight_decay":
			o.WeightDecay, err = d.NonNegative(f.Value, "weight_decay")
		case "lr_decay":
			o.LRDecay, err = d.NonNegative(f.Value, "lr_decay")
		case "initial_accumulator_value":
			o.InitialAccumulatorValue, err = d.NonNegative(f.Value, "initial_accumulator_value")
		case "betas":
			var items []recipe.Node
			if items, err = d.List(f.Value, "betas"); err == nil {
				if len(items) != 2 {
					err = d.Errorf(f.Value, "betas must be a list of two numbers such as [0.9, 0.999], got %d", len(items))
				}
				for i := 0; err == nil && i < len(items); i++ {
					o.Betas[i], err = d.Fraction(items[i], "betas")
				}
			}
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// decodeSchedule reads `schedule: cosine` or a mapping.
func decodeSchedule(d *recipe.Decoder, n recipe.Node) (optim.Schedule, error) {
	var s optim.Schedule
	if str, ok := recipe.Unwrap(n).(*ast.StringNode); ok {
		name, err := d.Enum(str, "schedule", optim.ScheduleNames)
		s.Name = name
		return s, err
	}
	fields, err := d.Fields(n, "schedule", scheduleKeys)
	if err != nil {
		return s, err
	}
	for _, f := range fields {
		switch f.Key {
		case "name":
			s.Name, err = d.Enum(f.Value, "schedule", optim.ScheduleNames)
		case "step_size":
			s.StepSize, err = d.Int(f.Value, "step_size", 1)
		case "warmup_steps":
			s.WarmupSteps, err = d.Int(f.Value, "warmup_steps", 0)
		case "gamma":
			s.Gamma, err = d.Positive(f.Value, "gamma")
		case "min_learning_rate":
			s.MinLearningRate, err = d.NonNegative(f.Value, "min_learning_rate")
		case "max_learning_rate":
			s.MaxLearningRate, err = d.Positive(f.Value, "max_learning_rate")
		case "pct_start":
			s.PctStart, err = d.Fraction(f.Value, "pct_start")
		case "div_factor":
			s.DivFactor, err = d.Positive(f.Value, "div_factor")
		case "final_div_factor":
			s.FinalDivFactor, err = d.Positive(f.Value, "final_div_factor")
		}
		if err != nil {
			return s, err
		}
	}
	if s.Name == "" {
		return s, d.Errorf(n, "schedule needs a name (one of %s)", strings.Join(optim.ScheduleNames, ", "))
	}
	if err := checkApplies(d, fields, "schedule", s.Name, optim.ScheduleKeys(s.Name)); err != nil {
		return s, err
	}
	if err := s.Validate(); err != nil {
		return s, d.Errorf(n, "%v", err)
	}
	return s, nil
}

// decodeClip reads a clip mapping: norm and/or value.
func decodeClip(d *recipe.Decoder, n recipe.Node) (norm, value float64, err error) {
	fields, err := d.Fields(n, "clip", clipKeys)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range fields {
		switch f.Key {
		case "norm":
			norm, err = d.Positive(f.Value, "clip.norm")
		case "value":
			value, err = d.Positive(f.Value, "clip.value")
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return norm, value, nil
}

// checkApplies refuses a key the named optimizer or schedule does not take
// (momentum on adam, gamma on cosine): set, it would be silently ignored.
func checkApplies(d *recipe.Decoder, fields []recipe.Field, what, name string, takes []string) error {
	for _, f := range fields {
		if f.Key == "name" || slices.Contains(takes, f.Key) {
			continue
		}
		takesWhat := "no other keys"
		if len(takes) > 0 {
			takesWhat = strings.Join(takes, ", ")
		}
		return d.Errorf(f.KeyNode, "%s does not apply to the %s %s (it takes %s)", f.Key, name, what, takesWhat)
	}
	return nil
}

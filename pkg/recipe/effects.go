package recipe

import "strings"

// Effects are what a stage kind leaves behind for the stages after it,
// declared in its Kind. The runner reads the declaration, never the code:
// a resumed run puts back every effect of a finished stage that its
// checkpoint does not hold, and refuses to resume where a kind says it
// cannot; a stage that leaves an effect it did not declare fails the run,
// so the declaration cannot drift from what the code does.
type Effects uint

const (
	// Weights: the stage changes the variables or context parameters a
	// checkpoint keeps (training, pruning the weights, an allocation). A
	// checkpoint restores them; nothing else needs redoing.
	Weights Effects = 1 << iota
	// ModelHooks: weight, activation or input hooks on the current model
	// (pruning masks, fake quantization), or loss terms and extra train
	// inputs left on it.
	ModelHooks
	// LoopHooks: hooks in the loop of every later train stage (a pruning
	// schedule).
	LoopHooks
	// OptimizerWrappers: every later train stage's optimizer is wrapped
	// (masks reapplied after the update).
	OptimizerWrappers
	// Architecture: the current model's description changes — resized
	// layers (structured pruning) or a new model in its place (a distilled
	// student).
	Architecture
	// Files: the stage writes files into the run's folder (recipe.FileWriter
	// names them).
	Files
	// Unrestorable: the stage changes the session in a way it cannot put
	// back on resume: a resumed run refuses to continue past it.
	Unrestorable
)

// OnSession are the effects a checkpoint does not hold: a finished stage
// that has any of them must put them back when its run resumes.
const OnSession = ModelHooks | LoopHooks | OptimizerWrappers | Architecture

var effectNames = []struct {
	e    Effects
	name string
}{
	{Weights, "weights"}, {ModelHooks, "model hooks"}, {LoopHooks, "loop hooks"},
	{OptimizerWrappers, "optimizer wrappers"}, {Architecture, "architecture"},
	{Files, "files"}, {Unrestorable, "unrestorable changes"},
}

// String lists the effects in words ("model hooks, loop hooks"); "none".
func (e Effects) String() string {
	var out []string
	for _, n := range effectNames {
		if e&n.e != 0 {
			out = append(out, n.name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

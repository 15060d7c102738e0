package runner

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/lathe-ml/lathe/pkg/recipe"
)

// Restorer is how a stage kind that declares effects on the session
// (recipe.OnSession: hooks, loop hooks, optimizer wrappers, a changed
// model) puts them back when a run resumes after it: the runner does not
// run a stage that finished before the checkpoint again, it calls Restore,
// so the session is as that stage left it. The variables are already back,
// from the checkpoint. A kind that declares such effects and has no
// Restore cannot be resumed past (the runner says so; a test over every
// registered kind catches it first).
type Restorer interface {
	Restore(ctx context.Context, s *Session) error
}

// sessionState is what the runner compares before and after a stage to
// see which effects it left.
type sessionState struct {
	model               *Model
	arch                any // the model's description (spec.Model)
	hooks, terms        int
	inputs              bool
	loopHooks, wrappers int // additions so far
}

func (s *Session) state() sessionState {
	st := sessionState{loopHooks: s.loopHookAdds, wrappers: s.wrapperAdds}
	if s.Model != nil {
		st.model, st.arch = s.Model, s.Model.Spec.Model
		st.hooks, st.terms, st.inputs = s.Model.hookAdds, len(s.Model.terms), s.Model.trainInputs != nil
	}
	return st
}

// effectsSince are the session effects present now that were not at before.
func (s *Session) effectsSince(before sessionState) recipe.Effects {
	now := s.state()
	var e recipe.Effects
	switch {
	case now.model != before.model: // a new model, with what was put on it since
		e |= recipe.Architecture
		before.hooks, before.terms, before.inputs = 0, 0, false
	case !reflect.DeepEqual(now.arch, before.arch):
		e |= recipe.Architecture
	}
	if now.hooks > before.hooks || now.terms > before.terms || (now.inputs && !before.inputs) {
		e |= recipe.ModelHooks
	}
	if now.loopHooks > before.loopHooks && len(s.loopHooks) > 0 {
		e |= recipe.LoopHooks
	}
	if now.wrappers > before.wrappers && len(s.wrappers) > 0 {
		e |= recipe.OptimizerWrappers
	}
	return e
}

// settle checks that the stage at index i left no effect on the session
// that its kind does not declare, and notes which it left so that a later
// ReplaceModel can say what it drops.
func (s *Session) settle(i int, st recipe.Stage, before sessionState) error {
	left := s.effectsSince(before)
	// Loop hooks act for the stage that installed them (a pruning schedule
	// rebuilds the model at the end of the train stage it runs in).
	allowed := st.Effects()
	for _, in := range s.installed {
		if in.effects&recipe.LoopHooks != 0 {
			allowed |= s.Recipe.Stages[in.stage].Effects()
		}
	}
	if undeclared := left &^ allowed; undeclared != 0 {
		return fmt.Errorf("internal error: stage %d (%s) left %s on the session without declaring them in its recipe.Kind.Effects, so a resumed run would lose them", i+1, st.Kind, undeclared)
	}
	if onModel := left & (recipe.ModelHooks | recipe.LoopHooks | recipe.OptimizerWrappers); onModel != 0 {
		s.installed = append(s.installed, installed{stage: i, kind: st.Kind, effects: onModel})
	}
	return nil
}

// restoreStage puts back what stage i, finished before the checkpoint a
// run resumes from, left on the session, as its kind declares.
func (s *Session) restoreStage(ctx context.Context, i int, st recipe.Stage) error {
	effects := st.Effects()
	if effects&recipe.Unrestorable != 0 {
		return fmt.Errorf("resume: stage %d (%s) changed the run in a way that cannot be restored from a checkpoint; start the run again", i+1, st.Kind)
	}
	if effects&recipe.OnSession == 0 {
		return nil
	}
	r, ok := st.Settings.(Restorer)
	if !ok {
		return fmt.Errorf("resume: stage %d (%s) declares %s but cannot restore them (its kind has no Restore); start the run again", i+1, st.Kind, effects&recipe.OnSession)
	}
	before := s.state()
	if err := r.Restore(ctx, s); err != nil {
		return err
	}
	return s.settle(i, st, before)
}

// stageKinds are the kinds of the recipe's stages: those whose loop hooks
// may record results in a train stage (results.Declaration.Adds).
func (s *Session) stageKinds() []string {
	var out []string
	for _, st := range s.Recipe.Stages {
		if !slices.Contains(out, st.Kind) {
			out = append(out, st.Kind)
		}
	}
	return out
}

// installed is a stage's effects on the current model and its training.
type installed struct {
	stage   int
	kind    string
	effects recipe.Effects
}

// dropInstalled forgets the effects installed on the model being replaced
// and says which stages' effects do not carry over.
func (s *Session) dropInstalled(newArch string) {
	if len(s.installed) == 0 {
		return
	}
	var parts []string
	for _, in := range s.installed {
		parts = append(parts, fmt.Sprintf("%s of stage %d (%s)", in.effects, in.stage+1, in.kind))
	}
	s.Log("the model is replaced by a new %s: %s applied to the old model's layers and do not carry over to it", newArch, strings.Join(parts, "; "))
	s.installed = nil
}

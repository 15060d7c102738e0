package runner

import (
	"context"
	"fmt"
)

// Phase is a part of a stage that trains more than once — a distillation
// stage trains its student alone and then from its teacher, on the same
// schedule. Offset is the stage steps taken before the phase (what its
// checkpoints add to their own step, and a resume subtracts); Prefix is
// put before the names of the metrics its progress events carry
// ("alone_" gives alone_train_loss, alone_validation_accuracy), so that
// the phases' curves are told apart in the store.
type Phase struct {
	Offset int
	Prefix string
}

// RunPhase trains as Run does, as one phase of the running stage. A run
// resumed past the phase's steps should not call it: its steps are done.
func (t *TrainStage) RunPhase(ctx context.Context, s *Session, p Phase) (map[string]float64, error) {
	if p.Offset < 0 {
		return nil, fmt.Errorf("train phase: offset %d", p.Offset)
	}
	saved := s.phase
	s.phase = p
	defer func() { s.phase = saved }()
	return t.Run(ctx, s)
}

// prefixed returns m with prefix before every name.
func prefixed(prefix string, m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[prefix+k] = v
	}
	return out
}

// Preparer is implemented by stage settings that read something before
// the run's first stage starts — a file or another run the recipe names (a
// distillation teacher) — so that a problem with it is reported before
// any training, not when the run reaches the stage. The session's data
// and model are loaded when Prepare is called.
type Preparer interface {
	Prepare(ctx context.Context, s *Session) error
}

// AfterStage has fn called when stage index (0-based) has run, before the
// next one starts: how a later stage keeps the model an earlier one
// trained (a teacher) while the stages between change it. A stage kept
// from before a resume's checkpoint does not run again, and neither do its
// hooks.
func (s *Session) AfterStage(index int, fn func() error) {
	if s.afterStage == nil {
		s.afterStage = map[int][]func() error{}
	}
	s.afterStage[index] = append(s.afterStage[index], fn)
}

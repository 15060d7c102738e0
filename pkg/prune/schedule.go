package prune

import "math"

// Schedule is when masks are recomputed and at what sparsity: Zhu & Gupta's
// polynomial schedule ("To prune, or not to prune", 2017), as TF Model
// Optimization's PolynomialDecay has it. From Begin to End, every
// Frequency steps, the sparsity is
//
//	s(t) = Target + (Initial − Target) · (1 − (t − Begin)/(End − Begin))^Exponent
//
// rising fast at first, while the network can recover, and slowly towards
// Target. Begin = End is one-shot pruning at that step. Steps count from
// the start of the training that follows the prune stage.
type Schedule struct {
	Initial, Target float64
	Begin, End      int
	Frequency       int
	Exponent        float64
}

// At returns the sparsity the schedule asks for at step (0 before Begin,
// Target after End) and whether masks are recomputed there: at Begin, at
// every Frequency steps after it, and at End.
func (s Schedule) At(step int) (sparsity float64, prune bool) {
	switch {
	case step < s.Begin:
		return 0, false
	case step >= s.End:
		return s.Target, step == s.End
	}
	frac := float64(step-s.Begin) / float64(s.End-s.Begin)
	sparsity = s.Target + (s.Initial-s.Target)*math.Pow(1-frac, s.Exponent)
	return sparsity, (step-s.Begin)%s.Frequency == 0
}

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
//
// With Rounds > 0 it is instead iterative pruning: Rounds prunings evenly
// spaced from Begin to End with the training between them fine-tuning
// (the prune → retrain loop of Han et al. 2015), each removing the same
// fraction of the weights still there — the geometric schedule of Frankle
// & Carbin's lottery-ticket experiments (2019). With criterion: han each
// round's cut is Han's: per-layer thresholds, a quality parameter × each
// layer's weight standard deviation, the parameter solved for the round's
// sparsity (han.go). After round k of R the sparsity is
//
//	s_k = 1 − (1 − Target)^(k/R)
type Schedule struct {
	Initial, Target float64
	Begin, End      int
	Frequency       int
	Exponent        float64
	Rounds          int
}

// At returns the sparsity the schedule asks for at step (0 before Begin,
// Target after End) and whether masks are recomputed there: at Begin, at
// every Frequency steps after it, and at End.
func (s Schedule) At(step int) (sparsity float64, prune bool) {
	if s.Rounds > 0 {
		return s.round(step)
	}
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

// round is the iterative schedule at step.
func (s Schedule) round(step int) (sparsity float64, prune bool) {
	done := 0 // rounds at or before step
	for k := 1; k <= s.Rounds; k++ {
		at := s.Begin
		if s.Rounds > 1 {
			at += (k - 1) * (s.End - s.Begin) / (s.Rounds - 1)
		}
		if at <= step {
			done = k
			prune = prune || at == step
		}
	}
	if done == 0 {
		return 0, false
	}
	return 1 - math.Pow(1-s.Target, float64(done)/float64(s.Rounds)), prune
}

package timing

import (
	"errors"
	"testing"
)

// TestCallsAlternate: after three warm-up calls each, the engines are
// called in turn, every round, and each gets one time per round.
func TestCallsAlternate(t *testing.T) {
	var order []int
	engines := []Engine{{Call: func() error { order = append(order, 0); return nil }}, {Call: func() error { order = append(order, 1); return nil }, GoMLX: true}}
	times, allocs, err := Calls(engines, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 || len(times[0]) != 20 || len(times[1]) != 20 || len(allocs) != 2 {
		t.Fatalf("%d engines timed, %d and %d calls", len(times), len(times[0]), len(times[1]))
	}
	if order[0] != 0 || order[3] != 1 { // warm-ups: 0 0 0 1 1 1
		t.Errorf("warm-up order %v", order[:6])
	}
	for i := 6; i+1 < 6+40; i += 2 {
		if order[i] != 0 || order[i+1] != 1 {
			t.Fatalf("round %d called %d then %d", (i-6)/2, order[i], order[i+1])
		}
	}
}

func TestErrorsStopTheTiming(t *testing.T) {
	bad := errors.New("predict failed")
	calls := 0
	_, err := Interleave([]Engine{{Call: func() error { calls++; return nil }}, {Call: func() error {
		if calls > 5 {
			return bad
		}
		return nil
	}}}, 0)
	if !errors.Is(err, bad) {
		t.Errorf("got %v, want the engine's error", err)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	if p := Percentile(xs, 0.5); p != 3 {
		t.Errorf("median %g, want 3", p)
	}
	if p := Percentile(xs, 0.99); p != 5 {
		t.Errorf("p99 %g, want 5", p)
	}
	if xs[0] != 5 {
		t.Error("Percentile sorted the caller's slice")
	}
}

package timing

import (
	"errors"
	"testing"
	"time"
)

// TestCallsAlternate: after three warm-up calls each, the engines take
// turns of two calls (one untimed, one timed), every round, and each gets
// one time per round.
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
	for i := 6; i+3 < 6+80; i += 4 {
		if got := order[i : i+4]; got[0] != 0 || got[1] != 0 || got[2] != 1 || got[3] != 1 {
			t.Fatalf("round %d called %v, want [0 0 1 1]", (i-6)/4, got)
		}
	}
}

// TestTimedCallsFollowTheirOwn: a call that comes right after another
// engine's is slow (its caches were emptied); none of those is timed.
func TestTimedCallsFollowTheirOwn(t *testing.T) {
	last := -1
	engine := func(id int) Engine {
		return Engine{Call: func() error {
			if last != id {
				time.Sleep(5 * time.Millisecond)
			}
			last = id
			return nil
		}}
	}
	times, _, err := Calls([]Engine{engine(0), engine(1)}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	for e, ts := range times {
		for _, ms := range ts {
			if ms >= 5 {
				t.Fatalf("engine %d: a timed call took %.1f ms: it followed the other engine's", e, ms)
			}
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

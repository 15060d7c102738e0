package runs

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/lathe-ml/lathe/pkg/events"
)

// Recorder is the events.Sink that writes a run's events into the store.
// Step metrics are buffered and written at most every FlushEvery, so a
// training step never waits on the disk; stage and run ends flush at once,
// and the runner flushes before every checkpoint (Flush), so a kill loses
// only the points after the checkpoint a resume starts from. Points a
// failed write could not store stay buffered (up to maxPending) and go
// with the next write.
type Recorder struct {
	store      *Store
	runID      string
	FlushEvery time.Duration

	mu        sync.Mutex
	planned   map[int]bool // stages whose planned steps are recorded
	pending   []Point
	lastFlush time.Time
	err       error
}

// Recorder returns a sink recording events for run id.
func (s *Store) Recorder(id string) *Recorder {
	return &Recorder{store: s, runID: id, FlushEvery: time.Second, lastFlush: time.Now()}
}

// Handle records one event.
func (r *Recorder) Handle(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Kind {
	case events.Step, events.EpochEnded, events.Evaluated:
		// A runner that knew the steps only once the stage ran.
		if e.Kind == events.Step && e.Total > 0 && !r.planned[e.StageIndex] {
			r.markPlanned(e.StageIndex)
			r.keep(r.store.SetPlannedSteps(r.runID, e.StageIndex, e.Total))
		}
		names := make([]string, 0, len(e.Metrics))
		for k := range e.Metrics {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			r.pending = append(r.pending, Point{Stage: e.StageIndex, Step: e.Step, Name: k, Value: e.Metrics[k], Time: e.Time})
		}
		if e.Kind != events.Step || time.Since(r.lastFlush) >= r.FlushEvery {
			r.flushLocked()
		}
	case events.StageStarted:
		r.flushLocked()
		r.keep(r.store.StartStage(r.runID, e.StageIndex, e.Stage, e.Total))
		if e.Total > 0 {
			r.markPlanned(e.StageIndex)
		}
	case events.StageFinished:
		r.flushLocked()
		r.keep(r.store.FinishStage(r.runID, e.StageIndex, Finished, e.Metrics))
	case events.RunFinished:
		r.flushLocked()
	}
}

func (r *Recorder) markPlanned(idx int) {
	if r.planned == nil {
		r.planned = map[int]bool{}
	}
	r.planned[idx] = true
}

// Flush writes buffered points now: the error of this write, nil once
// every point buffered so far is stored.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushLocked()
}

// Err is the first write error, if any: the run goes on (its metrics are
// also on the console) but the caller reports it at the end.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// maxPending bounds the points kept for a retry after failed writes (a
// full disk): past it the oldest go, and the run's error says points were
// lost.
const maxPending = 1 << 20

func (r *Recorder) flushLocked() error {
	r.lastFlush = time.Now()
	if err := r.store.AppendMetrics(r.runID, r.pending); err != nil {
		r.keep(err)
		if over := len(r.pending) - maxPending; over > 0 {
			r.pending = append(r.pending[:0], r.pending[over:]...)
		}
		return err
	}
	r.pending = r.pending[:0]
	return nil
}

func (r *Recorder) keep(err error) {
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("run store: %w", err)
		fmt.Fprintf(os.Stderr, "warning: %v (the run continues; its metrics may be incomplete)\n", r.err)
	}
}

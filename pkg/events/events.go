// Package events is the stream of what a run does: stages starting and
// ending, training steps with their metrics, evaluations, the run's end.
//
// The recipe runner emits events; sinks consume them: the run store records
// them, the console draws a progress bar, the dashboard and notebooks plot
// them. Data flows one way, so a sink never reaches back into training.
//
// Example:
//
//	bus := events.NewBus(store.Recorder(runID), console)
//	bus.Emit(events.Event{Kind: events.Step, Step: 10, Metrics: map[string]float64{"loss": 0.3}})
package events

import (
	"sync"
	"time"
)

// Kind says what happened.
type Kind string

const (
	RunStarted    Kind = "run_started"    // Message: recipe name; Metrics: none
	StageStarted  Kind = "stage_started"  // Stage, StageIndex; Total: steps planned (0 if unknown)
	Step          Kind = "step"           // Step, Epoch; Metrics: loss, accuracy, learning_rate, samples_per_s
	EpochEnded    Kind = "epoch_ended"    // Epoch; Metrics: validation results, epoch wall time
	Evaluated     Kind = "evaluated"      // Metrics of an evaluation stage, named <split>_loss, <split>_accuracy
	StageFinished Kind = "stage_finished" // Metrics: the stage's results
	Log           Kind = "log"            // Message: a line worth showing the user
	RunFinished   Kind = "run_finished"   // Message: final status; Metrics: final metrics
)

// Event is one thing a run did. Metrics names are snake_case, accuracies are
// fractions in [0,1], times are seconds.
type Event struct {
	Time       time.Time
	Kind       Kind
	RunID      string
	Stage      string // stage kind, e.g. "train"
	StageIndex int    // position of the stage in the recipe, from 0
	Step       int    // global training step, from 1
	StageStep  int    // step within the current stage, from 1
	Total      int    // steps planned in the stage, when known
	Epoch      int    // from 1
	Metrics    map[string]float64
	Message    string
	// Phase prefixes the metric names of Step and EpochEnded events when
	// a stage trains in phases (a distillation baseline's "alone_"):
	// Metrics[Phase+"train_loss"] is the loss either way.
	Phase string
}

// Sink consumes events. Handle is called from the training goroutine, in
// order; a slow sink slows training, so sinks batch their expensive work.
type Sink interface {
	Handle(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Handle calls f.
func (f SinkFunc) Handle(e Event) { f(e) }

// Bus fans events out to sinks. It is safe for concurrent use.
type Bus struct {
	mu    sync.Mutex
	sinks []Sink
}

// NewBus returns a bus delivering to sinks (nil ones are skipped).
func NewBus(sinks ...Sink) *Bus {
	b := &Bus{}
	for _, s := range sinks {
		b.Add(s)
	}
	return b
}

// Add subscribes another sink.
func (b *Bus) Add(s Sink) {
	if s == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sinks = append(b.sinks, s)
}

// Emit stamps the event's time if unset and delivers it to every sink.
func (b *Bus) Emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	sinks := append([]Sink(nil), b.sinks...)
	b.mu.Unlock()
	for _, s := range sinks {
		s.Handle(e)
	}
}

package runner

import (
	"strings"

	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// Metric names every model reports (Model's loss and metrics), per split
// and as the train steps' moving averages.
const (
	TrainLoss     = "train_loss"
	TrainAccuracy = "train_accuracy"
)

// modelResults are the loss and metrics of a split, as Evaluate names them.
var modelResults = []results.Result{
	{Name: "{split}_loss", Doc: "mean loss over the split"},
	{Name: "{split}_accuracy", Format: results.Percent, Doc: "fraction classified right"},
}

// trainResults is the train kind's contract.
var trainResults = results.Declaration{
	Results: append([]results.Result{
		{Name: "steps", Format: results.Count, Doc: "steps taken (micro-batches when accumulating)"},
		{Name: "updates", Format: results.Count, Doc: "optimizer updates"},
		{Name: "epochs", Doc: "passes over the training split"},
		{Name: "params", Format: results.Count, Doc: "trainable parameters at the end"},
		{Name: "compile_s", Format: results.Seconds, Doc: "the first step, which compiles the graph"},
		{Name: "samples_per_s", Format: results.Count, Doc: "throughput after the first step"},
		{Name: "ms_per_step", Doc: "median step time"},
		{Name: "loss_scale", Doc: "fp16 loss scale at the end"},
		{Name: "skipped_steps", Format: results.Count, Doc: "fp16 steps skipped for overflowing"},
	}, modelResults...),
	Series: append([]results.Result{
		{Name: "loss", Doc: "the batch's loss"},
		{Name: "learning_rate"},
		{Name: "samples_per_s", Format: results.Count},
		{Name: "epoch_s", Format: results.Seconds},
		{Name: "loss_scale"},
		{Name: "skipped_steps", Format: results.Count},
	}, modelResults...),
	Summary: TrainSummary,
	Panels: []results.Panel{
		{Title: "learning rate", Rank: 40, Curves: []string{"learning_rate"}},
		{Title: "throughput (samples/s)", Rank: 50, Curves: []string{"samples_per_s"}},
		{Title: "loss scale", Rank: 80, Curves: []string{"loss_scale"}},
		{Title: "skipped steps", Rank: 90, Curves: []string{"skipped_steps"}},
		{Title: "epoch time (s)", Rank: 100, Curves: []string{"epoch_s"}},
	},
}

// TrainSummary is a training stage's line in a run's summary: steps, train
// loss, validation accuracy and speed.
func TrainSummary(m map[string]float64) string {
	var parts []string
	for _, h := range []struct{ key, before, after string }{
		{"steps", "", " steps"}, {TrainLoss, "train loss ", ""}, {"validation_accuracy", "validation acc ", ""},
		{"samples_per_s", "", " samples/s"}, {"ms_per_step", "", "/step"},
	} {
		if v, ok := m[h.key]; ok {
			value := runs.FormatMetric(h.key, v)
			if h.key == "samples_per_s" {
				value = runs.FormatCount(v)
			}
			parts = append(parts, h.before+value+h.after)
		}
	}
	return strings.Join(parts, ", ")
}

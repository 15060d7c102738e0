package prune

import (
	"fmt"

	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// What a prune stage records: the weights' sparsity (unstructured), or
// the rebuilt model's size and speed (structured). A gradual schedule
// records them in the train stage it acts in, so they are its Adds too.
var pruneResults = []results.Result{
	{Name: "sparsity", Format: results.Percent, Doc: "fraction of the prunable weights at zero"},
	{Name: "sparsity/{layer}", Format: results.Percent, Doc: "the layer's fraction at zero"},
	{Name: "prunable_params", Format: results.Count, Doc: "weights the stage may prune"},
	{Name: "nonzero_prunable_params", Format: results.Count, Doc: "prunable weights left"},
	{Name: "dense_bytes", Format: results.Count, Doc: "float32 parameters' bytes, stored dense"},
	{Name: "sparse_bytes", Format: results.Count, Doc: "bytes stored sparse: nonzero float32 values and a bit mask"},
	{Name: "flops_per_example", Format: results.Count, Doc: "multiply-adds ×2 per example, dense"},
	{Name: "nonzero_flops_per_example", Format: results.Count, Doc: "the same, skipping the zero weights"},
	{Name: "channels_removed", Format: results.Count},
	{Name: "width/{layer}", Format: results.Count, Doc: "the layer's outputs after structured pruning"},
	{Name: "params_before", Format: results.Count},
	{Name: "params_after", Format: results.Count},
	{Name: "flops_before", Format: results.Count},
	{Name: "flops_after", Format: results.Count},
	{Name: "latency_before_ms", Doc: "GoMLX (the training backend) latency at batch LatencyBatch, before"},
	{Name: "latency_after_ms"},
	{Name: "latency_speedup", Format: results.Times},
	{Name: "runtime_before_ms", Doc: "Lathe runtime latency of the exported model at batch LatencyBatch, before"},
	{Name: "runtime_after_ms"},
	{Name: "runtime_speedup", Format: results.Times},
	{Name: "rebuild_max_diff", Doc: "largest logit difference between the rebuilt and the masked model"},
}

var pruneDeclaration = results.Declaration{
	Results: pruneResults,
	Adds: append([]results.Result{
		{Name: "channel_sparsity", Format: results.Percent, Doc: "fraction of the channels silenced so far (structured, gradual)"},
		{Name: "params", Format: results.Count, Doc: "trainable parameters once the model was rebuilt smaller"},
	}, pruneResults...),
	AddsSummary: rebuildSummary,
	Panels: []results.Panel{{Title: "sparsity", Rank: 60,
		Bars: &results.Bars{Total: "sparsity", Members: "sparsity/", Left: "nonzero_prunable_params", Of: "prunable_params"}}},
	Compare: []results.Column{
		{Title: "SPARSITY", Name: "sparsity", Format: results.Percent, Better: 1},
		{Title: "NONZERO", Name: "nonzero_prunable_params", Format: results.Count, Better: -1},
	},
}

// rebuildSummary is a structured prune's model rebuilt smaller; "" when
// the results hold none.
func rebuildSummary(m map[string]float64) string {
	speedup, ok := m["latency_speedup"]
	if !ok {
		return ""
	}
	text := fmt.Sprintf("rebuilt smaller: params %s → %s, latency %s → %s (%.2f×)",
		runs.FormatCount(m["params_before"]), runs.FormatCount(m["params_after"]),
		runs.FormatMetric("latency_before_ms", m["latency_before_ms"]), runs.FormatMetric("latency_after_ms", m["latency_after_ms"]), speedup)
	if rt, ok := m["runtime_speedup"]; ok {
		text += fmt.Sprintf(", in the runtime %s → %s (%.2f×)",
			runs.FormatMetric("runtime_before_ms", m["runtime_before_ms"]), runs.FormatMetric("runtime_after_ms", m["runtime_after_ms"]), rt)
	}
	return text
}

// What a sensitivity stage records.
var sensitivityDeclaration = results.Declaration{Results: []results.Result{
	{Name: "baseline_{split}_accuracy", Format: results.Percent, Doc: "the model's accuracy before any layer is pruned"},
	{Name: "sensitivity/{layer}/{value}", Format: results.Percent, Doc: "accuracy with the layer alone pruned to the sparsity"},
	{Name: "allocation/{layer}", Format: results.Percent, Doc: "the sparsity allocated to the layer"},
}}

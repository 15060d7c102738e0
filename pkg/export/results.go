package export

import "github.com/lathe-ml/lathe/pkg/results"

// What an export stage records: the files' sizes and the runtime's check
// against the GoMLX graph.
var exportDeclaration = results.Declaration{Results: []results.Result{
	{Name: "export_weight_bytes", Format: results.Count, Doc: "bytes of the weights alone"},
	{Name: "safetensors_bytes", Format: results.Count, Doc: "the Lathe model file's bytes on disk"},
	{Name: "onnx_bytes", Format: results.Count, Doc: "the ONNX file's bytes on disk"},
	{Name: "export_agreement", Format: results.Percent, Doc: "the runtime picks the graph's class"},
	{Name: "export_max_diff", Doc: "largest logit difference between the runtime and the graph"},
	{Name: "export_{split}_accuracy", Format: results.Percent},
}}

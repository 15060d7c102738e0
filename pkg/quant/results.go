package quant

import "github.com/lathe-ml/lathe/pkg/results"

// What a quantize stage records: a qat stage its freeze step; a ptq
// stage the two files' sizes, accuracies, agreement and latencies, and
// per layer its SQNRs and observed input range (what the dashboard's
// quantization table shows).
var quantizeDeclaration = results.Declaration{
	Results: []results.Result{
		{Name: "qat_freeze_after", Format: results.Count, Doc: "training steps after which qat's observers freeze (0: never)"},
		{Name: "f32_bytes", Format: results.Count, Doc: "the float32 twin's bytes on disk"},
		{Name: "int8_bytes", Format: results.Count, Doc: "the int8 file's bytes on disk"},
		{Name: "size_ratio", Format: results.Times, Doc: "f32_bytes / int8_bytes"},
		{Name: "int8_onnx_bytes", Format: results.Count, Doc: "the int8 model's ONNX file (QDQ form), bytes on disk"},
		{Name: "qat_ranges", Format: results.Count, Doc: "layers whose input range qat learned"},
		{Name: "f32_{split}_accuracy", Format: results.Percent},
		{Name: "int8_{split}_accuracy", Format: results.Percent},
		{Name: "int8_accuracy_drop_pp", Format: results.Fall, Doc: "f32 − int8 accuracy, percentage points"},
		{Name: "int8_agreement", Format: results.Percent, Doc: "the int8 model picks the float model's class"},
		{Name: "int8_fakequant_agreement", Format: results.Percent, Doc: "the runtime and the fake-quantized graph pick one class"},
		{Name: "f32_batch64_ms"},
		{Name: "int8_batch64_ms"},
		{Name: "int8_speedup", Format: results.Times},
		{Name: "weight_sqnr_db/{layer}", Format: results.DB},
		{Name: "input_sqnr_db/{layer}", Format: results.DB},
		{Name: "input_min/{layer}", Format: results.Short},
		{Name: "input_max/{layer}", Format: results.Short},
		{Name: "input_scale/{layer}", Format: results.Short},
	},
	Panels: []results.Panel{{Title: "quantization", Rank: 70, Table: &results.Table{
		Marker: "int8_bytes", Note: "int8", RowsName: "layer",
		NoteItems: []results.NoteItem{{Name: "qat_ranges", Label: "QAT ranges", Format: results.Count}},
		Lines: []results.Line{
			{Text: "size {f32_bytes} → {int8_bytes} bytes ({size_ratio})", Needs: []string{"f32_bytes", "int8_bytes"}},
			{Text: "{split} acc {f32_{split}_accuracy} → {int8_{split}_accuracy} ({int8_accuracy_drop_pp} pp)", Needs: []string{"f32_{split}_accuracy"}, PerSplit: true},
			{Text: "agree f32 {int8_agreement} · fake-quant {int8_fakequant_agreement}", Needs: []string{"int8_agreement", "int8_fakequant_agreement"}},
			{Text: "batch 64 {f32_batch64_ms} → {int8_batch64_ms} ({int8_speedup})", Needs: []string{"f32_batch64_ms", "int8_batch64_ms"}},
		},
		Columns: []results.TableColumn{
			{Title: "W dB", Family: "weight_sqnr_db/", Format: results.DB},
			{Title: "IN dB", Family: "input_sqnr_db/", Format: results.DB},
			{Title: "in min", Family: "input_min/", Format: results.Short, Pair: true},
			{Title: "in max", Family: "input_max/", Format: results.Short},
			{Title: "scale", Family: "input_scale/", Format: results.Short},
		},
	}}},
	Compare: []results.Column{
		{Title: "INT8 BYTES", Name: "int8_bytes", Format: results.Count, Better: -1},
		{Title: "SIZE ×", Name: "size_ratio", Format: results.Times, Better: 1},
		{Title: "INT8 MS", Name: "int8_batch64_ms", Better: -1},
	},
}

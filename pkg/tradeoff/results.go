package tradeoff

import (
	"fmt"

	"github.com/lathe-ml/lathe/pkg/results"
)

// What a report stage records: each model's figures by its role
// (baseline, combined, …), the combined model against the baseline, and
// whether each of the seed's claims was met.
var reportDeclaration = results.Declaration{
	Results: []results.Result{
		{Name: "{role}_accuracy", Format: results.Percent},
		{Name: "{role}_agreement", Format: results.Percent, Doc: "the model picks the baseline's class"},
		{Name: "{role}_bytes", Format: results.Count},
		{Name: "{role}_batch64_ms"},
		{Name: "{role}_alone_batch64_ms", Doc: "Lathe's runtime at batch 64, timed on its own as ONNX Runtime is"},
		{Name: "{role}_onnxruntime_batch64_ms", Doc: "ONNX Runtime at batch 64 on the model's ONNX form (QDQ for int8)"},
		{Name: "{role}_onnxruntime_accuracy", Format: results.Percent, Doc: "the model's accuracy on the report's split in ONNX Runtime, on its ONNX form (QDQ for int8)"},
		{Name: "size_ratio", Format: results.Times, Doc: "baseline bytes / combined bytes"},
		{Name: "speedup_batch64", Format: results.Times, Doc: "baseline latency / combined latency at batch 64"},
		{Name: "accuracy_drop_pp", Format: results.Fall, Doc: "baseline − combined accuracy, percentage points"},
		{Name: "train_f32_ms", Doc: "a float32 train step of the baseline"},
		{Name: "train_bf16_ms", Doc: "a bfloat16 train step of the baseline"},
		{Name: "claim_{claim}_met", Doc: "1 when the claim holds, 0 when not"},
		{Name: "claim_{claim}_reduction", Format: results.Percent, Doc: "the reduction measured against the claim's"},
	},
	Summary: func(m map[string]float64) string {
		met := func(key string) string {
			return map[bool]string{true: "met", false: "not met"}[m["claim_"+key+"_met"] == 1]
		}
		return fmt.Sprintf("combined model %.2f× smaller, %.2f× faster at batch 64, accuracy %+.2f pp; seed's claims: size %s, training %s, inference %s",
			m["size_ratio"], m["speedup_batch64"], -m["accuracy_drop_pp"], met("size"), met("training"), met("inference"))
	},
}

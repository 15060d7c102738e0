package tradeoff_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	_ "github.com/lathe-ml/lathe/pkg/stages"
	"github.com/lathe-ml/lathe/pkg/tradeoff"
)

// pipeline is the seed pipeline in miniature, on synthetic blobs: train,
// export, int8, prune channels and fine-tune, export, int8, report.
const pipeline = `name: report-test
seed: 5
backend: go
data: {dataset: blobs, batch_size: 32, validation: 100, train_size: 800, test_size: 400}
model: {arch: mlp, hidden: [64, 64]}
stages:
  - train: {epochs: 3, optimizer: {name: adam, learning_rate: 0.01}}
  - export: {name: baseline, formats: [safetensors, onnx]}
  - quantize: {mode: ptq, name: baseline.int8, calibration_batches: 4}
  - prune: {structure: channels, schedule: oneshot, target_sparsity: 0.5}
  - train: {epochs: 2, optimizer: {name: adam, learning_rate: 0.005}}
  - export: {name: pruned}
  - quantize: {mode: ptq, name: combined, calibration_batches: 4}
  - report: {models: {combined: combined, baseline: baseline, quantized: baseline.int8, pruned: pruned}, seconds: 0.2, train_steps: 3}
`

func TestReportStageMeasuresTheRunsModels(t *testing.T) {
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec, err := recipe.Parse("p.yaml", []byte(pipeline))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	byKind := func(kind string, nth int) runs.Metrics {
		for _, st := range res.Stages {
			if st.Kind == kind {
				if nth == 0 {
					return st.Metrics
				}
				nth--
			}
		}
		t.Fatalf("no %s stage", kind)
		return nil
	}
	got := byKind("report", 0)
	dir := store.RunDir(res.RunID)

	// Bytes on disk, read here with os.Stat.
	for role, file := range map[string]string{"baseline": "baseline", "quantized": "baseline.int8", "pruned": "pruned", "combined": "combined"} {
		info, err := os.Stat(filepath.Join(dir, file+".safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if got[role+"_bytes"] != float64(info.Size()) {
			t.Errorf("%s_bytes %g, the file has %d", role, got[role+"_bytes"], info.Size())
		}
	}
	// Accuracy: the quantize stages measured their int8 files through
	// another path (export.Check against the GoMLX graph); same split,
	// same files, so the same fraction.
	q1, q2 := byKind("quantize", 0), byKind("quantize", 1)
	for role, want := range map[string]float64{"baseline": byKind("export", 0)["export_test_accuracy"], "quantized": q1["int8_test_accuracy"],
		"pruned": byKind("export", 1)["export_test_accuracy"], "combined": q2["int8_test_accuracy"]} {
		if got[role+"_accuracy"] != want {
			t.Errorf("%s accuracy %g, its export/quantize stage measured %g", role, got[role+"_accuracy"], want)
		}
	}
	// Agreement with the baseline: 1 for the baseline itself; the int8
	// baseline's is what its quantize stage measured against the float
	// graph (which the float file matches on every example: export_agreement).
	if got["baseline_agreement"] != 1 || byKind("export", 0)["export_agreement"] != 1 ||
		math.Abs(got["quantized_agreement"]-q1["int8_agreement"]) > 0.0026 {
		t.Errorf("agreement: baseline %g, quantized %g (its stage: %g)", got["baseline_agreement"], got["quantized_agreement"], q1["int8_agreement"])
	}
	if want := got["baseline_bytes"] / got["combined_bytes"]; got["size_ratio"] != want || want < 4 {
		t.Errorf("size ratio %g (want %g, and pruning + int8 ≥ 4×)", got["size_ratio"], want)
	}
	if got["train_f32_ms"] <= 0 || got["train_bf16_ms"] <= 0 {
		t.Errorf("train steps not timed: %v", got)
	}

	// report.md: its table agrees with the stored results.
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := report.ParseTable(string(md))
	if len(rows) != 4 {
		t.Fatalf("%d rows:\n%s", len(rows), md)
	}
	for i, role := range []string{"baseline", "quantized", "pruned", "combined"} { // the roles' order, not the recipe's
		row := rows[i]
		if row["variant"] != role {
			t.Fatalf("row %d is %q, want %s", i, row["variant"], role)
		}
		if b, _ := strconv.ParseFloat(row["bytes"], 64); b != got[role+"_bytes"] {
			t.Errorf("%s bytes in report.md %q, stored %g", role, row["bytes"], got[role+"_bytes"])
		}
		acc, _ := strconv.ParseFloat(strings.TrimSuffix(row["accuracy"], "%"), 64)
		if math.Abs(acc-100*got[role+"_accuracy"]) > 0.005 {
			t.Errorf("%s accuracy in report.md %q, stored %g", role, row["accuracy"], got[role+"_accuracy"])
		}
		ms, _ := strconv.ParseFloat(row["runtime b64 ms"], 64)
		if math.Abs(ms-got[role+"_batch64_ms"]) > 0.0005+1e-9 {
			t.Errorf("%s latency in report.md %q, stored %g", role, row["runtime b64 ms"], got[role+"_batch64_ms"])
		}
	}
	// Parameters by hand: blobs has 2 features and 4 classes; 64-64 dense
	// is 2·64+64 + 64·64+64 + 64·4+4 = 4,612; pruned to 32-32: 2·32+32 +
	// 32·32+32 + 32·4+4 = 1,284.
	if rows[0]["params"] != "4612" || rows[2]["params"] != "1284" || rows[3]["params"] != "1284" {
		t.Errorf("params: %s, %s, %s", rows[0]["params"], rows[2]["params"], rows[3]["params"])
	}
	// FLOPs per example: 2·(2·64 + 64·64 + 64·4) = 8,960, shown as 8960.
	if rows[0]["FLOPs/ex"] != "8960" {
		t.Errorf("baseline FLOPs %q, want 8960", rows[0]["FLOPs/ex"])
	}
	if rows[0]["ONNX bytes"] == "-" || rows[2]["ONNX bytes"] != "-" {
		t.Errorf("ONNX bytes: baseline %q (exported), pruned %q (not)", rows[0]["ONNX bytes"], rows[2]["ONNX bytes"])
	}
	if rows[1]["gomlx b64 ms"] != "-" || rows[0]["gomlx b64 ms"] == "-" {
		t.Errorf("GoMLX latency: int8 %q (never on GoMLX), f32 %q", rows[1]["gomlx b64 ms"], rows[0]["gomlx b64 ms"])
	}
	// report.json and the PNGs are there; the claims in the JSON are the stored ones.
	var js struct {
		Claims []struct {
			Key string `json:"key"`
			Met bool   `json:"met"`
		} `json:"claims"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	for _, c := range js.Claims {
		if stored := got["claim_"+c.Key+"_met"] == 1; stored != c.Met {
			t.Errorf("claim %s: JSON met=%v, stored %v", c.Key, c.Met, got["claim_"+c.Key+"_met"])
		}
	}
	for _, png := range []string{"accuracy_size.png", "accuracy_latency.png"} {
		if info, err := os.Stat(filepath.Join(dir, png)); err != nil || info.Size() < 1000 {
			t.Errorf("%s: %v", png, err)
		}
	}
}

func TestReportNamesAFileNoStageWrites(t *testing.T) {
	src := strings.Replace(pipeline, "pruned: pruned}", "pruned: prunned}", 1)
	_, err := recipe.Parse("p.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), `p.yaml:14:97: models.pruned: "prunned" is not written by any stage before the report`) {
		t.Fatalf("err = %v", err)
	}
	src = strings.Replace(pipeline, "{models: {combined", "{models: {fastest", 1)
	if _, err = recipe.Parse("p.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "fastest") {
		t.Fatalf("unknown role: err = %v", err)
	}
}

// TestTrainTimeBefore: a file counts the train stages before the stage
// that wrote it, even when its modification time (a coarse clock) reads
// a little before that stage started.
func TestTrainTimeBefore(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	r := &runs.Run{
		Plan: &runs.Plan{Stages: []runs.PlannedStage{{Index: 0, HasSteps: true}, {Index: 1}, {Index: 2, HasSteps: true}, {Index: 3}}},
		Stages: []runs.StageResult{
			{Index: 0, Started: at(0), Finished: at(600)},
			{Index: 1, Started: at(600), Finished: at(611)},
			{Index: 2, Started: at(611), Finished: at(800)},
			{Index: 3, Started: at(800), Finished: at(801)},
		},
	}
	for _, c := range []struct {
		written float64
		want    float64
	}{
		{599.999, 600}, // stage 1's file, stamped 1 ms before stage 1 began: still after stage 0's 600 s
		{605, 600},
		{700, 600}, // written during stage 2 (a train stage): only stage 0 before it
		{800.5, 789},
	} {
		if got := tradeoff.TrainTimeBefore(r, at(c.written)); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("file written at %gs: %g s of training, want %g", c.written, got, c.want)
		}
	}
	if got := tradeoff.TrainTimeBefore(r, at(-1)); !math.IsNaN(got) {
		t.Errorf("before any stage: %g, want NaN", got)
	}
}

package report

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// seedLike is a trade-off shaped like the seed pipeline's, with round
// figures so every expectation below can be worked by hand.
func seedLike() *Tradeoff {
	nan := math.NaN()
	return &Tradeoff{Title: "t", Split: "test", Examples: 10000, Backend: "go", Kernels: "avx2",
		Variants: []Variant{
			{Role: "baseline", Name: "baseline", Weights: "f32", Accuracy: 0.90, Agreement: 1, Params: 100000, NonZero: 100000, Bytes: 400000, ONNXBytes: 401000,
				FLOPs: 2e6, RuntimeMs1: 0.5, RuntimeMs64: 10, BackendMs1: 5, BackendMs64: 200, TrainS: 600},
			{Role: "quantized", Name: "baseline.int8", Weights: "int8", Accuracy: 0.899, Agreement: 0.995, Params: 100000, NonZero: 99000, Bytes: 104000, ONNXBytes: nan,
				FLOPs: 2e6, RuntimeMs1: 0.3, RuntimeMs64: 5, BackendMs1: nan, BackendMs64: nan, TrainS: 600},
			{Role: "pruned", Name: "pruned", Weights: "f32", Accuracy: 0.895, Agreement: 0.96, Params: 30000, NonZero: 30000, Bytes: 121000, ONNXBytes: 121500,
				FLOPs: 0.6e6, RuntimeMs1: 0.25, RuntimeMs64: 4, BackendMs1: 3, BackendMs64: 100, TrainS: 900},
			{Role: "combined", Name: "combined", Weights: "int8", Accuracy: 0.894, Agreement: 0.955, Params: 30000, NonZero: 29500, Bytes: 32000, ONNXBytes: nan,
				FLOPs: 0.6e6, RuntimeMs1: 0.2, RuntimeMs64: 2.5, BackendMs1: nan, BackendMs64: nan, TrainS: 1000},
		},
		Training: &Training{Model: "lenet5", Backend: "go", Batch: 128, Devices: 1, F32Ms: 400, BF16Ms: 520},
	}
}

func claim(t *testing.T, tr *Tradeoff, key string) Claim {
	t.Helper()
	for _, c := range tr.Claims() {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("no %s claim", key)
	return Claim{}
}

func TestClaimsComputedFromFigures(t *testing.T) {
	tr := seedLike()
	// Size: 32,000 of 400,000 bytes is 8% left, a 92% cut, 12.5×
	// smaller; accuracy 90.0 → 89.4, 0.6 pp, inside 1 pp: met.
	size := claim(t, tr, "size")
	if !size.Met || math.Abs(size.Measured-0.92) > 1e-12 || !strings.Contains(size.Detail, "12.50× smaller") || !strings.Contains(size.Detail, "−0.60 pp") {
		t.Errorf("size claim = %+v", size)
	}
	// Training: 520 ms against 400 is 1.3× slower: −30% is a +30% change, not met.
	train := claim(t, tr, "training")
	if train.Met || math.Abs(train.Measured-(-0.3)) > 1e-12 || !strings.Contains(train.Why, "1.30× slower") || !strings.Contains(train.Why, "one device") {
		t.Errorf("training claim = %+v", train)
	}
	// Inference: 10 ms → 2.5 ms is 4×, a 75% cut, short of 80% (5×); int8
	// alone 2×, pruning alone 2.5×.
	inf := claim(t, tr, "inference")
	if inf.Met || math.Abs(inf.Measured-0.75) > 1e-12 {
		t.Errorf("inference claim = %+v", inf)
	}
	for _, want := range []string{"−80% needs 5.0×", "reached 4.00×", "quantized alone is 2.00×", "pruned alone is 2.50×"} {
		if !strings.Contains(inf.Why, want) {
			t.Errorf("inference Why %q lacks %q", inf.Why, want)
		}
	}
	if !strings.Contains(inf.Detail, "80.0× faster") { // 200 ms on GoMLX against 2.5
		t.Errorf("inference Detail %q lacks the GoMLX ratio", inf.Detail)
	}
}

func TestClaimsSayWhenMissed(t *testing.T) {
	tr := seedLike()
	tr.Variants[3].Accuracy = 0.885 // 1.5 pp below the baseline
	tr.Variants[3].Bytes = 250000   // 37.5% smaller only
	size := claim(t, tr, "size")
	if size.Met || size.Verdict() != "NOT met" {
		t.Fatalf("size claim met with 1.5 pp lost and 37.5%% saved: %+v", size)
	}
	for _, want := range []string{"shrank by 38%, not the 50% claimed", "fell 1.50 pp, more than the 1.0 pp"} {
		if !strings.Contains(size.Why, want) {
			t.Errorf("size Why %q lacks %q", size.Why, want)
		}
	}
	tr.MaxDropPP = 2 // a looser "high accuracy" accepts the drop, not the size
	if c := claim(t, tr, "size"); c.Met || strings.Contains(c.Why, "pp") {
		t.Errorf("with 2 pp allowed: %+v", c)
	}
	// Meeting the others: bf16 at 40% of the f32 step, combined 20× faster.
	tr.Training.BF16Ms = 160
	tr.Variants[3].RuntimeMs64 = 0.5
	if c := claim(t, tr, "training"); !c.Met || c.Why != "" || math.Abs(c.Measured-0.6) > 1e-12 {
		t.Errorf("training claim = %+v", c)
	}
	if c := claim(t, tr, "inference"); !c.Met || math.Abs(c.Measured-0.95) > 1e-12 {
		t.Errorf("inference claim = %+v", c)
	}
	// A precision that failed to compile: not measured, and why.
	tr.Training.BF16Ms, tr.Training.Failed = math.NaN(), "bf16 train step: expected element literal of primitive type"
	if c := claim(t, tr, "training"); c.Met || c.Verdict() != "not measured" || !strings.Contains(c.Why, "expected element literal") {
		t.Errorf("training claim with bf16 failed: %+v", c)
	}
	// Nothing to measure with: not measured, never met.
	tr.Training = nil
	tr.Variants[3].RuntimeMs64 = math.NaN()
	for _, key := range []string{"training", "inference"} {
		if c := claim(t, tr, key); c.Met || c.Verdict() != "not measured" || c.Why == "" {
			t.Errorf("%s claim without figures = %+v", key, c)
		}
	}
}

func TestParetoFrontByHand(t *testing.T) {
	vs := []Variant{
		{Name: "a", Accuracy: 0.9, Bytes: 100},
		{Name: "b", Accuracy: 0.8, Bytes: 50},
		{Name: "c", Accuracy: 0.8, Bytes: 60},        // b is as accurate and smaller
		{Name: "d", Accuracy: 0.95, Bytes: 200},      // most accurate
		{Name: "e", Accuracy: math.NaN(), Bytes: 10}, // off: no accuracy
		{Name: "f", Accuracy: 0.85, Bytes: 100},      // a is more accurate at the same size
	}
	got := ParetoFront(vs, func(v Variant) float64 { return v.Bytes })
	want := []bool{true, true, false, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s on front = %v, want %v", vs[i].Name, got[i], want[i])
		}
	}
}

// TestFilesAgreeWithFigures writes a report and reads its Markdown table
// and JSON back as text, checking every cell against the figures.
func TestFilesAgreeWithFigures(t *testing.T) {
	tr := seedLike()
	tr.Variants[1].Accuracy = math.NaN() // NaN flows through as data
	dir := t.TempDir()
	if err := WriteFiles(dir, tr); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	table := ParseTable(string(md))
	if len(table) != 4 {
		t.Fatalf("%d rows, want 4:\n%s", len(table), md)
	}
	// By hand: the combined row.
	comb := table[3]
	for col, want := range map[string]string{"variant": "combined", "accuracy": "89.40%", "Δ pp": "-0.60", "agrees": "95.50%", "bytes": "32000",
		"size ×": "12.50", "runtime b64 ms": "2.500", "speed ×": "4.00", "samples/s b64": "25600", "gomlx b64 ms": "-", "Pareto": "size, latency"} {
		if comb[col] != want {
			t.Errorf("combined %s = %q, want %q", col, comb[col], want)
		}
	}
	if table[1]["accuracy"] != "NaN" || table[1]["Pareto"] != "-" {
		t.Errorf("quantized row with NaN accuracy: %v", table[1])
	}
	// The pruned model: 89.5% at 121 kB is beaten by nothing smaller and
	// more accurate (combined is smaller but less accurate): on the front.
	if table[2]["Pareto"] != "size, latency" {
		t.Errorf("pruned Pareto = %q", table[2]["Pareto"])
	}
	for _, c := range []string{"**Model size −50% with high accuracy (L1-norm pruning 50% + int8) — met.**",
		"**Training time −50% (multi-GPU mixed-precision training) — NOT met.**",
		"**Inference time −80% (int8 + ONNX inference) — NOT met.**"} {
		if !strings.Contains(string(md), c) {
			t.Errorf("report.md lacks %q", c)
		}
	}
	// The JSON holds the same figures; NaN as the string "NaN".
	raw, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Variants []struct {
			Name    string         `json:"name"`
			Figures map[string]any `json:"figures"`
		} `json:"variants"`
		Claims []struct {
			Key      string   `json:"key"`
			Met      bool     `json:"met"`
			Measured *float64 `json:"measured"`
		} `json:"claims"`
	}
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	if generic.Variants[3].Figures["bytes"] != 32000.0 || generic.Variants[1].Figures["accuracy"] != "NaN" {
		t.Errorf("JSON figures: %v / %v", generic.Variants[3].Figures, generic.Variants[1].Figures)
	}
	if len(generic.Claims) != 3 || !generic.Claims[0].Met || generic.Claims[1].Met || *generic.Claims[2].Measured != 0.75 {
		t.Errorf("JSON claims: %+v", generic.Claims)
	}
	back, err := ReadTradeoff(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Variants[3].RuntimeMs64 != 2.5 || !math.IsNaN(back.Variants[1].Accuracy) || !math.IsNaN(back.Variants[3].BackendMs64) || back.Training.BF16Ms != 520 {
		t.Errorf("read back: %+v", back.Variants)
	}
	for _, name := range []string{SizePlotFile, LatencyPlotFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 300 {
			t.Errorf("%s is %v", name, b)
		}
		if !strings.Contains(string(md), "]("+name+")") {
			t.Errorf("report.md does not show %s", name)
		}
	}
	// The NaN-accuracy variant is left out of the plots and said to be.
	pts := PlotPoints(tr, SizeAxis)
	if pts[1].Included || !pts[3].Included || pts[3].X != 32 || pts[3].Y != 89.4 {
		t.Errorf("plot points: %+v", pts)
	}
}

func TestRoundTicks(t *testing.T) {
	// Accuracies 90.41–90.594 (%): a step of 0.05, two decimals, every
	// tick's label its value.
	ticks := roundTicks{}.Ticks(90.41, 90.594)
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label)
		if got, _ := strconv.ParseFloat(tk.Label, 64); math.Abs(got-tk.Value) > 1e-9 {
			t.Errorf("tick at %v labelled %q", tk.Value, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "90.45 90.50 90.55" {
		t.Errorf("ticks %v", labels)
	}
	// 0–1000 kB: steps of 200.
	var got []string
	for _, tk := range (roundTicks{}).Ticks(0, 1000) {
		got = append(got, tk.Label)
	}
	if strings.Join(got, " ") != "0 200 400 600 800 1000" {
		t.Errorf("ticks %v", got)
	}
}

// TestPeerInFiles: ONNX Runtime's figures appear in report.md (a table,
// with the ratio worked by hand), in the text and in report.json, and
// read back; a peer that did not run says why instead.
func TestPeerInFiles(t *testing.T) {
	tr := seedLike()
	tr.Peer = &Peer{Engine: "onnxruntime 1.30.0", Rows: []PeerRow{
		{Variant: "baseline", Weights: "f32", Batch: 64, RuntimeMs: 1.5, PeerMs: 3},
		{Variant: "combined", Weights: "int8", Batch: 64, RuntimeMs: 0.25, PeerMs: 2},
	}}
	dir := t.TempDir()
	if err := WriteFiles(dir, tr); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Lathe's runtime and ONNX Runtime", "| baseline | f32 | 64 | 1.500 | 3.000 | 0.50 |", "| combined | int8 | 64 | 0.250 | 2.000 | 0.12 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	var text bytes.Buffer
	if err := WriteText(&text, tr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "combined (int8), batch 64: Lathe's runtime 0.250 ms, onnxruntime 1.30.0 2.000 ms (Lathe ÷ peer 0.12)") {
		t.Errorf("text lacks the combined row:\n%s", text.String())
	}
	back, err := ReadTradeoff(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Peer == nil || len(back.Peer.Rows) != 2 || back.Peer.Rows[1].PeerMs != 2 || back.Peer.Engine != "onnxruntime 1.30.0" {
		t.Errorf("read back %+v", back.Peer)
	}

	tr.Peer = &Peer{Missing: "Node.js (node) is not on PATH"}
	text.Reset()
	if err := WriteText(&text, tr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "ONNX Runtime was not timed: Node.js (node) is not on PATH") {
		t.Errorf("text does not say why:\n%s", text.String())
	}
}

package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/lathe-ml/lathe/internal/atomicfile"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// This file is the trade-off report's data: model variants measured side
// by side, as the `report` stage (package tradeoff) records them in a
// run's folder. Everything here is plain data: the dashboard reads it
// without linking GoMLX.

// Roles a variant plays in a trade-off, in the order tables list them.
var Roles = []string{"baseline", "quantized", "pruned", "distilled", "combined"}

// Files a report writes into its run's folder.
const (
	JSONFile        = "report.json"
	MarkdownFile    = "report.md"
	SizePlotFile    = "accuracy_size.png"
	LatencyPlotFile = "accuracy_latency.png"
)

// Variant is one model of a trade-off, measured: a model file a run
// wrote. Figures that were not measured are NaN.
type Variant struct {
	// Role is one of Roles, or "" for a model the report shows without one.
	Role string
	// Name is the model file's base name in its run's folder.
	Name string
	Run  string
	// Weights is what the file stores: f32, bf16 or int8.
	Weights string
	// Accuracy on the report's split, computed by the runtime from the file.
	Accuracy float64
	// Agreement is the fraction of the split's examples on which the
	// variant picks the baseline's class: how often deploying it changes
	// an answer, right or wrong.
	Agreement float64
	// Params counts weights and biases; NonZero those not zero.
	Params, NonZero float64
	// Bytes is the model file's size on disk; ONNXBytes its ONNX twin's
	// (NaN when the run wrote none).
	Bytes, ONNXBytes float64
	// FLOPs per example: two per multiply-add of the dense and
	// convolution layers.
	FLOPs float64
	// RuntimeMs1 and RuntimeMs64 are the median latency in Lathe's runtime
	// at batch 1 and 64; BackendMs1 and BackendMs64 the same file as a
	// GoMLX graph on the report's backend (NaN for int8 files: GoMLX's
	// pure-Go backend cannot multiply integers).
	RuntimeMs1, RuntimeMs64, BackendMs1, BackendMs64 float64
	// TrainS is the training time behind the file: every train stage of
	// its run that finished before the file was written.
	TrainS float64
}

// Label names the variant in tables and plots: its role, else its name.
func (v Variant) Label() string {
	if v.Role != "" {
		return v.Role
	}
	return v.Name
}

// SamplesPerS is the runtime's throughput at batch 64.
func (v Variant) SamplesPerS() float64 { return 64 / (v.RuntimeMs64 / 1000) }

// Training compares a train step in float32 and in bfloat16 (the seed's
// mixed precision), measured in one process on the report's backend.
type Training struct {
	Model   string
	Backend string
	Batch   int
	// Devices is how many devices the backend has; the steps ran on one.
	Devices int
	// F32Ms and BF16Ms are median train-step times.
	F32Ms, BF16Ms float64
	// Failed says why a precision could not be timed (NaN), if one could not.
	Failed string
}

// Tradeoff is a trade-off report: the variants, how they were measured,
// and the train-step comparison behind the training claim.
type Tradeoff struct {
	Title string
	// Split is the data split accuracies are measured on (the test split
	// nobody tuned on), Examples how many examples it has.
	Split    string
	Examples int
	// Classes is how many classes the models choose between (0: unknown,
	// as in reports written before it was recorded). The size claim needs
	// it: beside a baseline no better than chance, a model that keeps the
	// baseline's accuracy keeps nothing.
	Classes int
	// Backend is the GoMLX backend the Backend* latencies ran on, Kernels
	// the runtime's kernels (f32 and int8).
	Backend, Kernels string
	Variants         []Variant
	Training         *Training
	// Peer is another runtime (ONNX Runtime) timed on the baseline's and
	// the combined model's ONNX files; nil when the report did not ask.
	Peer *Peer
	// MaxDropPP is the accuracy (percentage points) the size claim's
	// "high accuracy" allows the combined model to lose.
	MaxDropPP float64
}

// Peer is another runtime timed on the same models (ONNX Runtime on their
// ONNX form: float, or QDQ for int8) beside Lathe's runtime timed the same
// way — each model on its own, back-to-back calls, p50 — rather than
// interleaved as the table's latencies are.
type Peer struct {
	// Engine names the peer and its version; Missing says why it was not
	// timed (not installed, a failure), and then Rows is empty.
	Engine  string    `json:"engine,omitempty"`
	Missing string    `json:"missing,omitempty"`
	Rows    []PeerRow `json:"rows,omitempty"`
	// Accuracy is each timed model's test accuracy in the peer, beside
	// Lathe's runtime's.
	Accuracy []PeerAccuracy `json:"accuracy,omitempty"`
}

// PeerAccuracy is one model's accuracy on the report's split in both
// runtimes, and how often they pick the same class.
type PeerAccuracy struct {
	Variant   string  `json:"variant"`
	Weights   string  `json:"weights"`
	Runtime   float64 `json:"runtime"`
	Peer      float64 `json:"peer"`
	Agreement float64 `json:"agreement"`
}

// PeerRow is one model at one batch size in both runtimes, in ms.
type PeerRow struct {
	Variant   string  `json:"variant"`
	Weights   string  `json:"weights"`
	Batch     int     `json:"batch"`
	RuntimeMs float64 `json:"runtime_ms"`
	PeerMs    float64 `json:"peer_ms"`
}

// Lines describes the comparison for a reader, a line per row (or why
// there is none); nil without a peer.
func (p *Peer) Lines() []string {
	if p == nil {
		return nil
	}
	if p.Missing != "" {
		return []string{"ONNX Runtime was not timed: " + p.Missing}
	}
	var out []string
	for _, r := range p.Rows {
		out = append(out, fmt.Sprintf("%s (%s), batch %d: Lathe's runtime %.3f ms, %s %.3f ms (Lathe ÷ peer %.2f)",
			r.Variant, r.Weights, r.Batch, r.RuntimeMs, p.Engine, r.PeerMs, r.RuntimeMs/r.PeerMs))
	}
	for _, a := range p.Accuracy {
		out = append(out, fmt.Sprintf("%s (%s) in %s: accuracy %.2f%% (Lathe's runtime %.2f%%), the same class for %.2f%% of examples",
			a.Variant, a.Weights, p.Engine, 100*a.Peer, 100*a.Runtime, 100*a.Agreement))
	}
	return out
}

// DefaultMaxDropPP is what "high accuracy" allows when a report says
// nothing: one percentage point of test accuracy.
const DefaultMaxDropPP = 1.0

// Baseline is the variant the others are compared with: the one in the
// baseline role, else the first.
func (t *Tradeoff) Baseline() (Variant, bool) { return t.byRole("baseline", 0) }

// Combined is the variant the claims are judged on: the one in the
// combined role, else the last.
func (t *Tradeoff) Combined() (Variant, bool) { return t.byRole("combined", len(t.Variants)-1) }

// Role returns the variant in role, if the report has one.
func (t *Tradeoff) Role(role string) (Variant, bool) { return t.byRole(role, -1) }

func (t *Tradeoff) byRole(role string, fallback int) (Variant, bool) {
	for _, v := range t.Variants {
		if v.Role == role {
			return v, true
		}
	}
	if fallback >= 0 && fallback < len(t.Variants) {
		return t.Variants[fallback], true
	}
	return Variant{}, false
}

// variantJSON is a Variant on disk: its figures as runs.Metrics, so NaN
// and ±Inf survive JSON (as "NaN", "+Inf", "-Inf").
type variantJSON struct {
	Role    string       `json:"role,omitempty"`
	Name    string       `json:"name"`
	Run     string       `json:"run,omitempty"`
	Weights string       `json:"weights"`
	Figures runs.Metrics `json:"figures"`
}

// figures maps a variant's figures to their JSON names; one table, so
// writing and reading cannot disagree.
func (v *Variant) figures() map[string]*float64 {
	return map[string]*float64{
		"accuracy": &v.Accuracy, "agreement": &v.Agreement, "params": &v.Params, "nonzero": &v.NonZero, "bytes": &v.Bytes,
		"onnx_bytes": &v.ONNXBytes, "flops": &v.FLOPs, "runtime_ms_1": &v.RuntimeMs1,
		"runtime_ms_64": &v.RuntimeMs64, "backend_ms_1": &v.BackendMs1, "backend_ms_64": &v.BackendMs64,
		"train_s": &v.TrainS,
	}
}

// MarshalJSON implements json.Marshaler.
func (v Variant) MarshalJSON() ([]byte, error) {
	out := variantJSON{Role: v.Role, Name: v.Name, Run: v.Run, Weights: v.Weights, Figures: runs.Metrics{}}
	for k, p := range v.figures() {
		out.Figures[k] = *p
	}
	return json.Marshal(out)
}

// UnmarshalJSON implements json.Unmarshaler; a figure the file lacks is NaN.
func (v *Variant) UnmarshalJSON(data []byte) error {
	var in variantJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*v = Variant{Role: in.Role, Name: in.Name, Run: in.Run, Weights: in.Weights}
	for k, p := range v.figures() {
		*p = math.NaN()
		if x, ok := in.Figures[k]; ok {
			*p = x
		}
	}
	return nil
}

// trainingJSON keeps Training's times NaN-safe, as variantJSON does.
type trainingJSON struct {
	Model   string       `json:"model"`
	Backend string       `json:"backend"`
	Batch   int          `json:"batch"`
	Devices int          `json:"devices"`
	Times   runs.Metrics `json:"ms_per_step"`
	Failed  string       `json:"failed,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (tr Training) MarshalJSON() ([]byte, error) {
	return json.Marshal(trainingJSON{tr.Model, tr.Backend, tr.Batch, tr.Devices, runs.Metrics{"f32": tr.F32Ms, "bf16": tr.BF16Ms}, tr.Failed})
}

// UnmarshalJSON implements json.Unmarshaler.
func (tr *Training) UnmarshalJSON(data []byte) error {
	var in trainingJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*tr = Training{Model: in.Model, Backend: in.Backend, Batch: in.Batch, Devices: in.Devices, F32Ms: math.NaN(), BF16Ms: math.NaN(), Failed: in.Failed}
	if x, ok := in.Times["f32"]; ok {
		tr.F32Ms = x
	}
	if x, ok := in.Times["bf16"]; ok {
		tr.BF16Ms = x
	}
	return nil
}

// tradeoffJSON is the file's shape; the claims are written for readers
// that do not run Go (they are recomputed from the figures on reading).
type tradeoffJSON struct {
	Title     string    `json:"title"`
	Split     string    `json:"split"`
	Examples  int       `json:"examples"`
	Classes   int       `json:"classes,omitempty"`
	Backend   string    `json:"backend"`
	Kernels   string    `json:"kernels"`
	MaxDropPP float64   `json:"max_drop_pp"`
	Variants  []Variant `json:"variants"`
	Training  *Training `json:"training,omitempty"`
	Peer      *Peer     `json:"peer,omitempty"`
	Claims    []Claim   `json:"claims"`
}

// MarshalJSON implements json.Marshaler.
func (t Tradeoff) MarshalJSON() ([]byte, error) {
	return json.Marshal(tradeoffJSON{t.Title, t.Split, t.Examples, t.Classes, t.Backend, t.Kernels, t.MaxDropPP, t.Variants, t.Training, t.Peer, t.Claims()})
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Tradeoff) UnmarshalJSON(data []byte) error {
	var in tradeoffJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*t = Tradeoff{Title: in.Title, Split: in.Split, Examples: in.Examples, Classes: in.Classes, Backend: in.Backend, Kernels: in.Kernels,
		MaxDropPP: in.MaxDropPP, Variants: in.Variants, Training: in.Training, Peer: in.Peer}
	return nil
}

// ReadTradeoff reads the report a run's folder holds (report.json).
func ReadTradeoff(runDir string) (*Tradeoff, error) {
	path := filepath.Join(runDir, JSONFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Tradeoff
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &t, nil
}

// WriteFiles writes the report into dir: report.json (the figures),
// report.md (table and claims) and the two plots. Each file is written
// whole or not at all (the plots first, so the Markdown never names a
// missing picture).
func WriteFiles(dir string, t *Tradeoff) error {
	for _, p := range []struct {
		name string
		axis Axis
	}{{SizePlotFile, SizeAxis}, {LatencyPlotFile, LatencyAxis}} {
		png, err := TradeoffPNG(t, p.axis, 7, 4.5)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteBytes(filepath.Join(dir, p.name), png); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, JSONFile), append(data, '\n')); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, MarkdownFile), func(w io.Writer) error { return WriteMarkdown(w, t) })
}

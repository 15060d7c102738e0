package tui

import (
	"math"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// The quantized fixture: what a ptq quantize stage records for LeNet-5,
// written out by hand, and the rows the panel must show for them, also
// by hand (SQNRs to a tenth of a dB, ranges and scales in three digits).
const (
	idInt8Channel = "20261126-091700-qqqq" // weights per output channel
	idInt8Tensor  = "20261126-091600-tttt" // one weight scale per layer
)

// int8ChannelResults: 247856 bytes / 65224 bytes = 3.8000736; a 0.04 pp
// drop from 98.91% to 98.87%; 0.8123 ms / 0.3071 ms = 2.6450667.
var int8ChannelResults = map[string]float64{
	"f32_bytes": 247856, "int8_bytes": 65224, "size_ratio": 3.8000736,
	"f32_test_accuracy": 0.9891, "int8_test_accuracy": 0.9887, "int8_accuracy_drop_pp": 0.04,
	"int8_agreement": 0.9993, "int8_fakequant_agreement": 1,
	"f32_batch64_ms": 0.8123, "int8_batch64_ms": 0.3071, "int8_speedup": 2.6450667, "qat_ranges": 0,
	"weight_sqnr_db/conv1": 41.27, "input_sqnr_db/conv1": 38.04, "input_min/conv1": -0.4242, "input_max/conv1": 2.8215, "input_scale/conv1": 0.012728,
	"weight_sqnr_db/conv2": 39.88, "input_sqnr_db/conv2": 31.52, "input_min/conv2": 0, "input_max/conv2": 5.914, "input_scale/conv2": 0.023192,
	"weight_sqnr_db/fc1": 40.66, "input_sqnr_db/fc1": 29.31, "input_min/fc1": 0, "input_max/fc1": 9.377, "input_scale/fc1": 0.036773,
	"weight_sqnr_db/fc2": 41.02, "input_sqnr_db/fc2": 33.76, "input_min/fc2": 0, "input_max/fc2": 7.402, "input_scale/fc2": 0.029027,
	"weight_sqnr_db/logits": 42.19, "input_sqnr_db/logits": 34.08, "input_min/logits": 0, "input_max/logits": 6.218, "input_scale/logits": 0.024384,
}

// int8ChannelLines are the panel's lines for int8ChannelResults: names
// padded to "logits", each column right-aligned under its title.
var int8ChannelLines = []string{
	"quantization int8 · 5 layers",
	"size 247.9k → 65.2k bytes (3.80×)",
	"test acc 98.91% → 98.87% (-0.04 pp)",
	"agree f32 99.93% · fake-quant 100.00%",
	"batch 64 0.8123ms → 0.3071ms (2.65×)",
	"layer  W dB IN dB in min in max  scale",
	"conv1  41.3  38.0 -0.424   2.82 0.0127",
	"conv2  39.9  31.5      0   5.91 0.0232",
	"fc1    40.7  29.3      0   9.38 0.0368",
	"fc2    41.0  33.8      0    7.4  0.029",
	"logits 42.2  34.1      0   6.22 0.0244",
}

// int8TensorResults: per-tensor weight scales cost weight SQNR and
// accuracy for a smaller file (247856 / 64904 = 3.818809) and a faster
// model (0.8140 ms / 0.2987 ms = 2.7251423); the inputs are observed
// alike.
func int8TensorResults() map[string]float64 {
	m := map[string]float64{}
	for k, v := range int8ChannelResults {
		m[k] = v
	}
	for k, v := range map[string]float64{"int8_bytes": 64904, "size_ratio": 3.818809,
		"int8_test_accuracy": 0.9862, "int8_accuracy_drop_pp": 0.29, "int8_agreement": 0.9961, "int8_fakequant_agreement": 0.9998,
		"f32_batch64_ms": 0.8140, "int8_batch64_ms": 0.2987, "int8_speedup": 2.7251423,
		"weight_sqnr_db/conv1": 35.12, "weight_sqnr_db/conv2": 33.47, "weight_sqnr_db/fc1": 30.21,
		"weight_sqnr_db/fc2": 32.84, "weight_sqnr_db/logits": 36.93} {
		m[k] = v
	}
	return m
}

func int8Recipe(variant, weights string) string {
	return "name: mnist-int8\nseed: 42\nbackend: auto\ndata: {dataset: mnist, batch_size: 128, validation: 5000}\n" +
		"model: {arch: lenet5}\nstages:\n  - train: {epochs: 2}\n" +
		"  - quantize: {mode: ptq, observer: minmax, weights: " + weights + "}\n" +
		"  - evaluate: {split: test}\nvariants:\n  - {name: " + variant + "}\n"
}

// quantizedRun records what a train → quantize → evaluate run writes:
// training curves, the quantize stage's results (which the runner also
// copies into the final metrics), and the float model's test figures.
func quantizedRun(id, variant, weights string, start time.Time, results map[string]float64) fixtureRun {
	const stepTime = 100 * time.Millisecond
	at := func(step int) time.Time { return start.Add(2*time.Second + time.Duration(step)*stepTime) }
	pts := trainPoints(0, 1, 858, 429, 10, at(0), stepTime, 1)
	pts = append(pts, runs.Point{Stage: 2, Step: 858, Name: "test_accuracy", Value: 0.9891, Time: at(870)},
		runs.Point{Stage: 2, Step: 858, Name: "test_loss", Value: 0.036, Time: at(870)})
	stage := map[string]float64{"wall_s": 4.2}
	final := map[string]float64{"test_accuracy": 0.9891, "test_loss": 0.036, "wall_s": 92, "samples_per_s": 1900}
	for k, v := range results {
		stage[k], final[k] = v, v
	}
	pl := &runs.Plan{Stages: []runs.PlannedStage{{Index: 0, Kind: "train", HasSteps: true, Steps: 858}, {Index: 1, Kind: "quantize"},
		{Index: 2, Kind: "evaluate"}}, Splits: map[string]int{"train": 55000, "validation": 5000, "test": 10000}}
	return fixtureRun{
		run: runs.Run{ID: id, Name: "mnist-int8/" + variant, RecipePath: "recipes/mnist-int8.yaml",
			Recipe: int8Recipe(variant, weights), Backend: "go", Started: start,
			Params: map[string]string{"name": "mnist-int8", "seed": "42", "group": "20261126-091600-0000", "variant": variant,
				"stages.1.quantize.weights": weights}},
		plan: pl,
		stages: []fixtureStage{
			{kind: "train", planned: 858, started: at(0), ended: at(858), status: runs.Finished,
				metrics: map[string]float64{"steps": 858, "validation_accuracy": 0.9874}},
			{kind: "quantize", started: at(858), ended: at(860), status: runs.Finished, metrics: stage},
			{kind: "evaluate", started: at(860), ended: at(870), status: runs.Finished,
				metrics: map[string]float64{"test_accuracy": 0.9891, "test_loss": 0.036}},
		},
		finished: at(880), status: runs.Finished, final: final, points: pts,
	}
}

// quantizedRuns are mnist-int8's two variants, per-channel the newer.
func quantizedRuns(testing.TB) []fixtureRun {
	return []fixtureRun{
		quantizedRun(idInt8Tensor, "per-tensor", "per_tensor", t0.Add(16*time.Minute), int8TensorResults()),
		quantizedRun(idInt8Channel, "per-channel", "per_channel", t0.Add(17*time.Minute), int8ChannelResults),
	}
}

func newQuantizedStore(t testing.TB) string {
	dir := newFixtureStore(t)
	writeFixtureRuns(t, dir, quantizedRuns(t))
	return dir
}

// checkFits checks that out is exactly w×h.
func checkFits(t *testing.T, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Errorf("%dx%d: %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			t.Errorf("%dx%d: line %d is %d wide: %q", w, h, i, ansi.StringWidth(l), l)
		}
	}
}

// TestQuantizationPanelShowsEachLayer: a quantized run's view has a
// quantization panel with the trade-off and a row per layer; a run that
// converted nothing has none.
func TestQuantizationPanelShowsEachLayer(t *testing.T) {
	dir := newQuantizedStore(t)
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		m := New(fixtureOptions(dir))
		m, _ = update(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = pollOnce(t, m)
		m = openRun(t, m, idInt8Channel)
		// Page to the panel where not every chart fits.
		for i := 0; i < 6 && !strings.Contains(view(m, dir), "quantization"); i++ {
			m = press(t, m, "right")
		}
		out := view(m, dir)
		mustContain(t, out, append([]string{"mnist-int8/per-channel"}, int8ChannelLines...)...)
		checkFits(t, out, size[0], size[1])
	}

	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = pollOnce(t, m)
	m = openRun(t, m, idQuickstart)
	out := view(m, dir)
	for _, no := range []string{"quantization", "int8", "W dB"} {
		if strings.Contains(out, no) {
			t.Errorf("a run without quantization shows %q:\n%s", no, out)
		}
	}
}

// TestQuantizationPanelLayout: the panel draws exactly w×h; columns give
// way from the right (the range's ends together), long names keep their
// last part, summary lines give way to the table, and layers that do not
// fit are counted.
func TestQuantizationPanelLayout(t *testing.T) {
	st := newStyles()
	r := &runs.Run{Stages: []runs.StageResult{{Index: 1, Kind: "quantize", Status: runs.Finished, Metrics: int8ChannelResults}}}
	draw := func(w, h int) []string {
		t.Helper()
		out := quantization(t, r, st, w, h)
		checkFits(t, out, w, h)
		lines := strings.Split(out, "\n")
		for i := range lines {
			lines[i] = strings.TrimRight(lines[i], " ")
		}
		return lines
	}
	if got := draw(39, 14); strings.Join(got[:11], "\n") != strings.Join(int8ChannelLines, "\n") {
		t.Errorf("39×14:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(int8ChannelLines, "\n"))
	}
	// 31 cells: the scale gives way; 30: the range too, both ends at once.
	for _, c := range []struct {
		w           int
		header, fc1 string
	}{
		{31, "layer  W dB IN dB in min in max", "fc1    40.7  29.3      0   9.38"},
		{30, "layer  W dB IN dB", "fc1    40.7  29.3"},
	} {
		got := draw(c.w, 14)
		if got[5] != c.header || got[8] != c.fc1 {
			t.Errorf("%d wide: %q, %q; want %q, %q", c.w, got[5], got[8], c.header, c.fc1)
		}
	}
	// 9 lines: the title, the summary, the header, two layers and a count.
	got := draw(39, 9)
	want := append(append([]string{}, int8ChannelLines[:8]...), "+3 more layers")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("39×9:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// 3 lines: the title, the table's header and the layers counted.
	if got := draw(39, 3); got[1] != int8ChannelLines[5] || got[2] != "+5 more layers" {
		t.Errorf("39×3: %q", got)
	}
	for _, size := range [][2]int{{12, 2}, {5, 1}, {1, 1}} {
		draw(size[0], size[1])
	}

	// A ResNet's names: the distinguishing end stays, and the columns.
	long := &runs.Run{Final: map[string]float64{"weight_sqnr_db/stage2/block1/shortcut/conv": 40, "input_sqnr_db/stage2/block1/shortcut/conv": 30,
		"input_min/stage2/block1/shortcut/conv": 0, "input_max/stage2/block1/shortcut/conv": 4, "input_scale/stage2/block1/shortcut/conv": 0.0157}}
	// Names shorten to ten cells before a column gives way.
	for _, c := range []struct {
		w   int
		row string
	}{
		{45, "stage2/…/conv 40.0  30.0      0      4 0.0157"},
		{39, "stag…/conv 40.0  30.0      0      4"},
	} {
		out := quantization(t, long, st, c.w, 5)
		checkFits(t, out, c.w, 5)
		if l := strings.TrimRight(lineWith(out, "/conv"), " "); l != c.row {
			t.Errorf("%d wide, long name: %q, want %q", c.w, l, c.row)
		}
		if l := lineWith(out, "quantization"); !strings.HasPrefix(l, "quantization int8 · 1 layer ") {
			t.Errorf("title from the final metrics: %q", l)
		}
	}
}

// TestQuantizationWithNaNFitsAndSaysSo: non-finite results are written as
// the store holds them (NaN, +Inf, -Inf), and every view still fits.
func TestQuantizationWithNaNFitsAndSaysSo(t *testing.T) {
	st := newStyles()
	results := map[string]float64{"f32_bytes": 1000, "int8_bytes": 0, "size_ratio": math.Inf(1),
		"f32_test_accuracy": math.NaN(), "int8_test_accuracy": 0.5, "int8_accuracy_drop_pp": math.NaN(),
		"int8_agreement": math.NaN(), "f32_batch64_ms": 1, "int8_batch64_ms": 0, "int8_speedup": math.Inf(1),
		"weight_sqnr_db/fc1": math.NaN(), "input_sqnr_db/fc1": math.Inf(1), "input_min/fc1": math.Inf(-1),
		"input_max/fc1": math.Inf(1), "input_scale/fc1": math.NaN(),
		"weight_sqnr_db/fc2": math.Inf(-1), "input_sqnr_db/fc2": 12.34}
	r := &runs.Run{Stages: []runs.StageResult{{Index: 0, Kind: "quantize", Status: runs.Finished, Metrics: results}}}
	out := quantization(t, r, st, 39, 12)
	checkFits(t, out, 39, 12)
	for _, want := range []string{
		"size 1000 → 0 bytes (+Inf)",
		"test acc NaN → 50.00% (NaN pp)",
		"agree f32 NaN · fake-quant -",
		"batch 64 1.000ms → 0ms (+Inf)",
		"layer W dB IN dB in min in max scale",
		"fc1    NaN  +Inf   -Inf   +Inf   NaN",
		"fc2   -Inf  12.3      -      -     -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}

	// Through the whole program, at every size.
	dir := newFixtureStore(t)
	w, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	nr := &runs.Run{ID: "20261126-091800-nnnq", Name: "nan-int8", Started: fixtureNow.Add(-time.Minute), Backend: "go"}
	if err := w.Create(nr); err != nil {
		t.Fatal(err)
	}
	if err := w.StartStage(nr.ID, 0, "quantize", 0); err != nil {
		t.Fatal(err)
	}
	if err := w.FinishStage(nr.ID, 0, runs.Finished, results); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(nr.ID, runs.Finished, "", results); err != nil {
		t.Fatal(err)
	}
	w.Close()
	for _, size := range [][2]int{{120, 40}, {80, 24}, {60, 16}, {40, 10}, {20, 6}} {
		m := New(fixtureOptions(dir))
		m, _ = update(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m = pollOnce(t, m)
		m = openRun(t, m, nr.ID)
		out := view(m, dir)
		checkFits(t, out, size[0], size[1])
		if size[0] == 120 {
			mustContain(t, out, "quantization int8 · 2 layers", "(+Inf)", "NaN  +Inf   -Inf   +Inf   NaN")
		}
	}
}

// compareCell is the cell of the compare table in the row labelled label,
// under column: cells are right-aligned under their titles, so it is the
// field that ends where the title ends.
func compareCell(t *testing.T, out, label, column string) string {
	t.Helper()
	h := lineWith(out, "STATUS")
	i := strings.Index(h, " "+column)
	if i < 0 {
		t.Fatalf("no column %s in %q", column, h)
	}
	end := ansi.StringWidth(h[:i+1+len(column)])
	runes := []rune(lineWith(out, label+" "))
	if end > len(runes) {
		return ""
	}
	f := strings.Fields(string(runes[:end]))
	return f[len(f)-1]
}

// TestCompareShowsInt8Columns: INT8 BYTES, SIZE × and INT8 MS appear when
// a compared run quantized, the smaller, more shrunk and faster starred,
// "-" for runs that did not; a running run's quantize stage counts once
// it ended; runs without quantization compare as before.
func TestCompareShowsInt8Columns(t *testing.T) {
	dir := newQuantizedStore(t)
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	m = pollOnce(t, m)
	compare := func(ids ...string) string {
		t.Helper()
		m.compare = compareView{ids: ids}
		m.view = viewCompare
		m = pollOnce(t, m)
		return view(m, dir)
	}
	out := compare(idInt8Channel, idInt8Tensor)
	for _, c := range []struct{ label, col, want string }{
		{"per-channel", "INT8 BYTES", "65.2k"}, {"per-channel", "SIZE ×", "3.80×"}, {"per-channel", "INT8 MS", "0.3071ms"},
		{"per-tensor", "INT8 BYTES", "64.9k*"}, {"per-tensor", "SIZE ×", "3.82×*"}, {"per-tensor", "INT8 MS", "0.2987ms*"},
	} {
		if got := compareCell(t, out, c.label, c.col); got != c.want {
			t.Errorf("%s %s: %q, want %q\n%s", c.label, c.col, got, c.want, out)
		}
	}
	// Not twice: the raw final metrics the columns show are not repeated.
	for _, raw := range []string{"int8_bytes", "size_ratio", "int8_batch64_ms"} {
		if strings.Contains(lineWith(out, "STATUS"), raw) {
			t.Errorf("column %q shown beside its summary column:\n%s", raw, out)
		}
	}

	out = compare(idInt8Channel, idQuickstart)
	for _, col := range []string{"INT8 BYTES", "SIZE ×", "INT8 MS"} {
		if got := compareCell(t, out, "quickstart", col); got != "-" {
			t.Errorf("quickstart %s %q, want -\n%s", col, got, out)
		}
	}

	out = compare(idAdam, idSGD)
	for _, no := range []string{"INT8", "SIZE ×"} {
		if strings.Contains(out, no) {
			t.Errorf("runs without quantization have a %s column:\n%s", no, out)
		}
	}

	// A running run has no final metrics yet: its quantize stage's count.
	w, err := runs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.StartStage(idRunning, 1, "quantize", 0); err != nil {
		t.Fatal(err)
	}
	if err := w.FinishStage(idRunning, 1, runs.Finished, map[string]float64{"int8_bytes": 12345, "size_ratio": math.NaN(),
		"int8_batch64_ms": 0.05}); err != nil {
		t.Fatal(err)
	}
	out = compare(idRunning, idInt8Channel)
	for _, c := range []struct{ col, want string }{{"INT8 BYTES", "12.3k*"}, {"SIZE ×", "NaN"}, {"INT8 MS", "0.0500ms*"}} {
		if got := compareCell(t, out, "spirals", c.col); got != c.want {
			t.Errorf("running %s %q, want %q\n%s", c.col, got, c.want, out)
		}
	}
}

// TestQuantizationPanelPlace: a quantized run's panel comes after the
// training charts and sparsity's, before the other techniques' series;
// a run that converted nothing has none.
func TestQuantizationPanelPlace(t *testing.T) {
	names := []string{"loss_scale", "samples_per_s", "sparsity", "train_loss"}
	var got []string
	for _, p := range panelsFor(names, converted) {
		got = append(got, p.title)
	}
	if want := "loss|throughput (samples/s)|sparsity|quantization|loss scale"; strings.Join(got, "|") != want {
		t.Errorf("panels %q, want %q", strings.Join(got, "|"), want)
	}
	for _, p := range panelsFor(names, nil) {
		if p.decl != nil && p.decl.Table != nil {
			t.Errorf("a quantization panel without quantization: %v", p)
		}
	}
	if quantResults(t, &runs.Run{Stages: []runs.StageResult{{Kind: "quantize", Metrics: map[string]float64{"qat_freeze_after": 0}}},
		Final: map[string]float64{"test_accuracy": 0.9}}) != nil {
		t.Error("a QAT stage's setting taken for a conversion's results")
	}
}

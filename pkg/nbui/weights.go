package nbui

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/lathe-ml/lathe/pkg/runs"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
)

// LayerWeights are one layer's weights as a run's newest checkpoint holds
// them.
type LayerWeights struct {
	Run, RunID string
	Layer      string // as given, e.g. fc1
	Variable   string // the checkpoint's variable, e.g. /lenet5/fc1/weights
	Step       int    // the run's global step when the checkpoint was saved; -1 when it does not say
	Shape      []int
	// Masked reports whether the layer had a pruning mask, already applied
	// to Values.
	Masked bool
	// Values are the weights as the model uses them: times the layer's
	// pruning mask where it has one, so a pruned weight is exactly 0.
	Values []float32
}

// Zeros counts the weights that are exactly 0.
func (w *LayerWeights) Zeros() int {
	n := 0
	for _, v := range w.Values {
		if v == 0 {
			n++
		}
	}
	return n
}

// SmallestNonzero is the smallest magnitude of a nonzero weight (0 when
// every weight is 0): after magnitude pruning, the gap left around 0.
func (w *LayerWeights) SmallestNonzero() float64 {
	least := math.Inf(1)
	for _, v := range w.Values {
		if a := math.Abs(float64(v)); a > 0 && a < least {
			least = a
		}
	}
	if math.IsInf(least, 1) {
		return 0
	}
	return least
}

// ReadWeights reads the weights of layer (a layer name as recipes write
// it: fc1, conv2, stage1/block1/conv1) from the newest checkpoint of the
// run ref names (an id, an id prefix or a name: its newest run).
func ReadWeights(ref, layer string) (*LayerWeights, error) {
	store, r, err := openRun(ref)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	list, err := runs.Checkpoints(store.CheckpointDir(r.ID))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("run %s (%s) has no checkpoint (were its train stages run with checkpoint: false?)", r.ID, r.Name)
	}
	w, err := readLayer(list[len(list)-1], layer)
	if err != nil {
		return nil, fmt.Errorf("run %s (%s): %w", r.ID, r.Name, err)
	}
	w.Run, w.RunID = r.Name, r.ID
	return w, nil
}

// readLayer loads the checkpoint at base (its path without .json/.bin)
// with GoMLX's loader, and takes out layer's weights and mask.
func readLayer(base, layer string) (*LayerWeights, error) {
	header, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(base + ".bin")
	if err != nil {
		return nil, err
	}
	ctx := context.New()
	h, err := checkpoints.Load(ctx).FromEmbed(string(header), data).Done()
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", filepath.Base(base), err)
	}
	values := h.LoadedVariables()
	// A layer's variables sit in the scope /<arch>/<layer>; the arch is
	// not known here, so match the scope's end.
	var scopes, layers []string
	for name := range values {
		scope, v := context.VariableScopeAndNameFromParameterName(name)
		if v != "weights" {
			continue
		}
		layers = append(layers, scope)
		if strings.HasSuffix(scope, "/"+strings.Trim(layer, "/")) {
			scopes = append(scopes, scope)
		}
	}
	sort.Strings(layers)
	switch {
	case len(scopes) == 0:
		return nil, fmt.Errorf("no layer %q with weights in checkpoint %s (its layers: %s)", layer, filepath.Base(base), strings.Join(layers, ", "))
	case len(scopes) > 1:
		return nil, fmt.Errorf("layer %q is ambiguous in checkpoint %s: %s", layer, filepath.Base(base), strings.Join(scopes, ", "))
	}
	scope := scopes[0]
	weights := values[context.VariableParameterNameFromScopeAndName(scope, "weights")]
	if weights.DType() != dtypes.Float32 {
		return nil, fmt.Errorf("%s/weights is %s; only float32 weights are read", scope, weights.DType())
	}
	w := &LayerWeights{Layer: layer, Variable: scope + "/weights", Shape: weights.Shape().Dimensions, Step: -1,
		Values: tensors.MustCopyFlatData[float32](weights)}
	// The prune stage keeps its mask beside the weights (named "mask", 1
	// kept, 0 pruned): apply it, so the values are those the model computes with.
	if mask, ok := values[context.VariableParameterNameFromScopeAndName(scope, "mask")]; ok && mask.DType() == dtypes.Float32 {
		m := tensors.MustCopyFlatData[float32](mask)
		if len(m) == len(w.Values) {
			for i := range w.Values {
				w.Values[i] *= m[i]
			}
			w.Masked = true
		}
	}
	if v, ok := ctx.GetParam("lathe_global_step"); ok {
		if step, ok := v.(int); ok {
			w.Step = step
		}
	}
	return w, nil
}

// histogramBins is the number of bins; odd, so that one bin is centred on 0.
const histogramBins = 81

// WeightHistogramPNG draws each set of weights as a histogram, side by
// side on one shared, symmetric range, with counts on a log scale: the
// spike of pruned zeros and the few survivors far from 0 both show.
func WeightHistogramPNG(sets []*LayerWeights, width, height float64) ([]byte, error) {
	if len(sets) == 0 {
		return nil, fmt.Errorf("weight histogram: no weights to draw")
	}
	span := 0.0
	for _, w := range sets {
		for _, v := range w.Values {
			span = max(span, math.Abs(float64(v)))
		}
	}
	if span == 0 {
		span = 1 // every weight 0: any range shows the one bar
	}
	binWidth := 2 * span / histogramBins
	lo := -span
	hists := make([]*plotter.Histogram, len(sets))
	most := 1.0 // the largest count: one y range for all, so heights compare
	for i, w := range sets {
		bins := make([]plotter.HistogramBin, histogramBins)
		for b := range bins {
			bins[b].Min, bins[b].Max = lo+float64(b)*binWidth, lo+float64(b+1)*binWidth
		}
		for _, v := range w.Values {
			b := int((float64(v) - lo) / binWidth)
			bins[min(max(b, 0), histogramBins-1)].Weight++
		}
		for _, b := range bins {
			most = max(most, b.Weight)
		}
		hists[i] = &plotter.Histogram{Bins: bins, Width: binWidth, FillColor: plotutil.Color(i), LineStyle: plotter.DefaultLineStyle, LogY: true}
		hists[i].LineStyle.Width = 0
	}
	var panels []*plot.Plot
	for i, w := range sets {
		p := newPanel(fmt.Sprintf("%s: %s", w.Run, w.Layer), "count (log scale)")
		p.Title.Text += fmt.Sprintf("\n%.1f%% of %d weights exactly 0", 100*float64(w.Zeros())/float64(max(len(w.Values), 1)), len(w.Values))
		p.X.Label.Text = "weight value"
		p.X.Min, p.X.Max = -span, span
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min, p.Y.Max = 0.5, 2*most
		p.Add(hists[i])
		panels = append(panels, p)
	}
	return panelsPNG(width, height, panels...)
}

// WeightHistogram shows the histogram of one layer's weights (fc1, conv2…)
// in the newest checkpoint of each run refs names — the weights as the
// model uses them, so a pruned weight counts as 0 — side by side on one
// range, and under it, per run, how many weights are exactly 0 and the
// smallest nonzero magnitude (the gap magnitude pruning leaves around 0).
func WeightHistogram(layer string, refs ...string) error {
	var sets []*LayerWeights
	for _, ref := range refs {
		w, err := ReadWeights(ref, layer)
		if err != nil {
			showError(err)
			return err
		}
		sets = append(sets, w)
	}
	png, err := WeightHistogramPNG(sets, 4.5*float64(len(sets)), 3.4)
	if err != nil {
		showError(err)
		return err
	}
	display().Show(Output{PNG: png, Text: fmt.Sprintf("[histogram of %s weights of %d runs]", layer, len(sets))})
	var lines []string
	for _, w := range sets {
		step := ""
		if w.Step >= 0 {
			step = fmt.Sprintf(" at step %d", w.Step)
		}
		lines = append(lines, fmt.Sprintf("%s %s (%s%s): %d weights, %d exactly 0 (%.2f%%), smallest nonzero |w| %.4g",
			w.Run, w.Variable, w.RunID, step, len(w.Values), w.Zeros(), 100*float64(w.Zeros())/float64(max(len(w.Values), 1)), w.SmallestNonzero()))
	}
	text := strings.Join(lines, "\n")
	display().Show(Output{Text: text, HTML: "<pre>" + html.EscapeString(text) + "</pre>"})
	return nil
}

package prune

import (
	"context"
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/lathe-ml/lathe/internal/atomicfile"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runner"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
)

func init() {
	recipe.Register(recipe.Kind{Name: "sensitivity", Keys: []string{"sparsities", "split", "exclude", "target_sparsity"}, Effects: recipe.Files, Results: sensitivityDeclaration,
		New: func() recipe.Settings {
			return &Sensitivity{Sparsities: []float64{0.25, 0.5, 0.75, 0.9}, Split: "validation"}
		}})
}

// Sensitivity is the `sensitivity` recipe stage (Han et al. 2015, §3.1.2
// of the seed): it prunes each layer alone by weight magnitude at each of
// a list of sparsities, measures the model on a split (validation by
// default: never the test split a result is reported on), and restores
// the layer. It writes the table (sensitivity.md) and a plot of accuracy
// against sparsity, one line per layer (sensitivity.png), into the run's
// folder. With target_sparsity it also picks, from the sparsities tried,
// per-layer sparsities that reach that overall sparsity with the least
// predicted accuracy loss; a later prune stage uses them with
// `layers: sensitivity`.
type Sensitivity struct {
	Sparsities []float64
	Split      string
	Exclude    Exclusions
	// Target, when above 0, asks for a per-layer allocation.
	Target float64
}

// Set implements recipe.Settings.
func (se *Sensitivity) Set(d *recipe.Decoder, f recipe.Field) (err error) {
	switch f.Key {
	case "sparsities":
		var items []recipe.Node
		if items, err = d.List(f.Value, "sparsities"); err == nil {
			se.Sparsities = nil
			for _, it := range items {
				var s float64
				if s, err = d.Fraction(it, "a sparsity"); err != nil {
					return err
				}
				se.Sparsities = append(se.Sparsities, s)
			}
			if len(se.Sparsities) == 0 {
				err = d.Errorf(f.Value, "sparsities must list at least one sparsity in [0, 1)")
			}
		}
	case "split":
		se.Split, err = d.Enum(f.Value, "split", recipe.Splits)
	case "target_sparsity":
		se.Target, err = d.Fraction(f.Value, "target_sparsity")
	case "exclude":
		err = se.Exclude.Set(d, f.Value)
	}
	return err
}

// Check implements recipe.Settings.
func (se *Sensitivity) Check(d *recipe.Decoder, at recipe.Node, rec *recipe.Recipe) error {
	if se.Split == "validation" && rec.Data.Validation == 0 {
		return d.Errorf(at, "sensitivity measures the validation split but data.validation is 0")
	}
	if err := se.Exclude.Check(d, at, rec, "sensitivity"); err != nil {
		return err
	}
	slices.Sort(se.Sparsities)
	se.Sparsities = slices.Compact(se.Sparsities)
	if se.Target > 0 && se.Target > se.Sparsities[len(se.Sparsities)-1] {
		return d.Errorf(at, "sensitivity: target_sparsity %g is above the largest sparsity tried (%g)", se.Target, se.Sparsities[len(se.Sparsities)-1])
	}
	return nil
}

// PlannedSteps implements recipe.Settings: no training steps.
func (se *Sensitivity) PlannedSteps(int) int { return 0 }

// Files implements recipe.FileWriter: the table and its plot.
func (se *Sensitivity) Files() []string { return []string{sensitivityTable, sensitivityPlot} }

// String describes the stage in a few words.
func (se *Sensitivity) String() string {
	return fmt.Sprintf("sensitivity of each layer at sparsities %v on the %s split", se.Sparsities, se.Split)
}

// The files a sensitivity stage writes into the run's folder.
const (
	sensitivityTable = "sensitivity.md"
	sensitivityPlot  = "sensitivity.png"
)

// SensitivityRow is one layer's measurements: the metric at each sparsity.
type SensitivityRow struct {
	Layer    string
	Params   int
	Accuracy []float64 // at Sensitivity.Sparsities
}

// Run implements runner.Stage.
func (se *Sensitivity) Run(ctx context.Context, s *runner.Session) (map[string]float64, error) {
	masks := &Masks{Arch: "/" + s.Model.Spec.Arch, Prunable: se.Exclude.Keeps}
	layers, err := masks.Layers(s.Ctx)
	if err != nil {
		return nil, err
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("sensitivity needs the model's trained weights: put a train stage before it")
	}
	base, err := s.Evaluate(se.Split)
	if err != nil {
		return nil, err
	}
	metric := se.Split + "_accuracy"
	baseline := base[metric]
	result := map[string]float64{"baseline_" + metric: baseline}
	var rows []SensitivityRow
	for _, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, runner.ErrStopped
		}
		row, err := se.measure(s, l, metric)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
		for i, sp := range se.Sparsities {
			result[fmt.Sprintf("sensitivity/%s/%g", l.Name, sp)] = row.Accuracy[i]
		}
		s.Log("sensitivity: %s %s", l.Name, formatRow(row))
	}
	if se.Target > 0 {
		alloc := Allocate(rows, se.Sparsities, baseline, se.Target)
		for name, sp := range alloc {
			result["allocation/"+name] = sp
			s.Ctx.SetParam(allocationParam(name), sp)
		}
		s.Log("sensitivity: for %g%% overall, prune %s", 100*se.Target, formatAllocation(alloc))
	}
	if err := se.write(s, rows, baseline, metric); err != nil {
		return nil, err
	}
	return result, nil
}

// measure prunes one layer alone at each sparsity, evaluates, and puts the
// layer's weights back.
func (se *Sensitivity) measure(s *runner.Session, l Layer, metric string) (SensitivityRow, error) {
	w, err := l.weights.Value()
	if err != nil {
		return SensitivityRow{}, err
	}
	original := tensors.MustCopyFlatData[float32](w)
	dims := l.weights.Shape().Dimensions
	row := SensitivityRow{Layer: l.Name, Params: len(original)}
	mask := make([]float32, len(original))
	for _, sp := range se.Sparsities {
		clear(mask)
		pruneSmallest(original, mask, sp)
		pruned := make([]float32, len(original))
		for i := range pruned {
			pruned[i] = original[i] * mask[i]
		}
		if err := l.weights.SetValue(tensors.FromFlatDataAndDimensions(pruned, dims...)); err != nil {
			return row, err
		}
		m, err := s.Evaluate(se.Split)
		if err != nil {
			return row, err
		}
		row.Accuracy = append(row.Accuracy, m[metric])
	}
	return row, l.weights.SetValue(tensors.FromFlatDataAndDimensions(original, dims...))
}

// allocationParam names the checkpointed parameter holding a layer's
// allocated sparsity.
func allocationParam(layer string) string { return "sensitivity_allocation/" + layer }

// Allocate picks for each layer a sparsity among those measured so that
// the weights pruned reach target of all the layers' weights, predicting
// each choice's cost as its measured accuracy drop: starting from none, it
// repeatedly takes the step (one layer to its next sparsity) that costs
// the least accuracy per weight pruned.
func Allocate(rows []SensitivityRow, sparsities []float64, baseline, target float64) map[string]float64 {
	total := 0
	for _, r := range rows {
		total += r.Params
	}
	level := make([]int, len(rows)) // index into sparsities; -1: unpruned
	for i := range level {
		level[i] = -1
	}
	pruned := 0.0
	drop := func(r, lv int) float64 {
		if lv < 0 {
			return 0
		}
		return max(baseline-rows[r].Accuracy[lv], 0)
	}
	sparsityAt := func(lv int) float64 {
		if lv < 0 {
			return 0
		}
		return sparsities[lv]
	}
	for pruned < target*float64(total) {
		best, bestCost := -1, 0.0
		for r := range rows {
			next := level[r] + 1
			if next >= len(sparsities) {
				continue
			}
			gain := (sparsities[next] - sparsityAt(level[r])) * float64(rows[r].Params)
			if gain <= 0 {
				continue
			}
			cost := (drop(r, next) - drop(r, level[r])) / gain
			if best < 0 || cost < bestCost {
				best, bestCost = r, cost
			}
		}
		if best < 0 {
			break // every layer at the largest sparsity tried
		}
		pruned += (sparsities[level[best]+1] - sparsityAt(level[best])) * float64(rows[best].Params)
		level[best]++
	}
	out := map[string]float64{}
	for r, lv := range level {
		out[rows[r].Layer] = sparsityAt(lv)
	}
	return out
}

func formatRow(r SensitivityRow) string {
	parts := make([]string, len(r.Accuracy))
	for i, a := range r.Accuracy {
		parts[i] = fmt.Sprintf("%.2f%%", 100*a)
	}
	return strings.Join(parts, " ")
}

func formatAllocation(alloc map[string]float64) string {
	names := make([]string, 0, len(alloc))
	for n := range alloc {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %g%%", n, 100*alloc[n])
	}
	return strings.Join(parts, ", ")
}

// write puts the table and the plot in the run's folder (nothing when the
// run is not recorded).
func (se *Sensitivity) write(s *runner.Session, rows []SensitivityRow, baseline float64, metric string) error {
	dir, err := s.RunDir()
	if err != nil || dir == "" {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Sensitivity of %s (%s, each layer pruned alone)\n\nbaseline: %.2f%%\n\n| layer | weights |", s.Recipe.Name, metric, 100*baseline)
	for _, sp := range se.Sparsities {
		fmt.Fprintf(&md, " %g%% |", 100*sp)
	}
	md.WriteString("\n|---|---|" + strings.Repeat("---|", len(se.Sparsities)) + "\n")
	for _, r := range rows {
		fmt.Fprintf(&md, "| %s | %d |", r.Layer, r.Params)
		for _, a := range r.Accuracy {
			fmt.Fprintf(&md, " %.2f%% |", 100*a)
		}
		md.WriteString("\n")
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, sensitivityTable), []byte(md.String())); err != nil {
		return err
	}
	png, err := SensitivityPNG(rows, se.Sparsities, baseline, metric)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, sensitivityPlot), png); err != nil {
		return err
	}
	s.Log("sensitivity: table and plot in %s", dir)
	return nil
}

// SensitivityPNG plots each layer's metric against its sparsity, from
// the unpruned model's (baseline, at 0).
func SensitivityPNG(rows []SensitivityRow, sparsities []float64, baseline float64, metric string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = "sensitivity: each layer pruned alone"
	p.X.Label.Text = "sparsity of the layer"
	p.Y.Label.Text = metric
	// Accuracy falls as sparsity rises: the lower left stays clear.
	p.Legend.Left = true
	p.BackgroundColor = color.White
	for i, r := range rows {
		xy := plotter.XYs{{X: 0, Y: baseline}}
		for j, sp := range sparsities {
			xy = append(xy, plotter.XY{X: sp, Y: r.Accuracy[j]})
		}
		line, points, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / len(plotutil.SoftColors))
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(r.Layer, line, points)
	}
	p.Add(plotter.NewGrid())
	return report.PNG(p, 7, 4.5)
}

package report

import (
	"fmt"
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Axis is what a trade-off plot puts on x: a cost, lower is better.
type Axis struct {
	Label string
	Value func(Variant) float64
	// Log draws the axis on a log scale (sizes span orders of magnitude).
	Log bool
}

// SizeAxis is the model file's size in kB; LatencyAxis the runtime's
// latency at batch 64.
var (
	SizeAxis    = Axis{Label: "model file (kB, log scale)", Value: func(v Variant) float64 { return v.Bytes / 1e3 }, Log: true}
	LatencyAxis = Axis{Label: "latency at batch 64 in Lathe's runtime (ms, log scale)", Value: func(v Variant) float64 { return v.RuntimeMs64 }, Log: true}
)

// PlotPoint is one variant as a trade-off plot draws it.
type PlotPoint struct {
	Label    string
	X, Y     float64 // cost and accuracy in percent
	OnFront  bool
	Included bool // false: a figure is NaN or not positive on a log axis
}

// PlotPoints is what TradeoffPNG draws, decided before drawing so tests
// can read it: one point per variant and whether it is on the Pareto front.
func PlotPoints(t *Tradeoff, axis Axis) []PlotPoint {
	front := ParetoFront(t.Variants, axis.Value)
	out := make([]PlotPoint, len(t.Variants))
	for i, v := range t.Variants {
		x := axis.Value(v)
		out[i] = PlotPoint{Label: v.Label(), X: x, Y: 100 * v.Accuracy, OnFront: front[i],
			Included: finite(x, v.Accuracy) && (!axis.Log || x > 0)}
	}
	return out
}

// TradeoffPNG plots accuracy against a cost, one labelled point per
// variant, the Pareto front joined by a dashed line, as a PNG of
// width×height inches.
func TradeoffPNG(t *Tradeoff, axis Axis, width, height float64) ([]byte, error) {
	pts := PlotPoints(t, axis)
	var all, front plotter.XYs
	var labels []string
	var left []string
	for _, p := range pts {
		if !p.Included {
			left = append(left, p.Label)
			continue
		}
		all = append(all, plotter.XY{X: p.X, Y: p.Y})
		labels = append(labels, p.Label)
		if p.OnFront {
			front = append(front, plotter.XY{X: p.X, Y: p.Y})
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("trade-off plot: no variant has both an accuracy and a %s", axis.Label)
	}
	sort.Slice(front, func(i, j int) bool { return front[i].X < front[j].X })
	p := plot.New()
	p.Title.Text = t.Title + ": accuracy against " + axis.Label
	if len(left) > 0 {
		p.Title.Text += fmt.Sprintf("\n(not drawn, a figure missing: %v)", left)
	}
	p.X.Label.Text = axis.Label
	p.Y.Label.Text = t.Split + " accuracy (%)"
	p.BackgroundColor = color.White
	if axis.Log {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	if len(front) > 1 {
		line, err := plotter.NewLine(front)
		if err != nil {
			return nil, err
		}
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		line.Color = plotutil.Color(1)
		p.Add(line)
		p.Legend.Add("Pareto front", line)
	}
	sc, err := plotter.NewScatter(all)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	sc.GlyphStyle.Radius = vg.Points(4)
	sc.GlyphStyle.Color = plotutil.Color(0)
	p.Add(sc)
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: all, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].XAlign = draw.XCenter
		lb.TextStyle[i].YAlign = draw.YBottom
	}
	lb.Offset = vg.Point{Y: vg.Points(6)}
	p.Add(lb)
	// Room for the labels above the highest point and beside the ends.
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.15
	if p.Y.Max == p.Y.Min {
		p.Y.Min, p.Y.Max = p.Y.Min-1, p.Y.Max+1
	}
	if axis.Log {
		p.X.Min, p.X.Max = p.X.Min/1.5, p.X.Max*1.5
	} else {
		pad := (p.X.Max - p.X.Min) * 0.1
		p.X.Min, p.X.Max = p.X.Min-pad, p.X.Max+pad
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return PNG(p, width, height)
}

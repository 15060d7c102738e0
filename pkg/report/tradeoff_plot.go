package report

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"

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
}

// SizeAxis is the model file's size in kB; LatencyAxis the runtime's
// latency at batch 64.
var (
	SizeAxis    = Axis{Label: "model file (kB)", Value: func(v Variant) float64 { return v.Bytes / 1e3 }}
	LatencyAxis = Axis{Label: "latency at batch 64 in Lathe's runtime (ms)", Value: func(v Variant) float64 { return v.RuntimeMs64 }}
)

// PlotPoint is one variant as a trade-off plot draws it.
type PlotPoint struct {
	Label    string
	X, Y     float64 // cost and accuracy in percent
	OnFront  bool
	Included bool // false: a figure is NaN or infinite
}

// PlotPoints is what TradeoffPNG draws, decided before drawing so tests
// can read it: one point per variant and whether it is on the Pareto front.
func PlotPoints(t *Tradeoff, axis Axis) []PlotPoint {
	front := ParetoFront(t.Variants, axis.Value)
	out := make([]PlotPoint, len(t.Variants))
	for i, v := range t.Variants {
		x := axis.Value(v)
		out[i] = PlotPoint{Label: v.Label(), X: x, Y: 100 * v.Accuracy, OnFront: front[i],
			Included: finite(x, v.Accuracy)}
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
	p.Title.Text = t.Title + "\naccuracy against " + axis.Label
	if len(left) > 0 {
		p.Title.Text += fmt.Sprintf("\n(not drawn, a figure missing: %v)", left)
	}
	p.X.Label.Text = axis.Label
	p.Y.Label.Text = t.Split + " accuracy (%)"
	p.BackgroundColor = color.White
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
	p.Add(unpadded{lb})
	// Room for the labels above the highest point and beside the ends.
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.15
	if p.Y.Max == p.Y.Min {
		p.Y.Min, p.Y.Max = p.Y.Min-1, p.Y.Max+1
	}
	pad := max((p.X.Max-p.X.Min)*0.1, 0.05*p.X.Max)
	p.X.Min, p.X.Max = max(0, p.X.Min-pad), p.X.Max+pad
	p.Y.Tick.Marker = roundTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	return PNG(p, width, height)
}

// roundTicks marks multiples of 1, 2 or 5 times a power of ten, about
// five of them, labelled with as many decimals as the step needs.
// gonum's default ticks on a narrow range (accuracies 0.16 pp apart) sat
// at values such as 90.575 labelled "90.6", so points read off them wrong.
type roundTicks struct{}

// Ticks implements plot.Ticker.
func (roundTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: strconv.FormatFloat(min, 'g', 6, 64)}}
	}
	step := math.Pow(10, math.Floor(math.Log10((max-min)/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (max-min)/(step*m) <= 6 {
			step *= m
			break
		}
	}
	decimals := max0(-int(math.Floor(math.Log10(step) + 1e-9)))
	var ticks []plot.Tick
	for k := math.Ceil(min/step - 1e-9); k*step <= max+step*1e-9; k++ {
		v := k * step
		if v == 0 {
			v = 0 // not −0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
	}
	return ticks
}

func max0(n int) int { return max(n, 0) }

// unpadded draws a plotter without the glyph boxes gonum/plot pads the
// data area by: a label's box, offset above its point, made that padding
// put the y axis's ticks out of step with the points (a 0.16 pp spread
// drew as 0.21 against the tick labels).
type unpadded struct{ p plot.Plotter }

func (u unpadded) Plot(c draw.Canvas, p *plot.Plot) { u.p.Plot(c, p) }

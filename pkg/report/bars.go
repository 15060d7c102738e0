package report

import (
	"math"

	"github.com/lathe-ml/lathe/pkg/runs"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// drawBars adds one bar per run, named on the X axis and with its value
// written at its end, for a plot width inches wide.
func (c *chart) drawBars(p *plot.Plot, width float64) error {
	// Horizontal lines only, drawn first: bars cover them.
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)

	labels := make([]string, len(c.bars))
	for i, b := range c.bars {
		labels[i] = b.label
	}
	p.NominalX(labels...)
	// Each bar gets an equal slot of the drawing area (the width less
	// about an inch of axis, or half a tiny plot); it fills 60% of it, at
	// most an inch.
	area := max(vg.Length(width)-1, vg.Length(width)/2) * vg.Inch
	slot := area / vg.Length(len(c.bars))
	barW := min(slot*0.6, vg.Inch)
	for _, l := range labels {
		if p.X.Tick.Label.Width(l) > slot*0.95 {
			// Names would run into each other: slant them all.
			p.X.Tick.Label.Rotation = math.Pi / 6
			p.X.Tick.Label.XAlign = text.XRight
			p.X.Tick.Label.YAlign = text.YCenter
			break
		}
	}

	for i, b := range c.bars {
		bc, err := plotter.NewBarChart(plotter.Values{b.value}, barW)
		if err != nil {
			return err
		}
		bc.XMin = float64(i)
		bc.Color = plotutil.Color(b.color)
		bc.LineStyle.Width = 0
		p.Add(bc)

		value, err := plotter.NewLabels(plotter.XYLabels{
			XYs:    plotter.XYs{{X: float64(i), Y: b.value}},
			Labels: []string{runs.FormatMetric(c.metric, b.value)},
		})
		if err != nil {
			return err
		}
		// The value sits just beyond the bar's end: above it, or below a
		// negative one.
		value.TextStyle[0].XAlign = text.XCenter
		value.TextStyle[0].YAlign = text.YBottom
		value.Offset.Y = vg.Points(2)
		if b.value < 0 {
			value.TextStyle[0].YAlign = text.YTop
			value.Offset.Y = -vg.Points(2)
		}
		p.Add(value)
	}
	// Half a slot of margin each side: the glyph padding alone would put
	// the outer bars against the frame.
	p.X.Min, p.X.Max = -0.5, float64(len(c.bars))-0.5
	return nil
}

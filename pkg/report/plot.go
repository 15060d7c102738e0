package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"github.com/lathe-ml/lathe/pkg/runs"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// CurvesPNG plots one metric of several runs against the training step, one
// line per run, as a PNG of width×height inches.
func CurvesPNG(store *runs.Store, list []*runs.Run, metric string, width, height float64) ([]byte, error) {
	p := plot.New()
	p.Title.Text = metric
	p.X.Label.Text = "step"
	p.Y.Label.Text = metric
	p.Legend.Top = true
	plotted := 0
	for i, r := range list {
		pts, err := store.Series(r.ID, metric)
		if err != nil {
			return nil, err
		}
		// NaN and ±Inf (a diverged run) have no place on an axis; the
		// comparison table shows them.
		xy := make(plotter.XYs, 0, len(pts))
		for _, pt := range pts {
			if !math.IsNaN(pt.Value) && !math.IsInf(pt.Value, 0) {
				xy = append(xy, plotter.XY{X: float64(pt.Step), Y: pt.Value})
			}
		}
		if len(xy) == 0 {
			continue
		}
		line, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / len(plotutil.SoftColors)) // colours repeat: vary the dash
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(r.Name, line)
		plotted++
	}
	if plotted == 0 {
		return nil, fmt.Errorf("no run has a %q series", metric)
	}
	p.Add(plotter.NewGrid())
	p.BackgroundColor = color.White
	w, err := p.WriterTo(vg.Length(width)*vg.Inch, vg.Length(height)*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

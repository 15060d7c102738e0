package report

import (
	"bytes"
	"image/color"

	"github.com/lathe-ml/lathe/pkg/runs"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// CurvesPNG plots one metric of several runs as a PNG of width×height
// inches: against the training step, one line per run; or, when no run
// has more than one value of it (a test accuracy measured once, a final
// metric), one bar per run. Runs and points without a finite value are
// left out and the title says which; with nothing left to draw it is an
// error.
func CurvesPNG(store *runs.Store, list []*runs.Run, metric string, width, height float64) ([]byte, error) {
	c, err := newChart(store, list, metric)
	if err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = metric
	if c.note != "" {
		p.Title.Text += "\n" + c.note
	}
	p.Y.Label.Text = metric
	p.BackgroundColor = color.White
	if len(c.bars) > 0 {
		err = c.drawBars(p, width)
	} else {
		err = c.drawLines(p)
	}
	if err != nil {
		return nil, err
	}
	return PNG(p, width, height)
}

// PNG draws p as a PNG of width×height inches.
func PNG(p *plot.Plot, width, height float64) ([]byte, error) {
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

// drawLines adds the curves, with a legend of run names.
func (c *chart) drawLines(p *plot.Plot) error {
	p.X.Label.Text = "step"
	p.Legend.Top = true
	for _, l := range c.lines {
		pl, err := plotter.NewLine(l.xy)
		if err != nil {
			return err
		}
		pl.Color = plotutil.Color(l.color)
		pl.Dashes = plotutil.Dashes(l.color / len(plotutil.SoftColors)) // colours repeat: vary the dash
		pl.Width = vg.Points(1.5)
		p.Add(pl)
		p.Legend.Add(l.name, pl)
	}
	p.Add(plotter.NewGrid())
	return nil
}

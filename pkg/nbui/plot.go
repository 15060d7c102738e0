package nbui

import (
	"bytes"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plot draws the live view: loss on the left, accuracy on the right, and
// sparsity beside them while a run prunes; one colour per run (an empty
// label leaves a line out of the legend); nil when there is nothing to
// draw yet. Called with l.mu held.
func (l *Live) plot() ([]byte, error) {
	points := 0
	for _, r := range l.runs {
		points += len(r.loss) + len(r.trainAcc)
	}
	if points == 0 {
		return nil, nil
	}
	loss, acc := newPanel("loss", "train loss (moving avg.)"), newPanel("accuracy", "accuracy")
	acc.Y.Min, acc.Y.Max = 0, 1
	acc.Legend.Top = false // accuracy rises to the top right: keep the legend below it
	// One run: name every line. Several (a recipe's variants): name each run
	// once, on the loss panel, and say what lines and dots mean in the labels.
	several := len(l.runs) > 1
	if several {
		loss.Y.Label.Text = "train loss (line), validation (dot)"
		acc.Y.Label.Text = "accuracy: train (line), validation (dot)"
	}
	for i, r := range l.runs {
		label := shortName(r.name, len(l.runs))
		lossVal, accTrain, accVal := label+" (validation)", label+" (train)", label+" (validation)"
		if several {
			lossVal, accTrain, accVal = "", "", ""
		}
		if err := addLine(loss, r.loss, i, false, label); err != nil {
			return nil, err
		}
		if err := addPoints(loss, r.valLoss, i, lossVal); err != nil {
			return nil, err
		}
		if err := addLine(acc, r.trainAcc, i, false, accTrain); err != nil {
			return nil, err
		}
		if err := addPoints(acc, r.valAcc, i, accVal); err != nil {
			return nil, err
		}
	}
	if !l.pruning() {
		return panelsPNG(l.Width, l.Height, loss, acc)
	}
	// A prune stage runs: its sparsity, beside the accuracy it costs.
	sp := newPanel("sparsity", "sparsity of the pruned layers")
	sp.Y.Min, sp.Y.Max = 0, 1
	sp.Legend.Top = false
	for i, r := range l.runs {
		label := ""
		if !several {
			label = r.name
		}
		if err := addLine(sp, r.sparsity, i, false, label); err != nil {
			return nil, err
		}
	}
	return panelsPNG(l.Width*4/3, l.Height, loss, acc, sp)
}

// shortName drops the recipe prefix of variant runs when several share a plot.
func shortName(name string, runs int) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 && runs > 1 {
		return name[i+1:]
	}
	return name
}

func newPanel(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.BackgroundColor = color.White
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, pts []xy, i int, dashed bool, label string) error {
	xys := toXYs(pts)
	if len(xys) == 0 {
		return nil
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	line.Color = plotutil.Color(i)
	line.Width = vg.Points(1.5)
	line.Dashes = plotutil.Dashes(i / len(plotutil.SoftColors))
	p.Add(line)
	if label != "" {
		p.Legend.Add(label, line)
	}
	return nil
}

func addPoints(p *plot.Plot, pts []xy, i int, label string) error {
	xys := toXYs(pts)
	if len(xys) == 0 {
		return nil
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	sc.Color = plotutil.Color(i)
	sc.Shape = draw.CircleGlyph{}
	sc.Radius = vg.Points(3)
	p.Add(sc)
	if label != "" {
		p.Legend.Add(label, sc)
	}
	return nil
}

// toXYs keeps the finite points: a diverged run's NaN or infinite losses
// are data (the tables show them) but have no place on an axis, and
// gonum/plot refuses them.
func toXYs(pts []xy) plotter.XYs {
	out := make(plotter.XYs, 0, len(pts))
	for _, p := range pts {
		if !math.IsNaN(p.y) && !math.IsInf(p.y, 0) {
			out = append(out, plotter.XY{X: p.x, Y: p.y})
		}
	}
	return out
}

// panelsPNG lays plots side by side in one PNG of width×height inches.
func panelsPNG(width, height float64, panels ...*plot.Plot) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(width)*vg.Inch, vg.Length(height)*vg.Inch),
		vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2,
		PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

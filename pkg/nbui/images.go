package nbui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"

	"github.com/lathe-ml/lathe/datasets"
)

// ImagesPNG lays the first n examples of set out in a grid, each scaled
// up by zoom, and returns the PNG with the examples' labels (class names
// where the set has them) in grid order.
func ImagesPNG(set *datasets.Set, n, columns, zoom int) ([]byte, []string, error) {
	n = min(n, set.Len())
	if n <= 0 {
		return nil, nil, fmt.Errorf("%s: no examples to show", set.Name)
	}
	if set.Image(0) == nil {
		return nil, nil, fmt.Errorf("%s: examples of shape %v are not images", set.Name, set.ExampleShape)
	}
	columns = max(1, min(columns, n))
	zoom = max(1, zoom)
	h, w := set.ExampleShape[0]*zoom, set.ExampleShape[1]*zoom
	const gap = 4
	rowsN := (n + columns - 1) / columns
	grid := image.NewRGBA(image.Rect(0, 0, columns*(w+gap)+gap, rowsN*(h+gap)+gap))
	draw.Draw(grid, grid.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	labels := make([]string, n)
	for i := range n {
		img := set.Image(i)
		x0, y0 := gap+(i%columns)*(w+gap), gap+(i/columns)*(h+gap)
		for y := range h {
			for x := range w {
				grid.Set(x0+x, y0+y, img.At(x/zoom, y/zoom))
			}
		}
		labels[i] = fmt.Sprint(set.Labels[i])
		if int(set.Labels[i]) < len(set.ClassNames) {
			labels[i] = set.ClassNames[set.Labels[i]]
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, grid); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), labels, nil
}

// ShowImages displays the first n examples of an image set in a grid of
// ten columns, with their labels printed row by row beneath.
func ShowImages(set *datasets.Set, n int) error {
	const columns = 10
	img, labels, err := ImagesPNG(set, n, columns, 2)
	if err != nil {
		showError(err)
		return err
	}
	display().Show(Output{PNG: img, Text: fmt.Sprintf("[%d images of %s]", len(labels), set.Name)})
	var rows []string
	for i := 0; i < len(labels); i += columns {
		rows = append(rows, strings.Join(labels[i:min(i+columns, len(labels))], "  "))
	}
	text := "labels, row by row:\n" + strings.Join(rows, "\n")
	display().Show(Output{Text: text, HTML: "<pre>" + text + "</pre>"})
	return nil
}

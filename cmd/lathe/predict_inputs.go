package main

import (
	"fmt"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// namedInput is one example to classify: raw values in the model's input
// layout, and its label when it came from a dataset.
type namedInput struct {
	name   string
	values []float32
	label  *int
}

// readInputs reads one INPUT argument of `lathe predict`: a dataset
// selection (DATASET:SPLIT:INDICES), a PNG file of the model's size, or a
// folder of images (an image folder's class sub-folders, or images),
// checked against the model's input shape; classes names the model's
// classes, for the labels of a folder's class sub-folders.
func readInputs(arg string, shape []int, classes []string) ([]namedInput, error) {
	if parts := strings.Split(arg, ":"); len(parts) == 3 {
		if d, known := spec.LookupDataset(parts[0]); known && !d.FromFiles {
			return datasetInputs(parts[0], parts[1], parts[2], shape)
		}
	}
	st, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("input %q: neither a file, a folder nor a selection DATASET:SPLIT:INDICES (datasets: %s)", arg, strings.Join(builtInDatasets(), ", "))
	}
	if st.IsDir() {
		return folderInputs(arg, shape, classes)
	}
	if strings.HasSuffix(strings.ToLower(arg), ".csv") {
		return csvInputs(arg, shape, classes)
	}
	if strings.HasSuffix(strings.ToLower(arg), ".jpg") || strings.HasSuffix(strings.ToLower(arg), ".jpeg") {
		if len(shape) != 3 {
			return nil, fmt.Errorf("%s: the model takes %v, not images", arg, shape)
		}
		if _, err := infer.StatRegular(arg); err != nil { // a named pipe would block
			return nil, err
		}
		values, err := datasets.DecodeImage(arg, shape[0], shape[1], shape[2])
		if err != nil {
			return nil, err
		}
		return []namedInput{{name: arg, values: values}}, nil
	}
	values, err := readPNG(arg, shape)
	if err != nil {
		return nil, err
	}
	return []namedInput{{name: arg, values: values}}, nil
}

// csvInputs reads a CSV table's rows: its columns are the model's
// features in the order it was trained on, and a column named "label",
// when there is one, holds each row's class name.
func csvInputs(file string, shape []int, classes []string) ([]namedInput, error) {
	if len(shape) != 1 {
		return nil, fmt.Errorf("%s: the model takes %v, not rows of a table", file, shape)
	}
	if _, err := infer.StatRegular(file); err != nil {
		return nil, err
	}
	features, labels, columns, err := datasets.ReadCSV(file, "label")
	if err != nil && strings.Contains(err.Error(), `no column "label"`) {
		features, labels, columns, err = datasets.ReadCSV(file, "")
	}
	if err != nil {
		return nil, err
	}
	if len(columns) != shape[0] {
		return nil, fmt.Errorf("%s: %d feature columns (%s); the model takes %d", file, len(columns), strings.Join(columns, ", "), shape[0])
	}
	out := make([]namedInput, len(features)/shape[0])
	for i := range out {
		out[i] = namedInput{name: fmt.Sprintf("%s:%d", file, i+2), values: features[i*shape[0] : (i+1)*shape[0]]}
		if labels != nil {
			c := slices.Index(classes, labels[i])
			if c < 0 {
				return nil, fmt.Errorf("%s:%d: label %q is none of the model's classes (%s)", file, i+2, labels[i], strings.Join(classes, ", "))
			}
			out[i].label = &c
		}
	}
	return out, nil
}

// builtInDatasets are the datasets a selection may name.
func builtInDatasets() []string {
	var out []string
	for _, d := range spec.Datasets {
		if !d.FromFiles {
			out = append(out, d.Name)
		}
	}
	return out
}

// folderInputs reads a folder's images (PNG, JPEG), decoded and resized as
// an image folder's are for training: those in a sub-folder named after
// one of the model's classes carry that label; those at the top none.
func folderInputs(dir string, shape []int, classes []string) ([]namedInput, error) {
	if len(shape) != 3 || (shape[2] != 1 && shape[2] != 3) {
		return nil, fmt.Errorf("%s: the model takes %v, not images", dir, shape)
	}
	var out []namedInput
	add := func(sub string, label *int) error {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !datasets.IsImageFile(e.Name()) {
				continue
			}
			path := filepath.Join(dir, sub, e.Name())
			values, err := datasets.DecodeImage(path, shape[0], shape[1], shape[2])
			if err != nil {
				return err
			}
			out = append(out, namedInput{name: path, values: values, label: label})
		}
		return nil
	}
	if err := add("", nil); err != nil {
		return nil, err
	}
	for i, class := range classes {
		if st, err := os.Stat(filepath.Join(dir, class)); err == nil && st.IsDir() {
			label := i
			if err := add(class, &label); err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no image (.png, .jpg, .jpeg) in it or in a sub-folder named after one of the model's classes (%s)", dir, strings.Join(classes, ", "))
	}
	return out, nil
}

func datasetInputs(name, split, indices string, shape []int) ([]namedInput, error) {
	sel := name + ":" + split + ":" + indices
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("input %s: split %q: want train or test", sel, split)
	}
	d, _ := spec.LookupDataset(name)
	if !slices.Equal(d.ExampleShape, shape) {
		return nil, fmt.Errorf("input %s: %s examples are %v; the model takes %v", sel, name, d.ExampleShape, shape)
	}
	train, test, err := datasets.Load(name, datasets.Options{})
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", sel, err)
	}
	set := test
	if split == "train" {
		set = train
	}
	picked, err := parseIndices(indices, set.Len())
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", sel, err)
	}
	var out []namedInput
	for _, i := range picked {
		label := int(set.Labels[i])
		out = append(out, namedInput{name: fmt.Sprintf("%s:%s:%d", name, split, i), values: set.Example(i), label: &label})
	}
	return out, nil
}

// parseIndices reads "7", "0-9" or "0-4,100" (inclusive ranges) below n.
func parseIndices(s string, n int) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a {
			return nil, fmt.Errorf("indices %q: want numbers and ranges such as 7, 0-9 or 0-4,100", s)
		}
		if b >= n {
			return nil, fmt.Errorf("index %d: the split has %d examples (0-%d)", b, n, n-1)
		}
		if len(out)+b-a+1 > 100_000 {
			return nil, fmt.Errorf("indices %q: more than 100000 examples", s)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// readPNG decodes a PNG of the model's height and width: gray values for a
// one-channel model, RGB for three, each scaled to [0, 1].
func readPNG(path string, shape []int) ([]float32, error) {
	if len(shape) != 3 || (shape[2] != 1 && shape[2] != 3) {
		return nil, fmt.Errorf("%s: the model takes %v, not images a PNG can hold", path, shape)
	}
	// Checked before opening: opening a named pipe would block forever.
	if _, err := infer.StatRegular(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PNG image (%v)", path, err)
	}
	if cfg.Width != shape[1] || cfg.Height != shape[0] {
		return nil, fmt.Errorf("%s: a %d×%d image; the model takes %d×%d", path, cfg.Width, cfg.Height, shape[1], shape[0])
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	h, w, c := shape[0], shape[1], shape[2]
	out := make([]float32, 0, h*w*c)
	b := img.Bounds()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			px := img.At(b.Min.X+x, b.Min.Y+y)
			if c == 1 {
				g := color.Gray16Model.Convert(px).(color.Gray16)
				out = append(out, float32(g.Y)/65535)
				continue
			}
			r, gr, bl, _ := px.RGBA()
			out = append(out, float32(r)/65535, float32(gr)/65535, float32(bl)/65535)
		}
	}
	return out, nil
}

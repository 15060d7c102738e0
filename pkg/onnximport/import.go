package onnximport

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lathe-ml/lathe/pkg/spec"
)

// MaxFileBytes bounds the ONNX files Import reads (protobuf's own limit).
const MaxFileBytes = 2 << 30

// Model is an imported classifier.
type Model struct {
	// Path is the file it was read from; Arch the name it is registered
	// under ("onnx-" and the file's name without extension).
	Path, Arch string
	// Net is the architecture, its last dense layer the classifier
	// (spec.Logits, as wide as Classes).
	Net spec.Net
	// Example is one example's shape as Lathe feeds it: [height, width,
	// channels] for images (the file takes [channels, height, width]) or
	// [features].
	Example []int
	Classes int
	// Weights are the model's variables by path under its scope
	// ("conv1/weights", "logits/biases"), in Lathe's layouts.
	Weights map[string]Weight
	// Notes say what the import changed that a user may want to know (a
	// folded batch norm, a dropped softmax).
	Notes []string
}

// Takes reports whether the model takes examples of this shape: its own,
// or, for a model of features, images of as many values (flattened).
func (m *Model) Takes(example []int) bool {
	if slices.Equal(example, m.Example) {
		return true
	}
	size := 1
	for _, d := range example {
		size *= d
	}
	return len(m.Example) == 1 && size == m.Example[0]
}

// Parameters counts the imported weights' values.
func (m *Model) Parameters() int {
	n := 0
	for _, w := range m.Weights {
		n += len(w.Values)
	}
	return n
}

// Read imports an ONNX file (without registering it: see Load).
func Read(path string) (*Model, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not an ONNX file", path)
	}
	if info.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than an ONNX file holds (2 GiB)", path, info.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Decode(ArchName(path), data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Path = path
	return m, nil
}

// ArchName is the arch an ONNX file is registered under: "onnx-" and its
// name without extension, in the letters an arch name takes.
func ArchName(path string) string {
	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return "onnx-" + strings.Trim(nameChars.ReplaceAllString(stem, "_"), "_")
}

// Decode imports an ONNX model's bytes as arch.
func Decode(arch string, data []byte) (*Model, error) {
	g, err := parseGraph(data)
	if err != nil {
		return nil, err
	}
	im := &importer{g: g, weights: map[string]Weight{}, names: map[string]bool{}, done: map[*node]bool{}}
	if err := im.unsupportedOps(); err != nil {
		return nil, err
	}
	input := value{name: g.input, dims: g.inputDims}
	net, _, err := im.chain(input, nil, nil, "")
	if err != nil {
		return nil, err
	}
	if len(net) == 0 || net[len(net)-1].Kind != spec.KindDense || net[len(net)-1].Activation != "" {
		return nil, fmt.Errorf("the net must end with a fully connected layer (Gemm or MatMul) without activation: its logits")
	}
	// The classifier is Lathe's "logits": its width is the data's classes.
	last := &net[len(net)-1]
	classes := last.Out
	for _, part := range []string{"/weights", "/biases"} {
		im.weights[spec.LogitsName+part] = im.weights[last.Name+part]
		delete(im.weights, last.Name+part)
	}
	*last = spec.Logits()
	m := &Model{Arch: arch, Net: net, Classes: classes, Weights: im.weights, Notes: im.notes}
	if len(g.inputDims) == 3 {
		m.Example = []int{g.inputDims[1], g.inputDims[2], g.inputDims[0]}
	} else {
		// Features: a flatten in front lets the model take images too
		// (flattened channel last, which is the file's order for one channel).
		m.Net = append(spec.Net{spec.Flatten(im.unique("", "flatten", nil, ""))}, m.Net...)
		m.Example = g.inputDims
	}
	return m, nil
}

// cache keeps what Load imported, by absolute path, until the file changes.
var cache = struct {
	sync.Mutex
	models map[string]cached
}{models: map[string]cached{}}

type cached struct {
	size  int64
	mtime time.Time
	model *Model
}

// Load imports an ONNX file, once per version of it, and registers its
// net under m.Arch (spec.RegisterImported) so recipes and the techniques
// find it like a zoo arch.
func Load(path string) (*Model, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	cache.Lock()
	defer cache.Unlock()
	if c, ok := cache.models[abs]; ok && c.size == info.Size() && c.mtime.Equal(info.ModTime()) {
		if err := spec.RegisterImported(c.model.Arch, c.model.Net); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return c.model, nil
	}
	m, err := Read(path)
	if err != nil {
		return nil, err
	}
	if err := spec.RegisterImported(m.Arch, m.Net); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cache.models[abs] = cached{size: info.Size(), mtime: info.ModTime(), model: m}
	return m, nil
}

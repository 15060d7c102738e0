// Package spec names what a recipe can ask for — datasets, model
// architectures and activations, backends — describes each architecture
// once, and checks a model description against a dataset, without linking
// GoMLX: the recipe parser and the dashboard use it, and the packages that
// build the real things (datasets, models, export, backend) take their
// vocabularies from it.
//
// An architecture is a Net: dense and convolution layers (with batch norm
// or biases, an activation each), pooling, flattening, dropout and residual
// blocks, in order. This package reads it for the layer table
// (Model.Architecture), the channels structured pruning removes together
// (Model.ChannelGroups) and FLOPs; pkg/models builds the GoMLX graph from
// it, every weight and activation through the techniques' hooks; pkg/export
// writes the runtime's graph from it. The zoo — mlp, lenet5, resnet8,
// resnet20, resnet18 — is five nets, and a program can register its own,
// which recipes it runs then name like the zoo's:
//
//	spec.Register("smallcnn", func(m spec.Model) spec.Net {
//		act := m.ActivationName()
//		return spec.Net{
//			spec.Conv("conv1", 8, 3).WithActivation(act),
//			spec.MaxPool("pool1", 2),
//			spec.Conv("conv2", 16, 3).WithPadding(spec.Valid).WithActivation(act),
//			spec.Flatten("flatten"),
//			spec.Dense("fc1", 32).WithActivation(act),
//			spec.Logits(),
//		}
//	})
//	// a recipe run by this program: model: {arch: smallcnn}
//
// Checking a model against a dataset:
//
//	m := spec.Model{Arch: "lenet5"}
//	if err := m.Accepts("spirals"); err != nil {
//		// model lenet5 needs images (height×width×channels); dataset spirals gives 2 features
//	}
package spec

import (
	"fmt"
	"slices"
	"strings"
)

// Dataset is what a dataset gives a model.
type Dataset struct {
	Name         string
	ExampleShape []int // one example: [features] or [height, width, channels]
	Classes      int
	// TrainSize is the number of training examples (before validation is
	// held out); 0 for synthetic sets, whose size a recipe chooses.
	TrainSize int
	Synthetic bool
	// FromFiles: the user's files, whose shape, classes and size are known
	// only from the recipe (data.size, data.channels) and the files.
	FromFiles bool
}

// DefaultSyntheticTrainSize is a synthetic set's training size when the
// recipe gives none (data.train_size).
const DefaultSyntheticTrainSize = 2000

// TrainExamples is how many training examples the dataset has before
// validation is held out: its size, or for a synthetic set the size asked
// for (requested, 0 for the default); of a real one, the first requested
// examples when that is fewer.
func (d Dataset) TrainExamples(requested int) int {
	if !d.Synthetic {
		if requested > 0 && requested < d.TrainSize {
			return requested
		}
		return d.TrainSize
	}
	if requested > 0 {
		return requested
	}
	return DefaultSyntheticTrainSize
}

// Datasets lists every dataset Lathe loads, real ones first.
var Datasets = []Dataset{
	{Name: "mnist", ExampleShape: []int{28, 28, 1}, Classes: 10, TrainSize: 60000},
	{Name: "fashion-mnist", ExampleShape: []int{28, 28, 1}, Classes: 10, TrainSize: 60000},
	{Name: "cifar10", ExampleShape: []int{32, 32, 3}, Classes: 10, TrainSize: 50000},
	{Name: "blobs", ExampleShape: []int{2}, Classes: 4, Synthetic: true},
	{Name: "spirals", ExampleShape: []int{2}, Classes: 2, Synthetic: true},
	{Name: "synthetic-images", ExampleShape: []int{28, 28, 1}, Classes: 4, Synthetic: true},
	{Name: "imagefolder", FromFiles: true},
	{Name: "csv", FromFiles: true},
}

// DatasetNames returns the names of Datasets.
func DatasetNames() []string {
	names := make([]string, len(Datasets))
	for i, d := range Datasets {
		names[i] = d.Name
	}
	return names
}

// LookupDataset returns the dataset of that name.
func LookupDataset(name string) (Dataset, bool) {
	for _, d := range Datasets {
		if d.Name == name {
			return d, true
		}
	}
	return Dataset{}, false
}

// Activations lists the activation names a Model accepts.
var Activations = []string{"relu", "gelu", "tanh", "sigmoid", "swish", "leaky_relu", "selu"}

// Model describes a model as a recipe writes it: an architecture (one of
// Archs: the zoo's or a registered one) and the settings its Net reads.
type Model struct {
	Arch       string  // one of Archs()
	Hidden     []int   // mlp: hidden layer widths (default [128])
	Activation string  // default relu
	Dropout    float64 // mlp: dropout rate after each hidden layer (0: none)
	// Widths resizes layers: outputs (neurons, filters) by layer name, as
	// structured pruning leaves them; the architecture's widths elsewhere.
	// Set by techniques, not written in recipes.
	Widths map[string]int
	// ONNX is the file an imported arch was read from (pkg/onnximport):
	// its weights are the model's before any stage; "" for an arch that
	// starts from random weights.
	ONNX string
}

// ActivationName is the model's activation: Activation, or relu.
func (m Model) ActivationName() string {
	if m.Activation == "" {
		return "relu"
	}
	return m.Activation
}

// Validate checks the description on its own: a known architecture, its
// settings, and the net they give.
func (m Model) Validate() error {
	if _, ok := lookupArch(m.Arch); !ok {
		return fmt.Errorf("unknown model arch %q (allowed: %s)", m.Arch, strings.Join(Archs(), ", "))
	}
	if m.Activation != "" && !slices.Contains(Activations, m.Activation) {
		return fmt.Errorf("unknown activation %q (allowed: %s)", m.Activation, strings.Join(Activations, ", "))
	}
	for _, h := range m.Hidden {
		if h <= 0 {
			return fmt.Errorf("hidden layer width must be positive, got %d", h)
		}
	}
	if m.Dropout < 0 || m.Dropout >= 1 {
		return fmt.Errorf("dropout must be in [0, 1), got %g", m.Dropout)
	}
	if err := m.checkWidths(); err != nil {
		return err
	}
	if err := checkNet(m.Net()); err != nil {
		return fmt.Errorf("arch %s: %w", m.Arch, err)
	}
	return nil
}

// IsConvolutional reports whether the model convolves or pools, and so
// takes images rather than feature vectors.
func (m Model) IsConvolutional() bool { return m.Net().takesImages() }

// AcceptsShape reports whether the model can take examples of this shape.
func (m Model) AcceptsShape(example []int) error {
	if need := m.needs(example); need != "" {
		return fmt.Errorf("model %s needs %s, got examples of shape %v", m.Arch, need, example)
	}
	if err := walkNet(m.Net(), example).err; err != nil {
		return fmt.Errorf("model %s on examples of shape %v: %w", m.Arch, example, err)
	}
	return nil
}

// needs says what the model needs that examples of this shape lack ("" if nothing).
func (m Model) needs(example []int) string {
	net := m.Net()
	switch {
	case !net.takesImages():
		if len(example) == 0 {
			return "at least one feature"
		}
	case len(example) != 3:
		return "images (height×width×channels)"
	default:
		if side := net.minImageSide(example[2]); example[0] < side || example[1] < side {
			return fmt.Sprintf("images of at least %d×%d pixels", side, side)
		}
	}
	return ""
}

// Accepts reports whether the model can train on the named dataset,
// naming both when it cannot.
func (m Model) Accepts(dataset string) error {
	d, ok := LookupDataset(dataset)
	if !ok {
		return fmt.Errorf("unknown dataset %q (allowed: %s)", dataset, strings.Join(DatasetNames(), ", "))
	}
	if d.FromFiles { // the shape is the recipe's: see AcceptsShape
		return nil
	}
	if need := m.needs(d.ExampleShape); need != "" {
		gives := fmt.Sprintf("examples of shape %v", d.ExampleShape)
		switch len(d.ExampleShape) {
		case 1:
			gives = fmt.Sprintf("%d features per example", d.ExampleShape[0])
		case 3:
			gives = fmt.Sprintf("%d×%d×%d images", d.ExampleShape[0], d.ExampleShape[1], d.ExampleShape[2])
		}
		return fmt.Errorf("model %s needs %s; dataset %s gives %s", m.Arch, need, dataset, gives)
	}
	return nil
}

// Backends lists the forms a backend setting takes.
var Backends = []string{"auto", "go", "gocompute", "simplego", "xla:cpu", "xla:cuda", "xla:/abs/path/plugin.so"}

// ValidateBackend reports whether s has one of the accepted forms, without
// opening anything.
func ValidateBackend(s string) error {
	switch {
	case s == "" || s == "auto" || s == "go" || s == "gocompute" || s == "simplego" || s == "xla:cpu" || s == "xla:cuda":
		return nil
	case strings.HasPrefix(s, "xla:"):
		if path := strings.TrimPrefix(s, "xla:"); !strings.HasPrefix(path, "/") {
			return fmt.Errorf("backend %q: a plugin path must be absolute (allowed: %s)", s, strings.Join(Backends, ", "))
		}
		return nil
	}
	return fmt.Errorf("unknown backend %q (allowed: %s)", s, strings.Join(Backends, ", "))
}

// ActivationAtZero is the model's activation function at 0: what a
// silenced neuron or filter (weights and bias 0) passes on.
func (m Model) ActivationAtZero() float64 {
	if m.Activation == "sigmoid" {
		return 0.5
	}
	return 0 // relu, gelu, tanh, swish, leaky_relu and selu all pass 0
}

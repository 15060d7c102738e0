package spec

import (
	"fmt"
	"slices"
	"strings"
)

// A Net describes an architecture: the ops a model applies to its input,
// in order, ending with the classifier (Logits). It is the one description
// every part of Lathe reads — this package's layer tables, channel groups
// and FLOPs, pkg/models' GoMLX graph (with the techniques' hooks), and
// pkg/export's file for the runtime — so a net registered with Register
// can be trained, pruned, quantized, distilled and exported like the zoo's.
type Net []Op

// OpKind says what an Op computes.
type OpKind string

// The kinds of Op.
const (
	// KindDense is x·W + b, W [in, out] at <name>/weights, b at <name>/biases.
	KindDense OpKind = "dense"
	// KindConv is a K×K convolution of images [h, w, c], weights [K, K, c,
	// out] at <name>/weights; with biases at <name>/biases, or, with
	// BatchNorm, weights at <name>/conv/weights followed by batch norm
	// under <name>/bn (the layout of the zoo's ResNets, which checkpoints
	// and structured pruning address).
	KindConv OpKind = "conv"
	// KindMaxPool takes the maximum of Window×Window tiles (stride Window;
	// a remainder row or column is dropped).
	KindMaxPool OpKind = "max_pool"
	// KindGlobalAvgPool averages images [h, w, c] to [c].
	KindGlobalAvgPool OpKind = "global_avg_pool"
	// KindFlatten turns images [h, w, c] into features [h·w·c], channel
	// last; features pass unchanged.
	KindFlatten OpKind = "flatten"
	// KindDropout zeroes a fraction Rate of its input while training.
	KindDropout OpKind = "dropout"
	// KindResidual adds the outputs of two branches that read the same
	// value: Body, and Shortcut (empty: the value itself).
	KindResidual OpKind = "residual"
)

// Padding is a convolution's border rule.
type Padding string

const (
	// Same pads with zeros so the output has ⌈size/stride⌉ pixels (the
	// extra row and column after, as XLA and TensorFlow split it).
	Same Padding = "same"
	// Valid does not pad: the output has ⌈(size−K+1)/stride⌉ pixels.
	Valid Padding = "valid"
)

// LogitsName is the classifier's name: the dense layer that ends every
// net, whose width is the number of classes.
const LogitsName = "logits"

// Op is one step of a Net. Build ops with the constructors (Dense, Conv,
// MaxPool, …) and the With… methods rather than by hand: they fill in
// the defaults.
type Op struct {
	Kind OpKind
	// Name is the op's scope under its parent's — the model's
	// (/<arch>/<name>), or a residual block's. Dense and convolution
	// layers keep their variables there; every op but dropout is a value
	// of that name in an exported file. A name may hold slashes
	// ("stage1/block1"). Model.Net gives every op its full name.
	Name string
	// Out is a dense layer's neurons or a convolution's filters; 0 for
	// the classifier, whose width is the number of classes.
	Out int
	// Kernel, Stride and Padding shape a convolution.
	Kernel, Stride int
	Padding        Padding
	// BatchNorm follows a convolution with batch normalization (and
	// drops its biases: the normalization's offset takes their place).
	BatchNorm bool
	// Activation is applied to a dense or convolution layer's output (after
	// batch norm), or to a residual block's sum: one of Activations, ""
	// for none.
	Activation string
	Window     int     // max_pool's window and stride
	Rate       float64 // dropout's rate, in [0, 1)
	// Body and Shortcut are a residual block's branches.
	Body, Shortcut Net
}

// Dense is a fully connected layer of out neurons, without activation.
func Dense(name string, out int) Op { return Op{Kind: KindDense, Name: name, Out: out} }

// Logits is the classifier every net ends with: a dense layer named
// "logits", as wide as the data set has classes, without activation.
func Logits() Op { return Dense(LogitsName, 0) }

// Conv is a kernel×kernel convolution with filters outputs, stride 1, same
// padding and biases, without activation.
func Conv(name string, filters, kernel int) Op {
	return Op{Kind: KindConv, Name: name, Out: filters, Kernel: kernel, Stride: 1, Padding: Same}
}

// MaxPool is window×window max pooling with stride window.
func MaxPool(name string, window int) Op { return Op{Kind: KindMaxPool, Name: name, Window: window} }

// GlobalAvgPool averages each channel over the image.
func GlobalAvgPool(name string) Op { return Op{Kind: KindGlobalAvgPool, Name: name} }

// Flatten turns images into feature vectors, channel last.
func Flatten(name string) Op { return Op{Kind: KindFlatten, Name: name} }

// Dropout zeroes a fraction rate of its input while training.
func Dropout(rate float64) Op { return Op{Kind: KindDropout, Rate: rate} }

// Residual adds body's output to shortcut's (nil: the block's input
// itself). The block's sum is named <name>/add, and its ops' names are
// under name: a convolution "a" of block "stage1/block1" keeps its weights
// at /<arch>/stage1/block1/a/weights.
func Residual(name string, body, shortcut Net) Op {
	return Op{Kind: KindResidual, Name: name, Body: body, Shortcut: shortcut}
}

// WithActivation returns the op followed by the named activation.
func (o Op) WithActivation(name string) Op { o.Activation = name; return o }

// WithStride returns the convolution with that stride.
func (o Op) WithStride(stride int) Op { o.Stride = stride; return o }

// WithPadding returns the convolution with that padding.
func (o Op) WithPadding(p Padding) Op { o.Padding = p; return o }

// WithBatchNorm returns the convolution followed by batch normalization.
func (o Op) WithBatchNorm() Op { o.BatchNorm = true; return o }

// WeightScope is where a dense or convolution layer's weights live, under
// the model's scope: its name, or <name>/conv for a convolution followed
// by batch norm. It is the layer's name in Layers, ChannelGroups and
// Model.Widths.
func (o Op) WeightScope() string {
	if o.Kind == KindConv && o.BatchNorm {
		return o.Name + "/conv"
	}
	return o.Name
}

// BatchNormScope is where a convolution's batch norm lives (<name>/bn).
func (o Op) BatchNormScope() string { return o.Name + "/bn" }

// AddName is a residual block's sum's name (<name>/add).
func (o Op) AddName() string { return o.Name + "/add" }

// holdsWeights reports whether the op is a dense or convolution layer.
func (o Op) holdsWeights() bool { return o.Kind == KindDense || o.Kind == KindConv }

// resolve returns a copy of the net with every op's name made its full
// name under the model (parent/name) and the widths applied to the layers
// they name.
func (n Net) resolve(parent string, widths map[string]int) Net {
	if n == nil {
		return nil
	}
	out := make(Net, len(n))
	for i, op := range n {
		if op.Name != "" && parent != "" {
			op.Name = parent + "/" + op.Name
		}
		if w, ok := widths[op.WeightScope()]; ok && op.holdsWeights() {
			op.Out = w
		}
		if op.Kind == KindResidual {
			op.Body = op.Body.resolve(op.Name, widths)
			op.Shortcut = op.Shortcut.resolve(op.Name, widths)
		}
		out[i] = op
	}
	return out
}

// validate checks a resolved net on its own: known kinds, sizes that make
// sense, names that are unique, and the classifier at the end. What
// depends on the example's shape is AcceptsShape's.
func (n Net) validate() error {
	if len(n) == 0 {
		return fmt.Errorf("the net has no ops")
	}
	if last := n[len(n)-1]; last.Kind != KindDense || last.Name != LogitsName || last.Activation != "" {
		return fmt.Errorf("the net must end with the classifier, spec.Logits() (a dense layer %q without activation)", LogitsName)
	}
	claimed := map[string]bool{}
	return n.check(claimed, true)
}

func (n Net) check(claimed map[string]bool, top bool) error {
	claim := func(op Op, names ...string) error {
		for _, name := range names {
			if claimed[name] {
				return fmt.Errorf("%s %q: the name %q is taken by an earlier op", op.Kind, op.Name, name)
			}
			claimed[name] = true
		}
		return nil
	}
	for i, op := range n {
		where := fmt.Sprintf("%s %q", op.Kind, op.Name)
		if op.Kind != KindDropout {
			if op.Name == "" || slices.Contains(strings.Split(op.Name, "/"), "") {
				return fmt.Errorf("%s op %d: needs a name (slash-separated parts, none empty)", op.Kind, i+1)
			}
			if op.Name == "input" {
				return fmt.Errorf("%s: the name %q is the model's input's", where, op.Name)
			}
		}
		if op.Activation != "" && !slices.Contains(Activations, op.Activation) {
			return fmt.Errorf("%s: unknown activation %q (allowed: %s)", where, op.Activation, strings.Join(Activations, ", "))
		}
		if op.Activation != "" && !op.holdsWeights() && op.Kind != KindResidual {
			return fmt.Errorf("%s: only dense, convolution and residual ops take an activation", where)
		}
		classifier := top && i == len(n)-1
		var err error
		switch op.Kind {
		case KindDense:
			if op.Out <= 0 && !classifier {
				return fmt.Errorf("%s: needs at least one output, got %d", where, op.Out)
			}
			err = claim(op, op.Name)
		case KindConv:
			switch {
			case op.Out <= 0:
				return fmt.Errorf("%s: needs at least one filter, got %d", where, op.Out)
			case op.Kernel < 1 || op.Stride < 1:
				return fmt.Errorf("%s: kernel %d and stride %d must be positive", where, op.Kernel, op.Stride)
			case op.Padding != Same && op.Padding != Valid:
				return fmt.Errorf("%s: padding %q (allowed: %s, %s)", where, op.Padding, Same, Valid)
			}
			if op.BatchNorm {
				err = claim(op, op.Name, op.WeightScope(), op.BatchNormScope())
			} else {
				err = claim(op, op.Name)
			}
		case KindMaxPool:
			if op.Window < 1 {
				return fmt.Errorf("%s: window %d must be positive", where, op.Window)
			}
			err = claim(op, op.Name)
		case KindGlobalAvgPool, KindFlatten:
			err = claim(op, op.Name)
		case KindDropout:
			if op.Rate < 0 || op.Rate >= 1 {
				return fmt.Errorf("dropout op %d: rate must be in [0, 1), got %g", i+1, op.Rate)
			}
		case KindResidual:
			if len(op.Body) == 0 {
				return fmt.Errorf("%s: has no body", where)
			}
			if err = claim(op, op.AddName()); err == nil {
				if err = op.Body.check(claimed, false); err == nil {
					err = op.Shortcut.check(claimed, false)
				}
			}
		default:
			return fmt.Errorf("op %d %q: unknown kind %q", i+1, op.Name, op.Kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// takesImages reports whether the net convolves or pools, and so needs
// images [height, width, channels] rather than feature vectors.
func (n Net) takesImages() bool {
	for _, op := range n {
		switch op.Kind {
		case KindConv, KindMaxPool, KindGlobalAvgPool:
			return true
		case KindResidual:
			if op.Body.takesImages() || op.Shortcut.takesImages() {
				return true
			}
		}
	}
	return false
}

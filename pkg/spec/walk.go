package spec

import (
	"fmt"
	"slices"
)

// checkNet checks a resolved net on its own and its wiring: a residual
// block adds two distinct layers' outputs, neither the model's input.
func checkNet(n Net) error {
	if err := n.validate(); err != nil {
		return err
	}
	return walkNet(n, nil).err
}

// walk follows the values of a net from the model's input, laying out its
// weight layers and, when the example's shape is known, the shapes that
// flow: the one traversal behind Architecture, the checks and AcceptsShape.
type walk struct {
	layers []Layer
	index  map[string]int // layer name → position in layers
	err    error          // the first problem met
	// tooSmall is set when the images shrink to nothing (a problem of the
	// example's size, which AcceptsShape words as a minimum size).
	tooSmall bool
}

// flow is what one op hands the next.
type flow struct {
	// producer is the weight layer whose outputs the value's channels are
	// ("" for the model's input): pooling, flattening, dropout and
	// residual additions keep them.
	producer string
	// dims is one example's shape ([h, w, c] or [n]), nil when unknown.
	dims []int
	// flattened is the positions per channel of images a layer made and
	// Flatten turned into features (0: none, or not known).
	flattened int
}

// walkNet walks n for examples of this shape (nil: unknown).
func walkNet(n Net, example []int) *walk {
	w := &walk{index: map[string]int{}}
	var input flow
	if len(example) > 0 {
		input.dims = example
	}
	w.net(n, input)
	return w
}

func (w *walk) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

func (w *walk) net(n Net, x flow) flow {
	for _, op := range n {
		x = w.op(op, x)
	}
	return x
}

// channels is how many values per position a layer reading x takes: the
// producer's outputs (times the positions, flattened), or the input's
// (all its values for a dense layer, its channels for a convolution).
func (w *walk) channels(x flow, conv bool) int {
	switch {
	case x.producer != "":
		return w.layers[w.index[x.producer]].Out * max(x.flattened, 1)
	case x.dims == nil:
		return 0
	case conv:
		return x.dims[len(x.dims)-1]
	}
	n := 1
	for _, d := range x.dims {
		n *= d
	}
	return n
}

func (w *walk) add(l Layer) flow {
	w.index[l.Name] = len(w.layers)
	w.layers = append(w.layers, l)
	return flow{producer: l.Name}
}

func (w *walk) op(op Op, x flow) flow {
	images := len(x.dims) == 3
	if (op.Kind == KindConv || op.Kind == KindMaxPool || op.Kind == KindGlobalAvgPool) && x.dims != nil && !images {
		w.fail("%s %s reads features %v; it needs images (height×width×channels)", op.Kind, op.Name, x.dims)
	}
	switch op.Kind {
	case KindDense:
		if images {
			w.fail("dense layer %s reads images %v: flatten them first", op.Name, x.dims)
		}
		y := w.add(Layer{Name: op.WeightScope(), Out: op.Out, Positions: 1, In: w.channels(x, false), Input: x.producer, Flattened: x.flattened})
		if x.dims != nil {
			y.dims = []int{op.Out}
		}
		return y
	case KindConv:
		l := Layer{Name: op.WeightScope(), Conv: true, Kernel: op.Kernel, Out: op.Out, In: w.channels(x, true), Input: x.producer}
		var dims []int
		if images {
			h, wd := convSize(x.dims[0], op), convSize(x.dims[1], op)
			if h < 1 || wd < 1 {
				w.tooSmall = true
				w.fail("convolution %s: a %d×%d %s convolution does not fit %d×%d images", op.Name, op.Kernel, op.Kernel, op.Padding, x.dims[0], x.dims[1])
			}
			l.Positions = max(h, 0) * max(wd, 0)
			dims = []int{h, wd, op.Out}
		}
		y := w.add(l)
		y.dims = dims
		return y
	case KindMaxPool:
		if images {
			window := max(op.Window, 1) // as for convSize's stride
			h, wd := x.dims[0]/window, x.dims[1]/window
			if h < 1 || wd < 1 {
				w.tooSmall = true
				w.fail("max_pool %s: a %d×%d window does not fit %d×%d images", op.Name, op.Window, op.Window, x.dims[0], x.dims[1])
			}
			x.dims = []int{h, wd, x.dims[2]}
		}
	case KindGlobalAvgPool:
		if images {
			x.dims = []int{x.dims[2]}
		}
	case KindFlatten:
		if images {
			if x.producer != "" {
				x.flattened = x.dims[0] * x.dims[1]
			}
			x.dims = []int{x.dims[0] * x.dims[1] * x.dims[2]}
		}
	case KindResidual:
		y := w.net(op.Body, x)
		s := w.net(op.Shortcut, x)
		switch {
		case y.producer == x.producer:
			w.fail("residual %s: its body needs a dense or convolution layer", op.Name)
		case s.producer == "":
			// Structured pruning could not keep the sum's channels equal.
			w.fail("residual %s adds the model's input: put a layer before the block", op.Name)
		case w.layers[w.index[y.producer]].Residual != "":
			w.fail("residual %s: its body must end with a layer of its own, not another residual block", op.Name)
		case y.dims != nil && s.dims != nil && !slices.Equal(y.dims, s.dims):
			w.fail("residual %s adds values of shapes %v (body) and %v (shortcut)", op.Name, y.dims, s.dims)
		default:
			// The sum's channels are the body's last layer's and the
			// shortcut's at once: structured pruning removes them together.
			w.layers[w.index[y.producer]].Residual = s.producer
		}
		return y
	}
	return x
}

// convSize is a convolution's output size along an axis of size in: same
// padding keeps ⌈in/stride⌉, valid loses K−1 first. (A stride below 1,
// which Net.validate refuses, counts as 1: Validate lays out the layers
// before it checks the net.)
func convSize(in int, op Op) int {
	if op.Padding == Valid {
		in -= op.Kernel - 1
	}
	stride := max(op.Stride, 1)
	return (in + stride - 1) / stride
}

// minImageSide is the smallest height and width of images (with this many
// channels) the net can take: the sizes of convolutions and pooling grow
// with their input's, so a doubling then a bisection finds it.
func (n Net) minImageSide(channels int) int {
	fits := func(side int) bool { return !walkNet(n, []int{side, side, channels}).tooSmall }
	hi := 1
	for !fits(hi) {
		if hi > 1<<20 {
			return hi
		}
		hi *= 2
	}
	lo := hi / 2 // does not fit (or 0)
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; fits(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

package onnximport

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/lathe-ml/lathe/pkg/spec"
)

// supported are the ops the translation knows (see the package doc).
var supported = []string{"Add", "AveragePool", "BatchNormalization", "Constant", "Conv", "Dropout", "Flatten", "Gemm",
	"GlobalAveragePool", "Identity", "LeakyRelu", "LogSoftmax", "MatMul", "MaxPool", "ReduceMean", "Relu", "Reshape",
	"Sigmoid", "Softmax", "Tanh"}

// shapeOps compute a Reshape's target shape from the input's (PyTorch's
// x.view(x.size(0), -1) with a dynamic batch): they are reported as that
// Reshape's problem, not each as an op Lathe lacks.
var shapeOps = []string{"Shape", "Gather", "Unsqueeze", "Concat", "Cast", "Slice", "Squeeze"}

// value is what flows between ops: one example's shape, PyTorch's way
// (images [c, h, w], features [n]).
type value struct {
	name  string
	dims  []int
	chw   []int // for features a flatten made: the images' [c, h, w]
	owner int   // how many ops of the current net are in (for activations)
}

func (v value) image() bool { return len(v.dims) == 3 }

// importer turns the graph into a spec.Net and Lathe's weights.
type importer struct {
	g       *graph
	weights map[string]Weight // by variable path under the model's scope
	notes   []string
	names   map[string]bool
	done    map[*node]bool // the nodes translated
	blocks  int
}

// unsupportedOps lists, in one error, every node whose op the translation
// does not know.
func (im *importer) unsupportedOps() error {
	var bad []string
	for _, n := range im.g.nodes {
		if (n.domain != "" && n.domain != "ai.onnx") || !slices.Contains(supported, n.op) {
			if slices.Contains(shapeOps, n.op) && im.feedsShapeOnly(n, map[*node]bool{}) {
				continue
			}
			op := n.op
			if n.domain != "" {
				op = n.domain + "." + op
			}
			bad = append(bad, fmt.Sprintf("%s (node %q)", op, n.name))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%d node(s) use ops Lathe cannot run: %s (Lathe runs %s)", len(bad), strings.Join(bad, ", "), strings.Join(supported, ", "))
}

// feedsShapeOnly reports whether n's outputs only reach a Reshape's shape.
func (im *importer) feedsShapeOnly(n *node, seen map[*node]bool) bool {
	if seen[n] {
		return true
	}
	seen[n] = true
	for _, out := range n.outs {
		if out == im.g.output {
			return false
		}
		for _, c := range im.g.consumers[out] {
			switch {
			case c.op == "Reshape" && len(c.inputs) > 1 && c.inputs[1] == out && c.inputs[0] != out:
			case slices.Contains(shapeOps, c.op) && im.feedsShapeOnly(c, seen):
			default:
				return false
			}
		}
	}
	return true
}

// dataInputs are a node's inputs that are not constants.
func (im *importer) dataInputs(n *node) []string {
	var out []string
	for _, in := range n.inputs {
		if _, isConst := im.g.consts[in]; in != "" && !isConst {
			out = append(out, in)
		}
	}
	return out
}

// next is the one node that reads v, nil at the graph's output.
func (im *importer) readers(v string) []*node {
	var out []*node
	for _, c := range im.g.consumers[v] {
		if slices.Contains(shapeOps, c.op) && im.feedsShapeOnly(c, map[*node]bool{}) {
			continue // x.size(0): not a use of the values
		}
		out = append(out, c)
	}
	return out
}

// chain translates the ops from v on, starting with first (nil: v's one
// reader), until it reaches stop (nil: the graph's output). It returns the
// ops and the value stop reads.
func (im *importer) chain(v value, first, stop *node, scope string) (spec.Net, value, error) {
	var net spec.Net
	n := first
	for {
		if n == nil {
			if v.name == im.g.output {
				if stop != nil {
					return nil, v, fmt.Errorf("the value %q reaches the output before the residual sum %s", v.name, stop.label())
				}
				return net, v, nil
			}
			readers := im.readers(v.name)
			switch len(readers) {
			case 0:
				return nil, v, fmt.Errorf("the value %q is read by no node and is not the output", v.name)
			case 1:
				n = readers[0]
			case 2:
				op, out, err := im.residual(v, readers, scope)
				if err != nil {
					return nil, v, err
				}
				net = append(net, op)
				v = out
				v.owner = len(net)
				continue
			default:
				return nil, v, fmt.Errorf("the value %q feeds %d nodes: Lathe's nets branch only into residual blocks of two", v.name, len(readers))
			}
		}
		if n == stop {
			return net, v, nil
		}
		if im.done[n] {
			return nil, v, fmt.Errorf("node %s is reached twice: the graph has a cycle or a branch Lathe cannot follow", n.label())
		}
		im.done[n] = true
		if ins := im.dataInputs(n); len(ins) != 1 || ins[0] != v.name {
			return nil, v, fmt.Errorf("node %s: reads %d computed values (%s); outside a residual sum, Lathe's ops read one", n.label(), len(ins), strings.Join(ins, ", "))
		}
		var err error
		net, v, err = im.op(net, v, n, scope)
		if err != nil {
			return nil, v, fmt.Errorf("node %s: %w", n.label(), err)
		}
		n = nil
	}
}

// residual translates a block whose two branches start at v and meet in
// an Add.
func (im *importer) residual(v value, readers []*node, scope string) (spec.Op, value, error) {
	joins := make([]*node, 2)
	for i, r := range readers {
		n := r
		for steps := 0; ; steps++ {
			if n.op == "Add" && len(im.dataInputs(n)) == 2 {
				break
			}
			next := im.readers(firstOut(n))
			if len(next) != 1 || steps > len(im.g.nodes) {
				return spec.Op{}, v, fmt.Errorf("the value %q feeds two branches that do not meet in an Add (a residual block)", v.name)
			}
			n = next[0]
		}
		joins[i] = n
	}
	if joins[0] != joins[1] {
		return spec.Op{}, v, fmt.Errorf("the value %q feeds two branches that end in different Adds (%s, %s)", v.name, joins[0].label(), joins[1].label())
	}
	join := joins[0]
	im.blocks++
	name := im.unique(scope, fmt.Sprintf("block%d", im.blocks), join, "")
	inner := scope + name + "/"
	branches := make([]spec.Net, 2)
	outs := make([]value, 2)
	for i, r := range readers {
		var err error
		if branches[i], outs[i], err = im.chain(v, r, join, inner); err != nil {
			return spec.Op{}, v, err
		}
	}
	body, shortcut := 0, 1
	if len(branches[0]) < len(branches[1]) {
		body, shortcut = 1, 0
	}
	if len(branches[body]) == 0 {
		return spec.Op{}, v, fmt.Errorf("node %s adds a value to itself", join.label())
	}
	if !slices.Equal(outs[0].dims, outs[1].dims) {
		return spec.Op{}, v, fmt.Errorf("node %s adds shapes %v and %v", join.label(), outs[0].dims, outs[1].dims)
	}
	out := value{name: firstOut(join), dims: outs[body].dims}
	return spec.Residual(name, branches[body], branches[shortcut]), out, nil
}

func firstOut(n *node) string {
	if len(n.outs) == 0 {
		return ""
	}
	return n.outs[0]
}

var nameChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// unique is a Lathe op name, unique under scope: made from the ONNX
// weight's name ("fc1.weight" → "fc1"), else from the node's
// ("/features/features.0/Conv" → "features_0"), else base.
func (im *importer) unique(scope, base string, n *node, weight string) string {
	candidate := ""
	if weight != "" && !strings.Contains(weight, "::") {
		candidate = strings.TrimSuffix(strings.TrimSuffix(weight, ".weight"), ".bias")
	} else if n != nil && n.name != "" {
		parts := strings.Split(strings.Trim(n.name, "/"), "/")
		if len(parts) > 1 && strings.HasPrefix(parts[len(parts)-1], n.op) {
			parts = parts[:len(parts)-1]
		}
		candidate = parts[len(parts)-1]
	}
	if s := strings.Trim(nameChars.ReplaceAllString(candidate, "_"), "_"); s != "" && s[0] >= 'A' {
		base = s
	}
	if base == "input" || base == spec.LogitsName {
		base += "_"
	}
	name := base
	for i := 2; im.names[scope+name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	im.names[scope+name] = true
	return name
}

// op translates node n, which reads v, appending to net.
func (im *importer) op(net spec.Net, v value, n *node, scope string) (spec.Net, value, error) {
	if n.unsupportedAt != "" {
		return net, v, fmt.Errorf("%s", n.unsupportedAt)
	}
	out := v
	out.name = firstOut(n)
	last := len(net) - 1
	switch n.op {
	case "Identity", "Dropout":
		if len(n.outs) > 1 && len(im.g.consumers[n.outs[1]]) > 0 {
			return net, v, fmt.Errorf("its mask output is used")
		}
		return net, out, nil
	case "Softmax", "LogSoftmax":
		if out.name != im.g.output {
			return net, v, fmt.Errorf("%s is only dropped at the end of the net", n.op)
		}
		im.notes = append(im.notes, fmt.Sprintf("the final %s was dropped: Lathe's models return logits, and the winning class is the same", n.op))
		return net, out, nil
	case "Relu", "Sigmoid", "Tanh", "LeakyRelu":
		act := map[string]string{"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu"}[n.op]
		if n.op == "LeakyRelu" {
			// Lathe's (GoMLX's) leaky ReLU has slope 0.3; PyTorch's default is 0.01.
			if a := n.float("alpha", 0.01); math.Abs(a-0.3) > 1e-6 {
				return net, v, fmt.Errorf("alpha %g: Lathe's leaky_relu has slope 0.3", float32(a))
			}
		}
		if last < 0 || v.owner != len(net) || net[last].Activation != "" ||
			(net[last].Kind != spec.KindDense && net[last].Kind != spec.KindConv && net[last].Kind != spec.KindResidual) {
			return net, v, fmt.Errorf("Lathe applies an activation right after a dense, convolution or residual layer only")
		}
		net[last].Activation = act
		out.owner = len(net)
		return net, out, nil
	case "Conv":
		return im.conv(net, v, n, scope)
	case "BatchNormalization":
		return im.batchNorm(net, v, n, scope)
	case "Gemm", "MatMul":
		return im.dense(net, v, n, scope)
	case "Add":
		return im.bias(net, v, n, scope)
	case "MaxPool":
		if !v.image() {
			return net, v, fmt.Errorf("pools features, not images")
		}
		k, s := n.ints["kernel_shape"], n.ints["strides"]
		if len(k) != 2 || k[0] != k[1] || len(s) != 2 || s[0] != k[0] || s[1] != k[1] {
			return net, v, fmt.Errorf("kernel %v with strides %v: Lathe's max pool has a square window with stride equal to it", k, s)
		}
		if !allZero(n.ints["pads"]) || n.int("ceil_mode", 0) != 0 || !allOne(n.ints["dilations"]) || autoPad(n) {
			return net, v, fmt.Errorf("padding, ceil_mode or dilation: Lathe's max pool has none")
		}
		w := int(k[0])
		if v.dims[1] < w || v.dims[2] < w {
			return net, v, fmt.Errorf("a %d×%d window on %d×%d images", w, w, v.dims[1], v.dims[2])
		}
		out.dims = []int{v.dims[0], v.dims[1] / w, v.dims[2] / w}
		out.owner = -1
		return append(net, spec.MaxPool(im.unique(scope, "pool", n, ""), w)), out, nil
	case "GlobalAveragePool", "AveragePool", "ReduceMean":
		if !v.image() {
			return net, v, fmt.Errorf("averages features, not images")
		}
		switch n.op {
		case "AveragePool":
			k := n.ints["kernel_shape"]
			if len(k) != 2 || int(k[0]) != v.dims[1] || int(k[1]) != v.dims[2] || !allZero(n.ints["pads"]) {
				return net, v, fmt.Errorf("kernel %v on %d×%d images: Lathe averages whole images only (global average pooling)", k, v.dims[1], v.dims[2])
			}
		case "ReduceMean":
			axes := n.ints["axes"]
			if len(n.inputs) > 1 {
				if t := im.g.consts[n.inputs[1]]; t != nil {
					axes = t.ints
				}
			}
			if !slices.Equal(axes, []int64{2, 3}) && !slices.Equal(axes, []int64{-2, -1}) {
				return net, v, fmt.Errorf("axes %v: Lathe averages over height and width only", axes)
			}
		}
		out.dims = []int{v.dims[0]}
		out.chw = nil
		out.owner = -1
		return append(net, spec.GlobalAvgPool(im.unique(scope, "avgpool", n, ""))), out, nil
	case "Flatten":
		if a := n.int("axis", 1); a != 1 {
			return net, v, fmt.Errorf("axis %d: Lathe flattens everything but the batch (axis 1)", a)
		}
		return im.flatten(net, v, out, im.unique(scope, "flatten", n, ""))
	case "Reshape":
		t := im.g.consts[n.inputs[1]]
		if t == nil {
			return net, v, fmt.Errorf("its shape is computed in the graph: flatten with torch.flatten(x, 1) or nn.Flatten(), or export with a fixed batch")
		}
		size := product(v.dims)
		s := t.ints
		if len(s) != 2 || !(s[1] == -1 || int(s[1]) == size || (s[0] == -1 && s[1] == int64(size))) {
			return net, v, fmt.Errorf("shape %v: Lathe reshapes only to [batch, -1] (a flatten)", s)
		}
		return im.flatten(net, v, out, im.unique(scope, "flatten", n, ""))
	}
	return net, v, fmt.Errorf("op %s is not translated", n.op)
}

func (im *importer) flatten(net spec.Net, v, out value, name string) (spec.Net, value, error) {
	out.dims = []int{product(v.dims)}
	out.owner = -1
	if v.image() {
		out.chw = v.dims
	}
	return append(net, spec.Flatten(name)), out, nil
}

func product(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

func allZero(v []int64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

func allOne(v []int64) bool {
	for _, x := range v {
		if x != 1 {
			return false
		}
	}
	return true
}

// autoPad reports an auto_pad other than NOTSET or VALID.
func autoPad(n *node) bool {
	p := n.strings["auto_pad"]
	return p != "" && p != "NOTSET" && p != "VALID"
}

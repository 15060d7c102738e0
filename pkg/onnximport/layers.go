package onnximport

import (
	"fmt"
	"math"

	"github.com/lathe-ml/lathe/pkg/spec"
)

// Weight is one of Lathe's variables: its shape and values (row-major).
type Weight struct {
	Shape  []int
	Values []float32
}

// weightOf is a Conv's, Gemm's or MatMul's constant input at index i.
func (im *importer) weightOf(n *node, i int, what string) (*tensor, error) {
	if i >= len(n.inputs) || n.inputs[i] == "" {
		return nil, fmt.Errorf("has no %s", what)
	}
	t := im.g.consts[n.inputs[i]]
	if t == nil {
		return nil, fmt.Errorf("its %s (%q) is computed, not a constant: Lathe imports weights, not weight computations", what, n.inputs[i])
	}
	return t, nil
}

// conv translates a Conv: filters [O, C, K, K] become Lathe's [K, K, C, O].
func (im *importer) conv(net spec.Net, v value, n *node, scope string) (spec.Net, value, error) {
	if !v.image() {
		return net, v, fmt.Errorf("convolves features, not images")
	}
	w, err := im.weightOf(n, 1, "filters")
	if err != nil {
		return net, v, err
	}
	if len(w.dims) != 4 || w.dims[2] != w.dims[3] {
		return net, v, fmt.Errorf("filters of shape %v: Lathe's convolutions are 2-D with square kernels", w.dims)
	}
	o, c, k := w.dims[0], w.dims[1], w.dims[2]
	if g := n.int("group", 1); g != 1 || c != v.dims[0] {
		return net, v, fmt.Errorf("group %d with filters %v on %d channels: Lathe's convolutions are not grouped", g, w.dims, v.dims[0])
	}
	if !allOne(n.ints["dilations"]) {
		return net, v, fmt.Errorf("dilations %v: Lathe's convolutions are not dilated", n.ints["dilations"])
	}
	stride := 1
	if s := n.ints["strides"]; len(s) > 0 {
		if len(s) != 2 || s[0] != s[1] || s[0] < 1 {
			return net, v, fmt.Errorf("strides %v: Lathe's convolutions have one stride for both axes", s)
		}
		stride = int(s[0])
	}
	padding, outH, outW, err := convPadding(n, v.dims[1], v.dims[2], k, stride)
	if err != nil {
		return net, v, err
	}
	name := im.unique(scope, "conv", n, n.inputs[1])
	full := scope + name
	filters := make([]float32, len(w.values))
	for oc := range o {
		for ic := range c {
			for i := range k {
				for j := range k {
					filters[((i*k+j)*c+ic)*o+oc] = float32(w.values[((oc*c+ic)*k+i)*k+j])
				}
			}
		}
	}
	bias, err := im.biasOf(n, 2, o)
	if err != nil {
		return net, v, err
	}
	im.weights[full+"/weights"] = Weight{Shape: []int{k, k, c, o}, Values: filters}
	im.weights[full+"/biases"] = Weight{Shape: []int{o}, Values: bias}
	net = append(net, spec.Conv(name, o, k).WithStride(stride).WithPadding(padding))
	out := value{name: firstOut(n), dims: []int{o, outH, outW}, owner: len(net)}
	return net, out, nil
}

// convPadding is the Lathe padding that computes what the Conv's pads do,
// and the output's size.
func convPadding(n *node, h, w, k, stride int) (spec.Padding, int, int, error) {
	pads := n.ints["pads"]
	switch n.strings["auto_pad"] {
	case "SAME_UPPER":
		return spec.Same, ceilDiv(h, stride), ceilDiv(w, stride), nil
	case "VALID":
		pads = nil
	case "", "NOTSET":
	default:
		return "", 0, 0, fmt.Errorf("auto_pad %s: Lathe pads the extra row after (SAME_UPPER)", n.strings["auto_pad"])
	}
	if len(pads) != 0 && len(pads) != 4 {
		return "", 0, 0, fmt.Errorf("pads %v: want 4", pads)
	}
	if allZero(pads) {
		if h < k || w < k {
			return "", 0, 0, fmt.Errorf("a %d×%d kernel on %d×%d images", k, k, h, w)
		}
		return spec.Valid, (h-k)/stride + 1, (w-k)/stride + 1, nil
	}
	// Explicit pads compute what Lathe's "same" does when the output has
	// ⌈size/stride⌉ pixels and the pad before matches XLA's split (the
	// extra row after): a pad after that the stride never reaches does
	// not matter.
	for axis, size := range []int{h, w} {
		before, after := int(pads[axis]), int(pads[axis+2])
		out := (size+before+after-k)/stride + 1
		want := ceilDiv(size, stride)
		total := max((want-1)*stride+k-size, 0)
		if before < 0 || after < 0 || out != want || before != total/2 {
			return "", 0, 0, fmt.Errorf("pads %v with stride %d on %d×%d images: Lathe's same padding puts %d before and %d after (the extra one after), and its valid padding none", pads, stride, h, w, total/2, total-total/2)
		}
	}
	return spec.Same, ceilDiv(h, stride), ceilDiv(w, stride), nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// biasOf is input i as a bias of size out (zeros when absent).
func (im *importer) biasOf(n *node, i, out int) ([]float32, error) {
	bias := make([]float32, out)
	if i >= len(n.inputs) || n.inputs[i] == "" {
		return bias, nil
	}
	t := im.g.consts[n.inputs[i]]
	if t == nil {
		return nil, fmt.Errorf("its bias (%q) is computed, not a constant", n.inputs[i])
	}
	if len(t.values) != out {
		return nil, fmt.Errorf("bias of shape %v for %d outputs", t.dims, out)
	}
	for j, x := range t.values {
		bias[j] = float32(x)
	}
	return bias, nil
}

// dense translates Gemm (alpha·A·B + beta·C) or MatMul (A·B): Lathe's
// weights are [in, out]. After a flatten of images, the rows are put in
// Lathe's order (height, width, channel) from PyTorch's (channel, height,
// width).
func (im *importer) dense(net spec.Net, v value, n *node, scope string) (spec.Net, value, error) {
	if v.image() {
		return net, v, fmt.Errorf("multiplies images: flatten them first (torch.flatten(x, 1))")
	}
	w, err := im.weightOf(n, 1, "weights")
	if err != nil {
		return net, v, err
	}
	if len(w.dims) != 2 {
		return net, v, fmt.Errorf("weights of shape %v: want a matrix", w.dims)
	}
	transposed := n.op == "Gemm" && n.int("transB", 0) == 1
	if n.op == "Gemm" && n.int("transA", 0) != 0 {
		return net, v, fmt.Errorf("transA: Lathe's dense layers take the batch as rows")
	}
	in, out := w.dims[0], w.dims[1]
	if transposed {
		in, out = out, in
	}
	if in != v.dims[0] {
		return net, v, fmt.Errorf("weights of shape %v on %d features", w.dims, v.dims[0])
	}
	alpha, beta := 1.0, 1.0
	if n.op == "Gemm" {
		alpha, beta = n.float("alpha", 1), n.float("beta", 1)
	}
	row := func(r int) int { return r } // Lathe's row r is the file's row(r)
	if v.chw != nil {
		c, h, wd := v.chw[0], v.chw[1], v.chw[2]
		row = func(r int) int { // r = (y·w + x)·c + ch
			ch, pos := r%c, r/c
			return ch*h*wd + pos
		}
	}
	weights := make([]float32, in*out)
	for r := range in {
		src := row(r)
		for j := range out {
			var x float64
			if transposed {
				x = w.values[j*in+src]
			} else {
				x = w.values[src*out+j]
			}
			weights[r*out+j] = float32(alpha * x)
		}
	}
	var bias []float32
	if n.op == "Gemm" {
		if bias, err = im.gemmBias(n, out, beta); err != nil {
			return net, v, err
		}
	} else {
		bias = make([]float32, out)
	}
	name := im.unique(scope, "dense", n, n.inputs[1])
	full := scope + name
	im.weights[full+"/weights"] = Weight{Shape: []int{in, out}, Values: weights}
	im.weights[full+"/biases"] = Weight{Shape: []int{out}, Values: bias}
	net = append(net, spec.Dense(name, out))
	return net, value{name: firstOut(n), dims: []int{out}, owner: len(net)}, nil
}

// gemmBias is beta·C for out outputs; C may be [out] or [1, out].
func (im *importer) gemmBias(n *node, out int, beta float64) ([]float32, error) {
	bias, err := im.biasOf(n, 2, out)
	if err != nil {
		return nil, err
	}
	for j := range bias {
		bias[j] = float32(beta * float64(bias[j]))
	}
	return bias, nil
}

// bias translates an Add of a constant after a MatMul (or a layer): it is
// added to the layer's biases.
func (im *importer) bias(net spec.Net, v value, n *node, scope string) (spec.Net, value, error) {
	last := len(net) - 1
	if last < 0 || v.owner != len(net) || net[last].Activation != "" || (net[last].Kind != spec.KindDense && net[last].Kind != spec.KindConv) {
		return net, v, fmt.Errorf("adds a constant to a value no dense or convolution layer made just before")
	}
	key := scope + net[last].Name + "/biases"
	b := im.weights[key]
	var c *tensor
	for _, in := range n.inputs {
		if t := im.g.consts[in]; t != nil {
			c = t
		}
	}
	if c == nil || (len(c.values) != len(b.Values) && len(c.values) != 1) {
		return net, v, fmt.Errorf("adds a constant that is not a bias of %d values", len(b.Values))
	}
	if net[last].Kind == spec.KindConv && len(c.values) != 1 && len(c.dims) != 3 && len(c.dims) != 1 {
		return net, v, fmt.Errorf("adds a constant of shape %v to images", c.dims)
	}
	for j := range b.Values {
		b.Values[j] += float32(c.values[j%len(c.values)])
	}
	out := v
	out.name = firstOut(n)
	return net, out, nil
}

// batchNorm folds a BatchNormalization into the layer before it:
// scale·(x − mean)/√(var + ε) + offset is a per-output scale and shift of
// the layer's weights and biases.
func (im *importer) batchNorm(net spec.Net, v value, n *node, scope string) (spec.Net, value, error) {
	last := len(net) - 1
	if last < 0 || v.owner != len(net) || net[last].Activation != "" || (net[last].Kind != spec.KindDense && net[last].Kind != spec.KindConv) {
		return net, v, fmt.Errorf("normalizes a value no dense or convolution layer made just before: Lathe folds batch norm into the layer before it")
	}
	if n.int("training_mode", 0) != 0 {
		return net, v, fmt.Errorf("in training mode: export the model in eval mode (model.eval())")
	}
	params := make([]*tensor, 4) // scale, offset, mean, variance
	for i := range params {
		t, err := im.weightOf(n, i+1, []string{"scale", "offset", "mean", "variance"}[i])
		if err != nil {
			return net, v, err
		}
		params[i] = t
	}
	full := scope + net[last].Name
	w, b := im.weights[full+"/weights"], im.weights[full+"/biases"]
	outs := len(b.Values)
	for _, p := range params {
		if len(p.values) != outs {
			return net, v, fmt.Errorf("%d channels after a layer of %d", len(p.values), outs)
		}
	}
	eps := n.float("epsilon", 1e-5)
	for j := range outs {
		f := params[0].values[j] / math.Sqrt(params[3].values[j]+eps)
		for i := j; i < len(w.Values); i += outs { // the output is the last axis
			w.Values[i] = float32(float64(w.Values[i]) * f)
		}
		b.Values[j] = float32((float64(b.Values[j])-params[2].values[j])*f + params[1].values[j])
	}
	im.notes = append(im.notes, fmt.Sprintf("batch norm %s was folded into %s", n.label(), net[last].Name))
	out := v
	out.name = firstOut(n)
	return net, out, nil
}

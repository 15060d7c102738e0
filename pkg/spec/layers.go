package spec

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Layer is one layer of a zoo model that holds weights (dense or
// convolution), as the model's builder lays it out: enough to name it, count
// its work and follow which layers feed it.
type Layer struct {
	// Name is the layer's scope under the model's: "fc1", "conv1",
	// "stage2/block1/shortcut/conv", "logits".
	Name string
	Conv bool // a K×K convolution (weights [K, K, In, Out]); else dense ([In, Out])
	// Kernel is a convolution's K (0 for dense).
	Kernel int
	// In is the number of input features (dense) or channels (convolution);
	// Out the number of neurons or filters, after the model's Widths.
	In, Out int
	// Positions is how many times the layer is applied per example: the
	// output's height×width for a convolution, 1 for a dense layer. 0 when
	// the example's shape is not known.
	Positions int
	// Input is the layer whose outputs this one reads ("" for the model's
	// input); a dense layer after a convolution reads them flattened,
	// Flattened positions per channel (height×width, channel last).
	Input     string
	Flattened int
	// Residual is the layer whose outputs are added to this one's (a
	// block's second convolution: its shortcut's, or the block's input's):
	// their channels are one and the same.
	Residual string
}

// Layers lists the model's layers that hold weights (dense and
// convolution), in the order the input meets them, by their scope under
// the model's: "fc1", "conv1", "stage2/block1/shortcut/conv", "logits".
// Techniques name layers this way (a pruning exclusion, a sensitivity
// row), and recipes are checked against it before any graph is built.
func (m Model) Layers() []string {
	var out []string
	for _, l := range m.Architecture(nil) {
		out = append(out, l.Name)
	}
	return out
}

// Architecture lists the model's weight layers in order, with their sizes
// for examples of this shape ([features] or [height, width, channels]; nil
// when only names and wiring are wanted).
func (m Model) Architecture(example []int) []Layer {
	a := arch{m: m, example: example}
	switch m.Arch {
	case "mlp":
		a.mlp()
	case "lenet5":
		a.lenet5()
	case "resnet8":
		a.resNet(3, 1, 16)
	case "resnet20":
		a.resNet(3, 3, 16)
	case "resnet18":
		a.resNet(4, 2, 64)
	}
	return a.layers
}

// arch walks a model's layers, tracking the spatial size of what flows.
type arch struct {
	m       Model
	example []int
	layers  []Layer
	h, w    int // spatial size of the current activation (0: unknown)
	last    string
}

// add appends a layer reading the previous one's outputs and returns its name.
func (a *arch) add(l Layer) string {
	if w, ok := a.m.Widths[l.Name]; ok {
		l.Out = w
	}
	switch {
	case l.Input == "" && len(a.layers) == 0:
		l.In = a.inputChannels()
	case l.Input == "":
		l.Input = a.last
	}
	if l.Input != "" {
		l.In = a.layer(l.Input).Out
	}
	if l.Flattened > 0 {
		l.In *= l.Flattened
	}
	a.layers = append(a.layers, l)
	a.last = l.Name
	return l.Name
}

func (a *arch) layer(name string) Layer {
	for _, l := range a.layers {
		if l.Name == name {
			return l
		}
	}
	return Layer{}
}

// inputChannels is what the first layer reads: features for an MLP (all
// of an image's values, flattened), channels for a convolution.
func (a *arch) inputChannels() int {
	if len(a.example) == 0 {
		return 0
	}
	if !a.m.IsConvolutional() {
		n := 1
		for _, d := range a.example {
			n *= d
		}
		return n
	}
	return a.example[len(a.example)-1]
}

func (a *arch) start() {
	if len(a.example) == 3 {
		a.h, a.w = a.example[0], a.example[1]
	}
}

// conv adds a K×K convolution; same padding keeps ⌈size/stride⌉, valid
// loses K-1.
func (a *arch) conv(name string, out, kernel, stride int, valid bool, input string) string {
	if a.h > 0 {
		if valid {
			a.h, a.w = a.h-kernel+1, a.w-kernel+1
		}
		a.h, a.w = (a.h+stride-1)/stride, (a.w+stride-1)/stride
	}
	return a.add(Layer{Name: name, Conv: true, Kernel: kernel, Out: out, Positions: max(a.h, 0) * max(a.w, 0), Input: input})
}

func (a *arch) dense(name string, out int) string {
	l := Layer{Name: name, Out: out, Positions: 1}
	if a.m.IsConvolutional() && a.h > 0 && len(a.layers) > 0 && a.layer(a.last).Conv {
		l.Flattened = a.h * a.w
	}
	a.h, a.w = 1, 1
	return a.add(l)
}

func (a *arch) mlp() {
	hidden := a.m.Hidden
	if len(hidden) == 0 {
		hidden = []int{128} // the zoo's default
	}
	for i, h := range hidden {
		a.dense(fmt.Sprintf("fc%d", i+1), h)
	}
	a.dense("logits", 0)
}

// lenet5: conv1 (same) and conv2 (valid), each followed by 2×2 pooling.
func (a *arch) lenet5() {
	a.start()
	a.conv("conv1", 6, 5, 1, false, "")
	a.h, a.w = a.h/2, a.w/2
	a.conv("conv2", 16, 5, 1, true, "")
	a.h, a.w = a.h/2, a.w/2
	a.dense("fc1", 120)
	a.dense("fc2", 84)
	a.dense("logits", 0)
}

// resNet: a stem, then stages of basic blocks (two 3×3 convolutions and a
// residual addition; the first block of every stage after the first halves
// the resolution and adds through a 1×1 projection), global average
// pooling and the classifier.
func (a *arch) resNet(stages, blocks, width int) {
	a.start()
	x := a.conv("stem/conv", width, 3, 1, false, "")
	for s := 1; s <= stages; s++ {
		channels := width << (s - 1)
		for b := 1; b <= blocks; b++ {
			block := fmt.Sprintf("stage%d/block%d/", s, b)
			stride := 1
			if s > 1 && b == 1 {
				stride = 2
			}
			h, w := a.h, a.w
			in := x
			a.conv(block+"a/conv", channels, 3, stride, false, in)
			y := a.conv(block+"b/conv", channels, 3, 1, false, "")
			shortcut := in
			if stride != 1 {
				a.h, a.w = h, w
				shortcut = a.conv(block+"shortcut/conv", channels, 1, stride, false, in)
			}
			a.layers[a.index(y)].Residual = shortcut
			x = y
		}
	}
	a.h, a.w = 1, 1 // global average pooling
	a.add(Layer{Name: "logits", Out: 0, Positions: 1, Input: x})
}

func (a *arch) index(name string) int {
	return slices.IndexFunc(a.layers, func(l Layer) bool { return l.Name == name })
}

// A ChannelGroup is a set of channels — a dense layer's neurons, a
// convolution's filters — that structured pruning removes together.
// Residual additions make several layers produce the same channels (a
// ResNet stage's shortcut and every block's second convolution): a channel
// goes from all of them or from none.
type ChannelGroup struct {
	// Producers are the layers whose outputs are these channels.
	Producers []string
	// Consumers are the layers reading them as input (a filter removed
	// removes an input channel of each).
	Consumers []string
	// Width is the number of channels.
	Width int
}

// ChannelGroups lists the model's channel groups in the order their first
// producer comes. The classifier (logits) produces the classes, so it is
// in no group; it is a consumer.
func (m Model) ChannelGroups() []ChannelGroup {
	layers := m.Architecture(nil)
	// Union the producers joined by residual additions.
	root := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if r, ok := root[x]; ok && r != x {
			root[x] = find(r)
			return root[x]
		}
		return x
	}
	for _, l := range layers {
		if l.Residual != "" {
			root[find(l.Name)] = find(l.Residual)
		}
	}
	var groups []ChannelGroup
	index := map[string]int{}
	for _, l := range layers {
		if l.Name == "logits" {
			continue
		}
		r := find(l.Name)
		i, ok := index[r]
		if !ok {
			i = len(groups)
			index[r] = i
			groups = append(groups, ChannelGroup{Width: l.Out})
		}
		groups[i].Producers = append(groups[i].Producers, l.Name)
	}
	for _, l := range layers {
		if l.Input != "" {
			g := &groups[index[find(l.Input)]]
			g.Consumers = append(g.Consumers, l.Name)
		}
	}
	return groups
}

// checkWidths checks the model's Widths: each names a layer that has
// outputs to remove (not the classifier), is positive, and layers joined
// by a residual addition keep equal widths.
func (m Model) checkWidths() error {
	if len(m.Widths) == 0 {
		return nil
	}
	layers := m.Layers()
	names := make([]string, 0, len(m.Widths))
	for name := range m.Widths {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w := m.Widths[name]
		switch {
		case !slices.Contains(layers, name) || name == "logits":
			return fmt.Errorf("widths: %q is no layer of the %s model with outputs to resize (its layers: %s)", name, m.Arch, strings.Join(layers[:len(layers)-1], ", "))
		case w <= 0:
			return fmt.Errorf("widths: layer %s needs at least one output, got %d", name, w)
		}
	}
	outs := map[string]int{}
	for _, l := range m.Architecture(nil) {
		outs[l.Name] = l.Out
	}
	for _, g := range m.ChannelGroups() {
		for _, p := range g.Producers[1:] {
			if outs[p] != outs[g.Producers[0]] {
				return fmt.Errorf("widths: layers %s (%d) and %s (%d) are added together by a residual connection and need the same width", g.Producers[0], outs[g.Producers[0]], p, outs[p])
			}
		}
	}
	return nil
}

// FLOPs counts the floating-point operations of one example's forward
// pass through the dense and convolution layers: two (a multiply and an
// add) per weight per position. Activations, pooling, batch norm and
// biases are left out: they are a few percent.
func (m Model) FLOPs(example []int, classes int) int64 {
	var n int64
	for _, l := range m.Architecture(example) {
		out := l.Out
		if l.Name == "logits" {
			out = classes
		}
		weights := int64(l.In) * int64(out)
		if l.Conv {
			weights *= int64(l.Kernel * l.Kernel)
		}
		n += 2 * weights * int64(l.Positions)
	}
	return n
}

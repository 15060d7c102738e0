package spec

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Layer is one layer of a model that holds weights (dense or
// convolution), as its Net lays it out: enough to name it, count its work
// and follow which layers feed it.
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
	// Residual is the layer whose outputs are added to this one's, set on
	// the last layer of a residual block's body (a ResNet block's second
	// convolution): the shortcut's last layer, or the layer before the
	// block. Their channels are one and the same.
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
// when only names and wiring are wanted). It walks the model's Net.
func (m Model) Architecture(example []int) []Layer {
	return walkNet(m.Net(), example).layers
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

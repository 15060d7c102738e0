package spec

import "fmt"

// Layers lists the model's layers that hold weights (dense and
// convolution), in the order the input meets them, by their scope under
// the model's: "fc1", "conv1", "stage2/block1/shortcut/conv", "logits".
// Techniques name layers this way (a pruning exclusion, a sensitivity
// row), and recipes are checked against it before any graph is built.
func (m Model) Layers() []string {
	switch m.Arch {
	case "mlp":
		hidden := len(m.Hidden)
		if hidden == 0 {
			hidden = 1 // the zoo's default, one hidden layer of 128
		}
		var out []string
		for i := 1; i <= hidden; i++ {
			out = append(out, fmt.Sprintf("fc%d", i))
		}
		return append(out, "logits")
	case "lenet5":
		return []string{"conv1", "conv2", "fc1", "fc2", "logits"}
	case "resnet8":
		return resNetLayers(3, 1)
	case "resnet20":
		return resNetLayers(3, 3)
	case "resnet18":
		return resNetLayers(4, 2)
	}
	return nil
}

// resNetLayers are a residual network's convolutions: the stem, then per
// block two convolutions and, on the first block of every stage after the
// first (it halves the resolution and widens), a projection shortcut.
func resNetLayers(stages, blocks int) []string {
	out := []string{"stem/conv"}
	for s := 1; s <= stages; s++ {
		for b := 1; b <= blocks; b++ {
			block := fmt.Sprintf("stage%d/block%d/", s, b)
			out = append(out, block+"a/conv", block+"b/conv")
			if s > 1 && b == 1 {
				out = append(out, block+"shortcut/conv")
			}
		}
	}
	return append(out, "logits")
}

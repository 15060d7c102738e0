package spec

import "fmt"

// The model zoo: the architectures every Lathe program knows. Their names,
// op order and scopes are what checkpoints, recipes (widths, pruning
// exclusions) and exported files refer to; keep them stable.
func init() {
	Register("mlp", mlpNet)
	Register("lenet5", lenet5Net)
	Register("resnet8", func(Model) Net { return resNet(3, 1, 16) })
	Register("resnet20", func(Model) Net { return resNet(3, 3, 16) })
	Register("resnet18", func(Model) Net { return resNet(4, 2, 64) })
}

// defaultHidden is the mlp's hidden layer widths when the recipe gives none.
var defaultHidden = []int{128}

// mlpNet: the input flattened, hidden layers fc1…fcN with the model's
// activation (and dropout after each, if any), the classifier.
func mlpNet(m Model) Net {
	hidden := m.Hidden
	if len(hidden) == 0 {
		hidden = defaultHidden
	}
	net := Net{Flatten("flatten")}
	for i, h := range hidden {
		net = append(net, Dense(fmt.Sprintf("fc%d", i+1), h).WithActivation(m.ActivationName()))
		if m.Dropout > 0 {
			net = append(net, Dropout(m.Dropout))
		}
	}
	return append(net, Logits())
}

// lenet5Net is LeCun et al.'s LeNet-5 with padding on the first
// convolution, so 28×28 inputs keep the classic 5×5×16 feature map before
// the dense layers.
func lenet5Net(m Model) Net {
	act := m.ActivationName()
	return Net{
		Conv("conv1", 6, 5).WithActivation(act),
		MaxPool("pool1", 2),
		Conv("conv2", 16, 5).WithPadding(Valid).WithActivation(act),
		MaxPool("pool2", 2),
		Flatten("flatten"),
		Dense("fc1", 120).WithActivation(act),
		Dense("fc2", 84).WithActivation(act),
		Logits(),
	}
}

// resNet is He et al.'s ResNet for small images: a 3×3 stem (no
// max-pooling, as is usual for CIFAR), then stages of basic blocks with
// width, 2·width, … channels, global average pooling and the classifier.
// ResNet-8 and -20 are the CIFAR ResNets (6n+2 layers: 3 stages of n
// blocks, 16…64 channels); ResNet-18 is the ImageNet one's [2,2,2,2]
// blocks of 64…512 channels. They use relu whatever the model's
// activation.
func resNet(stages, blocks, width int) Net {
	net := Net{Conv("stem", width, 3).WithBatchNorm().WithActivation("relu")}
	for s := 1; s <= stages; s++ {
		for b := 1; b <= blocks; b++ {
			// The first block of every stage after the first halves the
			// resolution and adds through a 1×1 projection. Which blocks
			// project is fixed here, not by comparing widths, so a
			// structurally pruned ResNet keeps its wiring.
			stride := 1
			var shortcut Net
			if s > 1 && b == 1 {
				stride = 2
				shortcut = Net{Conv("shortcut", width<<(s-1), 1).WithStride(stride).WithBatchNorm()}
			}
			body := Net{
				Conv("a", width<<(s-1), 3).WithStride(stride).WithBatchNorm().WithActivation("relu"),
				Conv("b", width<<(s-1), 3).WithBatchNorm(),
			}
			net = append(net, Residual(fmt.Sprintf("stage%d/block%d", s, b), body, shortcut).WithActivation("relu"))
		}
	}
	return append(net, GlobalAvgPool("global_avg_pool"), Logits())
}

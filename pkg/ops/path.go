package ops

import "github.com/gomlx/gomlx/backends"

// Path says how Conv2D and MaxPool2D are computed.
type Path int

const (
	// Native uses GoMLX's ConvGeneral and MaxPool, whose gradients need
	// Reverse and SelectAndScatterMax from the backend.
	Native Path = iota
	// Portable uses im2col (Gather) + MatMul for convolutions and reshape +
	// ReduceMax for pooling: slower on XLA, differentiable everywhere.
	Portable
)

func (p Path) String() string {
	if p == Native {
		return "native"
	}
	return "portable"
}

// ChoosePath picks Native when the backend can differentiate GoMLX's
// convolution and max-pooling, Portable otherwise (GoMLX's pure-Go backend).
func ChoosePath(caps backends.Capabilities) Path {
	for _, op := range []backends.OpType{backends.OpTypeReverse, backends.OpTypeSelectAndScatterMax, backends.OpTypeConvGeneral} {
		if !caps.Operations[op] {
			return Portable
		}
	}
	return Native
}

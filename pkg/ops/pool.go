package ops

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
)

// MaxPool2D takes the maximum over non-overlapping window×window tiles of
// x [B, H, W, C] (stride = window, no padding; a remainder row or column is
// dropped, as PyTorch's floor mode does).
//
// The portable path reshapes to [B, H/k, k, W/k, k, C] and reduces: the
// gradient of ReduceMax exists on every backend, SelectAndScatterMax (the
// gradient of a windowed max) does not.
func MaxPool2D(path Path, x *graph.Node, window int) *graph.Node {
	if x.Rank() != 4 || window < 1 {
		panic(fmt.Errorf("ops.MaxPool2D: want x [B,H,W,C] and window ≥ 1, got %s and %d", x.Shape(), window))
	}
	if path == Native {
		return graph.MaxPool(x).Window(window).Done()
	}
	dims := x.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	ho, wo := h/window, w/window
	if ho == 0 || wo == 0 {
		panic(fmt.Errorf("ops.MaxPool2D: window %d larger than images %dx%d", window, h, w))
	}
	if ho*window != h || wo*window != w {
		x = cropSpatial(x, ho*window, wo*window)
	}
	x = graph.Reshape(x, b, ho, window, wo, window, c)
	return graph.ReduceMax(x, 2, 4)
}

// cropSpatial keeps the first h rows and w columns of x [B, H, W, C] with a
// Gather (Slice's gradient needs Pad, which the pure-Go backend lacks).
func cropSpatial(x *graph.Node, h, w int) *graph.Node {
	dims := x.Shape().Dimensions
	b, fullH, fullW, c := dims[0], dims[1], dims[2], dims[3]
	rows := graph.Reshape(x, b*fullH*fullW, c)
	idx := make([]int32, 0, b*h*w)
	for n := 0; n < b; n++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				idx = append(idx, int32((n*fullH+y)*fullW+xx))
			}
		}
	}
	g := x.Graph()
	kept := graph.Gather(rows, graph.Const(g, tensorOf(idx)), true)
	return graph.Reshape(kept, b, h, w, c)
}

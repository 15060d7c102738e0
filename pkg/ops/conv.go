package ops

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Padding of a convolution.
type Padding int

const (
	Valid Padding = iota // no padding: output (H-K)/S+1
	Same                 // zero padding so the output is ceil(H/S), split as XLA does
)

// ConvConfig describes a 2-D convolution over NHWC images.
type ConvConfig struct {
	Stride  int // default 1
	Padding Padding
}

// outputSize returns the output extent and the padding before the first
// element, for one spatial axis.
func (c ConvConfig) outputSize(in, kernel int) (out, padBefore int) {
	s := max(c.Stride, 1)
	if c.Padding == Valid {
		return (in-kernel)/s + 1, 0
	}
	out = (in + s - 1) / s
	total := max((out-1)*s+kernel-in, 0)
	return out, total / 2
}

// Conv2D convolves images x [B, H, W, C] with kernel [KH, KW, C, O] and
// returns [B, Ho, Wo, O], by the chosen path.
func Conv2D(path Path, x, kernel *graph.Node, cfg ConvConfig) *graph.Node {
	if x.Rank() != 4 || kernel.Rank() != 4 || x.Shape().Dimensions[3] != kernel.Shape().Dimensions[2] {
		panic(fmt.Errorf("ops.Conv2D: want x [B,H,W,C] and kernel [KH,KW,C,O], got %s and %s", x.Shape(), kernel.Shape()))
	}
	if path == Native {
		conv := graph.Convolve(x, kernel).StridePerAxis(max(cfg.Stride, 1), max(cfg.Stride, 1))
		if cfg.Padding == Same {
			conv = conv.PadSame()
		} else {
			conv = conv.NoPadding()
		}
		return conv.Done()
	}
	return im2colConv(x, kernel, cfg)
}

// im2colConv gathers every kernel-sized patch of x into a row and multiplies
// the rows by the kernel with MatMul. The patches come from one Gather over
// the flattened images plus a trailing zero row that padded positions point
// at: Gather's gradient (ScatterSum) exists on every backend, where Slice's
// and Pad's do not.
func im2colConv(x, kernel *graph.Node, cfg ConvConfig) *graph.Node {
	dims, kdims := x.Shape().Dimensions, kernel.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	kh, kw, o := kdims[0], kdims[1], kdims[3]
	ho, padTop := cfg.outputSize(h, kh)
	wo, padLeft := cfg.outputSize(w, kw)
	if ho <= 0 || wo <= 0 {
		panic(fmt.Errorf("ops.Conv2D: kernel %dx%d does not fit images %dx%d", kh, kw, h, w))
	}
	g := x.Graph()
	rows := graph.Reshape(x, b*h*w, c)
	rows = graph.Concatenate([]*graph.Node{rows, graph.Zeros(g, shapes.Make(x.DType(), 1, c))}, 0)
	idx := patchIndices(b, h, w, kh, kw, ho, wo, padTop, padLeft, max(cfg.Stride, 1))
	patches := graph.Gather(rows, graph.Const(g, idx)) // [b*ho*wo*kh*kw, c]
	patches = graph.Reshape(patches, b*ho*wo, kh*kw*c)
	y := MatMul(patches, graph.Reshape(kernel, kh*kw*c, o))
	return graph.Reshape(y, b, ho, wo, o)
}

// patchIndices lists, for each output pixel of each image and each kernel
// tap, the row of the flattened images to read; padding reads row b*h*w,
// the zero row.
func patchIndices(b, h, w, kh, kw, ho, wo, padTop, padLeft, stride int) *tensors.Tensor {
	zeroRow := int32(b * h * w)
	idx := make([]int32, 0, b*ho*wo*kh*kw)
	for n := 0; n < b; n++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				for ky := 0; ky < kh; ky++ {
					iy := oy*stride - padTop + ky
					for kx := 0; kx < kw; kx++ {
						ix := ox*stride - padLeft + kx
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							idx = append(idx, zeroRow)
						} else {
							idx = append(idx, int32((n*h+iy)*w+ix))
						}
					}
				}
			}
		}
	}
	return tensorOf(idx)
}

// tensorOf makes Gather indices [n, 1] of a flat list of rows.
func tensorOf(idx []int32) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(idx, len(idx), 1)
}

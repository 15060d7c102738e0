package infer

import (
	"fmt"
	"strings"
)

// LayerPath is how the runtime runs one dense or convolution layer.
type LayerPath struct {
	// Layer is the value the layer's step writes: the layer's own output,
	// or the addition or pooling fused into it.
	Layer string `json:"layer"`
	// Path is "int8" (integer kernels), or for float32 "winograd"
	// (3×3 as Winograd's F(2×2, 3×3); "winograd+direct" when calls of few
	// tiles run directly), "direct" (patches read in place), "1x1",
	// "im2col" or "dense".
	Path string `json:"path"`
}

// Paths lists the model's dense and convolution layers in order, each
// with the path it runs on.
func (m *Model) Paths() []LayerPath {
	var out []LayerPath
	for i, s := range m.steps {
		path := ""
		switch s := s.(type) {
		case *int8Step:
			path = "int8"
		case *winogradStep:
			path = "winograd"
			if s.direct != nil {
				path = "winograd+direct"
			}
		case *gemmStep:
			switch {
			case s.conv == nil:
				path = "dense"
			case s.implicit():
				path = "direct"
			case s.conv.pointwise():
				path = "1x1"
			default:
				path = "im2col"
			}
		}
		if path != "" {
			out = append(out, LayerPath{Layer: m.stepValues[i].name, Path: path})
		}
	}
	return out
}

// FormatPaths writes paths in one line: "conv1 int8, fc1 int8, …".
func FormatPaths(paths []LayerPath) string {
	parts := make([]string, len(paths))
	for i, p := range paths {
		parts[i] = fmt.Sprintf("%s %s", p.Layer, p.Path)
	}
	return strings.Join(parts, ", ")
}

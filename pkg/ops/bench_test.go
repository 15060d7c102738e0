package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
)

// BenchmarkConvForward compares the portable (im2col) and native forward
// convolution on the pure-Go backend for LeNet-5's two layers at batch 128.
func BenchmarkConvForward(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ h, cin, k, cout int }{{28, 1, 5, 6}, {14, 6, 5, 16}} {
		x := randomTensor(rng, 128, c.h, c.h, c.cin)
		k := randomTensor(rng, c.k, c.k, c.cin, c.cout)
		for _, path := range []Path{Portable, Native} {
			b.Run(fmt.Sprintf("%dx%dx%d-k%d-%s", c.h, c.h, c.cin, c.k, path), func(b *testing.B) {
				exec := graph.MustNewExec(goBackend(), func(x, k *graph.Node) *graph.Node {
					return Conv2D(path, graph.StopGradient(x), k, ConvConfig{Stride: 1, Padding: Same})
				})
				exec.MustExec(x, k)
				for b.Loop() {
					exec.MustExec(x, k)[0].FinalizeAll()
				}
			})
		}
	}
}

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

// BenchmarkTallProduct compares GoMLX's Dot with MatMul's forward product
// on the pure-Go backend for the tall, narrow products of im2col
// convolutions (LeNet-5's conv1 and conv2 at batch 64, whole and with half
// their filters) and a square one that takes the same path either way.
func BenchmarkTallProduct(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ m, k, n int }{{50176, 25, 6}, {50176, 25, 3}, {6400, 150, 16}, {6400, 75, 8}, {128, 784, 128}} {
		x, w := randomTensor(rng, c.m, c.k), randomTensor(rng, c.k, c.n)
		for name, f := range map[string]func(x, w *graph.Node) *graph.Node{"dot": graph.Dot, "product": product} {
			b.Run(fmt.Sprintf("%dx%dx%d-%s", c.m, c.k, c.n, name), func(b *testing.B) {
				exec := graph.MustNewExec(goBackend(), f)
				exec.MustExec(x, w)
				for b.Loop() {
					exec.MustExec(x, w)[0].FinalizeAll()
				}
			})
		}
	}
}

package models

import (
	"github.com/lathe-ml/lathe/pkg/spec"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/lathe-ml/lathe/pkg/gocompute"
)

// benchmarkTrainStep times one Adam train step of a model on the pure-Go
// backend and reports samples/s beside ns/op. Data is random: the step's
// cost does not depend on the values.
func benchmarkTrainStep(b *testing.B, spec Spec, batch int, example []int) {
	benchmarkTrainStepOn(b, goBackend(b), spec, batch, example)
}

func benchmarkTrainStepOn(b *testing.B, backend backends.Backend, spec Spec, batch int, example []int) {
	fn, err := spec.ModelFn(10)
	if err != nil {
		b.Fatal(err)
	}
	trainer := train.NewTrainer(backend, context.New(), fn, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.Adam().Done(), nil, nil)
	size := batch
	for _, d := range example {
		size *= d
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, size)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, batch)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	inputs := tensors.FromFlatDataAndDimensions(x, append([]int{batch}, example...)...)
	labels := tensors.FromFlatDataAndDimensions(y, batch, 1)
	step := func() {
		metrics, err := trainer.TrainStep(nil, []*tensors.Tensor{inputs}, []*tensors.Tensor{labels})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range metrics {
			m.FinalizeAll()
		}
	}
	step() // compile outside the timing
	b.ResetTimer()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkQuickstartTrainStep is one step of the quickstart recipe's model
// (MLP 784-128-10, batch 128).
func BenchmarkQuickstartTrainStep(b *testing.B) {
	benchmarkTrainStep(b, Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{128}}}, 128, []int{28, 28, 1})
}

// BenchmarkMLP256x3TrainStep is the reference MLP 784-256-256-256-10 at
// batch 128 that DESIGN.md's speed figures use, with Lathe's dense layer
// (matmul-shaped gradients) and, in the same run, GoMLX's own.
func BenchmarkMLP256x3TrainStep(b *testing.B) {
	for _, c := range []struct {
		name  string
		gomlx bool
	}{{"lathe-dense", false}, {"gomlx-dense", true}} {
		b.Run(c.name, func(b *testing.B) {
			benchmarkTrainStep(b, Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{256, 256, 256}}, GoMLXDense: c.gomlx}, 128, []int{28, 28, 1})
		})
	}
}

// BenchmarkLeNet5TrainStep is one step of LeNet-5 at batch 128 on 28×28
// images (the portable convolution on the pure-Go backend).
func BenchmarkLeNet5TrainStep(b *testing.B) {
	benchmarkTrainStep(b, Spec{Model: spec.Model{Arch: "lenet5"}}, 128, []int{28, 28, 1})
}

// BenchmarkTrainStepBackends times the three reference steps on
// GoMLX's simplego and on compute's Go backend (package gocompute) in one
// run: go test ./pkg/models -run XXX -bench TrainStepBackends, built with
// scripts/goenv.sh's settings so that compute's SIMD kernels are in.
func BenchmarkTrainStepBackends(b *testing.B) {
	compute, err := gocompute.New("")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		spec    Spec
		batch   int
		example []int
	}{
		{"mlp-256x3", Spec{Model: spec.Model{Arch: "mlp", Hidden: []int{256, 256, 256}}}, 128, []int{28, 28, 1}},
		{"lenet5", Spec{Model: spec.Model{Arch: "lenet5"}}, 128, []int{28, 28, 1}},
		{"resnet8", Spec{Model: spec.Model{Arch: "resnet8"}}, 64, []int{28, 28, 1}},
	} {
		b.Run(c.name+"/simplego", func(b *testing.B) { benchmarkTrainStepOn(b, goBackend(b), c.spec, c.batch, c.example) })
		b.Run(c.name+"/compute", func(b *testing.B) { benchmarkTrainStepOn(b, compute, c.spec, c.batch, c.example) })
	}
}

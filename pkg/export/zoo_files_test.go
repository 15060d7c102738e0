package export

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

// TestWriteZooFiles writes the zoo models the runtime is timed on against
// ONNX Runtime (scripts/ort-table.sh) into $LATHE_ZOO_OUT, untrained
// (latency does not depend on the weights; batch-norm statistics are
// randomized so no layer is trivially zero): the ResNets at CIFAR's
// 32×32×3 as well as MNIST's 28×28×1. Skipped unless LATHE_ZOO_OUT is set.
func TestWriteZooFiles(t *testing.T) {
	dir := os.Getenv("LATHE_ZOO_OUT")
	if dir == "" {
		t.Skip("LATHE_ZOO_OUT is not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := goBackend(t)
	defer b.Finalize()
	mnist, cifar := []int{28, 28, 1}, []int{32, 32, 3}
	for _, c := range []struct {
		name    string
		model   spec.Model
		example []int
	}{
		{"mlp", spec.Model{Arch: "mlp", Hidden: []int{256}}, mnist},
		{"lenet5", spec.Model{Arch: "lenet5"}, mnist},
		{"lenet5-16-64", spec.Model{Arch: "lenet5", Widths: map[string]int{"conv1": 16, "conv2": 64}}, mnist},
		{"resnet8-28", spec.Model{Arch: "resnet8"}, mnist},
		{"resnet20-28", spec.Model{Arch: "resnet20"}, mnist},
		{"resnet18-28", spec.Model{Arch: "resnet18"}, mnist},
		{"resnet8-32", spec.Model{Arch: "resnet8"}, cifar},
		{"resnet20-32", spec.Model{Arch: "resnet20"}, cifar},
		{"resnet18-32", spec.Model{Arch: "resnet18"}, cifar},
	} {
		ctx := gomlxctx.New().Checked(false)
		s := models.Spec{Model: c.model}
		x := make([]float32, 1*c.example[0]*c.example[1]*c.example[2])
		graphLogits(t, b, ctx, s, x, append([]int{1}, c.example...)) // creates the variables
		randomizeStatistics(t, ctx, rand.New(rand.NewPCG(1, 2)))
		file, err := Build(Source{Backend: b, Ctx: ctx, Spec: s, Example: c.example, Classes: classes10, Mean: 0.25, Std: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if err := file.WriteFile(filepath.Join(dir, c.name+".safetensors")); err != nil {
			t.Fatal(err)
		}
	}
}

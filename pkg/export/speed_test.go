package export

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/spec"
)

func TestSpeedProbe(t *testing.T) {
	b := goBackend(t)
	for _, c := range []struct {
		m  spec.Model
		ex []int
	}{{spec.Model{Arch: "mlp", Hidden: []int{256, 256, 256}}, []int{28, 28, 1}}, {spec.Model{Arch: "lenet5"}, []int{28, 28, 1}}, {spec.Model{Arch: "mlp", Hidden: []int{256}}, []int{28, 28, 1}}} {
		rng := rand.New(rand.NewPCG(1, 1))
		ctx := gomlxctx.New().Checked(false)
		s := models.Spec{Model: c.m}
		for _, n := range []int{64, 1} {
			x := make([]float32, n*784)
			for i := range x {
				x[i] = float32(rng.Float64())
			}
			dims := append([]int{n}, c.ex...)
			graphLogits(t, b, ctx, s, x, dims)
			t0 := time.Now()
			for i := 0; i < 5; i++ {
				graphLogits(t, b, ctx, s, x, dims)
			}
			gt := time.Since(t0) / 5
			file, _ := Build(Source{Backend: b, Ctx: ctx, Spec: s, Example: c.ex, Classes: classes10, Std: 1})
			var buf bytes.Buffer
			file.Encode(&buf)
			f, _ := infer.DecodeFile(buf.Bytes())
			m, _ := infer.New(f)
			out := make([]float32, n*10)
			m.Predict(x, n, out)
			t0 = time.Now()
			const reps = 200
			for i := 0; i < reps; i++ {
				m.Predict(x, n, out)
			}
			rt := time.Since(t0) / reps
			t.Logf("%s batch %d: graph (incl compile) %v, runtime %v (%s)", c.m.Arch, n, gt, rt, m.Kernels())
		}
	}
}

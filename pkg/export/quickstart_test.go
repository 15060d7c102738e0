package export

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestQuickstartExport: the quickstart recipe (its training cut to 300
// steps to fit CI), brought back from the run store with runner.Reopen
// and exported, predicts the trained graph's class on every one of the
// 10,000 MNIST test images, and its file is at most its f32 parameters
// plus 8 KiB.
func TestQuickstartExport(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go")
	rec, err := recipe.Load("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range rec.Stages {
		if c, ok := st.Settings.(recipe.StepCapper); ok {
			rec.Stages[i].Settings = c.CapSteps(300)
		}
	}
	store, err := runs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	res, err := runner.Run(context.Background(), rec, runner.Options{Store: store, Backend: "go"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := runner.Reopen(context.Background(), store, res.RunID, "go")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := SourceOf(s)
	file, err := Build(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := file.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	// MLP 784-256-10: (784+1)·256 + (256+1)·10 parameters of 4 bytes.
	params := (784+1)*256 + (256+1)*10
	if size := buf.Len(); size > 4*params+8192 {
		t.Errorf("the file has %d bytes, more than its %d bytes of f32 parameters + 8 KiB", size, 4*params)
	}
	// On every kernel path: the SIMD ones this CPU has and the portable one.
	defer infer.Use("auto")
	for _, kernels := range infer.Available() {
		if err := infer.Use(kernels); err != nil {
			t.Fatal(err)
		}
		m, err := infer.New(file)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Check(src, m, s.Data.Test.Features, s.Data.Test.Labels)
		if err != nil {
			t.Fatal(err)
		}
		if a.Examples != 10000 || a.Same != 1 {
			t.Errorf("%s kernels: the runtime gives the graph's class on %.4f of %d test images, want all 10000", kernels, a.Same, a.Examples)
		}
		// The evaluate stage's mean is a float32: equal to within half an image.
		if want := res.Final["test_accuracy"]; math.Abs(a.Accuracy-want) > 0.5/10000 {
			t.Errorf("%s kernels: runtime accuracy %.4f, the run's evaluate stage %.4f", kernels, a.Accuracy, want)
		}
		t.Logf("%s kernels: %d bytes; %d test images; runtime accuracy %.4f; largest logit difference %.2g", kernels, buf.Len(), a.Examples, a.Accuracy, a.MaxDiff)
	}
}

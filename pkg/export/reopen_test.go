package export_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/export"
	_ "github.com/lathe-ml/lathe/pkg/prune"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// TestReopenRefusesAModelChangedAfterItsCheckpoint: a run whose last stage
// prunes (after the last checkpoint) cannot be exported from the store —
// its stored weights are not its final model — and the error says what to
// do; the same recipe with a train stage after the prune can.
func TestReopenRefusesAModelChangedAfterItsCheckpoint(t *testing.T) {
	const head = "name: t\nseed: 1\nbackend: go\ndata: {dataset: blobs, batch_size: 32, train_size: 300, test_size: 100}\n" +
		"model: {arch: mlp, hidden: [16]}\nstages:\n  - train: {steps: 20}\n  - prune: {target_sparsity: 0.5, schedule: oneshot}\n"
	for _, c := range []struct {
		name, tail, want string
	}{
		{"prune last", "", "stage 2 (prune) changed the model after its last checkpoint"},
		{"train after the prune", "  - train: {steps: 10}\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := recipe.Parse("t.yaml", []byte(head+c.tail))
			if err != nil {
				t.Fatal(err)
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
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			file, err := export.Build(export.SourceOf(s))
			if err != nil {
				t.Fatal(err)
			}
			// The exported weights are the pruned ones (the masks' hook, restored).
			zeros, total := 0, 0
			for name, tensor := range file.Tensors {
				if !strings.HasSuffix(name, "/weights") {
					continue
				}
				values, _ := tensor.Float32s()
				for _, v := range values {
					total++
					if v == 0 {
						zeros++
					}
				}
			}
			if frac := float64(zeros) / float64(total); frac < 0.45 {
				t.Errorf("%.2f of the exported weights are 0, want the pruned half", frac)
			}
		})
	}
}

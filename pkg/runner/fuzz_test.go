package runner

import (
	"runtime"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/spec"
	"github.com/lathe-ml/lathe/recipes"
)

// FuzzRecipeUpToFirstStep runs what `lathe run` does with a recipe before
// its first training step and before any data loads — parse, validate,
// expand the variants, plan every stage, check it against the backend —
// and asserts that any input ends in a recipe or one positioned line, in
// bounded memory, with a plan of sane step counts.
func FuzzRecipeUpToFirstStep(f *testing.F) {
	for _, name := range recipes.Names() {
		src, _ := recipes.Get(name)
		f.Add(src)
	}
	f.Add([]byte(blobsRecipe))
	f.Add([]byte("name: d\nseed: " + strings.Repeat("[", 3000) + strings.Repeat("]", 3000)))
	f.Add([]byte("name: x\ndata: {dataset: blobs, batch_size: 1e400}\nmodel: {arch: mlp}\nstages: [{train: {epochs: 9223372036854775807}}]\n"))
	f.Add([]byte("name: x\ndata: {dataset: mnist, batch_size: 1}\nmodel: {arch: mlp}\nstages: [{train: {epochs: 9223372036854775807}}]\n"))
	f.Add([]byte("name: x\ndata: {dataset: blobs}\nmodel: {arch: mlp}\nstages: [{train: {epochs: 1, optimizer: {name: sgd, betas: [0.9, 0.9]}}}]\n"))
	opened, err := backend.Open("go")
	if err != nil {
		f.Fatal(err)
	}
	defer opened.Backend.Finalize()
	f.Fuzz(func(t *testing.T, src []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rec, err := recipe.Parse("fuzz.yaml", src)
		if err == nil {
			for _, one := range rec.Expand() {
				for _, p := range one.Plan(perEpochOf(one)) {
					if p.Steps < 0 || p.HasSteps && p.Steps == 0 {
						t.Fatalf("stage %d plans %d steps", p.Index+1, p.Steps)
					}
				}
				if cerr := preflight(one, opened.Backend); cerr != nil {
					err = cerr
					break
				}
			}
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100<<20 {
			t.Fatalf("allocated %d MB for a %d-byte recipe", alloc>>20, len(src))
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "fuzz.yaml") || strings.Contains(msg, "\n") || len(msg) > 1000 {
				t.Fatalf("not one positioned line: %q", msg)
			}
		}
	})
}

// perEpochOf is the steps in an epoch of the recipe's data, from the
// dataset table (what the runner gets once the data loads).
func perEpochOf(rec *recipe.Recipe) int {
	ds, _ := spec.LookupDataset(rec.Data.Dataset)
	n := ds.TrainExamples(rec.Data.TrainSize)
	v := rec.Data.Validation
	if v < 0 {
		v = n / 10
	}
	return (n - v) / rec.Data.BatchSize
}

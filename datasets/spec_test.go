package datasets

import (
	"slices"
	"testing"

	"github.com/lathe-ml/lathe/pkg/spec"
)

// TestSpecDescribesTheSyntheticSets: the recipe parser checks models
// against pkg/spec's table without loading data; the sets Load makes must
// be what the table says.
func TestSpecDescribesTheSyntheticSets(t *testing.T) {
	for _, d := range spec.Datasets {
		if !d.Synthetic {
			continue
		}
		train, _, err := Load(d.Name, Options{TrainSize: 20, TestSize: 10, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(train.ExampleShape, d.ExampleShape) || train.NumClasses != d.Classes {
			t.Errorf("%s: loaded %v with %d classes, spec says %v with %d", d.Name, train.ExampleShape, train.NumClasses, d.ExampleShape, d.Classes)
		}
	}
}

package datasets

import (
	"slices"
	"testing"
)

func TestSyntheticSets(t *testing.T) {
	for _, test := range []struct {
		name         string
		exampleShape []int
		numClasses   int
		withNames    bool
		unitRange    bool // features within [0,1]
		// minAccuracy is the least test accuracy of a 1-nearest-neighbour
		// classifier on 1000 training examples: the classes must be
		// learnable (blobs overlap by design, hence less than 1).
		minAccuracy float64
	}{
		{"blobs", []int{2}, 4, false, false, 0.9},
		{"spirals", []int{2}, 2, false, false, 0.97},
		{"synthetic-images", []int{28, 28, 1}, 4, true, true, 0.9},
	} {
		t.Run(test.name, func(t *testing.T) {
			train, testSet, err := Load(test.name, Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if train.Len() != DefaultSyntheticTrainSize || testSet.Len() != DefaultSyntheticTestSize {
				t.Errorf("default sizes %d/%d, want %d/%d", train.Len(), testSet.Len(),
					DefaultSyntheticTrainSize, DefaultSyntheticTestSize)
			}
			for _, set := range []*Set{train, testSet} {
				if !slices.Equal(set.ExampleShape, test.exampleShape) || len(set.Features) != set.Len()*set.ExampleSize() {
					t.Errorf("%s: shape %v with %d features", set.Name, set.ExampleShape, len(set.Features))
				}
				if set.NumClasses != test.numClasses || (set.ClassNames != nil) != test.withNames {
					t.Errorf("%s: %d classes named %q", set.Name, set.NumClasses, set.ClassNames)
				}
				if err := set.checkLabels(); err != nil {
					t.Errorf("%s: %v", set.Name, err)
				}
				counts := make([]int, set.NumClasses)
				for _, label := range set.Labels {
					counts[label]++
				}
				if slices.Max(counts)-slices.Min(counts) > 1 {
					t.Errorf("%s: unbalanced classes %v", set.Name, counts)
				}
				if test.unitRange && (slices.Min(set.Features) < 0 || slices.Max(set.Features) > 1) {
					t.Errorf("%s: features outside [0,1]", set.Name)
				}
			}

			same, _, _ := Load(test.name, Options{Seed: 1})
			other, _, _ := Load(test.name, Options{Seed: 2})
			if !slices.Equal(train.Features, same.Features) || !slices.Equal(train.Labels, same.Labels) {
				t.Error("the same seed gave different data")
			}
			if slices.Equal(train.Features, other.Features) {
				t.Error("seeds 1 and 2 gave the same data")
			}
			if slices.Equal(train.Features[:testSet.Len()*train.ExampleSize()], testSet.Features) {
				t.Error("test set repeats the start of the training set")
			}

			small, smallTest, err := Load(test.name, Options{Seed: 1, TrainSize: 1000, TestSize: 200})
			if err != nil {
				t.Fatal(err)
			}
			if small.Len() != 1000 || smallTest.Len() != 200 {
				t.Errorf("sizes %d/%d, want 1000/200", small.Len(), smallTest.Len())
			}
			if accuracy := nearestNeighbourAccuracy(small, smallTest); accuracy < test.minAccuracy {
				t.Errorf("1-NN test accuracy %.3f, want at least %.3f", accuracy, test.minAccuracy)
			}
		})
	}

	if _, _, err := Load("blobs", Options{TrainSize: -1}); err == nil {
		t.Error("negative TrainSize: no error")
	}
}

// nearestNeighbourAccuracy classifies each test example by the label of its
// nearest training example (squared Euclidean distance).
func nearestNeighbourAccuracy(train, test *Set) float64 {
	correct := 0
	for i := range test.Len() {
		query := test.Example(i)
		best, bestDistance := -1, float32(0)
		for j := range train.Len() {
			var distance float32
			for k, value := range train.Example(j) {
				d := value - query[k]
				distance += d * d
			}
			if best < 0 || distance < bestDistance {
				best, bestDistance = j, distance
			}
		}
		if train.Labels[best] == test.Labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(test.Len())
}

package datasets

import (
	"io"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

var _ train.Dataset = (*Batches)(nil)

// epochIDs runs one epoch and returns, per batch, the ids of its examples
// (see numberedSet), checking shapes, dtypes and that labels travel with
// their features.
func epochIDs(t *testing.T, batches *Batches, exampleShape []int) [][]int {
	t.Helper()
	var epoch [][]int
	for {
		spec, inputs, labels, err := batches.Yield()
		if err == io.EOF {
			return epoch
		}
		if err != nil {
			t.Fatal(err)
		}
		if spec != nil || len(inputs) != 1 || len(labels) != 1 {
			t.Fatalf("spec %v, %d inputs, %d labels; want nil, 1, 1", spec, len(inputs), len(labels))
		}
		inputShape, labelShape := inputs[0].Shape(), labels[0].Shape()
		size := inputShape.Dimensions[0]
		if inputShape.DType != dtypes.Float32 || !slices.Equal(inputShape.Dimensions[1:], exampleShape) {
			t.Fatalf("inputs shape %s, want float32 [batch %v]", inputShape, exampleShape)
		}
		if labelShape.DType != dtypes.Int32 || !slices.Equal(labelShape.Dimensions, []int{size, 1}) {
			t.Fatalf("labels shape %s, want int32 [%d 1]", labelShape, size)
		}
		features := tensors.MustCopyFlatData[float32](inputs[0])
		classes := tensors.MustCopyFlatData[int32](labels[0])
		exampleSize := len(features) / size
		var ids []int
		for i := range size {
			id := int(features[i*exampleSize])
			if classes[i] != int32(id%3) {
				t.Fatalf("example %d has label %d, want %d", id, classes[i], id%3)
			}
			ids = append(ids, id)
		}
		epoch = append(epoch, ids)
		for _, tensor := range append(inputs, labels...) {
			tensor.FinalizeAll()
		}
	}
}

func TestBatchesShapes(t *testing.T) {
	for _, test := range []struct {
		name          string
		n, batchSize  int
		dropRemainder bool
		wantSizes     []int
	}{
		{"remainder kept", 10, 4, false, []int{4, 4, 2}},
		{"remainder dropped", 10, 4, true, []int{4, 4}},
		{"exact fit", 8, 4, true, []int{4, 4}},
		{"one batch", 3, 5, false, []int{3}},
	} {
		t.Run(test.name, func(t *testing.T) {
			batches, err := NewBatches(numberedSet(test.n), test.batchSize, false, 1, test.dropRemainder)
			if err != nil {
				t.Fatal(err)
			}
			if batches.StepsPerEpoch() != len(test.wantSizes) {
				t.Errorf("StepsPerEpoch = %d, want %d", batches.StepsPerEpoch(), len(test.wantSizes))
			}
			for epoch := range 2 {
				var sizes, ids []int
				for _, batch := range epochIDs(t, batches, []int{2, 3}) {
					sizes = append(sizes, len(batch))
					ids = append(ids, batch...)
				}
				if !slices.Equal(sizes, test.wantSizes) {
					t.Errorf("epoch %d: batch sizes %v, want %v", epoch, sizes, test.wantSizes)
				}
				for i, id := range ids {
					if id != i {
						t.Fatalf("epoch %d without shuffle: ids %v, want 0, 1, 2, ...", epoch, ids)
					}
				}
				if _, _, _, err := batches.Yield(); err != io.EOF {
					t.Errorf("Yield after the end = %v, want io.EOF again", err)
				}
				batches.Reset()
			}
		})
	}
}

func TestBatchesShuffle(t *testing.T) {
	const n, batchSize, seed = 50, 8, 3
	set := numberedSet(n)
	flatten := func(epoch [][]int) []int { return slices.Concat(epoch...) }
	newBatches := func(dropRemainder bool) *Batches {
		batches, err := NewBatches(set, batchSize, true, seed, dropRemainder)
		if err != nil {
			t.Fatal(err)
		}
		return batches
	}

	batches := newBatches(false)
	batches.Reset() // before any Yield: must not skip epoch 0
	var epochs [][]int
	for epoch := range 3 {
		if batches.Epoch() != epoch {
			t.Errorf("Epoch() = %d, want %d", batches.Epoch(), epoch)
		}
		order := flatten(epochIDs(t, batches, []int{2, 3}))
		sorted := slices.Sorted(slices.Values(order))
		for i, id := range sorted {
			if id != i {
				t.Fatalf("epoch %d does not visit each of the %d examples once: %v", epoch, n, order)
			}
		}
		epochs = append(epochs, order)
		batches.Reset()
	}
	if slices.Equal(epochs[0], epochs[1]) || slices.Equal(epochs[1], epochs[2]) {
		t.Error("two epochs in the same order")
	}
	if slices.IsSorted(epochs[0]) {
		t.Error("shuffled epoch is in order")
	}

	again := newBatches(false)
	for epoch, want := range epochs {
		if got := flatten(epochIDs(t, again, []int{2, 3})); !slices.Equal(got, want) {
			t.Errorf("epoch %d differs between two Batches with the same seed", epoch)
		}
		again.Reset()
	}

	// Dropping the remainder drops a different few examples each epoch, never
	// repeats one, and otherwise keeps the same order.
	dropping := newBatches(true)
	for epoch, want := range epochs {
		got := flatten(epochIDs(t, dropping, []int{2, 3}))
		if len(got) != n/batchSize*batchSize || !slices.Equal(got, want[:len(got)]) {
			t.Errorf("epoch %d with dropRemainder: %v, want the first %d of %v", epoch, got, n/batchSize*batchSize, want)
		}
		dropping.Reset()
	}
}

func TestNewBatchesErrors(t *testing.T) {
	broken := numberedSet(4)
	broken.Features = broken.Features[:5]
	for _, test := range []struct {
		name          string
		set           *Set
		batchSize     int
		dropRemainder bool
	}{
		{"nil set", nil, 4, false},
		{"zero batch", numberedSet(4), 0, false},
		{"empty set", numberedSet(0), 4, false},
		{"features and labels disagree", broken, 2, false},
		{"batch larger than set, dropping", numberedSet(4), 5, true},
	} {
		if _, err := NewBatches(test.set, test.batchSize, true, 1, test.dropRemainder); err == nil {
			t.Errorf("%s: no error", test.name)
		}
	}
}

package datasets

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Batches feeds a Set to GoMLX training and evaluation: it implements
// train.Dataset (github.com/gomlx/gomlx/pkg/ml/train), yielding one batch
// per call and io.EOF at the end of each epoch.
//
// Each batch has one input, a float32 tensor [batch, ExampleShape...], and one
// label, an int32 tensor [batch, 1] of class ids. The Set is read at each
// Yield, not copied: do not change it while a Batches is in use.
//
// Batches is safe for concurrent use, though batches are naturally consumed
// one at a time.
type Batches struct {
	set           *Set
	batchSize     int
	shuffle       bool
	seed          int64
	dropRemainder bool

	mu       sync.Mutex
	epoch    int   // number of the current epoch, from 0
	order    []int // example order of the current epoch; nil means 0..n-1
	position int   // index into the order of the next example to yield

	// Staging buffers, reused: FromFlatDataAndDimensions copies out of them.
	features []float32
	classes  []int32

	augment      Augment // what is done to each example yielded (SetAugment)
	augmentDraws *rng    // the current epoch's draws for it
	scratch      []float32
}

// NewBatches returns batches of batchSize examples of s.
//
// With shuffle, each epoch visits the examples in a new random order; the
// order of epoch k depends only on seed and k, so a run is reproducible.
// Without it, every epoch is in the Set's order.
//
// With dropRemainder, the last partial batch of an epoch is dropped, so that
// every batch has the same shape and GoMLX compiles the step once — what
// training wants. Without it, the last batch is smaller and every example is
// yielded — what evaluation wants.
func NewBatches(s *Set, batchSize int, shuffle bool, seed int64, dropRemainder bool) (*Batches, error) {
	if s == nil {
		return nil, errors.New("datasets: NewBatches: nil Set")
	}
	if batchSize <= 0 {
		return nil, fmt.Errorf("datasets: NewBatches(%s): batch size %d, want > 0", s.Name, batchSize)
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("datasets: NewBatches(%s): empty set", s.Name)
	}
	if len(s.Features) != s.Len()*s.ExampleSize() {
		return nil, fmt.Errorf("datasets: NewBatches(%s): %d features for %d examples of shape %v, want %d",
			s.Name, len(s.Features), s.Len(), s.ExampleShape, s.Len()*s.ExampleSize())
	}
	if dropRemainder && batchSize > s.Len() {
		return nil, fmt.Errorf("datasets: NewBatches(%s): batch size %d is larger than the %d examples, "+
			"and with dropRemainder no batch would ever be yielded", s.Name, batchSize, s.Len())
	}
	b := &Batches{set: s, batchSize: batchSize, shuffle: shuffle, seed: seed, dropRemainder: dropRemainder}
	b.startEpoch()
	return b, nil
}

// Name is the Set's name.
func (b *Batches) Name() string { return b.set.Name }

// StepsPerEpoch is the number of batches Yield returns before io.EOF.
func (b *Batches) StepsPerEpoch() int {
	if b.dropRemainder {
		return b.set.Len() / b.batchSize
	}
	return (b.set.Len() + b.batchSize - 1) / b.batchSize
}

// Epoch is the number of the current epoch, counting from 0.
func (b *Batches) Epoch() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch
}

// Reset starts the next epoch (with a new order when shuffling). A Reset
// before the current epoch yielded anything does nothing — GoMLX's evaluation
// resets a dataset before using it, and that should not skip an epoch.
func (b *Batches) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.position == 0 {
		return
	}
	b.epoch++
	b.startEpoch()
}

// startEpoch rewinds to the start of b.epoch.
func (b *Batches) startEpoch() {
	b.position = 0
	if b.augment.On() {
		b.augmentDraws = newRNG(b.seed, streamAugment+uint64(b.epoch))
	}
	if b.shuffle {
		b.order = newRNG(b.seed, streamEpoch+uint64(b.epoch)).permutation(b.set.Len())
	}
}

// Yield returns the next batch, or io.EOF at the end of the epoch (call Reset
// to start the next one). spec is always nil.
func (b *Batches) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	total := b.set.Len()
	start, end := b.position, b.position+b.batchSize
	if end > total {
		if b.dropRemainder || start >= total {
			return nil, nil, nil, io.EOF
		}
		end = total
	}
	size := end - start
	features, classes := b.features[:0], b.classes[:0]
	for position := start; position < end; position++ {
		example := position
		if b.order != nil {
			example = b.order[position]
		}
		features = append(features, b.set.Example(example)...)
		classes = append(classes, b.set.Labels[example])
	}
	b.features, b.classes = features, classes
	b.position = end
	if b.augment.On() {
		shape, n := b.set.ExampleShape, b.set.ExampleSize()
		if len(b.scratch) < n {
			b.scratch = make([]float32, n)
		}
		for i := range size {
			b.augment.augmentExample(features[i*n:(i+1)*n], b.scratch[:n], shape[0], shape[1], shape[2], b.augmentDraws)
		}
	}

	dims := append([]int{size}, b.set.ExampleShape...)
	inputs = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(features, dims...)}
	labels = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(classes, size, 1)}
	return nil, inputs, labels, nil
}

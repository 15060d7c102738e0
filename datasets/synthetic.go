package datasets

import (
	"fmt"
	"math"

	"github.com/lathe-ml/lathe/pkg/spec"
)

// Default sizes of the synthetic sets when Options.TrainSize/TestSize are 0.
const (
	DefaultSyntheticTrainSize = spec.DefaultSyntheticTrainSize
	DefaultSyntheticTestSize  = 500
)

// Blobs: 4 gaussian clusters of unit spread whose centres sit on a circle of
// radius 3. Neighbouring centres are 4.2 apart, so the classes overlap a
// little (a perfect classifier still errs on a few percent): it is a quick
// sanity check for training code, not a solved problem.
const (
	blobsNumClasses = 4
	blobsRadius     = 3.0
	blobsSpread     = 1.0
)

// Spirals: two interleaved arms of 1.5 turns each within [-1,1]², with a
// little gaussian noise; linearly inseparable, easy for a small MLP.
const (
	spiralTurns = 1.5
	spiralNoise = 0.03
)

// Synthetic images: 28x28 gray images of one shape each, at a random place
// and size, on a noisy background.
const (
	shapeImageSide       = 28
	shapeBackgroundNoise = 0.1
)

// The shape classes, in label order.
const (
	shapeHorizontalBar = iota
	shapeVerticalBar
	shapeSquare
	shapeCross
)

var shapeClassNames = []string{"horizontal-bar", "vertical-bar", "square", "cross"}

// generator fills one example's features and returns its label; index runs
// over the examples so that classes can be balanced.
type generator func(r *rng, index int, features []float32) int32

// makeSynthetic builds the train and test halves of a synthetic set from
// independent random streams of the same seed.
func makeSynthetic(name string, opts Options, exampleShape []int, numClasses int, classNames []string, generate generator) (train, test *Set, err error) {
	trainSize, testSize := opts.TrainSize, opts.TestSize
	if trainSize < 0 || testSize < 0 {
		return nil, nil, fmt.Errorf("%s: negative size (TrainSize %d, TestSize %d)", name, trainSize, testSize)
	}
	if trainSize == 0 {
		trainSize = DefaultSyntheticTrainSize
	}
	if testSize == 0 {
		testSize = DefaultSyntheticTestSize
	}
	build := func(split string, size int, stream uint64) *Set {
		set := &Set{
			Name:         name + "/" + split,
			Labels:       make([]int32, size),
			ExampleShape: append([]int(nil), exampleShape...),
			NumClasses:   numClasses,
			ClassNames:   append([]string(nil), classNames...),
		}
		exampleSize := set.ExampleSize()
		set.Features = make([]float32, size*exampleSize)
		r := newRNG(opts.Seed, stream)
		for i := range size {
			set.Labels[i] = generate(r, i, set.Features[i*exampleSize:(i+1)*exampleSize])
		}
		return set
	}
	train = build("train", trainSize, streamTrainData)
	test = build("test", testSize, streamTestData)
	return train, test, nil
}

// generateBlob draws a point of class index % 4 (classes are balanced).
func generateBlob(r *rng, index int, features []float32) int32 {
	class := index % blobsNumClasses
	angle := 2 * math.Pi * float64(class) / blobsNumClasses
	features[0] = float32(blobsRadius*math.Cos(angle) + blobsSpread*r.normal())
	features[1] = float32(blobsRadius*math.Sin(angle) + blobsSpread*r.normal())
	return int32(class)
}

// generateSpiralPoint draws a point on arm index % 2, the second arm being the
// first turned by half a circle.
func generateSpiralPoint(r *rng, index int, features []float32) int32 {
	class := index % 2
	t := r.float64()
	radius := 0.1 + 0.9*t // keep off the centre, where the arms meet
	angle := 2*math.Pi*spiralTurns*t + math.Pi*float64(class)
	features[0] = float32(radius*math.Cos(angle) + spiralNoise*r.normal())
	features[1] = float32(radius*math.Sin(angle) + spiralNoise*r.normal())
	return int32(class)
}

// generateShapeImage draws one shape of class index % 4 with a random
// position, size and brightness, adds background noise and clamps to [0,1].
func generateShapeImage(r *rng, index int, features []float32) int32 {
	class := index % len(shapeClassNames)
	const side = shapeImageSide
	canvas := shapeCanvas{pixels: features, side: side}
	brightness := float32(0.7 + 0.3*r.float64())
	uniform := func(low, high int) int { return low + r.intN(high-low+1) } // inclusive

	switch class {
	case shapeHorizontalBar, shapeVerticalBar:
		length, thickness := uniform(12, 22), uniform(2, 4)
		along, across := uniform(2, side-2-length), uniform(3, side-3-thickness)
		if class == shapeHorizontalBar {
			canvas.fill(along, across, length, thickness, brightness)
		} else {
			canvas.fill(across, along, thickness, length, brightness)
		}
	case shapeSquare:
		size, thickness := uniform(10, 18), 2
		x, y := uniform(2, side-2-size), uniform(2, side-2-size)
		canvas.fill(x, y, size, thickness, brightness)
		canvas.fill(x, y+size-thickness, size, thickness, brightness)
		canvas.fill(x, y, thickness, size, brightness)
		canvas.fill(x+size-thickness, y, thickness, size, brightness)
	case shapeCross:
		arm, thickness := uniform(6, 10), uniform(2, 3)
		centerX, centerY := uniform(2+arm, side-2-arm), uniform(2+arm, side-2-arm)
		canvas.fill(centerX-arm, centerY-thickness/2, 2*arm, thickness, brightness)
		canvas.fill(centerX-thickness/2, centerY-arm, thickness, 2*arm, brightness)
	}
	for i, value := range features {
		value += float32(shapeBackgroundNoise * r.normal())
		features[i] = min(max(value, 0), 1)
	}
	return int32(class)
}

// shapeCanvas is a square single-channel image in row-major order.
type shapeCanvas struct {
	pixels []float32
	side   int
}

// fill paints the rectangle at column x, row y of the given width and height,
// clipped to the canvas.
func (c shapeCanvas) fill(x, y, width, height int, value float32) {
	for row := max(y, 0); row < min(y+height, c.side); row++ {
		for column := max(x, 0); column < min(x+width, c.side); column++ {
			c.pixels[row*c.side+column] = value
		}
	}
}

package datasets

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
)

// Options tunes Load.
type Options struct {
	// Dir is the directory holding a real dataset's files, overriding the
	// environment variable and the default place (see Locate). CIFAR-10 has no
	// default place: it needs Dir or LATHE_CIFAR10_DIR.
	Dir string
	// Seed drives the synthetic sets; the same seed gives the same sets.
	Seed int64
	// TrainSize and TestSize are the sizes of the synthetic sets (0: the
	// default, DefaultSyntheticTrainSize (2000) and DefaultSyntheticTestSize
	// (500)), and of a real dataset the first so many examples of each
	// split (0: all).
	TrainSize, TestSize int
	// Pad adds this many zero pixels on every side of each image.
	Pad int
}

var mnistClassNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

var fashionMNISTClassNames = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// Load returns the official train and test splits of the named dataset
// (see Names):
//
//   - "mnist", "fashion-mnist": 60000/10000 gray images, ExampleShape
//     [28,28,1], 10 classes.
//   - "cifar10": 50000/10000 color images, ExampleShape [32,32,3], 10 classes.
//   - "blobs": 2-D points from 4 gaussian clusters, 4 classes.
//   - "spirals": 2-D points on two interleaved spirals, 2 classes.
//   - "synthetic-images": 28x28x1 noisy images of a horizontal bar, a
//     vertical bar, a square or a cross, 4 classes.
//
// Pixels are scaled to [0,1]; normalizing them (Stats, Normalize) is left to
// the caller. Real data is read from local files only (see Locate); any
// problem with a file is an error that names it.
func Load(name string, opts Options) (train, test *Set, err error) {
	if train, test, err = load(name, opts); err != nil || opts.Pad == 0 {
		return train, test, err
	}
	for _, s := range []*Set{train, test} {
		if err := s.Pad(opts.Pad); err != nil {
			return nil, nil, err
		}
	}
	return train, test, nil
}

func load(name string, opts Options) (train, test *Set, err error) {
	switch name {
	case "mnist", "fashion-mnist", "cifar10":
		if train, test, err = loadReal(name, opts); err != nil {
			return nil, nil, err
		}
		if err := takeFirst(name, train, test, opts); err != nil {
			return nil, nil, err
		}
		return train, test, nil
	}
	switch name {
	case "mnist":
		return loadIDX(name, opts, mnistClassNames)
	case "fashion-mnist":
		return loadIDX(name, opts, fashionMNISTClassNames)
	case "cifar10":
		return loadCIFAR10(opts)
	case "blobs":
		return makeSynthetic(name, opts, []int{2}, blobsNumClasses, nil, generateBlob)
	case "spirals":
		return makeSynthetic(name, opts, []int{2}, 2, nil, generateSpiralPoint)
	case "synthetic-images":
		return makeSynthetic(name, opts, []int{shapeImageSide, shapeImageSide, 1}, len(shapeClassNames),
			shapeClassNames, generateShapeImage)
	}
	return nil, nil, unknownNameError(name)
}

func loadReal(name string, opts Options) (train, test *Set, err error) {
	switch name {
	case "mnist":
		return loadIDX(name, opts, mnistClassNames)
	case "fashion-mnist":
		return loadIDX(name, opts, fashionMNISTClassNames)
	}
	return loadCIFAR10(opts)
}

// takeFirst keeps the first opts.TrainSize and opts.TestSize examples of a
// real dataset's splits (0: all), refusing more than a split has.
func takeFirst(name string, train, test *Set, opts Options) error {
	for _, c := range []struct {
		key string
		n   int
		s   *Set
	}{{"train_size", opts.TrainSize, train}, {"test_size", opts.TestSize, test}} {
		if c.n > c.s.Len() {
			return fmt.Errorf("%s %d: %s has %d examples in that split", c.key, c.n, name, c.s.Len())
		}
		if c.n > 0 {
			size := c.s.ExampleSize()
			c.s.Features, c.s.Labels = c.s.Features[:c.n*size:c.n*size], c.s.Labels[:c.n:c.n]
		}
	}
	return nil
}

// loadIDX loads MNIST or Fashion-MNIST, which share file names and format.
func loadIDX(name string, opts Options, classNames []string) (train, test *Set, err error) {
	_, paths, err := locateFiles(name, opts)
	if err != nil {
		return nil, nil, err
	}
	train, err = readIDXSet(name+"/train", paths[0], paths[1], classNames)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	test, err = readIDXSet(name+"/test", paths[2], paths[3], classNames)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if !slices.Equal(train.ExampleShape, test.ExampleShape) {
		return nil, nil, fmt.Errorf("%s: train images are %v but test images (%s) are %v",
			name, train.ExampleShape, paths[2], test.ExampleShape)
	}
	return train, test, nil
}

// readIDXSet reads a pair of IDX image and label files into a Set.
func readIDXSet(setName, imagesPath, labelsPath string, classNames []string) (*Set, error) {
	var (
		pixels            []uint8
		count, rows, cols int
	)
	err := readFile(imagesPath, func(r io.Reader, limit int64) (err error) {
		pixels, count, rows, cols, err = ReadIDXImages(r, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	var labels []uint8
	err = readFile(labelsPath, func(r io.Reader, limit int64) (err error) {
		labels, err = ReadIDXLabels(r, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(labels) != count {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", imagesPath, count, labelsPath, len(labels))
	}
	set := &Set{
		Name:         setName,
		Features:     appendScaledPixels(make([]float32, 0, len(pixels)), pixels),
		Labels:       widenLabels(labels),
		ExampleShape: []int{rows, cols, 1},
		NumClasses:   len(classNames),
		ClassNames:   slices.Clone(classNames),
	}
	if err := set.checkLabels(); err != nil {
		return nil, fmt.Errorf("%s: %w", labelsPath, err)
	}
	return set, nil
}

// loadCIFAR10 loads the five training batches and the test batch.
func loadCIFAR10(opts Options) (train, test *Set, err error) {
	dir, paths, err := locateFiles("cifar10", opts)
	if err != nil {
		return nil, nil, err
	}
	classNames := cifar10ClassNames
	metaPath := filepath.Join(dir, cifar10MetaFile)
	if fileExists(metaPath) {
		if classNames, err = readClassNames(metaPath, cifarNumClasses); err != nil {
			return nil, nil, fmt.Errorf("cifar10: %w", err)
		}
	}
	newSet := func(split string) *Set {
		return &Set{
			Name:         "cifar10/" + split,
			ExampleShape: []int{cifarSide, cifarSide, cifarChannels},
			NumClasses:   cifarNumClasses,
			ClassNames:   slices.Clone(classNames),
		}
	}
	train, test = newSet("train"), newSet("test")
	trainBatches, testBatch := paths[:len(paths)-1], paths[len(paths)-1]
	for _, path := range trainBatches {
		if err := appendCIFAR10Batch(train, path); err != nil {
			return nil, nil, err
		}
	}
	if err := appendCIFAR10Batch(test, testBatch); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// appendCIFAR10Batch reads one batch file and appends its examples to set,
// converting as it goes so that at most one batch is held as bytes.
func appendCIFAR10Batch(set *Set, path string) error {
	return readFile(path, func(r io.Reader, limit int64) error {
		images, labels, err := ReadCIFAR10Batch(r, limit)
		if err != nil {
			return err
		}
		set.Features = appendScaledPixels(set.Features, images)
		set.Labels = append(set.Labels, widenLabels(labels)...)
		return nil
	})
}

// readFile opens path with OpenMaybeGzip and hands the reader and its size
// limit to read; errors come back as one line that starts with the path.
func readFile(path string, read func(r io.Reader, limit int64) error) error {
	reader, limit, err := OpenMaybeGzip(path)
	if err != nil {
		return err // *os.PathError and OpenMaybeGzip's own errors already name the path
	}
	defer reader.Close()
	if err := read(reader, limit); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// pixelScale maps a byte to [0,1]; a table is cheaper than a division per
// pixel.
var pixelScale = func() (table [256]float32) {
	for i := range table {
		table[i] = float32(i) / 255
	}
	return table
}()

func appendScaledPixels(dst []float32, pixels []uint8) []float32 {
	dst = slices.Grow(dst, len(pixels))
	for _, p := range pixels {
		dst = append(dst, pixelScale[p])
	}
	return dst
}

func widenLabels(labels []uint8) []int32 {
	wide := make([]int32, len(labels))
	for i, label := range labels {
		wide[i] = int32(label)
	}
	return wide
}

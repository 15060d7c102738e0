package datasets

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Set is an in-memory labelled dataset: one float32 feature vector of
// ExampleShape and one class id per example.
type Set struct {
	// Name identifies the set in logs and plots, e.g. "mnist/train".
	Name string
	// Features holds Len()*ExampleSize() values, example after example,
	// each row-major in ExampleShape; images are height × width × channels.
	Features []float32
	// Labels holds one class id in [0, NumClasses) per example.
	Labels []int32
	// ExampleShape is the shape of one example: [28,28,1] for MNIST,
	// [32,32,3] for CIFAR-10, [2] for blobs and spirals.
	ExampleShape []int
	NumClasses   int
	// ClassNames, when not nil, names each class id; synthetic point sets
	// leave it nil.
	ClassNames []string
}

// Len is the number of examples.
func (s *Set) Len() int { return len(s.Labels) }

// ExampleSize is the number of float32 values in one example.
func (s *Set) ExampleSize() int {
	size := 1
	for _, dim := range s.ExampleShape {
		size *= dim
	}
	return size
}

// Example returns the features of example i, sharing memory with the Set.
func (s *Set) Example(i int) []float32 {
	size := s.ExampleSize()
	return s.Features[i*size : (i+1)*size : (i+1)*size]
}

// Pad surrounds every image with p zero pixels on each side, in place of
// the original features: 28×28×1 becomes (28+2p)×(28+2p)×1.
func (s *Set) Pad(p int) error {
	if len(s.ExampleShape) != 3 {
		return fmt.Errorf("%s: cannot pad examples of shape %v: not images", s.Name, s.ExampleShape)
	}
	if p < 0 {
		return fmt.Errorf("%s: cannot pad by %d pixels", s.Name, p)
	}
	h, w, c := s.ExampleShape[0], s.ExampleShape[1], s.ExampleShape[2]
	ph, pw := h+2*p, w+2*p
	out := make([]float32, s.Len()*ph*pw*c)
	for i := range s.Len() {
		src, dst := s.Example(i), out[i*ph*pw*c:]
		for y := range h {
			copy(dst[((y+p)*pw+p)*c:((y+p)*pw+p+w)*c], src[y*w*c:(y+1)*w*c])
		}
	}
	s.Features, s.ExampleShape = out, []int{ph, pw, c}
	return nil
}

// Subset returns a new Set with copies of the given examples, in the given
// order (indices may repeat). Like slice indexing, it panics when an index is
// out of range.
func (s *Set) Subset(indices []int) *Set {
	size := s.ExampleSize()
	subset := &Set{
		Name:         s.Name,
		Features:     make([]float32, 0, len(indices)*size),
		Labels:       make([]int32, 0, len(indices)),
		ExampleShape: append([]int(nil), s.ExampleShape...),
		NumClasses:   s.NumClasses,
		ClassNames:   append([]string(nil), s.ClassNames...),
	}
	for _, i := range indices {
		subset.Features = append(subset.Features, s.Example(i)...)
		subset.Labels = append(subset.Labels, s.Labels[i])
	}
	return subset
}

// Split shuffles the examples with seed and returns the first
// Len()-validation of them as train and the last validation as val (named
// Name+"/val"). The same seed always gives the same split. validation may be 0
// (val is then empty) but must leave at least one training example.
func (s *Set) Split(validation int, seed int64) (train, val *Set, err error) {
	if validation < 0 || validation >= s.Len() {
		return nil, nil, fmt.Errorf("%s: cannot hold out %d of %d examples for validation: want 0 <= validation < %d",
			s.Name, validation, s.Len(), s.Len())
	}
	order := newRNG(seed, streamSplit).permutation(s.Len())
	cut := s.Len() - validation
	train = s.Subset(order[:cut])
	val = s.Subset(order[cut:])
	val.Name = s.Name + "/val"
	return train, val, nil
}

// Stats returns the mean and the (population) standard deviation of all
// feature values, accumulated in float64. An empty set gives 0, 0.
func (s *Set) Stats() (mean, std float32) {
	if len(s.Features) == 0 {
		return 0, 0
	}
	var sum float64
	for _, x := range s.Features {
		sum += float64(x)
	}
	average := sum / float64(len(s.Features))
	var squares float64
	for _, x := range s.Features {
		d := float64(x) - average
		squares += d * d
	}
	return float32(average), float32(math.Sqrt(squares / float64(len(s.Features))))
}

// Normalize replaces every feature x with (x-mean)/std, in place. A zero std
// (a constant feature set) only subtracts the mean, rather than dividing by
// zero. Normalize the test set with the training set's statistics.
func (s *Set) Normalize(mean, std float32) {
	scale := float32(1)
	if std != 0 {
		scale = 1 / std
	}
	for i, x := range s.Features {
		s.Features[i] = (x - mean) * scale
	}
}

// FeatureStats returns each feature's mean and (population) standard
// deviation over the set's examples — a table's per-column statistics —
// counting only finite values (a NaN cell is data, not a statistic). A
// feature without spread gets std 1, so standardizing only centres it.
func (s *Set) FeatureStats() (means, stds []float32) {
	n := s.ExampleSize()
	sum, squares, count := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, x := range s.Features {
		if v := float64(x); !math.IsNaN(v) && !math.IsInf(v, 0) {
			sum[i%n] += v
			count[i%n]++
		}
	}
	means, stds = make([]float32, n), make([]float32, n)
	for j := range n {
		if count[j] > 0 {
			means[j] = float32(sum[j] / count[j])
		}
	}
	for i, x := range s.Features {
		if v := float64(x); !math.IsNaN(v) && !math.IsInf(v, 0) {
			d := v - float64(means[i%n])
			squares[i%n] += d * d
		}
	}
	for j := range n {
		stds[j] = 1
		if count[j] > 0 {
			if sd := math.Sqrt(squares[j] / count[j]); sd > 0 {
				stds[j] = float32(sd)
			}
		}
	}
	return means, stds
}

// NormalizeFeatures replaces each feature x with (x − means[f]) / stds[f],
// in place: per-column standardization (FeatureStats of the training set).
func (s *Set) NormalizeFeatures(means, stds []float32) {
	n := len(means)
	for i, x := range s.Features {
		s.Features[i] = (x - means[i%n]) / stds[i%n]
	}
}

// Image renders example i for viewing (in a notebook, say): an *image.Gray
// for ExampleShape [H,W,1], an *image.RGBA for [H,W,3], nil for any other
// shape. It assumes features in [0,1], as Load returns them — call it before
// Normalize; values outside [0,1] are clamped. It panics when i is out of
// range.
func (s *Set) Image(i int) image.Image {
	if len(s.ExampleShape) != 3 {
		return nil
	}
	height, width, channels := s.ExampleShape[0], s.ExampleShape[1], s.ExampleShape[2]
	features := s.Example(i)
	bounds := image.Rect(0, 0, width, height)
	switch channels {
	case 1:
		gray := image.NewGray(bounds)
		for y := range height {
			for x := range width {
				gray.SetGray(x, y, color.Gray{Y: toByte(features[y*width+x])})
			}
		}
		return gray
	case 3:
		rgba := image.NewRGBA(bounds)
		for y := range height {
			for x := range width {
				pixel := features[(y*width+x)*3:]
				rgba.SetRGBA(x, y, color.RGBA{R: toByte(pixel[0]), G: toByte(pixel[1]), B: toByte(pixel[2]), A: 255})
			}
		}
		return rgba
	}
	return nil
}

// toByte maps [0,1] to [0,255], clamping and rounding.
func toByte(x float32) uint8 {
	switch {
	case !(x > 0): // also NaN
		return 0
	case x >= 1:
		return 255
	}
	return uint8(x*255 + 0.5)
}

// checkLabels verifies that every label is a valid class id.
func (s *Set) checkLabels() error {
	for i, label := range s.Labels {
		if label < 0 || int(label) >= s.NumClasses {
			return fmt.Errorf("example %d: label %d out of range [0,%d)", i, label, s.NumClasses)
		}
	}
	return nil
}

package datasets

import "fmt"

// Augment is what Batches does to each training image as it assembles a
// batch: the random jitter and mirroring that regularize image models
// (Hinton et al. 2015 jitter MNIST by up to two pixels; ResNets on CIFAR
// train on 4-pixel shifts and horizontal flips). The Set is not changed:
// each epoch draws new transforms.
type Augment struct {
	// Shift translates each image by dy, dx drawn uniformly from
	// [−Shift, Shift], the uncovered border filled with Fill: a random crop
	// of the image padded by Shift pixels.
	Shift int
	// Flip mirrors each image left to right with probability 1/2.
	Flip bool
	// Fill is the value of a pixel shifted in: the standardized value of a
	// raw 0 (black), −mean/std, for standardized images.
	Fill float32
}

// On reports whether a changes anything.
func (a Augment) On() bool { return a.Shift > 0 || a.Flip }

// String describes a in a few words: "shift ±2 px, horizontal flip".
func (a Augment) String() string {
	s := ""
	if a.Shift > 0 {
		s = fmt.Sprintf("shift ±%d px", a.Shift)
	}
	if a.Flip {
		if s != "" {
			s += ", "
		}
		s += "horizontal flip"
	}
	if s == "" {
		return "none"
	}
	return s
}

// SetAugment makes b transform every example it yields by a, with draws
// that depend only on b's seed, the epoch and the position in it, so a
// resumed run sees the same images. Augmenting needs images (height ×
// width × channels) wider and taller than the shift.
func (b *Batches) SetAugment(a Augment) error {
	if !a.On() {
		b.mu.Lock()
		b.augment = Augment{}
		b.mu.Unlock()
		return nil
	}
	shape := b.set.ExampleShape
	if len(shape) != 3 {
		return fmt.Errorf("datasets: augment (%s) transforms images; %s has examples of shape %v", a, b.set.Name, shape)
	}
	if a.Shift < 0 || a.Shift >= shape[0] || a.Shift >= shape[1] {
		return fmt.Errorf("datasets: augment shift %d does not fit %s's %d×%d images", a.Shift, b.set.Name, shape[0], shape[1])
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.augment = a
	b.augmentDraws = newRNG(b.seed, streamAugment+uint64(b.epoch))
	return nil
}

// augmentExample transforms one image of shape h×w×c in place, using
// scratch (h·w·c values) for the source.
func (a Augment) augmentExample(img, scratch []float32, h, w, c int, r *rng) {
	dy, dx := 0, 0
	if a.Shift > 0 {
		dy, dx = r.intN(2*a.Shift+1)-a.Shift, r.intN(2*a.Shift+1)-a.Shift
	}
	flip := a.Flip && r.intN(2) == 1
	if dy == 0 && dx == 0 && !flip {
		return
	}
	copy(scratch, img)
	for y := range h {
		sy := y - dy
		row := img[y*w*c : (y+1)*w*c]
		if sy < 0 || sy >= h {
			for i := range row {
				row[i] = a.Fill
			}
			continue
		}
		for x := range w {
			sx := x - dx
			if flip {
				sx = w - 1 - (x - dx) // mirrored, then shifted
			}
			out := row[x*c : (x+1)*c]
			if sx < 0 || sx >= w {
				for i := range out {
					out[i] = a.Fill
				}
				continue
			}
			copy(out, scratch[(sy*w+sx)*c:(sy*w+sx+1)*c])
		}
	}
}

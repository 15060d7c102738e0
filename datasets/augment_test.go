package datasets

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// gridSet is n copies of one 4×5×2 image whose pixel (y, x), channel k
// holds 100·(y+1) + 10·(x+1) + k: every value names where it came from.
func gridSet(n int) *Set {
	const h, w, c = 4, 5, 2
	s := &Set{Name: "grid", ExampleShape: []int{h, w, c}, NumClasses: 2}
	for range n {
		for y := range h {
			for x := range w {
				for k := range c {
					s.Features = append(s.Features, float32(100*(y+1)+10*(x+1)+k))
				}
			}
		}
		s.Labels = append(s.Labels, 1)
	}
	return s
}

// transformed writes the grid image moved by dy, dx (mirrored first when
// flip), by hand: output pixel (y, x) shows source (y−dy, x−dx), or the
// source's mirror column, and fill where that falls outside.
func transformed(dy, dx int, flip bool, fill float32) []float32 {
	const h, w, c = 4, 5, 2
	var out []float32
	for y := range h {
		for x := range w {
			sy, sx := y-dy, x-dx
			if flip {
				sx = w - 1 - sx
			}
			for k := range c {
				if sy < 0 || sy >= h || sx < 0 || sx >= w {
					out = append(out, fill)
				} else {
					out = append(out, float32(100*(sy+1)+10*(sx+1)+k))
				}
			}
		}
	}
	return out
}

type transform struct {
	dy, dx int
	flip   bool
}

// augmentedEpoch yields one epoch of b and names, for each example, the
// transform that made it; it fails when an example is no such transform
// within shift.
func augmentedEpoch(t *testing.T, b *Batches, shift int, flips bool, fill float32) []transform {
	t.Helper()
	var seen []transform
	for {
		_, inputs, labels, err := b.Yield()
		if err == io.EOF {
			return seen
		}
		if err != nil {
			t.Fatal(err)
		}
		features := tensors.MustCopyFlatData[float32](inputs[0])
		if got := tensors.MustCopyFlatData[int32](labels[0]); slices.ContainsFunc(got, func(l int32) bool { return l != 1 }) {
			t.Fatalf("labels %v changed", got)
		}
		for i := 0; i < len(features); i += 40 {
			example := features[i : i+40]
			found := false
			for dy := -shift; dy <= shift && !found; dy++ {
				for dx := -shift; dx <= shift && !found; dx++ {
					for _, flip := range []bool{false, true} {
						if flip && !flips {
							continue
						}
						if slices.Equal(example, transformed(dy, dx, flip, fill)) {
							seen, found = append(seen, transform{dy, dx, flip}), true
							break
						}
					}
				}
			}
			if !found {
				t.Fatalf("example %v is no shift within ±%d (flip %v) of the image", example, shift, flips)
			}
		}
	}
}

func TestAugmentShiftsAndFlips(t *testing.T) {
	const n, fill = 900, -0.5
	b, err := NewBatches(gridSet(n), 30, true, 7, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetAugment(Augment{Shift: 1, Flip: true, Fill: fill}); err != nil {
		t.Fatal(err)
	}
	epoch := augmentedEpoch(t, b, 1, true, fill)
	if len(epoch) != n {
		t.Fatalf("%d examples, want %d", len(epoch), n)
	}
	// 9 shifts × 2 orientations, each 1/18 of 900 = 50 expected: every one
	// appears, and none dominates.
	counts := map[transform]int{}
	for _, tr := range epoch {
		counts[tr]++
	}
	if len(counts) != 18 {
		t.Fatalf("%d distinct transforms, want all 18: %v", len(counts), counts)
	}
	for tr, k := range counts {
		if k < 20 || k > 90 {
			t.Errorf("transform %+v drawn %d times of %d, want about 50", tr, k, n)
		}
	}

	// The same seed draws the same transforms; the next epoch new ones.
	again, _ := NewBatches(gridSet(n), 30, true, 7, true)
	if err := again.SetAugment(Augment{Shift: 1, Flip: true, Fill: fill}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(augmentedEpoch(t, again, 1, true, fill), epoch) {
		t.Error("two batches with the same seed augmented differently")
	}
	b.Reset()
	if slices.Equal(augmentedEpoch(t, b, 1, true, fill), epoch) {
		t.Error("the second epoch repeated the first one's transforms")
	}
	// The set itself is untouched.
	if !slices.Equal(gridSet(1).Features, b.set.Example(0)) {
		t.Error("augmenting changed the Set")
	}
}

func TestAugmentShiftOnly(t *testing.T) {
	b, _ := NewBatches(gridSet(200), 50, false, 3, true)
	if err := b.SetAugment(Augment{Shift: 2}); err != nil {
		t.Fatal(err)
	}
	for _, tr := range augmentedEpoch(t, b, 2, false, 0) {
		if tr.flip {
			t.Fatal("flipped without Flip")
		}
	}
}

func TestAugmentRefusesWhatItCannotDo(t *testing.T) {
	points := &Set{Name: "points", Features: make([]float32, 20), Labels: make([]int32, 10), ExampleShape: []int{2}, NumClasses: 2}
	b, _ := NewBatches(points, 5, true, 1, true)
	if err := b.SetAugment(Augment{Flip: true}); err == nil || !strings.Contains(err.Error(), "points") {
		t.Errorf("flipping points: %v, want an error naming the set", err)
	}
	g, _ := NewBatches(gridSet(10), 5, true, 1, true)
	if err := g.SetAugment(Augment{Shift: 4}); err == nil || !strings.Contains(err.Error(), "4×5") {
		t.Errorf("shift 4 of 4×5 images: %v, want an error naming the size", err)
	}
	if err := g.SetAugment(Augment{}); err != nil {
		t.Errorf("no augmentation: %v", err)
	}
}

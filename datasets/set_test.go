package datasets

import (
	"image"
	"image/color"
	"math"
	"slices"
	"testing"
)

func TestSubsetCopies(t *testing.T) {
	set := numberedSet(5)
	set.ClassNames = []string{"a", "b", "c"}
	subset := set.Subset([]int{4, 1, 1})
	if !slices.Equal(subset.Labels, []int32{1, 1, 1}) || subset.Len() != 3 {
		t.Errorf("labels %v, want [1 1 1]", subset.Labels)
	}
	if got := []float32{subset.Example(0)[0], subset.Example(1)[5], subset.Example(2)[0]}; !slices.Equal(got, []float32{4, 1, 1}) {
		t.Errorf("features %v, want examples 4, 1, 1", got)
	}
	subset.Features[0], subset.ExampleShape[0], subset.ClassNames[0] = -1, 99, "changed"
	if set.Features[4*6] != 4 || set.ExampleShape[0] != 2 || set.ClassNames[0] != "a" {
		t.Error("changing the subset changed the original")
	}
}

func TestSplit(t *testing.T) {
	set := numberedSet(100)
	ids := func(s *Set) []int {
		var ids []int
		for i := range s.Len() {
			ids = append(ids, int(s.Example(i)[0]))
		}
		return ids
	}
	train, val, err := set.Split(20, 7)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 80 || val.Len() != 20 || val.Name != "numbered/val" || train.Name != "numbered" {
		t.Errorf("split into %s (%d) and %s (%d), want numbered (80) and numbered/val (20)",
			train.Name, train.Len(), val.Name, val.Len())
	}
	all := append(ids(train), ids(val)...)
	if slices.Sort(all); !slices.Equal(all, ids(set)) {
		t.Error("train and val together are not the original examples, each once")
	}
	for i := range val.Len() {
		if id := int(val.Example(i)[0]); val.Labels[i] != int32(id%3) {
			t.Fatalf("val example %d (id %d) has label %d, want %d: features and labels parted", i, id, val.Labels[i], id%3)
		}
	}
	if slices.Equal(ids(train), ids(set)[:80]) {
		t.Error("train is the first 80 examples: no shuffle")
	}

	trainAgain, valAgain, _ := set.Split(20, 7)
	if !slices.Equal(ids(train), ids(trainAgain)) || !slices.Equal(ids(val), ids(valAgain)) {
		t.Error("the same seed gave a different split")
	}
	_, valOther, _ := set.Split(20, 8)
	if slices.Equal(ids(val), ids(valOther)) {
		t.Error("seeds 7 and 8 gave the same split")
	}

	for _, validation := range []int{-1, 100, 101} {
		if _, _, err := set.Split(validation, 7); err == nil {
			t.Errorf("Split(%d) of 100 examples: no error", validation)
		}
	}
	if train, val, err := set.Split(0, 7); err != nil || train.Len() != 100 || val.Len() != 0 {
		t.Errorf("Split(0): %v, %d/%d examples", err, train.Len(), val.Len())
	}
}

func TestStatsAndNormalize(t *testing.T) {
	const tolerance = 1e-6
	near := func(got float32, want float64) bool { return math.Abs(float64(got)-want) <= tolerance }
	for _, test := range []struct {
		name              string
		features          []float32
		wantMean, wantStd float64
	}{
		{"1..4", []float32{1, 2, 3, 4}, 2.5, math.Sqrt(1.25)},
		{"constant", []float32{3, 3, 3}, 3, 0},
		{"empty", nil, 0, 0},
	} {
		t.Run(test.name, func(t *testing.T) {
			set := &Set{Features: slices.Clone(test.features), ExampleShape: []int{1}}
			mean, std := set.Stats()
			if !near(mean, test.wantMean) || !near(std, test.wantStd) {
				t.Fatalf("Stats = %g, %g; want %g, %g ± %g", mean, std, test.wantMean, test.wantStd, tolerance)
			}
			set.Normalize(mean, std)
			wantStd := 1.0
			if test.wantStd == 0 {
				wantStd = 0 // a constant set stays constant: mean removed, no division
			}
			if len(set.Features) > 0 {
				if mean, std := set.Stats(); !near(mean, 0) || !near(std, wantStd) {
					t.Errorf("after Normalize: mean %g std %g, want 0 and %g ± %g", mean, std, wantStd, tolerance)
				}
			}
		})
	}
}

func TestImage(t *testing.T) {
	gray := &Set{Features: []float32{0, 0.5, 1, 2, -1, 0.25}, Labels: []int32{0}, ExampleShape: []int{2, 3, 1}}
	img, ok := gray.Image(0).(*image.Gray)
	if !ok {
		t.Fatalf("Image = %T, want *image.Gray", gray.Image(0))
	}
	if img.Bounds() != image.Rect(0, 0, 3, 2) {
		t.Errorf("bounds %v, want 3x2", img.Bounds())
	}
	// Values outside [0,1] are clamped; 0.5*255 = 127.5 rounds to 128.
	for _, test := range []struct {
		x, y int
		want uint8
	}{{0, 0, 0}, {1, 0, 128}, {2, 0, 255}, {0, 1, 255}, {1, 1, 0}, {2, 1, 64}} {
		if got := img.GrayAt(test.x, test.y).Y; got != test.want {
			t.Errorf("gray (%d,%d) = %d, want %d", test.x, test.y, got, test.want)
		}
	}

	rgb := &Set{Features: []float32{1, 0, 0, 0, 0.2, 1}, Labels: []int32{0}, ExampleShape: []int{1, 2, 3}}
	img2, ok := rgb.Image(0).(*image.RGBA)
	if !ok {
		t.Fatalf("Image = %T, want *image.RGBA", rgb.Image(0))
	}
	if got, want := img2.RGBAAt(1, 0), (color.RGBA{0, 51, 255, 255}); got != want {
		t.Errorf("rgb (1,0) = %v, want %v", got, want)
	}

	points := &Set{Features: []float32{1, 2}, Labels: []int32{0}, ExampleShape: []int{2}}
	if img := points.Image(0); img != nil {
		t.Errorf("Image of a 2-D point = %T, want nil", img)
	}
}

func TestPad(t *testing.T) {
	// Two 2×2 images of 1 channel, padded by 1: 4×4 with the pixels in the middle.
	s := &Set{Name: "t", Features: []float32{1, 2, 3, 4, 5, 6, 7, 8}, Labels: []int32{0, 1}, ExampleShape: []int{2, 2, 1}, NumClasses: 2}
	if err := s.Pad(1); err != nil {
		t.Fatal(err)
	}
	want := []float32{
		0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8, 0, 0, 0, 0, 0,
	}
	if !slices.Equal(s.Features, want) || !slices.Equal(s.ExampleShape, []int{4, 4, 1}) {
		t.Errorf("padded %v %v", s.ExampleShape, s.Features)
	}
	points := &Set{Name: "p", Features: []float32{1, 2}, Labels: []int32{0}, ExampleShape: []int{2}}
	if err := points.Pad(1); err == nil {
		t.Error("padded points")
	}
}

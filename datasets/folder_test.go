package datasets

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writePNG writes a w×h image whose every pixel is c.
func writePNG(t *testing.T, path string, w, h int, c color.Color) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// grayFolder writes classes a (4 images), b (3) and c (2) of uniform
// gray images, image i of class k of value 10·k + i.
func grayFolder(t *testing.T) string {
	dir := t.TempDir()
	for k, class := range []string{"a", "b", "c"} {
		for i := 0; i < 4-k; i++ {
			v := uint8(10*k + i)
			writePNG(t, filepath.Join(dir, class, string(rune('0'+i))+".png"), 5, 3, color.Gray{Y: v})
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "notes.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadFolder: classes come from the sorted folder names, a
// TestFraction of each class goes to the test split (a quarter of 4, 3
// and 2 images, rounded, at least one: 1 each), pixels are the images'
// values over 255 at any size (uniform images resize to themselves), and
// the second load reads the cache.
func TestLoadFolder(t *testing.T) {
	dir := grayFolder(t)
	o := FolderOptions{Dir: dir, Height: 2, Width: 3, Channels: 1, TestFraction: 0.25, Seed: 7}
	train, test, info, err := LoadFolder(o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(train.ClassNames, []string{"a", "b", "c"}) || !slices.Equal(train.ExampleShape, []int{2, 3, 1}) {
		t.Fatalf("classes %v, shape %v", train.ClassNames, train.ExampleShape)
	}
	if !slices.Equal(info.TrainCounts, []int{3, 2, 1}) || !slices.Equal(info.TestCounts, []int{1, 1, 1}) {
		t.Fatalf("counts %v / %v, want [3 2 1] / [1 1 1]", info.TrainCounts, info.TestCounts)
	}
	seen := map[float32]bool{}
	for _, s := range []*Set{train, test} {
		for i := range s.Len() {
			ex := s.Example(i)
			v := ex[0]
			for _, x := range ex {
				if x != v {
					t.Fatalf("%s example %d is not uniform: %v", s.Name, i, ex)
				}
			}
			class := int(math.Round(float64(v)*255)) / 10
			if class != int(s.Labels[i]) {
				t.Errorf("%s example %d of value %g has label %d", s.Name, i, v*255, s.Labels[i])
			}
			seen[v] = true
		}
	}
	if len(seen) != 9 || info.Cached {
		t.Errorf("%d distinct images (want 9), cached %v", len(seen), info.Cached)
	}
	if info.Cache != filepath.Join(dir, CacheName(2, 3, 1)) {
		t.Errorf("cache %q", info.Cache)
	}

	train2, test2, info2, err := LoadFolder(o)
	if err != nil {
		t.Fatal(err)
	}
	if !info2.Cached || !slices.Equal(train2.Features, train.Features) || !slices.Equal(test2.Labels, test.Labels) {
		t.Errorf("second load: cached %v, same features %v", info2.Cached, slices.Equal(train2.Features, train.Features))
	}

	// A changed image is decoded again.
	later := time.Now().Add(time.Hour)
	path := filepath.Join(dir, "c", "0.png")
	writePNG(t, path, 5, 3, color.Gray{Y: 29})
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	_, _, info3, err := LoadFolder(o)
	if err != nil || info3.Cached {
		t.Errorf("after a change: cached %v, %v", info3.Cached, err)
	}
}

// TestLoadFolderColorAndResize: RGB keeps the channels; a 2×2 gray image
// of 0 and 255 on the diagonal shrinks to one pixel of about their mean.
func TestLoadFolderColorAndResize(t *testing.T) {
	dir := t.TempDir()
	for _, class := range []string{"red", "blue"} {
		c := color.NRGBA{R: 255, G: 0, B: 10, A: 255}
		if class == "blue" {
			c = color.NRGBA{R: 0, G: 20, B: 255, A: 255}
		}
		writePNG(t, filepath.Join(dir, "train", class, "x.png"), 7, 7, c)
		writePNG(t, filepath.Join(dir, "test", class, "y.png"), 4, 9, c)
	}
	train, test, _, err := LoadFolder(FolderOptions{Dir: dir, Height: 3, Width: 2, Channels: 3, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 2 || test.Len() != 2 {
		t.Fatalf("%d train, %d test", train.Len(), test.Len())
	}
	if got := test.Example(0)[:3]; got[0] != 0 || got[1] != 20.0/255 || got[2] != 1 { // blue sorts first
		t.Errorf("blue pixel %v", got)
	}
	if got := train.Example(1)[:3]; got[0] != 1 || got[1] != 0 || got[2] != 10.0/255 {
		t.Errorf("red pixel %v", got)
	}

	dir = t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	img.Pix = []uint8{0, 255, 255, 0}
	for _, class := range []string{"p", "q"} {
		for _, name := range []string{"1.png", "2.png"} {
			path := filepath.Join(dir, class, name)
			os.MkdirAll(filepath.Dir(path), 0o755)
			f, _ := os.Create(path)
			png.Encode(f, img)
			f.Close()
		}
	}
	train, _, _, err = LoadFolder(FolderOptions{Dir: dir, Height: 1, Width: 1, Channels: 1, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := train.Features[0] * 255; math.Abs(float64(v)-127.5) > 1 {
		t.Errorf("2×2 of 0 and 255 shrunk to %g, want about 127.5", v)
	}
}

// TestLoadFolderErrors: each bad folder is one error naming the folder or
// file; SkipBad leaves a bad image out and names it.
func TestLoadFolderErrors(t *testing.T) {
	dir := grayFolder(t)
	bad := filepath.Join(dir, "b", "broken.jpg")
	if err := os.WriteFile(bad, []byte("\xff\xd8\xff\xe0 not really a JPEG"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := FolderOptions{Dir: dir, Height: 2, Width: 2, Channels: 1}
	if _, _, _, err := LoadFolder(o); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt JPEG: %v", err)
	}
	o.SkipBad = true
	train, test, info, err := LoadFolder(o)
	if err != nil || !slices.Equal(info.Skipped, []string{filepath.Join("b", "broken.jpg")}) || train.Len()+test.Len() != 9 {
		t.Errorf("skip_bad: %v, skipped %v, %d images", err, info.Skipped, train.Len()+test.Len())
	}

	empty := filepath.Join(dir, "d")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadFolder(o); err == nil || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), "no image") {
		t.Errorf("empty class folder: %v", err)
	}
	for _, c := range []struct {
		o    FolderOptions
		want string
	}{
		{FolderOptions{Dir: dir, Height: 2, Width: 2, Channels: 2}, "1 or 3 channels"},
		{FolderOptions{Dir: filepath.Join(dir, "missing"), Height: 2, Width: 2, Channels: 1}, "missing"},
		{FolderOptions{Dir: filepath.Join(dir, "a"), Height: 2, Width: 2, Channels: 1}, "class folders"},
		{FolderOptions{Dir: dir, Height: 2, Width: 2, Channels: 1, TestFraction: 1.5}, "test fraction"},
	} {
		if _, _, _, err := LoadFolder(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}

// FuzzFolderCache: no cache file, however damaged, makes the reader
// panic, and one it accepts holds exactly the images' pixels.
func FuzzFolderCache(f *testing.F) {
	files := []folderFile{{path: "a/1.png", size: 10, mtime: 3}, {path: "b/2.png", size: 12, mtime: 4}}
	dir := f.TempDir()
	good := filepath.Join(dir, "c.bin")
	if err := writeFolderCache(good, files, []uint8{1, 2, 3, 4}, 2); err != nil {
		f.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	f.Add(data)
	f.Add(data[:len(data)-1])
	f.Add([]byte(folderCacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		pixels, ok := parseFolderCache(data, files, 2)
		if ok && len(pixels) != 4 {
			t.Fatalf("accepted a cache of %d pixel bytes, want 4", len(pixels))
		}
	})
}

// writeSetFolder writes examples of set as 8-bit gray or RGB PNGs into
// dir/<class>/<index>.png (a "/" in a class name becomes "-"): how the
// tests and the tutorial make an image folder from a built-in set.
func writeSetFolder(t *testing.T, s *Set, dir string, examples []int) {
	t.Helper()
	h, w := s.ExampleShape[0], s.ExampleShape[1]
	for _, i := range examples {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for p, v := range s.Example(i) {
			img.Pix[p] = uint8(math.Round(float64(v) * 255))
		}
		class := strings.ReplaceAll(s.ClassNames[s.Labels[i]], "/", "-")
		path := filepath.Join(dir, class, fmt.Sprintf("%05d.png", i))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// TestFashionMNISTFolderIsTheSameData: Fashion-MNIST images written as
// PNGs (train/ and test/) load back as the very pixels of the IDX files,
// each with its class: PNG is lossless and a 28×28 image is not resized.
func TestFashionMNISTFolderIsTheSameData(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 65 MB of real data")
	}
	if _, err := os.Stat(fashionMNISTDataDir); err != nil {
		t.Skipf("%s absent (apt-get install dataset-fashion-mnist): %v", fashionMNISTDataDir, err)
	}
	train, test, err := Load("fashion-mnist", Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	writeSetFolder(t, train, filepath.Join(dir, "train"), first(300))
	writeSetFolder(t, test, filepath.Join(dir, "test"), first(100))
	ftrain, ftest, info, err := LoadFolder(FolderOptions{Dir: dir, Height: 28, Width: 28, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ftrain.Len() != 300 || ftest.Len() != 100 || ftrain.NumClasses != 10 {
		t.Fatalf("%d train, %d test, %d classes", ftrain.Len(), ftest.Len(), ftrain.NumClasses)
	}
	for _, pair := range []struct{ idx, folder *Set }{{train, ftrain}, {test, ftest}} {
		// The folder's examples come class by class, in index order within
		// each: match them to the IDX examples by class name and order.
		byClass := map[string][]int{}
		for i := range pair.folder.Len() {
			name := pair.folder.ClassNames[pair.folder.Labels[i]]
			byClass[name] = append(byClass[name], i)
		}
		next := map[string]int{}
		for i := range pair.folder.Len() {
			name := strings.ReplaceAll(pair.idx.ClassNames[pair.idx.Labels[i]], "/", "-")
			j := byClass[name][next[name]]
			next[name]++
			if !slices.Equal(pair.folder.Example(j), pair.idx.Example(i)) {
				t.Fatalf("%s example %d (%s) differs from the IDX file's", pair.folder.Name, i, name)
			}
		}
	}
	if info.Cache == "" {
		t.Error("no cache written")
	}
}

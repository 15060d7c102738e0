package datasets

import (
	"fmt"
	"image"
	_ "image/jpeg" // image.Decode reads JPEG
	_ "image/png"  // and PNG
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/image/draw"
)

// FolderOptions describe an image folder: one sub-folder of images per
// class, named after the class (torchvision's ImageFolder layout), either
// at the top (split by TestFraction) or under train/ and test/.
type FolderOptions struct {
	Dir string
	// Height, Width and Channels (1: gray, 3: RGB) are what every image is
	// converted and resized to.
	Height, Width, Channels int
	// TestFraction of each class becomes the test split when Dir has no
	// test/ sub-folder (0: 0.2), drawn with Seed.
	TestFraction float64
	Seed         int64
	// SkipBad leaves out the images that do not decode (FolderInfo.Skipped
	// names them) instead of failing.
	SkipBad bool
	// NoCache neither reads nor writes the decoded cache.
	NoCache bool
}

// FolderInfo is what LoadFolder found.
type FolderInfo struct {
	// TrainCounts and TestCounts are the examples of each class.
	TrainCounts, TestCounts []int
	// Validation holds the images of a val/ (or validation/) sub-folder
	// beside train/ and test/, with ValidationCounts; nil without one (the
	// caller holds out training images then).
	Validation       *Set
	ValidationCounts []int
	// Skipped are the images left out with SkipBad, as paths under Dir.
	Skipped []string
	// Cached says the pixels came from the cache, Decoded how long decoding
	// took otherwise; Cache is the cache's path ("" when none was kept).
	Cached  bool
	Decoded time.Duration
	Cache   string
}

// imageExts are the files LoadFolder reads; others (a README, .DS_Store)
// are ignored.
var imageExts = []string{".png", ".jpg", ".jpeg"}

// folderFile is one image: its path under Dir, class, split, and the
// size and modification time that decide whether the cache still holds it.
type folderFile struct {
	path      string
	class     int
	test, val bool // in the test split; in the val/ folder
	size      int64
	mtime     int64
}

// LoadFolder reads an image folder into a train and a test Set, pixels
// scaled to [0, 1] as Load's datasets are, each split's examples in
// file-name order across classes. The decoded pixels are kept in
// a cache file in Dir (CacheName), used again while every image keeps
// its size and modification time; a folder that cannot be written is
// read without one. A class folder with no image, an image that does not
// decode (without SkipBad) and a test class the training split lacks are
// errors that name the folder or file.
func LoadFolder(o FolderOptions) (train, test *Set, info FolderInfo, err error) {
	if o.Height < 1 || o.Width < 1 || (o.Channels != 1 && o.Channels != 3) {
		return nil, nil, info, fmt.Errorf("image folder %s: size %d×%d×%d: want a positive height and width, and 1 or 3 channels", o.Dir, o.Height, o.Width, o.Channels)
	}
	if o.TestFraction == 0 {
		o.TestFraction = 0.2
	}
	if !(o.TestFraction > 0 && o.TestFraction < 1) {
		return nil, nil, info, fmt.Errorf("image folder %s: test fraction %g: want a number between 0 and 1", o.Dir, o.TestFraction)
	}
	files, classes, err := listFolder(o)
	if err != nil {
		return nil, nil, info, err
	}
	size := o.Height * o.Width * o.Channels
	pixels, cached := []uint8(nil), false
	cache := filepath.Join(o.Dir, CacheName(o.Height, o.Width, o.Channels))
	if !o.NoCache {
		pixels, cached = readFolderCache(cache, files, size)
	}
	keep := make([]bool, len(files))
	if cached {
		info.Cached = true
		for i := range keep {
			keep[i] = true
		}
	} else {
		start := time.Now()
		pixels = make([]uint8, len(files)*size)
		for i, f := range files {
			err := decodeInto(filepath.Join(o.Dir, f.path), pixels[i*size:(i+1)*size], o)
			switch {
			case err == nil:
				keep[i] = true
			case o.SkipBad:
				info.Skipped = append(info.Skipped, f.path)
			default:
				return nil, nil, info, err
			}
		}
		info.Decoded = time.Since(start)
		if len(info.Skipped) == 0 && !o.NoCache && writeFolderCache(cache, files, pixels, size) == nil {
			info.Cache = cache
		}
	}
	if cached {
		info.Cache = cache
	}
	shape := []int{o.Height, o.Width, o.Channels}
	train = &Set{Name: filepath.Base(o.Dir) + "/train", ExampleShape: shape, NumClasses: len(classes), ClassNames: classes}
	test = &Set{Name: filepath.Base(o.Dir) + "/test", ExampleShape: slices.Clone(shape), NumClasses: len(classes), ClassNames: slices.Clone(classes)}
	info.TrainCounts, info.TestCounts = make([]int, len(classes)), make([]int, len(classes))
	for i, f := range files {
		if !keep[i] {
			continue
		}
		s, counts := train, info.TrainCounts
		switch {
		case f.test:
			s, counts = test, info.TestCounts
		case f.val:
			if info.Validation == nil {
				info.Validation = &Set{Name: filepath.Base(o.Dir) + "/val", ExampleShape: slices.Clone(shape), NumClasses: len(classes), ClassNames: slices.Clone(classes)}
				info.ValidationCounts = make([]int, len(classes))
			}
			s, counts = info.Validation, info.ValidationCounts
		}
		for _, p := range pixels[i*size : (i+1)*size] {
			s.Features = append(s.Features, float32(p)/255)
		}
		s.Labels = append(s.Labels, int32(f.class))
		counts[f.class]++
	}
	for c, n := range info.TrainCounts {
		if n == 0 {
			return nil, nil, info, fmt.Errorf("image folder %s: class %q has no training image left", o.Dir, classes[c])
		}
	}
	if test.Len() == 0 {
		return nil, nil, info, fmt.Errorf("image folder %s: no test image (a test/ sub-folder, or a class with at least 2 images to split)", o.Dir)
	}
	return train, test, info, nil
}

// CacheName is the cache file LoadFolder keeps in an image folder for
// images converted to height×width×channels.
func CacheName(height, width, channels int) string {
	return fmt.Sprintf(".lathe-cache-%dx%dx%d.bin", height, width, channels)
}

// listFolder finds the classes and images: train/ and test/ (and val/ or
// validation/) when Dir has them, else the class folders at the top,
// split by TestFraction.
func listFolder(o FolderOptions) ([]folderFile, []string, error) {
	trainDir, testDir := filepath.Join(o.Dir, "train"), filepath.Join(o.Dir, "test")
	split := isDir(trainDir)
	if !split {
		trainDir = o.Dir
	} else if !isDir(testDir) {
		return nil, nil, fmt.Errorf("image folder %s: a train/ sub-folder and no test/ one: give both, or put the class folders at the top", o.Dir)
	}
	classes, err := classFolders(trainDir)
	if err != nil {
		return nil, nil, err
	}
	var files []folderFile
	// add lists dir's class folders: every class needs training images; a
	// class may have no test images (or no test folder).
	add := func(dir string, test, val bool) error {
		for c, name := range classes {
			if (test || val) && !isDir(filepath.Join(dir, name)) {
				continue
			}
			imgs, err := images(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			if len(imgs) == 0 && !test && !val {
				return fmt.Errorf("image folder %s: class folder %s has no image (.png, .jpg, .jpeg)", o.Dir, filepath.Join(dir, name))
			}
			for _, img := range imgs {
				rel, _ := filepath.Rel(o.Dir, img)
				files = append(files, folderFile{path: rel, class: c, test: test, val: val})
			}
		}
		return nil
	}
	if err := add(trainDir, false, false); err != nil {
		return nil, nil, err
	}
	if split {
		type subtree struct {
			dir       string
			test, val bool
		}
		others := []subtree{{testDir, true, false}}
		for _, name := range []string{"val", "validation"} {
			if dir := filepath.Join(o.Dir, name); isDir(dir) {
				others = append(others, subtree{dir, false, true})
				break
			}
		}
		for _, other := range others {
			names, err := classFolders(other.dir)
			if err != nil {
				return nil, nil, err
			}
			for _, name := range names {
				if !slices.Contains(classes, name) {
					return nil, nil, fmt.Errorf("image folder %s: class %q of %s/ has no folder under train/", o.Dir, name, filepath.Base(other.dir))
				}
			}
			if err := add(other.dir, other.test, other.val); err != nil {
				return nil, nil, err
			}
		}
	} else {
		// TestFraction of each class (at least one image, none of a class of
		// one), drawn with Seed; the order within each split stays the
		// folders'.
		rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x1f01de5))
		start := 0
		for start < len(files) {
			end := start
			for end < len(files) && files[end].class == files[start].class {
				end++
			}
			if n := end - start; n > 1 {
				k := max(1, int(o.TestFraction*float64(n)+0.5))
				for _, i := range rng.Perm(n)[:min(k, n-1)] {
					files[start+i].test = true
				}
			}
			start = end
		}
	}
	// Each split's examples in file-name order across the classes (a tie
	// in class order): a folder written from an indexed dataset, one file
	// per example named by its index, keeps the dataset's order, and a
	// recipe on it runs exactly as on the dataset.
	slices.SortStableFunc(files, func(a, b folderFile) int {
		return strings.Compare(filepath.Base(a.path), filepath.Base(b.path))
	})
	for i := range files {
		st, err := os.Stat(filepath.Join(o.Dir, files[i].path))
		if err != nil {
			return nil, nil, fmt.Errorf("image folder %s: %w", o.Dir, err)
		}
		files[i].size, files[i].mtime = st.Size(), st.ModTime().UnixNano()
	}
	return files, classes, nil
}

// classFolders are the sub-folders of dir, sorted: the class names.
func classFolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if len(names) < 2 {
		return nil, fmt.Errorf("image folder %s: %d class folders: want one sub-folder of images per class, at least 2", dir, len(names))
	}
	slices.Sort(names)
	return names, nil
}

// images are dir's image files, sorted.
func images(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && IsImageFile(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// DecodeImage decodes a PNG or JPEG file as LoadFolder does — converted to
// channels (1: gray, 3: RGB) and resized to height×width — into values in
// [0, 1]: what a model trained on an image folder was given.
func DecodeImage(path string, height, width, channels int) ([]float32, error) {
	if height < 1 || width < 1 || (channels != 1 && channels != 3) {
		return nil, fmt.Errorf("%s: cannot make a %d×%d×%d image", path, height, width, channels)
	}
	pixels := make([]uint8, height*width*channels)
	if err := decodeInto(path, pixels, FolderOptions{Height: height, Width: width, Channels: channels}); err != nil {
		return nil, err
	}
	out := make([]float32, len(pixels))
	for i, p := range pixels {
		out[i] = float32(p) / 255
	}
	return out, nil
}

// IsImageFile says whether LoadFolder reads a file of this name.
func IsImageFile(name string) bool {
	return slices.Contains(imageExts, strings.ToLower(filepath.Ext(name)))
}

// decodeInto decodes an image, converts it to o's channels and resizes it
// to o's size (x/image's bilinear filter, which averages when it shrinks),
// writing height×width×channels bytes into dst.
func decodeInto(path string, dst []uint8, o FolderOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("image folder: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return fmt.Errorf("image folder: %s: %v", path, err)
	}
	rect := image.Rect(0, 0, o.Width, o.Height)
	if o.Channels == 1 {
		gray := image.NewGray(img.Bounds())
		draw.Draw(gray, gray.Bounds(), img, img.Bounds().Min, draw.Src)
		out := gray
		if gray.Bounds().Size() != rect.Size() {
			out = image.NewGray(rect)
			draw.BiLinear.Scale(out, rect, gray, gray.Bounds(), draw.Src, nil)
		}
		for y := 0; y < o.Height; y++ {
			copy(dst[y*o.Width:(y+1)*o.Width], out.Pix[y*out.Stride:])
		}
		return nil
	}
	rgba := image.NewNRGBA(rect)
	draw.BiLinear.Scale(rgba, rect, img, img.Bounds(), draw.Src, nil)
	for y := 0; y < o.Height; y++ {
		for x := 0; x < o.Width; x++ {
			c := rgba.NRGBAAt(x, y)
			i := (y*o.Width + x) * 3
			dst[i], dst[i+1], dst[i+2] = c.R, c.G, c.B
		}
	}
	return nil
}

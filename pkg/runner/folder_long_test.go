package runner

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"context"

	"github.com/lathe-ml/lathe/datasets"
)

// TestFashionMNISTFolderTrainsAsTheDataset (LATHE_LONG=1, under a
// minute): 10,000 Fashion-MNIST images written as PNGs (the first 8,000
// training and 2,000 test images, under train/ and test/) train with a
// recipe to the test accuracy the same recipe reaches on dataset
// fashion-mnist limited to those examples (train_size, test_size), within
// 0.3 pp (the same, as the folder lists the examples in the IDX files'
// order), for 2 seeds; loading the folder again reads the cache, and both
// load times are reported.
func TestFashionMNISTFolderTrainsAsTheDataset(t *testing.T) {
	if os.Getenv("LATHE_LONG") == "" {
		t.Skip("LATHE_LONG is not set: writes 10,000 PNGs and trains twice")
	}
	train, test, err := datasets.Load("fashion-mnist", datasets.Options{TrainSize: 8000, TestSize: 2000})
	if err != nil {
		t.Skipf("Fashion-MNIST: %v", err)
	}
	// Class folders named to sort in the dataset's class order, files by
	// index: the folder lists the examples as the IDX files do.
	dir := t.TempDir()
	for name, set := range map[string]*datasets.Set{"train": train, "test": test} {
		if err := datasets.WriteFolder(filepath.Join(dir, name), set); err != nil {
			t.Fatal(err)
		}
	}
	stages := "model: {arch: mlp, hidden: [256]}\nstages:\n  - train: {epochs: 4, optimizer: {name: adam, learning_rate: 0.002}}\n  - evaluate: {split: test}\n"
	folder := "name: folder\nbackend: go\ndata: {dataset: imagefolder, dir: " + dir + ", size: [28, 28], channels: 1, batch_size: 64, validation: 1000}\n" + stages
	builtin := "name: builtin\nbackend: go\ndata: {dataset: fashion-mnist, train_size: 8000, test_size: 2000, batch_size: 64, validation: 1000}\n" + stages
	// The same examples in the same order with the same labels: the runs
	// are the same, seed by seed.
	acc := map[string]float64{}
	const seeds = 2
	for seed := 1; seed <= seeds; seed++ {
		for name, src := range map[string]string{"folder": folder, "builtin": builtin} {
			res, err := Run(context.Background(), mustParse(t, fmt.Sprintf("seed: %d\n%s", seed, src)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			acc[name] = res.Final["test_accuracy"]
		}
		t.Logf("seed %d: test accuracy %.4f on the image folder, %.4f on fashion-mnist", seed, acc["folder"], acc["builtin"])
		if d := math.Abs(acc["folder"] - acc["builtin"]); d > 0.003 {
			t.Errorf("seed %d: the folder's test accuracy %.4f is %.2f pp from the dataset's %.4f", seed, acc["folder"], 100*d, acc["builtin"])
		}
	}
	rec := mustParse(t, "seed: 1\n"+folder)
	os.Remove(filepath.Join(dir, datasets.CacheName(28, 28, 1)))
	start := time.Now()
	if _, _, _, note, err := LoadData(rec.Data, rec.Seed); err != nil || strings.Contains(note, "from the cache") {
		t.Fatalf("first load: %v (%s)", err, note)
	}
	decoded := time.Since(start)
	start = time.Now()
	_, _, _, note, err := LoadData(rec.Data, rec.Seed)
	if err != nil || !strings.Contains(note, "from the cache") {
		t.Fatalf("second load: %v (%s)", err, note)
	}
	t.Logf("loading 10,000 PNGs: %v decoding, %v from the cache", decoded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

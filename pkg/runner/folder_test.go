package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/internal/imagetest"
	"github.com/lathe-ml/lathe/pkg/recipe"
)

// TestImageFolderTrains: a recipe on an image folder trains and tests like
// one on a built-in set — classes from the folder names, the test split a
// fifth of each class — and a second load reads the decoded cache.
func TestImageFolderTrains(t *testing.T) {
	dir := t.TempDir()
	imagetest.Bars(t, dir, 60, 5)
	src := `name: folder
seed: 2
backend: go
data: {dataset: imagefolder, dir: ` + dir + `, size: [8, 8], channels: 1, batch_size: 16, validation: 10}
model: {arch: mlp, hidden: [32]}
stages:
  - train: {epochs: 8, optimizer: {name: adam, learning_rate: 0.01}}
  - evaluate: {split: test}
`
	res, err := Run(context.Background(), mustParse(t, src), Options{Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	if acc := res.Final["test_accuracy"]; acc < 0.9 {
		t.Errorf("test accuracy %.3f on bars", acc)
	}
	rec := mustParse(t, src)
	train, _, test, note, err := LoadData(rec.Data, rec.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 96 || test.Len() != 24 || strings.Join(train.ClassNames, ",") != "horizontal,vertical" {
		t.Errorf("%d train, %d test, classes %v", train.Len(), test.Len(), train.ClassNames)
	}
	for _, want := range []string{"horizontal 48/12", "vertical 48/12", "from the cache"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
}

// TestImageFolderRecipeErrors: an image folder recipe missing what it
// needs, or folder keys on another dataset, fail when the recipe is read,
// at the key.
func TestImageFolderRecipeErrors(t *testing.T) {
	for _, c := range []struct{ data, model, want string }{
		{`{dataset: imagefolder, size: [8, 8]}`, `{arch: mlp}`, "needs dir"},
		{`{dataset: imagefolder, dir: x}`, `{arch: mlp}`, "needs size"},
		{`{dataset: imagefolder, dir: x, size: [8]}`, `{arch: mlp}`, "want [height, width]"},
		{`{dataset: imagefolder, dir: x, size: [8, 8], channels: 2}`, `{arch: mlp}`, "1 (gray) or 3 (RGB)"},
		{`{dataset: mnist, size: [8, 8]}`, `{arch: mlp}`, "applies to dataset imagefolder only"},
		{`{dataset: imagefolder, dir: x, size: [4, 4]}`, `{arch: lenet5}`, "data.size and data.channels"},
	} {
		src := "name: e\ndata: " + c.data + "\nmodel: " + c.model + "\nstages:\n  - train: {steps: 1}\n"
		_, err := recipe.Parse("e.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "e.yaml:") {
			t.Errorf("%s / %s: %v, want %q", c.data, c.model, err, c.want)
		}
	}
}

// TestImageFolderBadImagesRecordNothing: an image that does not decode, or
// an empty class folder, is a one-line error naming it, found before the
// run is recorded: the store holds no run.
func TestImageFolderBadImagesRecordNothing(t *testing.T) {
	dir := t.TempDir()
	imagetest.Bars(t, dir, 10, 5)
	bad := filepath.Join(dir, "vertical", "broken.jpg")
	if err := os.WriteFile(bad, []byte("\xff\xd8\xff not a JPEG"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.MkdirAll(filepath.Join(empty, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(empty, "b"), 0o755)
	for _, c := range []struct{ dir, want string }{{dir, bad}, {empty, filepath.Join(empty, "a")}} {
		src := "name: bad\nbackend: go\ndata: {dataset: imagefolder, dir: " + c.dir + ", size: [8, 8], channels: 1, batch_size: 4, validation: 2}\n" +
			"model: {arch: mlp}\nstages:\n  - train: {steps: 1}\n"
		store := openStore(t)
		_, err := Run(context.Background(), mustParse(t, src), Options{Store: store})
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want one line naming %s", c.dir, err, c.want)
		}
		if list, _ := store.List(); len(list) != 0 {
			t.Errorf("%s: the store holds %d runs, want none", c.dir, len(list))
		}
	}
}

// TestImageFolderValSubfolder: a folder with train/, val/ and test/
// validates on val/'s images, as they are (data.validation holds out
// nothing then), and records each class's counts in all three.
func TestImageFolderValSubfolder(t *testing.T) {
	dir := t.TempDir()
	imagetest.Bars(t, filepath.Join(dir, "train"), 20, 1)
	imagetest.Bars(t, filepath.Join(dir, "val"), 3, 2)
	imagetest.Bars(t, filepath.Join(dir, "test"), 5, 3)
	src := `name: folder
backend: go
data: {dataset: imagefolder, dir: ` + dir + `, size: [8, 8], channels: 1, batch_size: 8, validation: 10}
model: {arch: mlp, hidden: [8]}
stages:
  - train: {steps: 5}
  - evaluate: {split: validation}
`
	res, err := Run(context.Background(), mustParse(t, src), Options{Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]int{"horizontal": {20, 3, 5}, "vertical": {20, 3, 5}}
	if len(res.Classes) != 2 {
		t.Fatalf("classes %+v", res.Classes)
	}
	for _, c := range res.Classes {
		if got := [3]int{c.Train, c.Validation, c.Test}; got != want[c.Name] {
			t.Errorf("class %s: train/validation/test %v, want %v", c.Name, got, want[c.Name])
		}
	}
	_, val, _, note, err := LoadData(mustParse(t, src).Data, 1)
	if err != nil || val == nil || val.Len() != 6 || !strings.Contains(note, "validation is the folder's val/") {
		t.Errorf("LoadData: %v, validation %v, note %q", err, val, note)
	}
}

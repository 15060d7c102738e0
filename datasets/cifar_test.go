package datasets

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadCIFAR10Batch(t *testing.T) {
	labels := []uint8{3, 0, 9}
	images, gotLabels, err := ReadCIFAR10Batch(bytes.NewReader(cifarBatch(labels...)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gotLabels, labels) {
		t.Errorf("labels = %v, want %v", gotLabels, labels)
	}
	if len(images) != len(labels)*cifarImageBytes {
		t.Fatalf("%d image bytes, want %d", len(images), len(labels)*cifarImageBytes)
	}
	// HWC: pixel (y, x) of image i starts at i*3072 + (y*32+x)*3.
	for i, label := range labels {
		pixel := func(y, x int) []uint8 {
			start := i*cifarImageBytes + (y*32+x)*3
			return images[start : start+3]
		}
		if got, want := pixel(1, 2), []uint8{10 + label, 20, 30}; !slices.Equal(got, want) {
			t.Errorf("image %d: marker pixel (1,2) = %v, want %v", i, got, want)
		}
		if got, want := pixel(31, 31), []uint8{63, 64 + 63, 128 + 63}; !slices.Equal(got, want) {
			t.Errorf("image %d: pixel (31,31) = %v, want %v", i, got, want)
		}
	}
}

func TestReadCIFAR10BatchErrors(t *testing.T) {
	valid := cifarBatch(1, 2)
	for _, test := range []struct {
		name     string
		data     []byte
		maxBytes int64
		wantErr  string
	}{
		{"empty", nil, 0, "empty file"},
		{"label only", valid[:1], 0, "truncated: record 0 has 1 of 3073 bytes"},
		{"truncated second record", valid[:len(valid)-100], 0, "truncated: record 1 has 2973 of 3073 bytes"},
		{"label out of range", cifarBatch(1, 10), 0, "record 1: label 10 out of range [0,10)"},
		{"over the limit", valid, cifarRecordBytes, "more than 1 records"},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, _, err := ReadCIFAR10Batch(bytes.NewReader(test.data), test.maxBytes)
			checkError(t, err, test.wantErr)
		})
	}
}

// writeCIFAR10Dir writes a tiny CIFAR-10 binary directory: two records per
// training batch (labels batch-1 and batch+4) and three test records.
func writeCIFAR10Dir(t *testing.T, withMeta bool) string {
	t.Helper()
	dir := t.TempDir()
	for batch := 1; batch <= 5; batch++ {
		writeFile(t, dir, cifar10Files[batch-1], cifarBatch(uint8(batch-1), uint8(batch+4)))
	}
	writeFile(t, dir, "test_batch.bin", cifarBatch(7, 8, 9))
	if withMeta {
		writeFile(t, dir, cifar10MetaFile, []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n"))
	}
	return dir
}

func TestLoadCIFAR10(t *testing.T) {
	dir := writeCIFAR10Dir(t, true)
	train, test, err := Load("cifar10", Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 10 || test.Len() != 3 {
		t.Errorf("sizes %d/%d, want 10/3", train.Len(), test.Len())
	}
	if !slices.Equal(train.ExampleShape, []int{32, 32, 3}) || train.NumClasses != 10 {
		t.Errorf("ExampleShape %v, NumClasses %d", train.ExampleShape, train.NumClasses)
	}
	if want := []int32{0, 5, 1, 6, 2, 7, 3, 8, 4, 9}; !slices.Equal(train.Labels, want) {
		t.Errorf("train labels %v, want %v (batches in order)", train.Labels, want)
	}
	if want := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}; !slices.Equal(test.ClassNames, want) {
		t.Errorf("class names %v, want %v from %s", test.ClassNames, want, cifar10MetaFile)
	}
	// Marker pixel (1,2) of test example 2 (label 9) is (19, 20, 30)/255.
	const tolerance = 1e-6
	example := test.Example(2)
	for channel, want := range []float32{19.0 / 255, 20.0 / 255, 30.0 / 255} {
		if got := example[(1*32+2)*3+channel]; got < want-tolerance || got > want+tolerance {
			t.Errorf("test example 2, pixel (1,2) channel %d = %g, want %g ± %g", channel, got, want, tolerance)
		}
	}

	t.Run("env var and default class names", func(t *testing.T) {
		t.Setenv(EnvCIFAR10Dir, writeCIFAR10Dir(t, false))
		_, test, err := Load("cifar10", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(test.ClassNames, cifar10ClassNames) {
			t.Errorf("class names %v, want the defaults", test.ClassNames)
		}
	})
}

func TestLoadCIFAR10Errors(t *testing.T) {
	t.Run("no directory", func(t *testing.T) {
		t.Setenv(EnvCIFAR10Dir, "")
		_, _, err := Load("cifar10", Options{})
		checkError(t, err, EnvCIFAR10Dir)
		checkError(t, err, "data_batch_1.bin")
	})
	t.Run("missing batch", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "data_batch_1.bin", cifarBatch(1))
		_, _, err := Load("cifar10", Options{Dir: dir})
		checkError(t, err, "data_batch_2.bin is missing in "+dir)
	})
	t.Run("truncated test batch", func(t *testing.T) {
		dir := writeCIFAR10Dir(t, false)
		path := writeFile(t, dir, "test_batch.bin", cifarBatch(1, 2)[:5000])
		_, _, err := Load("cifar10", Options{Dir: dir})
		checkError(t, err, path+": cifar10: truncated: record 1 has 1927 of 3073 bytes")
	})
	t.Run("bad class names", func(t *testing.T) {
		dir := writeCIFAR10Dir(t, false)
		path := writeFile(t, dir, cifar10MetaFile, []byte("cat\ndog\n"))
		_, _, err := Load("cifar10", Options{Dir: dir})
		checkError(t, err, path+": 2 class names, want 10")
	})
	t.Run("gzipped batch", func(t *testing.T) {
		dir := writeCIFAR10Dir(t, false)
		writeFile(t, dir, "test_batch.bin", gzipped(t, cifarBatch(4)))
		_, test, err := Load("cifar10", Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(test.Labels, []int32{4}) {
			t.Errorf("labels %v, want [4]", test.Labels)
		}
	})
	t.Run("path in message", func(t *testing.T) {
		dir := writeCIFAR10Dir(t, false)
		writeFile(t, dir, "data_batch_3.bin", cifarBatch(200))
		_, _, err := Load("cifar10", Options{Dir: dir})
		checkError(t, err, filepath.Join(dir, "data_batch_3.bin"))
		checkError(t, err, "label 200 out of range")
	})
}

// FuzzReadCIFAR10Batch feeds arbitrary bytes to ReadCIFAR10Batch with the
// stream's length as the limit: no panic, and accepted input is consistent.
func FuzzReadCIFAR10Batch(f *testing.F) {
	valid := cifarBatch(0, 9)
	for _, cut := range []int{0, 1, 2, 3072, 3073, 3074, 6145} {
		f.Add(valid[:cut])
	}
	f.Add(valid)
	f.Add(cifarBatch(10))
	f.Add(append(slices.Clone(valid), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		images, labels, err := ReadCIFAR10Batch(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if len(labels) == 0 || len(data) != len(labels)*cifarRecordBytes || len(images) != len(labels)*cifarImageBytes {
			t.Fatalf("%d labels and %d image bytes from %d bytes", len(labels), len(images), len(data))
		}
		for _, label := range labels {
			if label >= cifarNumClasses {
				t.Fatalf("accepted label %d", label)
			}
		}
	})
}

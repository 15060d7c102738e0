package datasets

import (
	"bytes"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestReadIDXRoundTrip(t *testing.T) {
	for _, test := range []struct {
		name             string
		n, rows, cols    int
		labels           []uint8
		gzip             bool
		wantImagesLength int
	}{
		{name: "plain 1x1x1", n: 1, rows: 1, cols: 1, labels: []uint8{3}},
		{name: "plain 3x4x5", n: 3, rows: 4, cols: 5, labels: []uint8{0, 9, 255}},
		{name: "gzip 3x4x5", n: 3, rows: 4, cols: 5, labels: []uint8{1, 2, 3}, gzip: true},
		{name: "gzip 100x28x28", n: 100, rows: 28, cols: 28, labels: make([]uint8, 100), gzip: true},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			imagesData, labelsData := idxImagesFile(test.n, test.rows, test.cols), idxLabelsFile(test.labels...)
			wantPixels := imagesData[idxImagesHeaderSize:]
			if test.gzip {
				imagesData, labelsData = gzipped(t, imagesData), gzipped(t, labelsData)
			}
			// No ".gz" in the names: gzip is recognised by its magic bytes.
			imagesPath := writeFile(t, dir, "images", imagesData)
			labelsPath := writeFile(t, dir, "labels", labelsData)

			reader, limit, err := OpenMaybeGzip(imagesPath)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			pixels, n, rows, cols, err := ReadIDXImages(reader, limit)
			if err != nil {
				t.Fatalf("ReadIDXImages: %v", err)
			}
			if n != test.n || rows != test.rows || cols != test.cols {
				t.Errorf("got %d images of %dx%d, want %d of %dx%d", n, rows, cols, test.n, test.rows, test.cols)
			}
			if !bytes.Equal(pixels, wantPixels) {
				t.Errorf("pixels differ from those written")
			}

			reader, limit, err = OpenMaybeGzip(labelsPath)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			labels, err := ReadIDXLabels(reader, limit)
			if err != nil {
				t.Fatalf("ReadIDXLabels: %v", err)
			}
			if !slices.Equal(labels, test.labels) {
				t.Errorf("labels = %v, want %v", labels, test.labels)
			}
		})
	}
}

func TestReadIDXImagesErrors(t *testing.T) {
	valid := idxImagesFile(2, 3, 4) // 16-byte header + 24 pixels
	withByte := func(data []byte, index int, value byte) []byte {
		data = slices.Clone(data)
		data[index] = value
		return data
	}
	for _, test := range []struct {
		name     string
		data     []byte
		maxBytes int64
		wantErr  string
	}{
		{"empty", nil, 0, "truncated header: expected 16 bytes, got 0"},
		{"truncated header", valid[:10], 0, "truncated header: expected 16 bytes, got 10"},
		{"truncated body", valid[:len(valid)-5], 0, "truncated: expected 24 bytes, got 19"},
		{"header only", valid[:16], 0, "truncated: expected 24 bytes, got 0"},
		{"labels magic", idxLabelsFile(1, 2, 3, 4, 5, 6, 7, 8), 0, "wrong magic number 0x00000801, want 0x00000803"},
		{"garbage magic", withByte(valid, 2, 0x0d), 0, "wrong magic number"},
		{"zero images", idxHeader(idxImagesMagic, 0, 28, 28), 0, "empty set"},
		{"zero rows", idxHeader(idxImagesMagic, 5, 0, 28), 0, "empty set"},
		{"too wide", idxHeader(idxImagesMagic, 1, 28, 5000), 0, "larger than the 4096x4096"},
		{"huge count, tiny file", idxHeader(idxImagesMagic, 0xffffffff, 4096, 4096), 16, "more than the file can hold"},
		{"count beyond limit", valid, int64(len(valid) - 1), "more than the file can hold"},
		{"trailing data", append(slices.Clone(valid), 0), 0, "unexpected data after the declared end"},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, _, _, _, err := ReadIDXImages(bytes.NewReader(test.data), test.maxBytes)
			checkError(t, err, test.wantErr)
		})
	}
}

func TestReadIDXLabelsErrors(t *testing.T) {
	valid := idxLabelsFile(1, 2, 3, 4, 5)
	for _, test := range []struct {
		name     string
		data     []byte
		maxBytes int64
		wantErr  string
	}{
		{"empty", nil, 0, "truncated header: expected 8 bytes, got 0"},
		{"truncated header", valid[:7], 0, "truncated header: expected 8 bytes, got 7"},
		{"truncated body", valid[:10], 0, "truncated: expected 5 bytes, got 2"},
		{"images magic", idxImagesFile(1, 2, 2), 0, "wrong magic number 0x00000803, want 0x00000801"},
		{"zero labels", idxHeader(idxLabelsMagic, 0), 0, "declares 0 labels"},
		{"huge count, tiny file", idxHeader(idxLabelsMagic, 0xffffffff), 8, "more than the file can hold"},
		{"trailing data", append(slices.Clone(valid), 9), 0, "unexpected data after the declared end"},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, err := ReadIDXLabels(bytes.NewReader(test.data), test.maxBytes)
			checkError(t, err, test.wantErr)
		})
	}
}

// TestReadIDXCorruptGzip checks that damage inside a gzip stream surfaces as
// an error: a flipped byte fails the checksum (or the inflater), which only
// happens because the readers read to the end of the stream.
func TestReadIDXCorruptGzip(t *testing.T) {
	compressed := gzipped(t, idxImagesFile(50, 28, 28))
	for _, test := range []struct {
		name string
		data []byte
	}{
		{"truncated", compressed[:len(compressed)/2]},
		{"no trailer", compressed[:len(compressed)-8]},
		{"flipped byte", func() []byte {
			data := slices.Clone(compressed)
			data[len(data)/2] ^= 0x55
			return data
		}()},
		{"flipped checksum", func() []byte {
			data := slices.Clone(compressed)
			data[len(data)-6] ^= 0x55
			return data
		}()},
	} {
		t.Run(test.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "images.gz", test.data)
			reader, limit, err := OpenMaybeGzip(path)
			if err != nil {
				return // a broken gzip header is reported at open: also fine
			}
			defer reader.Close()
			if _, _, _, _, err := ReadIDXImages(reader, limit); err == nil {
				t.Fatal("ReadIDXImages accepted a corrupt gzip stream")
			} else if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

// TestReadIDXImagesAllocation checks that a header declaring far more pixels
// than the stream holds costs memory in proportion to the stream, both when
// the limit catches it (nothing allocated) and when a loose limit lets it
// through to the read (which must fail after allocating about one chunk,
// not the 47 MB declared).
func TestReadIDXImagesAllocation(t *testing.T) {
	header := idxHeader(idxImagesMagic, 60000, 28, 28)
	stream := append(header, make([]byte, 100)...)
	for _, test := range []struct {
		name           string
		maxBytes       int64
		wantErr        string
		maxAllocations uint64 // bytes; tolerance for the runtime's own allocations included
	}{
		{"limit is the stream size", int64(len(stream)), "more than the file can hold", 64 << 10},
		{"loose limit", 1 << 30, "truncated: expected 47040000 bytes, got 100", 3 * readChunk},
	} {
		t.Run(test.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, _, _, err := ReadIDXImages(bytes.NewReader(stream), test.maxBytes)
			runtime.ReadMemStats(&after)
			checkError(t, err, test.wantErr)
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > test.maxAllocations {
				t.Errorf("allocated %d bytes, want at most %d", allocated, test.maxAllocations)
			}
		})
	}
}

func TestOpenMaybeGzip(t *testing.T) {
	dir := t.TempDir()
	content := idxLabelsFile(1, 2, 3)
	compressed := gzipped(t, content)
	for _, test := range []struct {
		name      string
		fileName  string
		data      []byte
		wantLimit int64
	}{
		{"plain named .gz", "labels.gz", content, int64(len(content))},
		{"gzip without .gz", "labels", compressed, int64(len(compressed)) * maxDeflateRatio},
		{"one byte", "tiny", []byte{0x1f}, 1},
	} {
		t.Run(test.name, func(t *testing.T) {
			path := writeFile(t, dir, test.fileName, test.data)
			reader, limit, err := OpenMaybeGzip(path)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			got, err := io.ReadAll(reader)
			if err != nil {
				t.Fatal(err)
			}
			if test.name != "one byte" && !bytes.Equal(got, content) {
				t.Errorf("read %v, want %v", got, content)
			}
			if limit != test.wantLimit {
				t.Errorf("limit = %d, want %d", limit, test.wantLimit)
			}
			if err := reader.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}

	t.Run("errors name the path", func(t *testing.T) {
		for _, path := range []string{dir + "/missing", dir, writeFile(t, dir, "bad.gz", []byte{0x1f, 0x8b, 0})} {
			if _, _, err := OpenMaybeGzip(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("OpenMaybeGzip(%q) error = %v, want one naming the path", path, err)
			}
		}
	})
}

// checkError fails unless err is a one-line error containing want.
func checkError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("error %q, want one containing %q", err, want)
	case strings.Contains(err.Error(), "\n"):
		t.Errorf("error spans several lines: %q", err)
	}
}

// FuzzReadIDXImages feeds arbitrary bytes to ReadIDXImages with the stream's
// own length as the limit, as OpenMaybeGzip gives for a plain file: it must
// never panic, and whatever it accepts must be consistent.
func FuzzReadIDXImages(f *testing.F) {
	for _, seed := range fuzzSeeds(idxImagesFile(2, 3, 4), idxImagesFile(1, 28, 28)) {
		f.Add(seed)
	}
	f.Add(idxHeader(idxImagesMagic, 0xffffffff, 4096, 4096))
	f.Add(idxHeader(idxImagesMagic, 1, 4097, 1))
	f.Add(idxLabelsFile(1, 2, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		pixels, n, rows, cols, err := ReadIDXImages(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if pixels != nil {
				t.Errorf("pixels returned with error %v", err)
			}
			return
		}
		if n <= 0 || rows <= 0 || cols <= 0 || rows > maxIDXSide || cols > maxIDXSide {
			t.Fatalf("accepted %d images of %dx%d", n, rows, cols)
		}
		if len(pixels) != n*rows*cols || len(data) != idxImagesHeaderSize+len(pixels) {
			t.Fatalf("%d pixels for %d images of %dx%d from %d bytes", len(pixels), n, rows, cols, len(data))
		}
	})
}

// FuzzReadIDXLabels is FuzzReadIDXImages for label files.
func FuzzReadIDXLabels(f *testing.F) {
	for _, seed := range fuzzSeeds(idxLabelsFile(1, 2, 3, 4, 5), idxLabelsFile(7)) {
		f.Add(seed)
	}
	f.Add(idxHeader(idxLabelsMagic, 0xffffffff))
	f.Add(idxImagesFile(1, 2, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, err := ReadIDXLabels(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if len(labels) == 0 || len(data) != idxLabelsHeaderSize+len(labels) {
			t.Fatalf("%d labels from %d bytes", len(labels), len(data))
		}
	})
}

// fuzzSeeds returns each valid file, its truncations at a few telling places
// (inside the header, at its end, inside the body) and the file with one
// extra byte.
func fuzzSeeds(valid ...[]byte) [][]byte {
	var seeds [][]byte
	for _, file := range valid {
		seeds = append(seeds, file, append(slices.Clone(file), 0))
		for _, cut := range []int{0, 1, 4, 7, 8, 15, 16, 17, len(file) / 2, len(file) - 1} {
			if cut < len(file) {
				seeds = append(seeds, file[:cut])
			}
		}
	}
	return seeds
}

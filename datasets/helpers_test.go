package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// idxImagesFile builds an IDX image file of n images of rows x cols whose
// pixel k (counting over the whole file) is byte(k*7+1).
func idxImagesFile(n, rows, cols int) []byte {
	data := idxHeader(idxImagesMagic, uint32(n), uint32(rows), uint32(cols))
	for k := range n * rows * cols {
		data = append(data, byte(k*7+1))
	}
	return data
}

// idxLabelsFile builds an IDX label file holding labels.
func idxLabelsFile(labels ...uint8) []byte {
	return append(idxHeader(idxLabelsMagic, uint32(len(labels))), labels...)
}

func idxHeader(magic uint32, dims ...uint32) []byte {
	header := binary.BigEndian.AppendUint32(nil, magic)
	for _, dim := range dims {
		header = binary.BigEndian.AppendUint32(header, dim)
	}
	return header
}

// cifarRecord is one CIFAR-10 record: the label, then the red, green and blue
// planes, where plane c holds byte(c*64 + (y*32+x)%64) at pixel (y, x),
// except that pixel (1, 2) is (10+label, 20, 30), a marker that survives the
// conversion to HWC only if channels and positions are mapped right.
func cifarRecord(label uint8) []byte {
	record := make([]byte, cifarRecordBytes)
	record[0] = label
	planes := record[1:]
	for channel := range 3 {
		for pixel := range 1024 {
			planes[channel*1024+pixel] = byte(channel*64 + pixel%64)
		}
	}
	const markerPixel = 1*32 + 2
	planes[0*1024+markerPixel] = 10 + label
	planes[1*1024+markerPixel] = 20
	planes[2*1024+markerPixel] = 30
	return record
}

func cifarBatch(labels ...uint8) []byte {
	var batch []byte
	for _, label := range labels {
		batch = append(batch, cifarRecord(label)...)
	}
	return batch
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var compressed bytes.Buffer
	writer := gzip.NewWriter(&compressed)
	if _, err := writer.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	return compressed.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeIDXDataset writes the four (gzipped) files of a tiny MNIST-like set:
// 3 training and 2 test images of 4x5 pixels.
func writeIDXDataset(t testing.TB, dir string) {
	t.Helper()
	writeFile(t, dir, "train-images-idx3-ubyte.gz", gzipped(t, idxImagesFile(3, 4, 5)))
	writeFile(t, dir, "train-labels-idx1-ubyte.gz", gzipped(t, idxLabelsFile(0, 9, 4)))
	writeFile(t, dir, "t10k-images-idx3-ubyte.gz", gzipped(t, idxImagesFile(2, 4, 5)))
	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", gzipped(t, idxLabelsFile(7, 1)))
}

// numberedSet returns a Set of n examples of shape [2,3] whose features all
// equal the example's index, with labels index % 3, so that tests can tell
// which example ended up where.
func numberedSet(n int) *Set {
	set := &Set{Name: "numbered", ExampleShape: []int{2, 3}, NumClasses: 3}
	for i := range n {
		for range 6 {
			set.Features = append(set.Features, float32(i))
		}
		set.Labels = append(set.Labels, int32(i%3))
	}
	return set
}

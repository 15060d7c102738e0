package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html)
// is a sequence of fixed-size records: one label byte, then a 32x32 image as
// three planes (all red values, then green, then blue), each row-major.
const (
	cifarSide        = 32
	cifarChannels    = 3
	cifarImageBytes  = cifarSide * cifarSide * cifarChannels // 3072
	cifarRecordBytes = 1 + cifarImageBytes                   // 3073
	cifarNumClasses  = 10
)

// cifar10ClassNames is the content of batches.meta.txt, used when that file
// is absent.
var cifar10ClassNames = []string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

// ReadCIFAR10Batch reads CIFAR-10 binary records from r until EOF and returns
// the images converted to HWC order (32x32x3, so pixel (y, x) channel c is at
// (y*32+x)*3+c) and their labels.
//
// maxBytes bounds the stream (<= 0 means [DefaultMaxBytes]). An empty stream,
// a partial last record or a label outside [0,10) is an error.
func ReadCIFAR10Batch(r io.Reader, maxBytes int64) (images []uint8, labels []uint8, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxRecords := maxBytes / cifarRecordBytes
	// Reserve room for the records a plain file of this size holds, but not
	// more than a real batch (10000 records): for a gzip stream maxBytes is
	// only a loose bound, and growing by append costs little.
	reserve := min(maxRecords, 10000)
	images = make([]uint8, 0, reserve*cifarImageBytes)
	labels = make([]uint8, 0, reserve)

	var record [cifarRecordBytes]byte
	for index := int64(0); ; index++ {
		got, err := io.ReadFull(r, record[:])
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("cifar10: truncated: record %d has %d of %d bytes", index, got, cifarRecordBytes)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("cifar10: record %d: %w", index, err)
		}
		if index >= maxRecords {
			return nil, nil, fmt.Errorf("cifar10: more than %d records, over the %d-byte limit", maxRecords, maxBytes)
		}
		label := record[0]
		if label >= cifarNumClasses {
			return nil, nil, fmt.Errorf("cifar10: record %d: label %d out of range [0,%d) (is this a CIFAR-10 binary batch?)",
				index, label, cifarNumClasses)
		}
		labels = append(labels, label)
		images = appendCHWAsHWC(images, record[1:])
	}
	if len(labels) == 0 {
		return nil, nil, errors.New("cifar10: empty file, want records of 3073 bytes")
	}
	return images, labels, nil
}

// appendCHWAsHWC appends one CIFAR image, given as channel planes, in
// interleaved (HWC) order, the layout GoMLX's convolutions expect by default.
func appendCHWAsHWC(dst, planes []uint8) []uint8 {
	const planeSize = cifarSide * cifarSide
	start := len(dst)
	dst = append(dst, make([]uint8, cifarImageBytes)...)
	hwc := dst[start:]
	for pixel := range planeSize {
		for channel := range cifarChannels {
			hwc[pixel*cifarChannels+channel] = planes[channel*planeSize+pixel]
		}
	}
	return dst
}

// readClassNames reads a batches.meta.txt: one class name per line, blank
// lines ignored.
func readClassNames(path string, want int) ([]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var names []string
	scanner := bufio.NewScanner(io.LimitReader(file, 1<<16))
	for scanner.Scan() {
		if name := strings.TrimSpace(scanner.Text()); name != "" {
			names = append(names, name)
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(names) != want {
		return nil, fmt.Errorf("%s: %d class names, want %d", path, len(names), want)
	}
	return names, nil
}

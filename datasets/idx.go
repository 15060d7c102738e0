package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// IDX is the format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/): a big-endian header — a magic number
// whose last byte is the number of dimensions, then one uint32 per dimension —
// followed by the values as unsigned bytes.
const (
	idxLabelsMagic = 0x00000801 // ubyte, 1 dimension: [n]
	idxImagesMagic = 0x00000803 // ubyte, 3 dimensions: [n, rows, cols]

	idxLabelsHeaderSize = 8
	idxImagesHeaderSize = 16

	// maxIDXSide bounds rows and cols: far above any image dataset Lathe
	// reads, low enough that a corrupt header is caught before arithmetic on
	// it can mislead.
	maxIDXSide = 4096
)

// DefaultMaxBytes bounds how many bytes a reader accepts when the caller
// passes maxBytes <= 0, and bounds the decompressed size of a gzip file in
// [OpenMaybeGzip]. It is well above the largest file Lathe reads (MNIST's
// training images, 47 MB decompressed).
const DefaultMaxBytes int64 = 256 << 20

// ReadIDXImages reads an IDX image file (magic 0x00000803) from r and returns
// its pixels as one flat slice of n*rows*cols bytes, image after image, row
// after row.
//
// maxBytes bounds the whole stream, header included (<= 0 means
// [DefaultMaxBytes]); a header that declares more than that is rejected before
// anything is allocated. The stream must end right after the last image, so
// a corrupted count is noticed, and so that a gzip stream is read to its end
// and its checksum verified.
func ReadIDXImages(r io.Reader, maxBytes int64) (images []uint8, n, rows, cols int, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	var header [idxImagesHeaderSize]byte
	if err := readHeader(r, header[:]); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("idx images: %w", err)
	}
	magic := binary.BigEndian.Uint32(header[0:])
	if magic != idxImagesMagic {
		return nil, 0, 0, 0, fmt.Errorf("idx images: wrong magic number 0x%08x, want 0x%08x (is this an IDX image file?)",
			magic, idxImagesMagic)
	}
	count := int64(binary.BigEndian.Uint32(header[4:]))
	height := int64(binary.BigEndian.Uint32(header[8:]))
	width := int64(binary.BigEndian.Uint32(header[12:]))
	if count == 0 || height == 0 || width == 0 {
		return nil, 0, 0, 0, fmt.Errorf("idx images: header declares an empty set (%d images of %dx%d)", count, height, width)
	}
	if height > maxIDXSide || width > maxIDXSide {
		return nil, 0, 0, 0, fmt.Errorf("idx images: header declares %dx%d images, larger than the %dx%d this reader accepts",
			height, width, maxIDXSide, maxIDXSide)
	}
	// count < 2^32 and height*width <= 2^24, so the product fits in an int64.
	pixelBytes := count * height * width
	if pixelBytes > maxBytes-idxImagesHeaderSize {
		return nil, 0, 0, 0, fmt.Errorf("idx images: header declares %d images of %dx%d (%d bytes), more than the file can hold (limit %d bytes)",
			count, height, width, pixelBytes, maxBytes)
	}
	images, err = readBody(r, pixelBytes)
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("idx images: %d images of %dx%d: %w", count, height, width, err)
	}
	return images, int(count), int(height), int(width), nil
}

// ReadIDXLabels reads an IDX label file (magic 0x00000801) from r and returns
// one byte per example. maxBytes has the meaning it has in [ReadIDXImages],
// and likewise the stream must end after the last label.
func ReadIDXLabels(r io.Reader, maxBytes int64) (labels []uint8, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	var header [idxLabelsHeaderSize]byte
	if err := readHeader(r, header[:]); err != nil {
		return nil, fmt.Errorf("idx labels: %w", err)
	}
	magic := binary.BigEndian.Uint32(header[0:])
	if magic != idxLabelsMagic {
		return nil, fmt.Errorf("idx labels: wrong magic number 0x%08x, want 0x%08x (is this an IDX label file?)",
			magic, idxLabelsMagic)
	}
	count := int64(binary.BigEndian.Uint32(header[4:]))
	if count == 0 {
		return nil, errors.New("idx labels: header declares 0 labels")
	}
	if count > maxBytes-idxLabelsHeaderSize {
		return nil, fmt.Errorf("idx labels: header declares %d labels, more than the file can hold (limit %d bytes)",
			count, maxBytes)
	}
	labels, err = readBody(r, count)
	if err != nil {
		return nil, fmt.Errorf("idx labels: %d labels: %w", count, err)
	}
	return labels, nil
}

// readHeader fills header, telling a short header apart from a read error.
func readHeader(r io.Reader, header []byte) error {
	got, err := io.ReadFull(r, header)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated header: expected %d bytes, got %d", len(header), got)
	default:
		return fmt.Errorf("reading header: %w", err)
	}
}

// readBody reads exactly size bytes and then checks that the stream ends.
func readBody(r io.Reader, size int64) ([]byte, error) {
	body, err := readExactly(r, size)
	if err != nil {
		return nil, err
	}
	if err := expectEOF(r); err != nil {
		return nil, err
	}
	return body, nil
}

// readChunk is how much readExactly allocates before it has seen data.
const readChunk = 1 << 20

// readExactly reads exactly size bytes from r. It grows its buffer as data
// arrives rather than allocating size bytes up front, so a header that lies
// about the length of a short stream costs memory in proportion to the bytes
// actually present, not to the lie.
func readExactly(r io.Reader, size int64) ([]byte, error) {
	buf := make([]byte, 0, min(size, readChunk))
	for int64(len(buf)) < size {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(size, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		got, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+got]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("truncated: expected %d bytes, got %d", size, len(buf))
		}
		if err != nil {
			return nil, fmt.Errorf("after %d of %d bytes: %w", len(buf), size, err)
		}
	}
	return buf, nil
}

// expectEOF checks that r has nothing left. Reading a gzip stream up to its
// end is also what makes compress/gzip verify the checksum and length.
func expectEOF(r io.Reader) error {
	var probe [1]byte
	got, err := io.ReadFull(r, probe[:])
	if got > 0 {
		return errors.New("unexpected data after the declared end (header count too small, or not an IDX file?)")
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("at the end of the data: %w", err)
}

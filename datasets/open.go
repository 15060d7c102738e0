package datasets

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
)

// maxDeflateRatio is the largest expansion DEFLATE can achieve (about 1032:1:
// a 258-byte match coded in a little over 2 bits). It makes compressed size a
// true upper bound on decompressed size, so a tiny corrupt .gz cannot talk a
// reader into a large allocation.
const maxDeflateRatio = 1032

// OpenMaybeGzip opens path for reading, transparently decompressing it when it
// starts with the gzip magic bytes (1f 8b) — the file name is not trusted, so
// "train-images-idx3-ubyte" may be gzipped and "x.gz" may be plain.
//
// The returned limit is an upper bound on how many bytes the reader can yield,
// to pass as maxBytes to the Read* functions: the file size for a plain file,
// and for a gzip file the smaller of maxDeflateRatio times its size and
// [DefaultMaxBytes]. Close closes the file.
func OpenMaybeGzip(path string) (io.ReadCloser, int64, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, 0, err
	}
	if info.IsDir() {
		file.Close()
		return nil, 0, fmt.Errorf("%s: is a directory, want a data file", path)
	}
	limit := DefaultMaxBytes
	if info.Mode().IsRegular() {
		limit = info.Size()
	}

	buffered := bufio.NewReaderSize(file, 1<<16)
	magic, _ := buffered.Peek(2) // a file shorter than 2 bytes is simply not gzip
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return &fileReader{Reader: buffered, file: file}, limit, nil
	}

	decompressed, err := gzip.NewReader(buffered)
	if err != nil {
		file.Close()
		return nil, 0, fmt.Errorf("%s: gzip: %w", path, err)
	}
	if info.Mode().IsRegular() {
		limit = min(DefaultMaxBytes, info.Size()*maxDeflateRatio)
	}
	return &fileReader{Reader: decompressed, file: file, gzip: decompressed}, limit, nil
}

// fileReader reads through buffering or decompression and closes both layers.
type fileReader struct {
	io.Reader
	file *os.File
	gzip *gzip.Reader // nil for a plain file
}

func (f *fileReader) Close() error {
	var gzipErr error
	if f.gzip != nil {
		gzipErr = f.gzip.Close()
	}
	if err := f.file.Close(); err != nil {
		return err
	}
	return gzipErr
}

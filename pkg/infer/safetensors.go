package infer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/lathe-ml/lathe/internal/atomicfile"
)

// The safetensors container (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length N, N bytes of JSON naming every
// tensor's dtype, shape and byte range in the data that follows, and an
// optional "__metadata__" object of string values. Lathe writes and reads
// it itself rather than through a Go library: the one that resolves here
// (nlpodyssey/safetensors, a pseudo-version) trusts the header's offsets
// and sizes, which a reader of untrusted files must not.

// DType is the element type of a stored tensor, as safetensors names it.
type DType string

const (
	F32  DType = "F32"
	BF16 DType = "BF16"
	I8   DType = "I8"
	I32  DType = "I32"
)

// size is the bytes of one element (0 for a dtype Lathe does not read).
func (d DType) size() int {
	switch d {
	case F32, I32:
		return 4
	case BF16:
		return 2
	case I8:
		return 1
	}
	return 0
}

// Tensor is one stored tensor: its dtype, shape and raw little-endian bytes.
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// Size is the number of elements.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32s decodes an F32 or BF16 tensor.
func (t Tensor) Float32s() ([]float32, error) {
	out := make([]float32, t.Size())
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("tensor of dtype %s is not floating point", t.DType)
	}
	return out, nil
}

// F32Tensor stores values as F32.
func F32Tensor(values []float32, shape ...int) Tensor {
	data := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	return Tensor{DType: F32, Shape: shape, Data: data}
}

// BF16Tensor stores values as bfloat16, rounded to nearest even.
func BF16Tensor(values []float32, shape ...int) Tensor {
	data := make([]byte, 2*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(data[2*i:], toBF16(v))
	}
	return Tensor{DType: BF16, Shape: shape, Data: data}
}

func toBF16(v float32) uint16 {
	b := math.Float32bits(v)
	if v != v { // NaN stays a (quiet) NaN
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// MaxHeaderBytes bounds a file's JSON header: Lathe's headers are a few KiB.
const MaxHeaderBytes = 16 << 20

// headerEntry is one tensor's line in the JSON header.
type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// File is a safetensors file's contents: tensors by name and metadata.
type File struct {
	Tensors  map[string]Tensor
	Metadata map[string]string
}

// Encode writes f in the safetensors layout. Tensors are laid out in name
// order, each 8-byte aligned as the format recommends (the header is padded
// with spaces to a multiple of 8).
func (f *File) Encode(w io.Writer) error {
	names := make([]string, 0, len(f.Tensors))
	for name := range f.Tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(f.Metadata) > 0 {
		header["__metadata__"] = f.Metadata
	}
	var offset int64
	for _, name := range names {
		t := f.Tensors[name]
		if want := t.Size() * t.DType.size(); t.DType.size() == 0 || len(t.Data) != want {
			return fmt.Errorf("tensor %s: %d bytes for %s %v", name, len(t.Data), t.DType, t.Shape)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[name] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int64{offset, offset + int64(len(t.Data))}}
		offset += int64(len(t.Data))
	}
	js, err := json.Marshal(header)
	if err != nil {
		return err
	}
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte(" "), pad)...)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(js)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := w.Write(f.Tensors[name].Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes f to path atomically: a temporary file beside it,
// synced, then renamed, so a failed export never leaves half a model.
func (f *File) WriteFile(path string) error {
	return atomicfile.Write(path, f.Encode)
}

// errFormat marks a file that is not a well-formed safetensors file.
var errFormat = errors.New("not a safetensors file")

// headerLength reads the 8-byte header length at the start of a file of
// size bytes and checks it against MaxHeaderBytes and the file before
// anything is allocated from it: a length that names the limit, not the
// file's size, when it is over the limit (a file of random bytes or
// another format reads as a huge length).
func headerLength(prefix []byte, size int64) (int64, error) {
	if size < 8 {
		return 0, fmt.Errorf("%w: %d bytes, shorter than its 8-byte header length", errFormat, size)
	}
	n := binary.LittleEndian.Uint64(prefix)
	if n > MaxHeaderBytes {
		return 0, fmt.Errorf("%w: header of %d bytes, more than the %d MiB a Lathe model file's header may hold", errFormat, n, MaxHeaderBytes>>20)
	}
	if int64(n) > size-8 {
		return 0, fmt.Errorf("%w: header of %d bytes in a file of %d bytes", errFormat, n, size)
	}
	return int64(n), nil
}

// span is one tensor's byte range in the data after the header.
type span struct {
	name       string
	begin, end int64
}

// parseHeader decodes a header whose data section holds body bytes: the
// file's tensors (Data not yet set), metadata, and each tensor's byte
// range. Every size and offset is checked against body, so that a reader
// can then read exactly the ranges, and no more: overlapping or
// out-of-range tensor ranges, a byte count that does not match the shape,
// and unknown dtypes are errors.
func parseHeader(js []byte, body int64) (*File, []span, error) {
	if len(js) == 0 || js[0] != '{' {
		return nil, nil, fmt.Errorf("%w: its header is not a JSON object", errFormat)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", errFormat, err)
	}
	f := &File{Tensors: map[string]Tensor{}, Metadata: map[string]string{}}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, nil, fmt.Errorf("%w: __metadata__ must map names to strings: %v", errFormat, err)
			}
			continue
		}
		var e headerEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %q: %v", errFormat, name, err)
		}
		size := e.DType.size()
		if size == 0 {
			return nil, nil, fmt.Errorf("tensor %q: dtype %q is not one Lathe reads (F32, BF16, I8, I32)", name, e.DType)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 || int64(d) > body || (d > 0 && count > body/int64(d)) {
				return nil, nil, fmt.Errorf("%w: tensor %q: shape %v is larger than the file", errFormat, name, e.Shape)
			}
			count *= int64(d)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > body {
			return nil, nil, fmt.Errorf("%w: tensor %q: bytes [%d, %d) outside the %d bytes of data", errFormat, name, begin, end, body)
		}
		if end-begin != count*int64(size) {
			return nil, nil, fmt.Errorf("%w: tensor %q: %d bytes for %s %v (want %d)", errFormat, name, end-begin, e.DType, e.Shape, count*int64(size))
		}
		f.Tensors[name] = Tensor{DType: e.DType, Shape: e.Shape}
		spans = append(spans, span{name, begin, end})
	}
	sort.Slice(spans, func(i, j int) bool {
		return spans[i].begin < spans[j].begin || spans[i].begin == spans[j].begin && spans[i].end < spans[j].end
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return nil, nil, fmt.Errorf("%w: tensors %q and %q overlap", errFormat, spans[i-1].name, spans[i].name)
		}
	}
	return f, spans, nil
}

// attach sets each tensor's Data to its range of data (the bytes after
// the header, at least up to the last range's end), aliasing it.
func (f *File) attach(spans []span, data []byte) {
	for _, s := range spans {
		t := f.Tensors[s.name]
		t.Data = data[s.begin:s.end:s.end]
		f.Tensors[s.name] = t
	}
}

// DecodeFile parses a safetensors file held in memory. Every size and offset
// is checked against data before anything is allocated from it (see
// parseHeader). The tensors' Data alias data.
func DecodeFile(data []byte) (*File, error) {
	n, err := headerLength(data, int64(len(data)))
	if err != nil {
		return nil, err
	}
	js, body := data[8:8+n], data[8+n:]
	f, spans, err := parseHeader(js, int64(len(body)))
	if err != nil {
		return nil, err
	}
	f.attach(spans, body)
	return f, nil
}

// StatRegular is os.Stat (following symbolic links) for a file a reader
// is about to open — a model file, or an input beside one — refusing
// anything but a regular file by what it is ("x: not a regular file (a
// named pipe)"): opening a named pipe blocks until something writes to
// it, which for a path given by mistake is forever, and a device or a
// directory is no model either.
func StatRegular(path string) (os.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, fileKind(st.Mode()))
	}
	return st, nil
}

// fileKind names what a path that is not a regular file is.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m.IsDir():
		return "a directory"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	}
	return "an irregular file"
}

// ReadFile reads and decodes a safetensors file, refusing one larger than
// maxBytes (≤ 0: 4 GiB) before reading it. It stats the path before
// opening it (see StatRegular), then reads the 8-byte header length,
// the header, and only the tensors' bytes, each checked against the file's
// size first: a file whose first bytes claim a huge header, or whose
// tensors lie beyond its end, is refused after reading at most the
// header, however large (or sparse) the file is.
func ReadFile(path string, maxBytes int64) (*File, error) {
	if maxBytes <= 0 {
		maxBytes = 4 << 30
	}
	st, err := StatRegular(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a model file may have", path, st.Size(), maxBytes)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	// The path may have been replaced between the stat and the open: read
	// only the file that was checked.
	if again, err := fh.Stat(); err != nil || !os.SameFile(st, again) {
		return nil, fmt.Errorf("%s: replaced while it was being opened", path)
	}
	f, err := readFrom(fh, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// readFrom decodes a safetensors file of size bytes from r, reading the
// header length, the header, then the data up to the last tensor's end.
func readFrom(r io.Reader, size int64) (*File, error) {
	var prefix [8]byte
	if size >= 8 {
		if _, err := io.ReadFull(r, prefix[:]); err != nil {
			return nil, err
		}
	}
	n, err := headerLength(prefix[:], size)
	if err != nil {
		return nil, err
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		return nil, err
	}
	f, spans, err := parseHeader(js, size-8-n)
	if err != nil {
		return nil, err
	}
	var end int64
	for _, s := range spans {
		end = max(end, s.end)
	}
	data := make([]byte, end)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("%w (the file shrank while it was read?)", err)
	}
	f.attach(spans, data)
	return f, nil
}

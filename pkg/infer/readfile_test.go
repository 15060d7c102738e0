package infer

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// sparseFile writes header (an 8-byte length and what follows) at the
// start of a file of size bytes, the rest a hole: gigabytes that cost
// no disk.
func sparseFile(t *testing.T, header []byte, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sparse.safetensors")
	if err := os.WriteFile(path, header, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

// readCost is ReadFile's error, time and bytes allocated.
func readCost(path string) (error, time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := ReadFile(path, 0)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return err, took, after.TotalAlloc - before.TotalAlloc
}

// TestSparseFilesAreNotReadWhole (issue 29): a 3 GiB file of 4 KB on disk
// is refused, or read, from its header and the bytes its tensors name,
// never read whole (it took 3.2 GB and 25 s).
func TestSparseFilesAreNotReadWhole(t *testing.T) {
	const size = 3 << 30
	huge := binary.LittleEndian.AppendUint64(nil, 1<<62)
	js := `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	small := append(binary.LittleEndian.AppendUint64(nil, uint64(len(js))), js...)
	js = `{"a":{"dtype":"F32","shape":[1073741824],"data_offsets":[3221225472,3221225476]}}`
	beyond := append(binary.LittleEndian.AppendUint64(nil, uint64(len(js))), js...)
	for _, c := range []struct {
		name   string
		header []byte
		want   string // "" for a file that loads
	}{
		{"a header length of 2^62", huge, "header of 4611686018427387904 bytes, more than the 16 MiB a Lathe model file's header may hold"},
		{"one tensor at the start", small, ""},
		// 3 GiB less the length's 8 bytes and the header's 81.
		{"a tensor past the end", beyond, "outside the 3221225383 bytes of data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := sparseFile(t, c.header, size)
			err, took, alloc := readCost(path)
			t.Logf("%s: %v in %v, %.1f MB allocated", c.name, err, took, float64(alloc)/1e6)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("error %v, want the file read", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path+": ")):
				t.Errorf("error %v, want %s: …%s", err, path, c.want)
			}
			if took > time.Second || alloc > 100<<20 {
				t.Errorf("took %v and %d bytes of allocation, want under 1 s and 100 MB", took, alloc)
			}
		})
	}
}

// TestHeaderLimitIsNamed: a header over MaxHeaderBytes is reported against
// the limit, not against the file's size, which says nothing of why.
func TestHeaderLimitIsNamed(t *testing.T) {
	header := binary.LittleEndian.AppendUint64(nil, 100_000_000)
	path := sparseFile(t, header, 100_101_808)
	_, err := ReadFile(path, 0)
	want := path + ": not a safetensors file: header of 100000000 bytes, more than the 16 MiB a Lathe model file's header may hold"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	// In memory too, and a length within the limit but past the end
	// still names the file's size.
	data := append(binary.LittleEndian.AppendUint64(nil, 1000), "{}"...)
	if _, err := DecodeFile(data); err == nil || !strings.Contains(err.Error(), "header of 1000 bytes in a file of 10 bytes") {
		t.Errorf("header past the end: error %v", err)
	}
}

// TestReadFileReadsOnlyTheTensors: trailing bytes after the last tensor
// are not read (nor refused), and what is read equals the file decoded in
// memory.
func TestReadFileReadsOnlyTheTensors(t *testing.T) {
	f := mlpFile(t, 4, 8, 3)
	data := encode(t, f)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(path, append(data, make([]byte, 1000)...), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range f.Tensors {
		if string(got.Tensors[name].Data) != string(want.Data) {
			t.Errorf("tensor %s differs after reading", name)
		}
	}
	if got.Metadata[GraphKey] != f.Metadata[GraphKey] {
		t.Errorf("metadata differs after reading")
	}
	if _, err := Load(path); err != nil {
		t.Error(err)
	}
}

// TestNonFiniteByHand: NaN and ±Inf counted per float tensor, nothing
// else — not the largest finite float, not a denormal, not integer
// tensors whose bits would read as NaN.
func TestNonFiniteByHand(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f := &File{Tensors: map[string]Tensor{
		"fc1/weights": F32Tensor([]float32{1, nan, inf, -inf, math.MaxFloat32, math.SmallestNonzeroFloat32}, 2, 3),
		"fc1/biases":  BF16Tensor([]float32{nan, 2, -3}, 3),
		"fc2/scales":  F32Tensor([]float32{0.5, -inf}, 2),
		"fine":        BF16Tensor([]float32{1e38, -1e38}, 2), // bf16 holds 1e38 (max ≈ 3.39e38)
		"ints":        {DType: I32, Shape: []int{1}, Data: binary.LittleEndian.AppendUint32(nil, 0x7fc00000)},
		"bytes":       {DType: I8, Shape: []int{2}, Data: []byte{0x7f, 0xff}},
	}}
	got := f.NonFinite()
	want := map[string]int{"fc1/weights": 3, "fc1/biases": 1, "fc2/scales": 1}
	if len(got) != len(want) {
		t.Errorf("NonFinite = %v, want %v", got, want)
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("NonFinite = %v, want %v", got, want)
		}
	}
	if c := mlpFile(t, 4, 3).NonFinite(); c != nil {
		t.Errorf("a finite file: %v, want nil", c)
	}
	for _, c := range []struct {
		counts map[string]int
		want   string
	}{
		{nil, ""},
		{map[string]int{"fc1/weights": 3}, "tensor fc1/weights holds 3 non-finite values (NaN or ±Inf)"},
		{map[string]int{"b": 1}, "tensor b holds 1 non-finite value (NaN or ±Inf)"},
		{map[string]int{"fc1/weights": 3, "fc1/biases": 1}, "tensors fc1/biases (1) and fc1/weights (3) hold non-finite values (NaN or ±Inf)"},
		{map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7}, "tensors a (1), b (2), c (3), d (4), e (5) and 2 more hold non-finite values (NaN or ±Inf)"},
	} {
		if got := DescribeNonFinite(c.counts); got != c.want {
			t.Errorf("DescribeNonFinite(%v) = %q, want %q", c.counts, got, c.want)
		}
	}
}

// BenchmarkNonFinite: the cost of the check on a 1M-weight file.
func BenchmarkNonFinite(b *testing.B) {
	f := mlpFile(b, 1024, 1024, 10)
	b.SetBytes(int64(len(f.Tensors["fc1/weights"].Data)))
	for b.Loop() {
		if f.NonFinite() != nil {
			b.Fatal("non-finite")
		}
	}
}

package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWrite: the file appears whole with mode 0644; a failing writer
// leaves the old file and no temporary behind; a missing folder is an
// error naming the path.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	if err := WriteBytes(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("half"))
		return errors.New("disk full")
	})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing write: %v", err)
	}
	data, _ := os.ReadFile(path)
	info, _ := os.Stat(path)
	if string(data) != "first" || info.Mode().Perm() != 0o644 {
		t.Errorf("after a failed write the file holds %q, mode %v; want the first write, 0644", data, info.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries in the folder, want only the file", len(entries))
	}
	missing := filepath.Join(dir, "no", "m.bin")
	if err := WriteBytes(missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("write into a missing folder: %v", err)
	}
}

// TestRemoveStale: only Write's temporaries go.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".m.onnx.tmp-123456", "m.onnx", ".hidden", "x.tmp-1", ".a.tmp-", ".b.tmp-12x"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStale(dir)
	if err != nil || len(removed) != 1 || removed[0] != ".m.onnx.tmp-123456" {
		t.Errorf("removed %v, %v", removed, err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 5 {
		t.Errorf("%d files left, want 5", len(left))
	}
	if removed, err := RemoveStale(filepath.Join(dir, "gone")); err != nil || removed != nil {
		t.Errorf("a missing folder: %v, %v", removed, err)
	}
}

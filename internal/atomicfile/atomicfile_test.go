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

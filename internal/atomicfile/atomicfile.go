// Package atomicfile writes files whole or not at all: the data goes to a
// temporary file beside the target, is synced, and is renamed over it, so
// a reader (or a crash) never sees half a model, plot or table, and a
// failed write leaves an existing file as it was.
//
//	err := atomicfile.Write("model.onnx", func(w io.Writer) error { _, err := w.Write(data); return err })
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// Write creates or replaces path (mode 0644) with what write writes.
// Errors name the path.
func Write(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(0o644) // a file for others to read, not CreateTemp's 0600
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable where the platform allows
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// WriteBytes is Write for data already in memory.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// tempName matches the temporaries Write makes: "." + name + ".tmp-" +
// CreateTemp's random digits.
var tempName = regexp.MustCompile(`^\..+\.tmp-[0-9]+$`)

// RemoveStale removes from dir the temporaries of writes that never
// finished (a process killed mid-write leaves them) and returns their
// names. Call it only when no write into dir can be under way.
func RemoveStale(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.Type().IsRegular() && tempName.MatchString(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return removed, err
			}
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}

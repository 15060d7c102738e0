// Package filecheck lets tests check that a command wrote nothing: a
// snapshot of every file under a folder before, compared with one after.
package filecheck

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files are the contents of every file under a folder, by path.
type Files map[string][]byte

// Snapshot reads every file under dir.
func Snapshot(t testing.TB, dir string) Files {
	t.Helper()
	files := Files{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		files[path] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Unchanged fails t for every file created, changed or removed between the
// snapshots — except SQLite's -shm and an empty -wal beside a database:
// readers of a WAL database may create them (how readers and writers of
// other processes coordinate), and they hold no data.
func Unchanged(t testing.TB, before, after Files) {
	t.Helper()
	for path, data := range after {
		old, ok := before[path]
		switch {
		case !ok && (strings.HasSuffix(path, "-shm") || strings.HasSuffix(path, "-wal") && len(data) == 0):
		case !ok:
			t.Errorf("%s was created", path)
		case !bytes.Equal(old, data):
			t.Errorf("%s was changed", path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			t.Errorf("%s was removed", path)
		}
	}
}

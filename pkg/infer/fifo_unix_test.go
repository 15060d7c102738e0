//go:build linux || darwin

package infer

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNamedPipeIsRefusedAtOnce (issue 29): a FIFO given as a model file
// is refused by what it is, before it is opened — opening it blocked
// until something wrote to it, forever for `lathe predict`. A symbolic
// link to one is followed and refused too.
func TestNamedPipeIsRefusedAtOnce(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.safetensors")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	link := filepath.Join(dir, "link.safetensors")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	readers := map[string]func(string) error{
		"ReadFile": func(p string) error { _, err := ReadFile(p, 0); return err },
		"Load":     func(p string) error { _, err := Load(p); return err },
	}
	for name, read := range readers {
		for _, path := range []string{fifo, link} {
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- read(path) }()
			select {
			case err := <-done:
				t.Logf("%s(%s): %v in %v", name, filepath.Base(path), err, time.Since(start))
				if want := path + ": not a regular file (a named pipe)"; err == nil || err.Error() != want {
					t.Errorf("%s(%s): error %v, want %q", name, path, err, want)
				}
			case <-time.After(time.Second):
				t.Errorf("%s(%s) still blocked after 1 s", name, path)
				// Unblock the reader so the test binary can end.
				if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
					w.Close()
				}
				<-done
			}
		}
	}
	if _, err := ReadFile(dir, 0); err == nil || err.Error() != dir+": not a regular file (a directory)" {
		t.Errorf("a directory: error %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none"), 0); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file: error %v", err)
	}
}

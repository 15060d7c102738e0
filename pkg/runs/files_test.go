package runs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRecordedFiles: a recorded file comes back with its size and the
// SHA-256 of its bytes (the digest of "abc" from FIPS 180-2's example).
func TestRecordedFiles(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	r := &Run{Name: "files"}
	if err := s.Create(r); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.RunDir(r.ID), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.RunDir(r.ID), "m.safetensors"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordFile(r.ID, 2, "m.safetensors"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := File{Name: "m.safetensors", Stage: 2, Bytes: 3, SHA256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
	if len(got.Files) != 1 || got.Files[0].Name != want.Name || got.Files[0].Stage != want.Stage || got.Files[0].Bytes != want.Bytes || got.Files[0].SHA256 != want.SHA256 {
		t.Errorf("files %+v, want %+v", got.Files, want)
	}
	if why, err := s.Guarded(filepath.Join(s.RunDir(r.ID), "m.safetensors"), r.ID); err != nil || why == "" {
		t.Errorf("a file the run's stage wrote is not guarded: %q, %v", why, err)
	}
	if err := s.RecordFile(r.ID, 2, "missing.onnx"); err == nil {
		t.Error("recording a file that is not there: want an error")
	}
}

// TestGuardedPaths: the store's database, checkpoints and other runs'
// folders are guarded; the run's own folder and paths outside the store
// are not.
func TestGuardedPaths(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	dir := s.Dir()
	cases := map[string]bool{
		filepath.Join(dir, "runs.db"):                        true,
		filepath.Join(dir, "runs.db-wal"):                    true,
		filepath.Join(dir, "mine", "checkpoint", "x.json"):   true,
		filepath.Join(dir, "other", "model.safetensors"):     true,
		filepath.Join(dir, "mine", "model.onnx"):             false,
		filepath.Join(t.TempDir(), "model.onnx"):             false,
		filepath.Join(dir, "other", "..", "runs.db"):         true,
		filepath.Join(dir, "mine", "..", "mine", "out.onnx"): false,
	}
	for path, guarded := range cases {
		why, err := s.Guarded(path, "mine")
		if err != nil {
			t.Fatal(err)
		}
		if (why != "") != guarded {
			t.Errorf("%s: guarded %q, want guarded %v", path, why, guarded)
		}
	}
}

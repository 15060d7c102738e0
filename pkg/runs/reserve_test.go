package runs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestAFullDiskStillRecordsTheRunsEnd: with the disk full, a run's end is
// still recorded — failed, with its error and final metrics — because the
// run kept a reserve; without the reserve the same write fails (and the
// run used to show as interrupted). It needs a small tmpfs, so root.
func TestAFullDiskStillRecordsTheRunsEnd(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a 4 MiB tmpfs to fill (%v): needs root", err)
	}
	defer syscall.Unmount(dir, 0)
	s := mustOpen(t, dir)
	defer s.Close()
	filled := func(t *testing.T) func() {
		t.Helper()
		path := filepath.Join(dir, "filler")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, 4096)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
		f.Close()
		return func() { os.Remove(path) }
	}
	final := map[string]float64{"steps": 100, "train_loss": 0.25}
	for i := 0; i < 40; i++ { // final metrics enough to need new pages
		final["layer_"+string(rune('a'+i%26))+string(rune('a'+i/26))] = float64(i)
	}

	withReserve := mustCreate(t, s, &Run{Name: "kept"})
	free := filled(t)
	if err := s.Finish(withReserve.ID, Failed, "saving the checkpoint: no space left on device", final); err != nil {
		t.Fatalf("Finish on a full disk with the reserve: %v", err)
	}
	free()
	got, err := s.Get(withReserve.ID)
	if err != nil || got.Status != Failed || got.Error == "" || got.Final["train_loss"] != 0.25 {
		t.Errorf("recorded %+v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(s.RunDir(withReserve.ID), reserveFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the reserve outlives the run: %v", err)
	}

	without := mustCreate(t, s, &Run{Name: "unreserved"})
	os.Remove(filepath.Join(s.RunDir(without.ID), reserveFile))
	free = filled(t)
	defer free()
	if err := s.Finish(without.ID, Failed, "no space left on device", final); err == nil {
		t.Log("without the reserve the end was recorded too: the journal had room (the check above is the one that counts)")
	}
}

package runs

import (
	"os"
	"path/filepath"
)

// A running run keeps a reserve of disk space in its folder, so that when
// the disk fills up under it, its end can still be recorded: Finish frees
// the reserve and writes again. Without it a run that failed for want of
// space could not say so, and showed as interrupted.
const (
	reserveFile  = ".finish-reserve"
	reserveBytes = 1 << 20 // the status, error and final metrics take a few pages of the journal
)

// reserve writes run id's reserve (real blocks, not a sparse file). A
// failure is not an error: the run goes on without one.
func (s *Store) reserve(id string) {
	dir := s.RunDir(id)
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	path := filepath.Join(dir, reserveFile)
	if err := os.WriteFile(path, make([]byte, reserveBytes), 0o600); err != nil {
		os.Remove(path)
	}
}

// release frees run id's reserve; whether there was one to free.
func (s *Store) release(id string) bool {
	return os.Remove(filepath.Join(s.RunDir(id), reserveFile)) == nil
}

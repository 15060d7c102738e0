package runs

import "testing"

// mustOpen opens (creating) the store in dir, closed when the test ends.
func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustOpenExisting opens a second connection to the store in dir, as a
// reader in another process would.
func mustOpenExisting(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustCreate records r in s.
func mustCreate(t *testing.T, s *Store, r *Run) *Run {
	t.Helper()
	if err := s.Create(r); err != nil {
		t.Fatal(err)
	}
	return r
}

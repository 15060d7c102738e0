package tui

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// TestStoresThatCannotBeReadAreErrors: every way a store can exist yet not
// be read — not a database, another program's SQLite database, not a
// file, unreadable, a runs folder that is a file — is shown on the runs
// view as the error it is, whole (wrapped, not cut at the edge: the
// reason comes last), never as an empty store ("No runs … yet", "no run
// store yet"). Each case is a fresh dashboard polling once, as on start.
// TestUnreadableStoreIsAnErrorNotNoRuns covers recovery.
func TestStoresThatCannotBeReadAreErrors(t *testing.T) {
	cases := []struct {
		name string
		// setup makes base hold the case and returns the runs folder.
		setup func(t *testing.T, base string) string
	}{
		{"garbage runs.db", func(t *testing.T, base string) string {
			writeFile(t, filepath.Join(base, "runs.db"), strings.Repeat("\x00\x01garbage\xff", 500), 0o644)
			return base
		}},
		{"foreign SQLite database", func(t *testing.T, base string) string {
			foreignDB(t, filepath.Join(base, "runs.db"))
			return base
		}},
		{"runs.db is a folder", func(t *testing.T, base string) string {
			if err := os.Mkdir(filepath.Join(base, "runs.db"), 0o755); err != nil {
				t.Fatal(err)
			}
			return base
		}},
		{"unreadable runs.db", func(t *testing.T, base string) string {
			if os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			foreignDB(t, filepath.Join(base, "runs.db"))
			if err := os.Chmod(filepath.Join(base, "runs.db"), 0); err != nil {
				t.Fatal(err)
			}
			return base
		}},
		{"runs folder is a file", func(t *testing.T, base string) string {
			path := filepath.Join(base, "runs")
			writeFile(t, path, "not a folder\n", 0o644)
			return path
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.setup(t, t.TempDir())
			m := New(fixtureOptions(dir))
			m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 24})
			m = pollOnce(t, m)
			if m.storeErr == nil {
				t.Fatalf("no store error; the view:\n%s", view(m, dir))
			}
			out := view(m, dir)
			mustContain(t, out, "cannot read the run store", "Cannot read the run store in RUNS:")
			if !wordsInOrder(out, normalize(m.storeErr.Error(), dir)) {
				t.Errorf("the view does not show the whole error %q:\n%s", normalize(m.storeErr.Error(), dir), out)
			}
			for _, bad := range []string{"No runs", "no run store yet"} {
				if strings.Contains(out, bad) {
					t.Errorf("shown as %q:\n%s", bad, out)
				}
			}
			// It is read again on the next poll, and still an error.
			m = pollOnce(t, m)
			mustContain(t, view(m, dir), "Cannot read the run store in RUNS:")
		})
	}
}

// TestForeignDatabaseIsLeftAlone: reading another program's SQLite file
// as a store must not write to it (before: the store's tables were
// created in it, and it then showed as an empty store).
func TestForeignDatabaseIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runs.db")
	foreignDB(t, path)
	before := tables(t, path)
	m := New(fixtureOptions(dir))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 24})
	m = pollOnce(t, m)
	if m.store != nil {
		m.store.Close()
	}
	if after := tables(t, path); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("the dashboard changed a foreign database's tables from %v to %v", before, after)
	}
}

// foreignDB makes an SQLite database of another program at path.
func foreignDB(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes(text) VALUES ('hello')`); err != nil {
		t.Fatal(err)
	}
}

// tables lists the tables of the SQLite database at path, read-only.
func tables(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// wordsInOrder reports whether the words of text appear in out in their
// order, however out's lines break them.
func wordsInOrder(out, text string) bool {
	flat := strings.Join(strings.Fields(out), "")
	for _, w := range strings.Fields(text) {
		i := strings.Index(flat, w)
		if i < 0 {
			return false
		}
		flat = flat[i+len(w):]
	}
	return true
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

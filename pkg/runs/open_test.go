package runs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/internal/filecheck"
)

// TestForeignDatabasesAreRefused: Lathe writes nothing into a database
// that is not its own, and says which file and why in one line.
func TestForeignDatabasesAreRefused(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"its own runs table", func(t *testing.T, dir string) {
			if _, err := rawDB(t, dir).Exec(`CREATE TABLE runs (name TEXT, score REAL); INSERT INTO runs VALUES ('x', 1)`); err != nil {
				t.Fatal(err)
			}
		}, "not a Lathe run store: an SQLite database with other tables (runs)"},
		{"another application's id", func(t *testing.T, dir string) {
			if _, err := rawDB(t, dir).Exec(`PRAGMA application_id=1234; CREATE TABLE notes (x)`); err != nil {
				t.Fatal(err)
			}
		}, "its SQLite application_id is 0x4d2"},
		{"not SQLite", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "runs.db"), bytes.Repeat([]byte("not a database "), 100), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "the file is not an SQLite database"},
		{"a newer Lathe's store", func(t *testing.T, dir string) {
			s := mustOpen(t, dir)
			if _, err := s.db.Exec(`PRAGMA user_version=99`); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}, "made by a newer Lathe (store schema 99; this Lathe knows up to 3)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.setup(t, dir)
			before := filecheck.Snapshot(t, dir)
			for _, open := range []func(string) (*Store, error){Open, OpenExisting} {
				s, err := open(dir)
				if err == nil {
					s.Close()
					t.Fatal("opened")
				}
				msg := err.Error()
				if !strings.Contains(msg, c.want) || !strings.Contains(msg, filepath.Join(dir, "runs.db")) || strings.Contains(msg, "\n") {
					t.Errorf("error %q: want one line naming the file and %q", msg, c.want)
				}
				if errors.Is(err, ErrNoStore) {
					t.Errorf("reported as no store: %v", err)
				}
			}
			filecheck.Unchanged(t, before, filecheck.Snapshot(t, dir))
		})
	}
}

// TestStoresAreMarked: a new store carries Lathe's application id and
// schema version in its header.
func TestStoresAreMarked(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir).Close()
	header := make([]byte, 100)
	f, err := os.Open(filepath.Join(dir, "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Read(header); err != nil {
		t.Fatal(err)
	}
	// SQLite's header: user_version at offset 60, application_id at 68, big-endian.
	if got := string(header[68:72]); got != "LATH" {
		t.Errorf("application_id bytes %q, want LATH", got)
	}
	if v := header[60:64]; v[0] != 0 || v[1] != 0 || v[2] != 0 || v[3] != 3 {
		t.Errorf("user_version bytes %v, want 3", v)
	}
}

// TestReadersNeverWrite: OpenExisting reads a store without writing a
// byte (no schema, no migration, no WAL files), refuses a store from an
// older Lathe until it is migrated explicitly, and reports a runs "dir"
// that is a file as such.
func TestReadersNeverWrite(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	mustCreate(t, w, &Run{ID: "20261130-000000-aaaa", Name: "r", Started: time.Unix(1, 0)})
	w.Close()
	before := filecheck.Snapshot(t, dir)
	r := mustOpenExisting(t, dir)
	if list, err := r.List(); err != nil || len(list) != 1 {
		t.Fatalf("List: %v, %v", list, err)
	}
	if _, err := r.Get("r"); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(&Run{Name: "x"}); err == nil {
		t.Error("a read-only store accepted a write")
	}
	r.Close()
	filecheck.Unchanged(t, before, filecheck.Snapshot(t, dir))

	old := t.TempDir()
	if _, err := rawDB(t, old).Exec(oldSchema); err != nil {
		t.Fatal(err)
	}
	before = filecheck.Snapshot(t, old)
	if _, err := OpenExisting(old); err == nil || !strings.Contains(err.Error(), "made by an older Lathe: upgrade it with `lathe migrate") {
		t.Errorf("old store opened for reading: %v", err)
	}
	filecheck.Unchanged(t, before, filecheck.Snapshot(t, old))
	if from, err := Migrate(old); err != nil || from != 0 {
		t.Fatalf("Migrate: from %d, %v", from, err)
	}
	if from, err := Migrate(old); err != nil || from != SchemaVersion {
		t.Errorf("Migrate again: from %d, %v", from, err)
	}
	got := mustOpenExisting(t, old)
	if run, err := got.Get("old"); err != nil || run.Stages[0].Metrics["steps"] != 5 {
		t.Errorf("after migrating: %+v, %v", run, err)
	}

	file := filepath.Join(t.TempDir(), "runs")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, open := range []func(string) (*Store, error){Open, OpenExisting} {
		if _, err := open(file); err == nil || errors.Is(err, ErrNoStore) || !strings.Contains(err.Error(), file+": not a directory") {
			t.Errorf("runs dir is a file: %v", err)
		}
	}
}

// TestReadOnlyDirectory: a store in a directory this process cannot
// write is still browsable (as a non-root user; root writes anyway).
func TestReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only directories; the CLI fault tests cover this as an unprivileged user")
	}
	dir := t.TempDir()
	w := mustOpen(t, dir)
	mustCreate(t, w, &Run{Name: "r"})
	w.Close()
	if err := os.Chmod(filepath.Join(dir, "runs.db"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	r := mustOpenExisting(t, dir)
	if list, err := r.List(); err != nil || len(list) != 1 {
		t.Errorf("List: %v, %v", list, err)
	}
}

// TestSchema1IsMigratedExplicitly: a store of schema 1 (marked, without
// the resume columns) is refused by readers until `lathe migrate`, which
// adds the columns and keeps every run.
func TestSchema1IsMigratedExplicitly(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	mustCreate(t, s, &Run{ID: "20261130-000000-aaaa", Name: "r"})
	if _, err := s.db.Exec(`ALTER TABLE runs DROP COLUMN resumed_ns; ALTER TABLE runs DROP COLUMN worked_s; PRAGMA user_version=1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenExisting(dir); err == nil || !strings.Contains(err.Error(), "older Lathe") {
		t.Fatalf("schema 1 opened for reading: %v", err)
	}
	if from, err := Migrate(dir); err != nil || from != 1 {
		t.Fatalf("Migrate: from %d, %v", from, err)
	}
	r, err := mustOpenExisting(t, dir).Get("r")
	if err != nil || r.ID != "20261130-000000-aaaa" {
		t.Errorf("after migrating: %+v, %v", r, err)
	}
}

// TestResumedDurationLeavesOutTheGap: while a resumed run runs, its
// duration is what it worked before plus the time since it resumed.
func TestResumedDurationLeavesOutTheGap(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	r := mustCreate(t, s, &Run{Name: "r", Started: time.Now().Add(-time.Hour)})
	if err := s.Finish(r.ID, Stopped, "stopped", map[string]float64{"wall_s": 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reopen(r.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Duration(); d < time.Minute || d > time.Minute+5*time.Second {
		t.Errorf("running resumed duration %v, want a minute (worked before) and the seconds since, not the hour since it started", d)
	}
}

// TestResumeRaces: of processes resuming one interrupted run at once,
// exactly one gets it.
func TestResumeRaces(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	for trial := 0; trial < 5; trial++ {
		r := mustCreate(t, w, &Run{Name: "r", PID: 1 << 30}) // a process that is gone: interrupted
		results := make(chan error, 4)
		for range 4 {
			go func() {
				s, err := Open(dir)
				if err == nil {
					_, err = s.Reopen(r.ID)
					s.Close()
				}
				results <- err
			}()
		}
		won := 0
		for range 4 {
			if err := <-results; err == nil {
				won++
			} else if !strings.Contains(err.Error(), "being resumed by another process") && !strings.Contains(err.Error(), "is running") {
				t.Errorf("trial %d: %v", trial, err)
			}
		}
		if won != 1 {
			t.Errorf("trial %d: %d processes resumed the run", trial, won)
		}
	}
}

// TestWorkedTimeOfAKilledResume: a run stopped after 100 s, resumed, and
// killed an hour of work later has worked 1 h 1 m 40 s, not the 100 s it
// recorded at its first stop.
func TestWorkedTimeOfAKilledResume(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	r := mustCreate(t, s, &Run{Name: "r", Started: time.Now().Add(-3 * time.Hour)})
	if err := s.Finish(r.ID, Stopped, "stopped", map[string]float64{"wall_s": 100}); err != nil {
		t.Fatal(err)
	}
	resumed, err := s.Reopen(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.WorkedBefore != 100*time.Second {
		t.Fatalf("worked before the first resume %v", resumed.WorkedBefore)
	}
	// An hour of points, then the process dies (its pid is gone).
	if err := s.AppendMetrics(r.ID, []Point{{Step: 1, Name: "loss", Value: 1, Time: resumed.Resumed.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE runs SET pid=? WHERE id=?`, 1<<30, r.ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.Reopen(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Hour + 100*time.Second
	if d := again.WorkedBefore - want; d.Abs() > time.Second {
		t.Errorf("worked %v before the second resume, want %v", again.WorkedBefore, want)
	}
}

// TestImmutableReaderSeesLaterWrites: a store read as an immutable file
// (its folder unwritable for the reader) is reopened by Version when a
// writer changed it, so the dashboard does not show it frozen.
func TestImmutableReaderSeesLaterWrites(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir)
	mustCreate(t, w, &Run{Name: "first"})
	w.Close() // no writer: everything in runs.db, as when the fallback is taken
	path := filepath.Join(dir, "runs.db")
	db, err := openReadOnly(path, true)
	if err != nil {
		t.Fatal(err)
	}
	r := &Store{db: db, dir: dir, immutable: true, stamp: fileStamp(path)}
	defer r.Close()
	v1, err := r.Version()
	if err != nil || v1.Runs != 1 {
		t.Fatalf("version %+v, %v", v1, err)
	}
	mustCreate(t, mustOpen(t, dir), &Run{Name: "second"}) // another user's run starts
	v2, err := r.Version()
	if err != nil || v2.Runs != 2 {
		t.Errorf("after a write: version %+v, %v; want 2 runs", v2, err)
	}
}

// TestResumeUpgradesAnOldStore: opening an existing store to resume a run
// migrates it (a reader refuses it), and never creates one.
func TestResumeUpgradesAnOldStore(t *testing.T) {
	old := t.TempDir()
	if _, err := rawDB(t, old).Exec(oldSchema); err != nil {
		t.Fatal(err)
	}
	s, err := OpenExistingForWrite(old)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	mustOpenExisting(t, old)
	if _, err := OpenExistingForWrite(filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrNoStore) {
		t.Errorf("no store: %v", err)
	}
}

// TestOddFolderNames: a runs folder whose name holds characters an SQLite
// URI gives meaning to (#, ?, %) opens, for writing and reading.
func TestOddFolderNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs #1 ?x 50%")
	w := mustOpen(t, dir)
	mustCreate(t, w, &Run{Name: "odd"})
	if _, err := os.Stat(filepath.Join(dir, "runs.db")); err != nil {
		t.Fatalf("the store is not where asked: %v", err)
	}
	if _, err := mustOpenExisting(t, dir).Get("odd"); err != nil {
		t.Error(err)
	}
}

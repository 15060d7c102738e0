package runs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A Lathe store marks itself with SQLite's application_id (in the file's
// header, so `file runs.db` names it too) and records its schema version
// in user_version. Open refuses a database that is not Lathe's instead of
// writing tables into it, and a store made by a newer Lathe.
const (
	applicationID = 0x4c415448 // "LATH"
	// SchemaVersion is the store layout this Lathe writes: 1 marked the
	// stores, 2 added runs.resumed_ns and runs.worked_s. Stores from before
	// versions were recorded count as version 0; 3 added the files table.
	SchemaVersion = 3
)

// dbFile is the database's file name in a store directory.
const dbFile = "runs.db"

// sqlDriver is the database/sql driver the store uses (tests count its queries).
var sqlDriver = "sqlite"

// ErrNoStore is returned (wrapped) by OpenExisting when dir holds no store.
var ErrNoStore = errors.New("no run store")

// ErrNotLathe is returned (wrapped) when the database is not a Lathe store.
var ErrNotLathe = errors.New("not a Lathe run store")

// Open opens the store in dir for a run to write, creating it if needed
// and upgrading one made by an older Lathe (see Migrate).
func Open(dir string) (*Store, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("run store %s: not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run store: %w", err)
	}
	path := filepath.Join(dir, dbFile)
	// synchronous=NORMAL: in WAL mode a crash cannot corrupt the store; at
	// worst a power cut loses the last commits, not a sync per point.
	dsn := "file:" + uriPath(path) + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open(sqlDriver, dsn)
	if err != nil {
		return nil, fmt.Errorf("run store %s: %w", path, err)
	}
	if err := prepare(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("run store %s: %w", path, err)
	}
	return &Store{db: db, dir: dir}, nil
}

// prepare makes db a current Lathe store: a new one gets the schema, an
// older one is migrated, all in one write transaction (two processes
// opening an old store at once migrate it once); anything else is refused
// before a byte is written.
func prepare(db *sql.DB) error {
	ctx := context.Background()
	id, version, tables, err := identify(ctx, db)
	if err != nil {
		return err
	}
	if err := claim(id, version, tables); err != nil {
		return err
	}
	if id == applicationID && version == SchemaVersion {
		if err := useWAL(db); err != nil {
			return err
		}
		return checkWritable(ctx, db)
	}
	err = withWriteLock(ctx, db, func(conn *sql.Conn) (bool, error) {
		// Another process may have created or migrated it while this one waited.
		id, version, tables, err := identify(ctx, conn)
		if err != nil {
			return false, err
		}
		if err := claim(id, version, tables); err != nil {
			return false, err
		}
		if _, err := conn.ExecContext(ctx, schema); err != nil {
			return false, fmt.Errorf("creating tables: %w", err)
		}
		if err := migrate(ctx, conn); err != nil {
			return false, err
		}
		if _, err := conn.ExecContext(ctx, indexes); err != nil {
			return false, fmt.Errorf("creating indexes: %w", err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id=%d; PRAGMA user_version=%d`, applicationID, SchemaVersion)); err != nil {
			return false, fmt.Errorf("marking the store: %w", err)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	return useWAL(db)
}

// withWriteLock runs fn in a write transaction (BEGIN IMMEDIATE: the
// store's write lock, waited for), committed when fn says so, else rolled
// back.
func withWriteLock(ctx context.Context, db *sql.DB, fn func(*sql.Conn) (commit bool, err error)) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return err
	}
	commit, err := fn(conn)
	if err != nil || !commit {
		if _, rerr := conn.ExecContext(ctx, `ROLLBACK`); err == nil {
			err = rerr
		}
		return err
	}
	_, err = conn.ExecContext(ctx, `COMMIT`)
	return err
}

// checkWritable takes and releases the write lock, so a store this
// process cannot write (a read-only file or folder) is an error when it is
// opened for a run, not at the run's first record.
func checkWritable(ctx context.Context, db *sql.DB) error {
	err := withWriteLock(ctx, db, func(conn *sql.Conn) (bool, error) {
		// A page written and rolled back: SQLite opens a file it cannot
		// write read-only without saying so, and only a write tells.
		_, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version=%d`, SchemaVersion))
		return false, err
	})
	if err != nil {
		return fmt.Errorf("cannot write to it: %w", err)
	}
	return nil
}

// useWAL puts the store in WAL mode (readers and a writer of other
// processes do not block each other). Once set it stays with the file.
// Switching needs the file to itself, and SQLite does not wait for that
// (no busy handler): it is retried while other processes open the store.
func useWAL(db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var mode string
		err := queryRow(context.Background(), db, `PRAGMA journal_mode=WAL`, &mode)
		if err == nil && strings.EqualFold(mode, "wal") {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("journal mode is still %s", mode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("setting WAL mode: %w", err)
		}
		time.Sleep(wait)
	}
}

// identify reads a database's application id, schema version and tables,
// in one statement so that they come from one snapshot (a store being
// created by another process is seen before or after, never half-way). A
// file that is not SQLite fails here, before anything is written.
func identify(ctx context.Context, q queryer) (id, version int, tables []string, err error) {
	var names sql.NullString
	rows, err := q.QueryContext(ctx, `SELECT
		(SELECT application_id FROM pragma_application_id()),
		(SELECT user_version FROM pragma_user_version()),
		(SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master
			WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' ORDER BY name))`)
	if err != nil {
		return 0, 0, nil, notSQLite(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, 0, nil, notSQLite(err)
		}
		return 0, 0, nil, fmt.Errorf("reading the store's header returned nothing")
	}
	if err := rows.Scan(&id, &version, &names); err != nil {
		return 0, 0, nil, notSQLite(err)
	}
	if names.Valid && names.String != "" {
		tables = strings.Split(names.String, ",")
	}
	return id, version, tables, rows.Err()
}

func queryRow(ctx context.Context, q queryer, query string, dest any) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%s returned nothing", query)
	}
	return rows.Scan(dest)
}

// notSQLite words the driver's error for a file that is not a database.
func notSQLite(err error) error {
	if strings.Contains(err.Error(), "not a database") {
		return fmt.Errorf("%w: the file is not an SQLite database", ErrNotLathe)
	}
	return err
}

// lathesTables are the tables every Lathe store has had since the first.
var lathesTables = []string{"final_metrics", "metrics", "params", "runs", "stages"}

// claim says whether a database with this id, version and tables is a
// Lathe store this Lathe can open (nil), or why not.
func claim(id, version int, tables []string) error {
	switch {
	case id == applicationID && version > SchemaVersion:
		return fmt.Errorf("made by a newer Lathe (store schema %d; this Lathe knows up to %d): upgrade Lathe", version, SchemaVersion)
	case id == applicationID:
		return nil
	case id != 0:
		return fmt.Errorf("%w: its SQLite application_id is %#x, Lathe's is %#x", ErrNotLathe, id, applicationID)
	case len(tables) == 0:
		return nil // a new, empty database
	case hasAll(tables, lathesTables):
		return nil // a store from before Lathe marked its stores
	}
	return fmt.Errorf("%w: an SQLite database with other tables (%s)", ErrNotLathe, strings.Join(firstFew(tables, 5), ", "))
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

func firstFew(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(list[:n:n], fmt.Sprintf("%d more", len(list)-n))
}

// OpenExisting opens the store in dir to read it, only if it exists:
// readers such as `lathe ls` and the dashboard never create, migrate or
// write a store, so they work on a read-only one. A store made by an older
// Lathe must be upgraded first (Migrate, `lathe migrate`, or any run).
func OpenExisting(dir string) (*Store, error) {
	path, err := existing(dir)
	if err != nil {
		return nil, err
	}
	db, immutable, err := openForReading(path)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, dir: dir, immutable: immutable}
	if immutable {
		s.stamp = fileStamp(path)
	}
	return s, nil
}

// openForReading opens path read-only. A WAL store in a folder this
// process cannot write, with no writer holding it open, cannot be opened
// so (SQLite cannot create the shared-memory file beside it); it is then
// read as an immutable file, and immutable reports it: such a handle does
// not see later writes (Store.Version reopens it when the files change).
func openForReading(path string) (db *sql.DB, immutable bool, err error) {
	db, err = openReadOnly(path, false)
	if err == nil {
		err = checkReadable(db, path)
		if err != nil && (strings.Contains(err.Error(), "unable to open") || strings.Contains(err.Error(), "readonly")) {
			db.Close()
			immutable = true
			if db, err = openReadOnly(path, true); err == nil {
				err = checkReadable(db, path)
			}
		}
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, false, err
	}
	return db, immutable, nil
}

// stamp is what changes when another process writes a store: the
// database's size and time, and whether its WAL files exist.
type stamp struct {
	size, modNs int64
	wal         bool
}

func fileStamp(path string) stamp {
	var st stamp
	if fi, err := os.Stat(path); err == nil {
		st.size, st.modNs = fi.Size(), fi.ModTime().UnixNano()
	}
	_, err := os.Stat(path + "-wal")
	st.wal = err == nil
	return st
}

// refreshImmutable reopens a store read as an immutable file once its
// files changed, so a reader that cannot take SQLite's shared lock still
// sees what a writer (another user) added.
func (s *Store) refreshImmutable() error {
	if !s.immutable {
		return nil
	}
	path := filepath.Join(s.dir, dbFile)
	now := fileStamp(path)
	if now == s.stamp {
		return nil
	}
	db, immutable, err := openForReading(path)
	if err != nil {
		return err
	}
	s.db.Close()
	s.db, s.immutable, s.stamp = db, immutable, now
	return nil
}

// OpenExistingForWrite opens the store in dir for a process that writes to
// an existing run (lathe resume): like Open, it upgrades a store made by an
// older Lathe, but it never creates one.
func OpenExistingForWrite(dir string) (*Store, error) {
	if _, err := existing(dir); err != nil {
		return nil, err
	}
	return Open(dir)
}

// existing returns the database path of the store in dir, or ErrNoStore
// (wrapped) when there is none, or why dir cannot hold one.
func existing(dir string) (string, error) {
	if st, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w in %s (run a recipe first, or pass --runs-dir / set %s)", ErrNoStore, dir, EnvDir)
	} else if err != nil {
		return "", fmt.Errorf("run store %s: %w", dir, err)
	} else if !st.IsDir() {
		return "", fmt.Errorf("run store %s: not a directory", dir)
	}
	path := filepath.Join(dir, dbFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w in %s (run a recipe first, or pass --runs-dir / set %s)", ErrNoStore, dir, EnvDir)
	} else if err != nil {
		return "", fmt.Errorf("run store %s: %w", path, err)
	}
	return path, nil
}

func openReadOnly(path string, immutable bool) (*sql.DB, error) {
	dsn := "file:" + uriPath(path) + "?mode=ro&_pragma=busy_timeout(10000)"
	if immutable {
		dsn += "&immutable=1"
	}
	db, err := sql.Open(sqlDriver, dsn)
	if err != nil {
		return nil, fmt.Errorf("run store %s: %w", path, err)
	}
	return db, nil
}

// uriPath escapes what an SQLite URI's path cannot hold as it is (a runs
// folder named "a#b" or "50%").
func uriPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// checkReadable checks that a read-only store is one this Lathe reads.
func checkReadable(db *sql.DB, path string) error {
	id, version, tables, err := identify(context.Background(), db)
	if err != nil {
		return fmt.Errorf("run store %s: %w", path, err)
	}
	if err := claim(id, version, tables); err != nil {
		return fmt.Errorf("run store %s: %w", path, err)
	}
	switch {
	case len(tables) == 0:
		return fmt.Errorf("%w in %s: %s is empty (run a recipe first)", ErrNoStore, filepath.Dir(path), dbFile)
	case id != applicationID || version < SchemaVersion:
		return fmt.Errorf("run store %s was made by an older Lathe: upgrade it with `lathe migrate --runs-dir %s` (or run any recipe)", path, filepath.Dir(path))
	}
	return nil
}

// Migrate upgrades the store in dir, made by an older Lathe, to this
// Lathe's layout, and reports the version it had (SchemaVersion when it
// was current already). It refuses what is not a Lathe store.
func Migrate(dir string) (from int, err error) {
	path, err := existing(dir)
	if err != nil {
		return 0, err
	}
	ro, err := openReadOnly(path, false)
	if err != nil {
		return 0, err
	}
	id, version, tables, err := identify(context.Background(), ro)
	ro.Close()
	if err != nil {
		return 0, fmt.Errorf("run store %s: %w", path, err)
	}
	if err := claim(id, version, tables); err != nil {
		return 0, fmt.Errorf("run store %s: %w", path, err)
	}
	if id != applicationID {
		version = 0
	}
	s, err := Open(dir)
	if err != nil {
		return version, err
	}
	return version, s.Close()
}

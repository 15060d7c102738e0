package runs

import (
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// oldSchema is the store as the first Lathe versions made it: no plan,
// no truncation count, no planned steps, metric points keyed by rowid.
const oldSchema = `
CREATE TABLE runs (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, recipe_path TEXT, recipe TEXT,
	status TEXT NOT NULL, backend TEXT, started_ns INTEGER NOT NULL, finished_ns INTEGER,
	error TEXT, pid INTEGER, host TEXT);
CREATE TABLE params (
	run_id TEXT NOT NULL REFERENCES runs(id), key TEXT NOT NULL, value TEXT,
	PRIMARY KEY (run_id, key));
CREATE TABLE stages (
	run_id TEXT NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL, kind TEXT NOT NULL,
	status TEXT NOT NULL, started_ns INTEGER, finished_ns INTEGER, metrics TEXT,
	PRIMARY KEY (run_id, idx));
CREATE TABLE metrics (
	run_id TEXT NOT NULL REFERENCES runs(id), stage INTEGER, step INTEGER, name TEXT NOT NULL,
	value REAL, time_ns INTEGER);
CREATE INDEX metrics_by_run ON metrics(run_id, name, step);
CREATE TABLE final_metrics (
	run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, value REAL,
	PRIMARY KEY (run_id, name));
INSERT INTO runs(id,name,status,started_ns,pid) VALUES('20260101-000000-aaaa','old','finished',1,0);
INSERT INTO stages(run_id,idx,kind,status,metrics) VALUES('20260101-000000-aaaa',0,'train','finished','{"steps":5}');
INSERT INTO final_metrics VALUES('20260101-000000-aaaa','test_loss',NULL);
`

func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "runs.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenMigratesAnOldStore(t *testing.T) {
	dir := t.TempDir()
	db := rawDB(t, dir)
	if _, err := db.Exec(oldSchema); err != nil {
		t.Fatal(err)
	}
	// Points written out of step order, one of them NaN (stored as NULL).
	for i, step := range []int{3, 1, 2, 5, 4} {
		if _, err := db.Exec(`INSERT INTO metrics VALUES('20260101-000000-aaaa',0,?,'loss',?,0)`, step, float64(10*i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE metrics SET value=NULL WHERE step=4`); err != nil {
		t.Fatal(err)
	}

	// Several processes open the old store at once: each succeeds, once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(dir)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	s := mustOpen(t, dir)
	const id = "20260101-000000-aaaa"
	for table, want := range map[string]string{"runs": "plan,truncations", "stages": "planned_steps", "metrics": "id"} {
		cols, err := columns(t.Context(), db, table)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range strings.Split(want, ",") {
			if !cols[c] {
				t.Errorf("%s lacks %s after Open", table, c)
			}
		}
	}
	pts, cur, err := s.PointsSince(id, Cursor{}, 0)
	if err != nil || len(pts) != 5 {
		t.Fatalf("points %v, %v", pts, err)
	}
	var steps []int
	for _, p := range pts {
		steps = append(steps, p.Step)
	}
	if got := fmt.Sprint(steps); got != "[3 1 2 5 4]" || cur.Row != 5 || !math.IsNaN(pts[4].Value) {
		t.Errorf("migrated points in order %s (last row %d, last value %v), want [3 1 2 5 4], row 5, NaN", got, cur.Row, pts[4].Value)
	}
	// New ids follow the migrated ones, even after the last were dropped.
	if err := s.TruncateMetrics(id, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendMetrics(id, []Point{{Step: 4, Name: "loss", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if pts, next, err := s.PointsSince(id, Cursor{Row: 5, Truncations: 1}, 0); err != nil || len(pts) != 1 || next.Row != 6 {
		t.Errorf("after migration and truncation: %v, next %+v, %v; want one point with id 6", pts, next, err)
	}
	r, err := s.Get(id)
	if err != nil || r.Stages[0].Metrics["steps"] != 5 || !math.IsNaN(r.Final["test_loss"]) || r.Plan != nil {
		t.Fatalf("old run read back %+v, %v", r, err)
	}
	if err := s.SetPlan(id, Plan{Stages: []PlannedStage{{Index: 0, Kind: "train", HasSteps: true, Steps: 5}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPlannedSteps(id, 0, 5); err != nil {
		t.Fatal(err)
	}
}

// TestOpenReportsWhatItCannotMigrate: a column Open cannot add is an
// error naming it (before, the ALTER TABLE's error was dropped and the
// store opened, to fail later on every read).
func TestOpenReportsWhatItCannotMigrate(t *testing.T) {
	dir := t.TempDir()
	db := rawDB(t, dir)
	// stages is a view here: no column can be added to it.
	schema := strings.Replace(oldSchema, "CREATE TABLE stages (", "CREATE TABLE stages_data (", 1)
	schema = strings.Replace(schema, "INSERT INTO stages(", "INSERT INTO stages_data(", 1)
	if _, err := db.Exec(schema + `CREATE VIEW stages AS SELECT * FROM stages_data;`); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded on a store it could not migrate")
	}
	if !strings.Contains(err.Error(), "planned_steps") {
		t.Errorf("error does not say what failed: %v", err)
	}
}

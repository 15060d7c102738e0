package runs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingDriver wraps the SQLite driver and counts the statements run.
type countingDriver struct {
	inner driver.Driver
	n     atomic.Int64
}

type countingConn struct {
	driver.Conn
	d *countingDriver
}

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return countingConn{c, d}, nil
}

func (c countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.d.n.Add(1)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.d.n.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.d.n.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

var (
	counting     *countingDriver
	registerOnce sync.Once
)

// openCounting opens a store whose statements are counted.
func openCounting(t *testing.T, dir string) (*Store, *countingDriver) {
	t.Helper()
	registerOnce.Do(func() {
		db, err := sql.Open("sqlite", ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		counting = &countingDriver{inner: db.Driver()}
		db.Close()
		sql.Register("sqlite-counting", counting)
	})
	defer func(d string) { sqlDriver = d }(sqlDriver)
	sqlDriver = "sqlite-counting"
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, counting
}

func addRuns(t *testing.T, s *Store, n int, start time.Time) {
	t.Helper()
	for i := range n {
		r := &Run{ID: fmt.Sprintf("%s-%04d", start.Format("20060102-150405"), i), Name: fmt.Sprintf("r%d", i%3),
			Started: start.Add(time.Duration(i) * time.Second), Params: map[string]string{"seed": fmt.Sprint(i), "lr": "0.1"}}
		if err := s.Create(r); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := s.SetPlan(r.ID, Plan{Stages: []PlannedStage{{Index: 0, Kind: "train", HasSteps: true, Steps: 10 + i}, {Index: 1, Kind: "evaluate"}}}); err != nil {
				t.Fatal(err)
			}
		}
		for st := 0; st < i%3; st++ {
			if err := s.StartStage(r.ID, st, "train", 10+i); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishStage(r.ID, st, Finished, map[string]float64{"steps": float64(i), "validation_accuracy": 0.5}); err != nil {
				t.Fatal(err)
			}
		}
		if i%4 == 0 {
			if err := s.Finish(r.ID, Finished, "", map[string]float64{"test_accuracy": float64(i) / 100}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestListReadsEachTableOnce: List costs the same number of statements for
// 3 runs as for 40 (before, 1 + 4 per run, every dashboard poll), and
// returns what Get returns for each run, newest first.
func TestListReadsEachTableOnce(t *testing.T) {
	s, c := openCounting(t, t.TempDir())
	defer s.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	addRuns(t, s, 3, t0)
	before := c.n.Load()
	if list, err := s.List(); err != nil || len(list) != 3 {
		t.Fatalf("list: %d, %v", len(list), err)
	}
	few := c.n.Load() - before
	addRuns(t, s, 37, t0.Add(time.Hour))
	before = c.n.Load()
	list, err := s.List()
	if err != nil || len(list) != 40 {
		t.Fatalf("list: %d, %v", len(list), err)
	}
	t.Logf("List: %d statements", few)
	if many := c.n.Load() - before; many != few || many > 6 {
		t.Errorf("List ran %d statements for 3 runs and %d for 40: want the same few", few, many)
	}
	for i, r := range list {
		if i > 0 && r.Started.After(list[i-1].Started) {
			t.Errorf("run %d (%s) is newer than the one before it", i, r.ID)
		}
		got, err := s.Get(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("List and Get disagree on %s:\n%+v\n%+v", r.ID, r, got)
		}
	}
	r := list[len(list)-1] // the oldest: r0 of the first batch, with a plan, no stages, finished
	if r.Plan == nil || len(r.Plan.Stages) != 2 || r.Plan.Stages[0].Steps != 10 || !r.Plan.Stages[0].HasSteps ||
		r.Params["seed"] != "0" || r.Final["test_accuracy"] != 0 || r.Status != Finished || len(r.Stages) != 0 {
		t.Errorf("oldest run %+v", r)
	}
	if r := list[0]; r.Plan == nil || r.Plan.Stages[0].Steps != 46 || len(r.Stages) != 36%3 || r.Params["seed"] != "36" {
		t.Errorf("newest run %+v (plan %+v)", r, r.Plan)
	}
}

// Package runs is the run store: every run's recipe, parameters, metric
// series, stage results and final metrics in one SQLite database
// (runs.db, WAL mode, pure-Go driver), with each run's checkpoints in a
// folder beside it (<dir>/<run id>/checkpoint).
//
// Several processes may use one store at once: a training run writes while
// `lathe ls`, the dashboard or a notebook read. Open (for a run) creates the
// store or brings one made by an older Lathe up to date; OpenExisting (for
// readers) opens it read-only and writes nothing. The database carries
// Lathe's SQLite application_id and schema version, and both refuse any
// other database. checkpoint_dir.go writes and verifies the runs'
// checkpoints. Metric values may be NaN or ±Inf (a diverged
// run): they are stored and read back as they are (see Metrics). The
// package links no GoMLX, so readers such as the dashboard do not either;
// format.go holds the vocabulary they all print metrics with.
//
// Example:
//
//	store, err := runs.Open(runs.DefaultDir())
//	if err != nil { return err }
//	defer store.Close()
//	list, err := store.List()
package runs

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Status of a run.
type Status string

const (
	Running  Status = "running"
	Finished Status = "finished"
	Failed   Status = "failed"
	Stopped  Status = "stopped" // asked to stop (ctrl-c or the dashboard); checkpointed
	// Interrupted is never stored: a run still marked running whose process is gone.
	Interrupted Status = "interrupted"
)

// EnvDir names the runs directory when --runs-dir is not given.
const EnvDir = "LATHE_RUNS"

// DefaultDir is $LATHE_RUNS, or ./runs.
func DefaultDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return "runs"
}

// Run is one execution of a recipe.
type Run struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	RecipePath string    `json:"recipe_path"`
	Recipe     string    `json:"-"` // the recipe's text as run
	Status     Status    `json:"status"`
	Backend    string    `json:"backend"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"`
	// Resumed is when the run was last resumed (zero if never), and
	// WorkedBefore how long it had worked until then, the time it sat
	// stopped left out.
	Resumed      time.Time         `json:"resumed,omitzero"`
	WorkedBefore time.Duration     `json:"-"`
	Error        string            `json:"error,omitempty"`
	PID          int               `json:"pid"`
	Host         string            `json:"host"` // where the process runs: only there can it be stopped
	Params       map[string]string `json:"params"`
	// Plan is what the run will do, once its runner has recorded it (nil
	// for runs from before plans were recorded, or that failed earlier).
	Plan   *Plan         `json:"plan,omitempty"`
	Stages []StageResult `json:"stages"`
	Final  Metrics       `json:"final_metrics"`
	// Files are the files its stages wrote into its folder.
	Files []File `json:"files,omitempty"`
}

// Duration is how long the run has worked, leaving out the time a resumed
// run sat stopped: for an ended run the wall_s it recorded; for a running
// one the time since it started, or since it was resumed plus what it
// worked before.
func (r *Run) Duration() time.Duration {
	if r.Finished.IsZero() {
		if !r.Resumed.IsZero() {
			return r.WorkedBefore + time.Since(r.Resumed)
		}
		return time.Since(r.Started)
	}
	if w, ok := r.Final["wall_s"]; ok && w >= 0 && !math.IsInf(w, 0) {
		return time.Duration(w * float64(time.Second))
	}
	return r.Finished.Sub(r.Started)
}

// StageResult is what one stage of a run produced.
type StageResult struct {
	Index    int       `json:"index"`
	Kind     string    `json:"kind"`
	Status   Status    `json:"status"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Metrics  Metrics   `json:"metrics"`
	// PlannedSteps is how many steps a stage that trains will take (0: not
	// known, or a stage without steps).
	PlannedSteps int `json:"planned_steps,omitempty"`
}

// Point is one value of a metric series. Its Value may be NaN or ±Inf.
type Point struct {
	Stage int       `json:"stage"`
	Step  int       `json:"step"`
	Name  string    `json:"name"`
	Value float64   `json:"value"`
	Time  time.Time `json:"time"`
}

// Store is an open run store.
type Store struct {
	db  *sql.DB
	dir string
	// immutable: opened as an immutable file (see openForReading); stamp
	// is its files' state then.
	immutable bool
	stamp     stamp
}

// The schema. Metric values (metrics.value, final_metrics.value) are REAL
// and hold finite values and ±Inf as they are; NaN is stored as NULL
// (SQLite itself turns a NaN into NULL), and nothing else writes NULL
// there, so readers read NULL back as NaN. Stage metrics are JSON in
// Metrics' form ("NaN", "+Inf", "-Inf" as strings). Metric points have an
// AUTOINCREMENT id, so an id is never reused after a resume deletes
// points, and runs.truncations counts those deletions for live readers
// (see PointsSince).
const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, recipe_path TEXT, recipe TEXT,
	status TEXT NOT NULL, backend TEXT, started_ns INTEGER NOT NULL, finished_ns INTEGER,
	error TEXT, pid INTEGER, host TEXT, plan TEXT, truncations INTEGER NOT NULL DEFAULT 0,
	resumed_ns INTEGER, worked_s REAL);
CREATE TABLE IF NOT EXISTS params (
	run_id TEXT NOT NULL REFERENCES runs(id), key TEXT NOT NULL, value TEXT,
	PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS stages (
	run_id TEXT NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL, kind TEXT NOT NULL,
	status TEXT NOT NULL, started_ns INTEGER, finished_ns INTEGER, metrics TEXT, planned_steps INTEGER,
	PRIMARY KEY (run_id, idx));
CREATE TABLE IF NOT EXISTS metrics (` + metricsColumns + `);
CREATE TABLE IF NOT EXISTS final_metrics (
	run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, value REAL,
	PRIMARY KEY (run_id, name));
CREATE TABLE IF NOT EXISTS files (
	run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, stage INTEGER NOT NULL,
	bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, time_ns INTEGER NOT NULL,
	PRIMARY KEY (run_id, name));
`

const metricsColumns = `
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id TEXT NOT NULL REFERENCES runs(id), stage INTEGER, step INTEGER, name TEXT NOT NULL,
	value REAL, time_ns INTEGER`

// indexes are created once the tables have their current columns.
const indexes = `
CREATE INDEX IF NOT EXISTS metrics_by_run ON metrics(run_id, name, step);
CREATE INDEX IF NOT EXISTS metrics_by_run_id ON metrics(run_id, id);
`

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// RunDir is where a run keeps its files (checkpoints, exports).
func (s *Store) RunDir(id string) string { return filepath.Join(s.dir, id) }

// CheckpointDir is where a run's GoMLX checkpoints go.
func (s *Store) CheckpointDir(id string) string { return filepath.Join(s.RunDir(id), "checkpoint") }

// NewID makes a run id that sorts by start time: 20261126-234501-3fa2.
func NewID(t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Create records a new running run; ID and Started are filled in when empty.
func (s *Store) Create(r *Run) error {
	if r.Started.IsZero() {
		r.Started = time.Now()
	}
	if r.ID == "" {
		r.ID = NewID(r.Started)
	}
	if r.Status == "" {
		r.Status = Running
	}
	if r.PID == 0 {
		r.PID = os.Getpid()
	}
	host, _ := os.Hostname()
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO runs(id,name,recipe_path,recipe,status,backend,started_ns,pid,host) VALUES(?,?,?,?,?,?,?,?,?)`,
		r.ID, r.Name, r.RecipePath, r.Recipe, string(r.Status), r.Backend, r.Started.UnixNano(), r.PID, host); err != nil {
		return fmt.Errorf("run store: create run: %w", err)
	}
	for k, v := range r.Params {
		if _, err := tx.Exec(`INSERT INTO params(run_id,key,value) VALUES(?,?,?)`, r.ID, k, v); err != nil {
			return fmt.Errorf("run store: params: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.reserve(r.ID)
	return nil
}

// KernelsParam is the run parameter that records the kernel path the run
// computed on (backend.Opened.Kernels: "compute SIMD (…AVX512)", "simplego
// scalar Go", …), so that a run's speed can be read next to it.
const KernelsParam = "backend.kernels"

// GroupParam is the run parameter that ties the runs of one recipe's
// variants (lathe run sets it, lathe compare and the dashboard read it).
const GroupParam = "group"

// Reopen marks a stopped, interrupted or failed run as running again in
// this process, to resume it, recording when and how long it had worked
// (Run.Resumed, Run.WorkedBefore); it returns the run as it was before,
// with those two set.
func (s *Store) Reopen(ref string) (*Run, error) {
	r, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	if r.Status == Running || r.Status == Finished {
		return nil, fmt.Errorf("run %s is %s: only a stopped, interrupted or failed run can resume", r.ID, r.Status)
	}
	if r.WorkedBefore, err = s.workedSoFar(r); err != nil {
		return nil, err
	}
	r.Resumed = time.Now()
	// Only if nobody took it meanwhile: the row still as it was read (an
	// interrupted run is stored as running, with its dead process's pid).
	stored := r.Status
	if stored == Interrupted {
		stored = Running
	}
	host, _ := os.Hostname()
	res, err := s.db.Exec(`UPDATE runs SET status=?, finished_ns=NULL, error=NULL, pid=?, host=?, resumed_ns=?, worked_s=?
		WHERE id=? AND status=? AND coalesce(pid,0)=?`,
		string(Running), os.Getpid(), host, r.Resumed.UnixNano(), r.WorkedBefore.Seconds(), r.ID, string(stored), r.PID)
	if err != nil {
		return nil, fmt.Errorf("run store: resume %s: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, fmt.Errorf("run %s is being resumed by another process", r.ID)
	}
	s.reserve(r.ID)
	return r, nil
}

// workedSoFar is how long a run that ended worked: the wall_s it recorded
// when it stopped or failed or, for a process that was killed, what it
// worked before its last resume and from then (or its start) to the last
// point it recorded.
func (s *Store) workedSoFar(r *Run) (time.Duration, error) {
	// A killed process recorded no wall_s: one there is from an earlier
	// stop, before the part the kill ended.
	if w, ok := r.Final["wall_s"]; ok && r.Status != Interrupted && w >= 0 && !math.IsInf(w, 0) {
		return time.Duration(w * float64(time.Second)), nil
	}
	var last sql.NullInt64
	if err := s.db.QueryRow(`SELECT MAX(time_ns) FROM metrics WHERE run_id=?`, r.ID).Scan(&last); err != nil {
		return 0, fmt.Errorf("run store: %w", err)
	}
	from := r.Started
	if !r.Resumed.IsZero() {
		from = r.Resumed
	}
	if !last.Valid || time.Unix(0, last.Int64).Before(from) {
		return r.WorkedBefore, nil
	}
	return r.WorkedBefore + time.Unix(0, last.Int64).Sub(from), nil
}

// TruncateMetrics drops a run's points after step: a resumed run redoes
// those steps and records them again. When it drops any, it counts a
// truncation of the run, so live readers (PointsSince) read its series
// again from the start.
func (s *Store) TruncateMetrics(id string, step int) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.Exec(`DELETE FROM metrics WHERE run_id=? AND step>?`, id, step)
	if err != nil {
		return fmt.Errorf("run store: truncate metrics: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		if _, err := tx.Exec(`UPDATE runs SET truncations=truncations+1 WHERE id=?`, id); err != nil {
			return fmt.Errorf("run store: truncate metrics: %w", err)
		}
	}
	return tx.Commit()
}

// SetPlannedSteps records how many steps stage idx will take.
func (s *Store) SetPlannedSteps(id string, idx, steps int) error {
	_, err := s.db.Exec(`UPDATE stages SET planned_steps=? WHERE run_id=? AND idx=?`, steps, id, idx)
	return err
}

// SetPlan records what the run will do (its runner knows once the data is
// loaded); it replaces an earlier plan.
func (s *Store) SetPlan(id string, p Plan) error {
	js, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("run store: plan: %w", err)
	}
	res, err := s.db.Exec(`UPDATE runs SET plan=? WHERE id=?`, string(js), id)
	if err != nil {
		return fmt.Errorf("run store: plan: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("run store: plan: %w: %q", ErrNotFound, id)
	}
	return nil
}

// SetBackend records the backend a run ended up on.
func (s *Store) SetBackend(id, backend string) error {
	_, err := s.db.Exec(`UPDATE runs SET backend=? WHERE id=?`, backend, id)
	return err
}

// StartStage records that stage idx of kind started, with the steps it
// plans (0: none, or not known yet; SetPlannedSteps can tell them later).
// A stage started again (a resumed run) keeps the steps planned before
// when plannedSteps is 0.
func (s *Store) StartStage(id string, idx int, kind string, plannedSteps int) error {
	var planned any
	if plannedSteps > 0 {
		planned = plannedSteps
	}
	_, err := s.db.Exec(`INSERT INTO stages(run_id,idx,kind,status,started_ns,planned_steps) VALUES(?,?,?,?,?,?)
		ON CONFLICT(run_id,idx) DO UPDATE SET kind=excluded.kind, status=excluded.status, started_ns=excluded.started_ns,
			finished_ns=NULL, metrics=NULL, planned_steps=coalesce(excluded.planned_steps, planned_steps)`,
		id, idx, kind, string(Running), time.Now().UnixNano(), planned)
	return err
}

// FinishStage records a stage's status and results.
func (s *Store) FinishStage(id string, idx int, status Status, metrics map[string]float64) error {
	js, err := json.Marshal(Metrics(metrics))
	if err != nil {
		return err
	}
	_, err = s.db.Exec(`UPDATE stages SET status=?, finished_ns=?, metrics=? WHERE run_id=? AND idx=?`,
		string(status), time.Now().UnixNano(), string(js), id, idx)
	return err
}

// AppendMetrics adds points to a run's series in one transaction.
func (s *Store) AppendMetrics(id string, points []Point) error {
	if len(points) == 0 {
		return nil
	}
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`INSERT INTO metrics(run_id,stage,step,name,value,time_ns) VALUES(?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range points {
		if _, err := stmt.Exec(id, p.Stage, p.Step, p.Name, sqlValue(p.Value), p.Time.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// sqlValue is how a metric value is stored: NaN as NULL (see schema).
func sqlValue(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// fromSQL reads a stored metric value back: NULL is NaN.
func fromSQL(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}

// Finish records the end of a run, its final metrics and, on failure, the error.
func (s *Store) Finish(id string, status Status, errMsg string, final map[string]float64) error {
	err := s.finish(id, status, errMsg, final)
	if s.release(id) && err != nil { // the disk was full: write again in the space freed
		err = s.finish(id, status, errMsg, final)
	}
	return err
}

func (s *Store) finish(id string, status Status, errMsg string, final map[string]float64) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE runs SET status=?, finished_ns=?, error=? WHERE id=?`,
		string(status), time.Now().UnixNano(), errMsg, id); err != nil {
		return err
	}
	// A stage still marked running ended with the run.
	if _, err := tx.Exec(`UPDATE stages SET status=?, finished_ns=? WHERE run_id=? AND status=?`,
		string(status), time.Now().UnixNano(), id, string(Running)); err != nil {
		return err
	}
	for k, v := range final {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO final_metrics(run_id,name,value) VALUES(?,?,?)`, id, k, sqlValue(v)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// List returns all runs, newest first, with params, plans, stages and
// final metrics. It reads each table once, whatever the number of runs.
func (s *Store) List() ([]*Run, error) {
	return s.read("")
}

// ErrNotFound is returned by Get when no run matches.
var ErrNotFound = errors.New("run not found")

// Get finds a run by id, unique id prefix, or name (the newest run of that name).
func (s *Store) Get(ref string) (*Run, error) {
	var ids []string
	rows, err := s.db.Query(`SELECT id FROM runs WHERE id=? OR id LIKE ? ESCAPE '\' OR name=? ORDER BY (id=?) DESC, started_ns DESC`,
		ref, escapeLike(ref)+"%", ref, ref)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	switch {
	case len(ids) == 0:
		return nil, fmt.Errorf("%w: %q (see lathe ls)", ErrNotFound, ref)
	case ids[0] == ref:
		return s.load(ref)
	}
	// Prefix matches are ambiguous unless one; a name picks its newest run.
	var prefixed []string
	for _, id := range ids {
		if strings.HasPrefix(id, ref) {
			prefixed = append(prefixed, id)
		}
	}
	if len(prefixed) > 1 {
		sort.Strings(prefixed)
		shown := prefixed
		if len(shown) > maxAmbiguousShown {
			shown = shown[:maxAmbiguousShown]
		}
		more := ""
		if n := len(prefixed) - len(shown); n > 0 {
			more = fmt.Sprintf(" and %d more", n)
		}
		return nil, fmt.Errorf("run %s is ambiguous: %d runs match (%s%s); give more of the id", quoteRef(ref), len(prefixed), strings.Join(shown, ", "), more)
	}
	return s.load(ids[0])
}

// maxAmbiguousShown is how many matching ids an ambiguous reference lists.
const maxAmbiguousShown = 3

// quoteRef quotes a run reference for an error, cut to a readable length.
func quoteRef(ref string) string {
	if len(ref) > 64 {
		return fmt.Sprintf("%q…", ref[:64])
	}
	return fmt.Sprintf("%q", ref)
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func (s *Store) load(id string) (*Run, error) {
	list, err := s.read(id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return list[0], nil
}

// read loads run id, or every run when id is "" (newest first): one query
// per table, in one read transaction so the tables agree.
func (s *Store) read(id string) ([]*Run, error) {
	tx, err := s.db.Begin()
	if err != nil {
		return nil, fmt.Errorf("run store: %w", err)
	}
	defer tx.Rollback()
	where, args := "", []any(nil)
	if id != "" {
		where, args = " WHERE run_id=?", []any{id}
	}

	var list []*Run
	byID := map[string]*Run{}
	q := `SELECT id,name,recipe_path,recipe,status,backend,started_ns,finished_ns,error,pid,host,plan,resumed_ns,worked_s FROM runs`
	if id != "" {
		q += ` WHERE id=?`
	}
	rows, err := tx.Query(q+` ORDER BY started_ns DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("run store: runs: %w", err)
	}
	for rows.Next() {
		r := &Run{Params: map[string]string{}, Final: Metrics{}}
		var started int64
		var finished, pid, resumed sql.NullInt64
		var worked sql.NullFloat64
		var recipePath, recipe, backend, errMsg, host, plan sql.NullString
		if err := rows.Scan(&r.ID, &r.Name, &recipePath, &recipe, &r.Status, &backend, &started, &finished, &errMsg, &pid, &host, &plan, &resumed, &worked); err != nil {
			rows.Close()
			return nil, fmt.Errorf("run store: runs: %w", err)
		}
		r.RecipePath, r.Recipe, r.Backend, r.Error = recipePath.String, recipe.String, backend.String, errMsg.String
		r.PID = int(pid.Int64)
		r.Host = host.String
		r.Started = time.Unix(0, started)
		if finished.Valid {
			r.Finished = time.Unix(0, finished.Int64)
		}
		if resumed.Valid {
			r.Resumed = time.Unix(0, resumed.Int64)
			r.WorkedBefore = time.Duration(worked.Float64 * float64(time.Second))
		}
		if r.Status == Running && !processAlive(r.PID, host.String) {
			r.Status = Interrupted
		}
		if plan.Valid && plan.String != "" {
			r.Plan = &Plan{}
			if err := json.Unmarshal([]byte(plan.String), r.Plan); err != nil {
				rows.Close()
				return nil, fmt.Errorf("run %s: plan: %w", r.ID, err)
			}
		}
		list = append(list, r)
		byID[r.ID] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run store: runs: %w", err)
	}
	if len(list) == 0 {
		return list, nil
	}

	rows, err = tx.Query(`SELECT run_id,key,value FROM params`+where, args...)
	if err != nil {
		return nil, fmt.Errorf("run store: params: %w", err)
	}
	for rows.Next() {
		var runID, k string
		var v sql.NullString
		if err := rows.Scan(&runID, &k, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("run store: params: %w", err)
		}
		if r := byID[runID]; r != nil {
			r.Params[k] = v.String
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run store: params: %w", err)
	}

	rows, err = tx.Query(`SELECT run_id,idx,kind,status,started_ns,finished_ns,metrics,planned_steps FROM stages`+where+` ORDER BY run_id, idx`, args...)
	if err != nil {
		return nil, fmt.Errorf("run store: stages: %w", err)
	}
	for rows.Next() {
		var runID string
		var st StageResult
		var sNs, fNs, planned sql.NullInt64
		var js sql.NullString
		if err := rows.Scan(&runID, &st.Index, &st.Kind, &st.Status, &sNs, &fNs, &js, &planned); err != nil {
			rows.Close()
			return nil, fmt.Errorf("run store: stages: %w", err)
		}
		r := byID[runID]
		if r == nil {
			continue
		}
		if sNs.Valid {
			st.Started = time.Unix(0, sNs.Int64)
		}
		if fNs.Valid {
			st.Finished = time.Unix(0, fNs.Int64)
		}
		st.PlannedSteps = int(planned.Int64)
		if st.Status == Running && r.Status == Interrupted {
			st.Status = Interrupted
		}
		st.Metrics = Metrics{}
		if js.Valid && js.String != "" {
			if err := json.Unmarshal([]byte(js.String), &st.Metrics); err != nil {
				rows.Close()
				return nil, fmt.Errorf("run %s stage %d: %w", runID, st.Index, err)
			}
		}
		r.Stages = append(r.Stages, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run store: stages: %w", err)
	}

	rows, err = tx.Query(`SELECT run_id,name,value FROM final_metrics`+where, args...)
	if err != nil {
		return nil, fmt.Errorf("run store: final metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var runID, k string
		var v sql.NullFloat64
		if err := rows.Scan(&runID, &k, &v); err != nil {
			return nil, fmt.Errorf("run store: final metrics: %w", err)
		}
		if r := byID[runID]; r != nil {
			r.Final[k] = fromSQL(v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run store: final metrics: %w", err)
	}
	if err := readFiles(tx, where, args, byID); err != nil {
		return nil, err
	}
	return list, nil
}

// Series returns a run's points of one metric in the order they were recorded.
func (s *Store) Series(id, name string) ([]Point, error) {
	rows, err := s.db.Query(`SELECT stage,step,name,value,time_ns FROM metrics WHERE run_id=? AND name=? ORDER BY id`, id, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pts []Point
	for rows.Next() {
		var p Point
		var ns int64
		var stage, step sql.NullInt64
		var v sql.NullFloat64
		if err := rows.Scan(&stage, &step, &p.Name, &v, &ns); err != nil {
			return nil, err
		}
		p.Stage, p.Step, p.Value, p.Time = int(stage.Int64), int(step.Int64), fromSQL(v), time.Unix(0, ns)
		pts = append(pts, p)
	}
	return pts, rows.Err()
}

// MetricNames lists the series a run has.
func (s *Store) MetricNames(id string) ([]string, error) {
	rows, err := s.db.Query(`SELECT DISTINCT name FROM metrics WHERE run_id=? ORDER BY name`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// processAlive reports whether the run's process still exists. Runs from
// another host cannot be checked and are taken at their word.
func processAlive(pid int, host string) bool {
	if me, _ := os.Hostname(); host != "" && host != me {
		return true
	}
	if pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

package runs

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// This file holds the read queries a live view needs (the dashboard polls
// them about once a second while runs write): a cheap change check, how far
// runs have got, and a run's new metric points since the last poll.

// Version summarizes everything a reader can see in the store. It changes
// whenever a run is created, records its plan or finishes, a stage starts
// or finishes, or metric points are written or dropped, so a poller can skip reloading when it is
// unchanged. (A run whose process dies is not a write: pollers that show
// running runs must reload them anyway to notice it.)
type Version struct {
	Runs, Stages, FinalMetrics int64
	RunsSum, StagesSum         int64 // folds of finish times, statuses, backends and plans
	LastPoint                  int64 // id of the newest metric point
	Truncations                int64 // times runs' points were dropped (TruncateMetrics)
}

// Version returns the store's current Version.
func (s *Store) Version() (Version, error) {
	var v Version
	if err := s.refreshImmutable(); err != nil {
		return v, fmt.Errorf("run store: %w", err)
	}
	err := s.db.QueryRow(`SELECT
		(SELECT count(*) FROM runs),
		(SELECT coalesce(sum(coalesce(finished_ns,0) % 1000000007 + length(status) + length(coalesce(backend,'')) + length(coalesce(plan,''))),0) FROM runs),
		(SELECT count(*) FROM stages),
		(SELECT coalesce(sum(coalesce(finished_ns,0) % 1000000007 + length(status) + coalesce(planned_steps,0)),0) FROM stages),
		(SELECT count(*) FROM final_metrics),
		(SELECT coalesce(max(id),0) FROM metrics),
		(SELECT coalesce(sum(truncations),0) FROM runs)`).
		Scan(&v.Runs, &v.RunsSum, &v.Stages, &v.StagesSum, &v.FinalMetrics, &v.LastPoint, &v.Truncations)
	if err != nil {
		return Version{}, fmt.Errorf("run store: version: %w", err)
	}
	return v, nil
}

// Progress is how far a run has got, read from its metric series: the
// stage table says which stage runs, this says where in it.
type Progress struct {
	RunID  string
	Step   int // highest global step recorded so far
	Points int // metric points recorded
	// BestValidationAccuracy is the highest validation_accuracy recorded;
	// valid when HasValidationAccuracy.
	BestValidationAccuracy float64
	HasValidationAccuracy  bool
	Stages                 []StageProgress // by stage index; only stages with points
}

// StageProgress is one stage's share of a run's metric points.
type StageProgress struct {
	Stage               int
	FirstStep, LastStep int
	FirstTime, LastTime time.Time
	// FirstEpochStep is the global step at which the stage's first epoch
	// ended (its first epoch_s point), 0 before then: with the step before
	// the stage it gives the steps per epoch.
	FirstEpochStep int
	Epochs         int // epochs ended in this stage
}

// Stage returns the progress of stage idx, if it has points.
func (p *Progress) Stage(idx int) (StageProgress, bool) {
	for _, st := range p.Stages {
		if st.Stage == idx {
			return st, true
		}
	}
	return StageProgress{}, false
}

// Progress returns the progress of the given runs (all runs when ids is
// empty), keyed by run id. Runs without metric points are absent.
func (s *Store) Progress(ids ...string) (map[string]*Progress, error) {
	q := `SELECT run_id, stage, min(step), max(step), min(time_ns), max(time_ns),
		min(CASE WHEN name='epoch_s' THEN step END), sum(name='epoch_s'),
		max(CASE WHEN name='validation_accuracy' THEN value END), count(*)
		FROM metrics`
	args := make([]any, len(ids))
	if len(ids) > 0 {
		q += ` WHERE run_id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
		for i, id := range ids {
			args[i] = id
		}
	}
	q += ` GROUP BY run_id, stage`
	rows, err := s.db.Query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("run store: progress: %w", err)
	}
	defer rows.Close()
	out := map[string]*Progress{}
	for rows.Next() {
		var (
			id                 string
			st                 StageProgress
			firstNs, lastNs    int64
			firstEpoch         sql.NullInt64
			epochs             sql.NullInt64
			bestValAcc         sql.NullFloat64
			points             int
			stage, first, last sql.NullInt64
		)
		if err := rows.Scan(&id, &stage, &first, &last, &firstNs, &lastNs, &firstEpoch, &epochs, &bestValAcc, &points); err != nil {
			return nil, fmt.Errorf("run store: progress: %w", err)
		}
		st.Stage, st.FirstStep, st.LastStep = int(stage.Int64), int(first.Int64), int(last.Int64)
		st.FirstTime, st.LastTime = time.Unix(0, firstNs), time.Unix(0, lastNs)
		st.FirstEpochStep, st.Epochs = int(firstEpoch.Int64), int(epochs.Int64)
		p := out[id]
		if p == nil {
			p = &Progress{RunID: id}
			out[id] = p
		}
		p.Stages = append(p.Stages, st)
		p.Step = max(p.Step, st.LastStep)
		p.Points += points
		if bestValAcc.Valid && (!p.HasValidationAccuracy || bestValAcc.Float64 > p.BestValidationAccuracy) {
			p.BestValidationAccuracy, p.HasValidationAccuracy = bestValAcc.Float64, true
		}
	}
	for _, p := range out {
		sort.Slice(p.Stages, func(i, j int) bool { return p.Stages[i].Stage < p.Stages[j].Stage })
	}
	return out, rows.Err()
}

// Cursor is where a live reader of one run's series stands: the id of
// the last point it read, and how many times the run's points had been
// dropped (a resumed run redoes steps: TruncateMetrics) when it read them.
// The zero Cursor is the start.
type Cursor struct {
	Row         int64
	Truncations int64
}

// PointsSince returns up to limit of a run's metric points recorded after
// cursor from, in the order they were recorded, and the cursor to pass
// next time (from itself when there is nothing new). A live chart reads a
// growing run this way without reading it all again.
//
// When the run's points were dropped since from was returned, the read
// starts over from the run's first point and the returned cursor's
// Truncations differs from from's: the caller must then forget the points
// it holds for the run before adding these.
func (s *Store) PointsSince(id string, from Cursor, limit int) ([]Point, Cursor, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	fail := func(err error) ([]Point, Cursor, error) {
		return nil, from, fmt.Errorf("run store: points of %s: %w", id, err)
	}
	// One read transaction: the count and the points agree (TruncateMetrics
	// drops points and counts in one transaction).
	tx, err := s.db.Begin()
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	next := from
	if err := tx.QueryRow(`SELECT truncations FROM runs WHERE id=?`, id).Scan(&next.Truncations); err != nil && err != sql.ErrNoRows {
		return fail(err)
	}
	if next.Truncations != from.Truncations {
		next.Row = 0
	}
	rows, err := tx.Query(`SELECT id, stage, step, name, value, time_ns FROM metrics
		WHERE run_id=? AND id>? ORDER BY id LIMIT ?`, id, next.Row, limit)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var pts []Point
	for rows.Next() {
		var p Point
		var ns int64
		var stage, step sql.NullInt64
		var value sql.NullFloat64
		if err := rows.Scan(&next.Row, &stage, &step, &p.Name, &value, &ns); err != nil {
			return fail(err)
		}
		p.Stage, p.Step, p.Value, p.Time = int(stage.Int64), int(step.Int64), fromSQL(value), time.Unix(0, ns)
		pts = append(pts, p)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return pts, next, nil
}

// Host is the name of the machine a run was started on ("" if unknown): a
// process id means something only there.
func (s *Store) Host(id string) (string, error) {
	var host sql.NullString
	if err := s.db.QueryRow(`SELECT host FROM runs WHERE id=?`, id).Scan(&host); err != nil {
		if err == sql.ErrNoRows {
			return "", fmt.Errorf("%w: %q", ErrNotFound, id)
		}
		return "", fmt.Errorf("run store: host of %s: %w", id, err)
	}
	return host.String, nil
}

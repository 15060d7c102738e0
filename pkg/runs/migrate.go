package runs

import (
	"context"
	"database/sql"
	"fmt"
)

// Bringing a store made by an older Lathe up to date (see prepare, which
// runs this in its write transaction once the database is known to be
// Lathe's). Missing tables are created with CREATE TABLE IF NOT EXISTS;
// what an existing table lacks is added here: columns with ALTER TABLE,
// and the metric points' id (an AUTOINCREMENT key) by rebuilding the table.

// addedColumns are the columns added to existing tables since the first
// stores, with their definitions.
var addedColumns = []struct{ table, column, def string }{
	{"stages", "planned_steps", "INTEGER"},
	{"runs", "plan", "TEXT"},
	{"runs", "truncations", "INTEGER NOT NULL DEFAULT 0"},
	// Schema 2: when a run was resumed and how long it had worked.
	{"runs", "resumed_ns", "INTEGER"},
	{"runs", "worked_s", "REAL"},
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// columns lists a table's columns (PRAGMA table_info).
func columns(ctx context.Context, q queryer, table string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		cols[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s is missing", table)
	}
	return cols, nil
}

// migrations returns the statements that bring the store up to date.
func migrations(ctx context.Context, q queryer) ([]string, error) {
	var todo []string
	have := map[string]map[string]bool{}
	for _, c := range addedColumns {
		if have[c.table] == nil {
			cols, err := columns(ctx, q, c.table)
			if err != nil {
				return nil, err
			}
			have[c.table] = cols
		}
		if !have[c.table][c.column] {
			todo = append(todo, fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s %s`, c.table, c.column, c.def))
		}
	}
	cols, err := columns(ctx, q, "metrics")
	if err != nil {
		return nil, err
	}
	if !cols["id"] {
		// Points keep their order: the old rowid becomes the id, and the
		// AUTOINCREMENT sequence starts after the largest.
		todo = append(todo,
			`DROP TABLE IF EXISTS metrics_migrating`,
			`CREATE TABLE metrics_migrating (`+metricsColumns+`)`,
			`INSERT INTO metrics_migrating(id, run_id, stage, step, name, value, time_ns)
				SELECT rowid, run_id, stage, step, name, value, time_ns FROM metrics ORDER BY rowid`,
			`DROP TABLE metrics`,
			`ALTER TABLE metrics_migrating RENAME TO metrics`)
	}
	return todo, nil
}

// migrate brings the tables of a store made by an older Lathe up to date,
// inside prepare's write transaction.
func migrate(ctx context.Context, conn *sql.Conn) error {
	todo, err := migrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	for _, stmt := range todo {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrating (%s): %w", FirstLine(stmt), err)
		}
	}
	return nil
}

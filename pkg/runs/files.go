package runs

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File is a file a run wrote into its folder (a model file, a report), as
// the stage that wrote it left it: what `lathe show` lists and what
// `lathe export -o` will not overwrite.
type File struct {
	Name   string    `json:"name"` // in the run's folder
	Stage  int       `json:"stage"`
	Bytes  int64     `json:"bytes"`
	SHA256 string    `json:"sha256"`
	Time   time.Time `json:"time"`
}

// RecordFile records a file that stage idx of run id wrote into the run's
// folder, with its size and checksum read from the disk now; recording a
// name again (a resumed run's stage wrote it again) replaces the entry.
func (s *Store) RecordFile(id string, idx int, name string) error {
	f, err := os.Open(filepath.Join(s.RunDir(id), name))
	if err != nil {
		return fmt.Errorf("run store: recording %s: %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("run store: recording %s: %w", name, err)
	}
	_, err = s.db.Exec(`INSERT OR REPLACE INTO files (run_id, name, stage, bytes, sha256, time_ns) VALUES (?,?,?,?,?,?)`,
		id, name, idx, n, hex.EncodeToString(h.Sum(nil)), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("run store: recording %s: %w", name, err)
	}
	return nil
}

// readFiles fills the runs' Files from the files table.
func readFiles(tx *sql.Tx, where string, args []any, byID map[string]*Run) error {
	rows, err := tx.Query(`SELECT run_id,name,stage,bytes,sha256,time_ns FROM files`+where+` ORDER BY run_id, stage, name`, args...)
	if err != nil {
		return fmt.Errorf("run store: files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var runID string
		var f File
		var ns int64
		if err := rows.Scan(&runID, &f.Name, &f.Stage, &f.Bytes, &f.SHA256, &ns); err != nil {
			return fmt.Errorf("run store: files: %w", err)
		}
		f.Time = time.Unix(0, ns)
		if r := byID[runID]; r != nil {
			r.Files = append(r.Files, f)
		}
	}
	return rows.Err()
}

// Guarded says why path must not be overwritten by a command writing a
// file for run id (`lathe export -o`): the store's database or its
// journal, anything in a run's checkpoint folder, anything in another
// run's folder, or a file a stage of run id wrote (its manifest). ""
// when none of these.
func (s *Store) Guarded(path, id string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	dir, err := filepath.Abs(s.dir)
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		dir = resolved
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", nil // outside the store
	}
	parts := strings.Split(rel, string(filepath.Separator))
	switch {
	case len(parts) == 1 && strings.HasPrefix(parts[0], dbFile):
		return fmt.Sprintf("%s is the run store's database", path), nil
	case len(parts) >= 2 && parts[1] == "checkpoint":
		return fmt.Sprintf("%s is in run %s's checkpoints", path, parts[0]), nil
	case len(parts) >= 2 && parts[0] != id:
		return fmt.Sprintf("%s is in run %s's folder", path, parts[0]), nil
	case len(parts) == 2:
		var stage int
		err := s.db.QueryRow(`SELECT stage FROM files WHERE run_id=? AND name=?`, id, parts[1]).Scan(&stage)
		switch {
		case err == nil:
			return fmt.Sprintf("stage %d of run %s wrote %s", stage+1, id, path), nil
		case !errors.Is(err, sql.ErrNoRows):
			return "", fmt.Errorf("run store: files: %w", err)
		}
	}
	return "", nil
}

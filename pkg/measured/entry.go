// Package measured keeps the figures Lathe's documents quote. Each
// measurement — a run from the store, a benchmark's JSON — is saved as an
// Entry: a small JSON file committed beside the docs that says what was
// measured, by which command, on which machine and when, with every value
// both exact and as printed. docs/results.md is rendered from those files
// (Render), so no figure in it is typed by hand, and a test checks that
// the README quotes only figures the rendered page holds.
//
// The files are made by `lathe results add` and the page by
// `lathe results render`; scripts/results.sh runs every measurement and
// both.
//
// Example:
//
//	entries, err := measured.ReadDir("docs/results")
//	if err != nil {
//		return err
//	}
//	measured.Render(os.Stdout, entries)
package measured

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// Entry is one measurement: a table of rows (runs, or a benchmark's
// configurations) by columns (results), with what measured it.
type Entry struct {
	// Title heads the entry's section ("Unstructured pruning").
	Title string `json:"title"`
	// About says what was measured (a recipe's description).
	About string `json:"about,omitempty"`
	// Command is what to type to measure it again.
	Command string `json:"command"`
	// Date is the day it was measured, YYYY-MM-DD.
	Date string `json:"date"`
	// Machine is the CPU and cores (runs.Machine) and, for runs, the
	// kernel path they computed on.
	Machine string   `json:"machine"`
	Columns []Column `json:"columns"`
	Rows    []Row    `json:"rows"`
	// Source is the file it was read from (not stored).
	Source string `json:"-"`
}

// Column is a result shown as a column: its name in the rows' values and
// the title printed above it.
type Column struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

// Row is one run or benchmark configuration: its values, exact (NaN and
// ±Inf included), and the same values as printed.
type Row struct {
	Label  string            `json:"label"`
	Values runs.Metrics      `json:"values"`
	Cells  map[string]string `json:"cells"`
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Check says what an entry lacks, naming the first missing thing.
func (e *Entry) Check() error {
	switch {
	case e.Title == "":
		return errors.New("title is missing")
	case e.Command == "":
		return errors.New("command is missing")
	case !datePattern.MatchString(e.Date):
		return fmt.Errorf("date %q is not YYYY-MM-DD", e.Date)
	case e.Machine == "":
		return errors.New("machine is missing: a figure without its CPU cannot be compared")
	case len(e.Columns) == 0:
		return errors.New("no columns")
	case len(e.Rows) == 0:
		return errors.New("no rows")
	}
	names := map[string]bool{}
	for i, c := range e.Columns {
		if c.Name == "" || c.Title == "" {
			return fmt.Errorf("column %d needs a name and a title", i+1)
		}
		names[c.Name] = true
	}
	for i, r := range e.Rows {
		if r.Label == "" {
			return fmt.Errorf("row %d has no label", i+1)
		}
		for name := range r.Cells {
			if !names[name] {
				return fmt.Errorf("row %q: cell %q is not a column", r.Label, name)
			}
		}
	}
	return nil
}

// Read reads an entry file; its errors are one line naming the file.
func Read(path string) (*Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	e, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	e.Source = path
	return e, nil
}

// Parse decodes and checks an entry.
func Parse(data []byte) (*Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e Entry
	if err := dec.Decode(&e); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("byte %d: %v", syn.Offset, err)
		}
		return nil, err
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	return &e, nil
}

// ReadDir reads every *.json entry in dir, in file-name order (name the
// files 10-….json, 20-….json to order the page).
func ReadDir(dir string) ([]*Entry, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no entries (*.json)", dir)
	}
	slices.Sort(paths)
	var entries []*Entry
	for _, p := range paths {
		e, err := Read(p)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// Write saves the entry as indented JSON, atomically: a failed write
// leaves the old file as it was.
func (e *Entry) Write(path string) error {
	if err := e.Check(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(data, '\n'))
}

// writeAtomic writes a file through a temporary one beside it, so that a
// failed write leaves the old file whole.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".measured-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

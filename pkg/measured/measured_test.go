package measured

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/runs"
)

func sample() *Entry {
	return &Entry{
		Title: "Pruning", About: "LeNet-5 on MNIST", Command: "lathe run recipes/p.yaml", Date: "2026-12-07",
		Machine: "AMD EPYC, 2 cores",
		Columns: []Column{{Name: "test_accuracy", Title: "test accuracy"}, {Name: "loss", Title: "loss"}},
		Rows: []Row{
			{Label: "pruned", Values: runs.Metrics{"test_accuracy": 0.9849, "loss": math.NaN()},
				Cells: map[string]string{"test_accuracy": "98.49%", "loss": "NaN"}},
			{Label: "dense | wide", Values: runs.Metrics{"test_accuracy": 0.9872},
				Cells: map[string]string{"test_accuracy": "98.72%"}},
		},
	}
}

// TestRenderWritesEachEntry compares the page with the markdown written
// out by hand: command, date and machine beside the table, a missing
// cell as a dash, a "|" in a label escaped.
func TestRenderWritesEachEntry(t *testing.T) {
	var b strings.Builder
	if err := Render(&b, []*Entry{sample()}); err != nil {
		t.Fatal(err)
	}
	want := "\n## Pruning\n\nLeNet-5 on MNIST\n\n" +
		"- command: `lathe run recipes/p.yaml`\n- measured: 2026-12-07 on AMD EPYC, 2 cores\n\n" +
		"|  | test accuracy | loss |\n|---|---|---|\n" +
		"| pruned | 98.49% | NaN |\n" +
		"| dense \\| wide | 98.72% | – |\n"
	got := b.String()
	if !strings.HasPrefix(got, "# Results") || !strings.HasSuffix(got, want) {
		t.Errorf("page:\n%s\nwant it to end with:\n%s", got, want)
	}
}

// TestWriteThenReadKeepsNonFiniteValues: NaN and ±Inf are data; JSON has
// no such numbers, and the file must still hold them exactly.
func TestWriteThenReadKeepsNonFiniteValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.json")
	e := sample()
	e.Rows[1].Values["loss"] = math.Inf(1)
	if err := e.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Rows[0].Values["loss"]; !math.IsNaN(v) {
		t.Errorf("NaN came back as %v", v)
	}
	if v := got.Rows[1].Values["loss"]; !math.IsInf(v, 1) {
		t.Errorf("+Inf came back as %v", v)
	}
	if got.Rows[0].Values["test_accuracy"] != 0.9849 || got.Source != path {
		t.Errorf("read %+v", got)
	}
}

// TestBadEntriesAreOneLineErrors: each names the file and what is wrong,
// and a failed write leaves the old file whole.
func TestBadEntriesAreOneLineErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ text, want string }{
		"syntax":  {`{"title": "x",`, "e.json: "},
		"unknown": {`{"title": "x", "command": "c", "date": "2026-12-07", "machine": "m", "colums": []}`, `unknown field "colums"`},
		"machine": {`{"title": "x", "command": "c", "date": "2026-12-07", "columns": [{"name": "a", "title": "a"}], "rows": [{"label": "r"}]}`, "machine is missing"},
		"date":    {`{"title": "x", "command": "c", "date": "7 Dec", "machine": "m"}`, `date "7 Dec" is not YYYY-MM-DD`},
		"cell": {`{"title": "x", "command": "c", "date": "2026-12-07", "machine": "m", "columns": [{"name": "a", "title": "a"}],
			"rows": [{"label": "r", "cells": {"b": "1"}}]}`, `cell "b" is not a column`},
	}
	for name, c := range cases {
		path := filepath.Join(dir, "e.json")
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line naming %s and %q", name, err, path, c.want)
		}
	}
	path := filepath.Join(dir, "good.json")
	if err := sample().Write(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	bad := sample()
	bad.Machine = ""
	if err := bad.Write(path); err == nil {
		t.Fatal("an entry without a machine was written")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused write changed the file")
	}
	if _, err := ReadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no entries") {
		t.Errorf("empty folder: %v", err)
	}
}

// FuzzParse: any bytes give an entry or an error, never a panic, and an
// entry that parses renders.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("../../docs/results/*.json")
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"title":"t","command":"c","date":"2026-01-01","machine":"m","columns":[{"name":"a","title":"A"}],"rows":[{"label":"r","values":{"a":"NaN"},"cells":{"a":"NaN"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			return
		}
		var b strings.Builder
		if err := Render(&b, []*Entry{e}); err != nil {
			t.Fatal(err)
		}
	})
}

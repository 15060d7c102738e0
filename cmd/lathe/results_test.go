package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResultsFromRunsAndBenchmarks saves stored runs and a benchmark's
// JSON as entries and renders the page: each row's values are the runs'
// own (read back with lathe ls), the --versus row their difference in
// points, and every figure of the page comes from an entry.
func TestResultsFromRunsAndBenchmarks(t *testing.T) {
	dir := t.TempDir()
	src := "name: duo\nbackend: go\ndescription: two optimizers on blobs\ndata: {dataset: blobs, batch_size: 32, train_size: 300, test_size: 100}\n" +
		"model: {arch: mlp, hidden: [8]}\nstages:\n  - train: {epochs: 2}\n  - evaluate: {split: test}\n" +
		"variants:\n  - {name: sgd, optimizer: {name: sgd, learning_rate: 0.1, momentum: 0.9}}\n  - {name: lion, optimizer: lion}\n"
	if err := os.WriteFile(filepath.Join(dir, "duo.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runLathe(t, dir, "run", "duo.yaml"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	var listed []struct {
		Name  string             `json:"name"`
		Final map[string]float64 `json:"final_metrics"`
	}
	ls := runLathe(t, dir, "ls", "--json")
	if err := json.Unmarshal([]byte(ls.stdout), &listed); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, ls.stdout)
	}
	acc := map[string]float64{}
	for _, r := range listed {
		acc[r.Name] = r.Final["test_accuracy"]
	}
	entries := filepath.Join(dir, "results")
	os.Mkdir(entries, 0o755)
	r := runLathe(t, dir, "results", "add", "duo/sgd", "duo/lion", "--show", "test_accuracy,params:int", "--versus", "sgd,lion",
		"--title", "Two optimizers", "--to", filepath.Join(entries, "10-duo.json"))
	if r.code != 0 {
		t.Fatalf("results add: exit %d\n%s", r.code, r.stderr)
	}
	var e struct {
		Command, Machine, About, Date string
		Rows                          []struct {
			Label  string
			Values map[string]float64
			Cells  map[string]string
		}
	}
	data, _ := os.ReadFile(filepath.Join(entries, "10-duo.json"))
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	if e.Command != "lathe run duo.yaml" || !strings.Contains(e.Machine, "cores") || e.About != "two optimizers on blobs" || len(e.Date) != 10 || len(e.Rows) != 3 {
		t.Fatalf("entry: %s", data)
	}
	sgd, lion, versus := e.Rows[0], e.Rows[1], e.Rows[2]
	if sgd.Label != "sgd" || sgd.Values["test_accuracy"] != acc["duo/sgd"] || lion.Values["test_accuracy"] != acc["duo/lion"] {
		t.Errorf("rows %+v %+v, want the runs' accuracies %v", sgd, lion, acc)
	}
	// MLP 2-8-4 on blobs' four classes: 2·8+8 + 8·4+4 = 60 parameters.
	if sgd.Cells["params"] != "60" {
		t.Errorf("params cell %q, want 60", sgd.Cells["params"])
	}
	if want := 100 * (acc["duo/sgd"] - acc["duo/lion"]); versus.Label != "sgd against lion" || versus.Values["test_accuracy"] != want ||
		!strings.HasSuffix(versus.Cells["test_accuracy"], " pp") {
		t.Errorf("versus row %+v, want %.2f pp", versus, want)
	}

	bench := filepath.Join(dir, "bench.json")
	os.WriteFile(bench, []byte(`{"model":"mlp","batch":128,"machine":"AMD EPYC, 2 cores","date":"2026-12-07","lathe_ms":2.6612,"torch_ms":12.37,"lathe_over_torch":0.21513}
{"model":"lenet5","batch":128,"machine":"AMD EPYC, 2 cores","date":"2026-12-07","lathe_ms":15.6,"torch_ms":9.39,"lathe_over_torch":1.661}
`), 0o644)
	r = runLathe(t, dir, "results", "add", "--bench", bench, "--show", "lathe_ms:ms,torch_ms:ms,lathe_over_torch:times",
		"--title", "Training", "--to", filepath.Join(entries, "20-train.json"))
	if r.code != 0 {
		t.Fatalf("results add --bench: exit %d\n%s", r.code, r.stderr)
	}
	page := runLathe(t, dir, "results", "render", entries)
	for _, want := range []string{"## Two optimizers", "## Training", "| mlp, batch 128 | 2.66 ms | 12.4 ms | 0.22× |",
		"| lenet5, batch 128 | 15.6 ms | 9.39 ms | 1.66× |", "- command: `lathe run duo.yaml`"} {
		if !strings.Contains(page.stdout, want) {
			t.Errorf("page lacks %q:\n%s", want, page.stdout)
		}
	}

	// Bad input: one line naming the file or the missing thing, nothing written.
	os.WriteFile(bench, []byte(`{"model":"mlp","batch":1,"lathe_ms":1}`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"results", "add", "--bench", bench, "--title", "T", "--to", filepath.Join(entries, "30.json")}, bench + ": object 1 has no machine or date"},
		{[]string{"results", "add", "duo/sgd", "--title", "T"}, "--to FILE is missing"},
		{[]string{"results", "add", "duo/sgd", "--title", "T", "--show", "test_accuracy:pct", "--to", "x.json"}, `format "pct" is not one of`},
		{[]string{"results", "add", "nosuch", "--title", "T", "--to", "x.json"}, `"nosuch"`},
		{[]string{"results", "add", "duo/sgd", "--title", "T", "--versus", "sgd,adam", "--to", "x.json"}, `no row "adam"`},
	} {
		r := runLathe(t, dir, c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(entries, "30.json")); err == nil {
		t.Error("a refused entry was written")
	}
}

// TestResultsMeanOverSeeds: `run --seeds` runs each variant once per
// seed; `results add --mean` makes one row per variant whose value is the
// mean of the runs' own (read back with lathe ls), with their range.
func TestResultsMeanOverSeeds(t *testing.T) {
	dir := t.TempDir()
	src := "name: duo\nbackend: go\ndata: {dataset: blobs, batch_size: 32, train_size: 300, test_size: 100}\n" +
		"model: {arch: mlp, hidden: [8]}\nstages:\n  - train: {epochs: 1}\n  - evaluate: {split: test}\n" +
		"variants:\n  - {name: sgd, optimizer: {name: sgd, learning_rate: 0.1}}\n  - {name: adam, optimizer: adam}\n"
	os.WriteFile(filepath.Join(dir, "duo.yaml"), []byte(src), 0o644)
	if r := runLathe(t, dir, "run", "duo.yaml", "--seeds", "1,2,3"); r.code != 0 {
		t.Fatalf("run --seeds: exit %d\n%s", r.code, r.stderr)
	}
	var listed []struct {
		Name  string             `json:"name"`
		Final map[string]float64 `json:"final_metrics"`
	}
	json.Unmarshal([]byte(runLathe(t, dir, "ls", "--json").stdout), &listed)
	sum, lo, hi, n := 0.0, 2.0, -1.0, 0
	for _, r := range listed {
		if strings.HasPrefix(r.Name, "duo/sgd/seed") {
			v := r.Final["test_loss"]
			sum, lo, hi, n = sum+v, min(lo, v), max(hi, v), n+1
		}
	}
	if len(listed) != 6 || n != 3 {
		t.Fatalf("%d runs, %d of sgd; want 6 and 3", len(listed), n)
	}
	to := filepath.Join(dir, "mean.json")
	if r := runLathe(t, dir, "results", "add", "duo", "--mean", "--show", "test_loss:plain", "--title", "T", "--to", to); r.code != 0 {
		t.Fatalf("results add --mean: exit %d\n%s", r.code, r.stderr)
	}
	var e struct {
		Rows []struct {
			Label  string
			Values map[string]float64
			Cells  map[string]string
		}
	}
	data, _ := os.ReadFile(to)
	json.Unmarshal(data, &e)
	if len(e.Rows) != 2 || e.Rows[0].Label != "sgd" || e.Rows[1].Label != "adam" {
		t.Fatalf("rows %s", data)
	}
	sgd := e.Rows[0]
	if math.Abs(sgd.Values["test_loss"]-sum/3) > 1e-12 || sgd.Values["test_loss min"] != lo || sgd.Values["test_loss max"] != hi || sgd.Cells["seeds"] != "3" {
		t.Errorf("sgd row %+v, want mean %g of 3, range %g to %g", sgd, sum/3, lo, hi)
	}
	if !strings.Contains(sgd.Cells["test_loss"], " to ") {
		t.Errorf("cell %q does not give the range", sgd.Cells["test_loss"])
	}
}

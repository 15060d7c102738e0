package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lathe is the binary under test, built once for all CLI tests.
var lathe string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lathe-cli")
	if err != nil {
		panic(err)
	}
	lathe = filepath.Join(dir, "lathe")
	if out, err := exec.Command("go", "build", "-o", lathe, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func runLathe(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(lathe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=", "LATHE_RUNS=")
	return runCommand(t, cmd)
}

// runCommand runs cmd to its end and returns its output and exit code.
func runCommand(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

// TestBadInputAsANewUserWould: each mistake is one line on stderr naming the
// file and position (or the missing path), a non-zero exit, and no store
// written for a recipe that never started.
func TestBadInputAsANewUserWould(t *testing.T) {
	dir := t.TempDir()
	good := "name: t\nbackend: go\ndata: {dataset: blobs, batch_size: 32, train_size: 300, test_size: 100}\n" +
		"model: {arch: mlp, hidden: [8]}\nstages:\n  - train: {epochs: 1}\n  - evaluate: {split: test}\n"
	cases := []struct {
		name, recipe, want string
		failedRun          bool // the run started, so a failed-run record exists
	}{
		{"typo in a key", strings.Replace(good, "epochs:", "epoch:", 1), `typo.yaml:6:13: unknown key "epoch"`, false},
		{"wrong type", strings.Replace(good, "batch_size: 32", "batch_size: many", 1), "wrong.yaml:3:36: data.batch_size must be an integer", false},
		{"unknown stage", strings.Replace(good, "- evaluate:", "- teleport:", 1), `unknown.yaml:7:5: unknown stage "teleport"`, false},
		{"missing dataset", strings.Replace(good, "dataset: blobs,", "dataset: cifar10, dir: /nonexistent/cifar,", 1), "/nonexistent/cifar", false},
		// Files that are there but corrupt are found by loading them, which
		// the runner does before it records the run.
		{"corrupt dataset", strings.Replace(good, "dataset: blobs,", "dataset: mnist, dir: garbage,", 1), "train-images-idx3-ubyte", false},
		// Issue 10: found before a run is recorded, with the position.
		{"batch larger than the data", strings.Replace(good, "batch_size: 32", "batch_size: 100000", 1), "batch.yaml:3:36: data.batch_size 100000 is larger than the 270 training examples", false},
		{"validation as large as the data", strings.Replace(good, "batch_size: 32,", "batch_size: 32, validation: 300,", 1), "valid.yaml:3:52: data.validation 300 holds out all 300", false},
		{"fp16 on the simplego backend", strings.Replace(strings.Replace(good, "epochs: 1}", "epochs: 1, precision: fp16}", 1), "backend: go", "backend: simplego", 1),
			"fp16.yaml:6:5: stage 1 (train): precision fp16: the go backend has no float16", false},
		{"more devices than there are", strings.Replace(good, "epochs: 1}", "epochs: 1, devices: 4}", 1), "devices.yaml:6:5: stage 1 (train): devices: 4 requested, the go backend has 1", false},
		{"momentum on adam", strings.Replace(good, "epochs: 1}", "epochs: 1, optimizer: {name: adam, momentum: 0.9}}", 1), "momentum.yaml:6:48: momentum does not apply to the adam optimizer", false},
		{"deep nesting", "name: d\nseed: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "nesting.yaml: the recipe is more than 65536 bytes", false},
		{"random bytes", "\x7fELF\x02\x01\x01\x00\x00\xff\xfe garbage", "bytes.yaml:1:1: control byte 0x7f", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := strings.Fields(c.want)[0]
			file = strings.SplitN(file, ":", 2)[0]
			if !strings.HasSuffix(file, ".yaml") {
				file = "missing.yaml"
			}
			work := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			os.MkdirAll(work, 0o755)
			for _, f := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
				os.MkdirAll(filepath.Join(work, "garbage"), 0o755)
				os.WriteFile(filepath.Join(work, "garbage", f), []byte("not an IDX file"), 0o644)
			}
			if err := os.WriteFile(filepath.Join(work, file), []byte(c.recipe), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runLathe(t, work, "run", file)
			if r.code == 0 {
				t.Fatalf("exit 0; stderr %q", r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "lathe: ") || !strings.Contains(last, c.want) {
				t.Errorf("last stderr line %q, want it to contain %q", last, c.want)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("stack trace reached the user: %s", r.stderr)
			}
			ls := runLathe(t, work, "ls", "--json")
			var list []map[string]any
			if err := json.Unmarshal([]byte(ls.stdout), &list); err != nil {
				t.Fatalf("ls --json: %v (%q)", err, ls.stdout)
			}
			switch {
			case c.failedRun && (len(list) != 1 || list[0]["status"] != "failed"):
				t.Errorf("want one failed run recorded, got %v", list)
			case !c.failedRun && len(list) != 0:
				t.Errorf("a recipe that did not parse left runs: %v", list)
			case !c.failedRun && c.name != "corrupt dataset": // that one opens the store, and records nothing in it
				if _, err := os.Stat(filepath.Join(work, "runs")); err == nil {
					t.Errorf("a recipe that did not parse created the run store")
				}
			}
		})
	}
	r := runLathe(t, dir, "run", "no-such-recipe")
	if r.code == 0 || !strings.Contains(r.stderr, "neither a recipe file nor a shipped recipe") {
		t.Errorf("unknown recipe name: exit %d, %q", r.code, r.stderr)
	}
}

// TestRunListShow runs the shipped spirals recipe and reads it back the way
// a script would.
func TestRunListShow(t *testing.T) {
	dir := t.TempDir()
	r := runLathe(t, dir, "run", "spirals", "--backend", "go")
	if r.code != 0 {
		t.Fatalf("lathe run spirals: exit %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "run: ") {
		t.Fatalf("last stdout line %q, want run: <id>", last)
	}
	id := strings.TrimPrefix(last, "run: ")
	if !strings.Contains(r.stdout, "samples/s") || !strings.Contains(r.stdout, "test_accuracy") {
		t.Errorf("summary lacks throughput or accuracy:\n%s", r.stdout)
	}

	ls := runLathe(t, dir, "ls")
	if ls.code != 0 || !strings.Contains(ls.stdout, id) || !strings.Contains(ls.stdout, "finished") {
		t.Errorf("lathe ls:\n%s%s", ls.stdout, ls.stderr)
	}
	show := runLathe(t, dir, "show", id, "--json")
	var v struct {
		ID     string             `json:"id"`
		Name   string             `json:"name"`
		Status string             `json:"status"`
		Params map[string]string  `json:"params"`
		Stages []map[string]any   `json:"stages"`
		Final  map[string]float64 `json:"final_metrics"`
	}
	if err := json.Unmarshal([]byte(show.stdout), &v); err != nil {
		t.Fatalf("show --json: %v\n%s", err, show.stdout)
	}
	acc := v.Final["test_accuracy"]
	if v.ID != id || v.Name != "spirals" || v.Status != "finished" || v.Params["model.arch"] != "mlp" || len(v.Stages) != 2 ||
		acc <= 0.5 || acc > 1 {
		t.Errorf("show --json: %+v", v)
	}
	text := runLathe(t, dir, "show", "spirals")
	for _, want := range []string{id, "params", "data.dataset", "spirals", "final metrics", "test_accuracy"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("lathe show lacks %q:\n%s", want, text.stdout)
		}
	}
}

func TestRecipesAndDoctor(t *testing.T) {
	r := runLathe(t, t.TempDir(), "recipes")
	for _, want := range []string{"quickstart", "fashion-mlp", "mnist-lenet", "spirals"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lathe recipes lacks %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "invalid") {
		t.Errorf("a shipped recipe is invalid:\n%s", r.stdout)
	}
	d := runLathe(t, t.TempDir(), "doctor")
	if d.code != 0 || !strings.Contains(d.stdout, "auto chooses") || !strings.Contains(d.stdout, "mnist") {
		t.Errorf("lathe doctor: exit %d\n%s%s", d.code, d.stdout, d.stderr)
	}
}

// TestVariantsAndCompare runs a recipe with two optimizer variants and
// compares them: two runs, a table with both, and a PNG plot.
func TestVariantsAndCompare(t *testing.T) {
	dir := t.TempDir()
	src := "name: duo\nbackend: go\ndata: {dataset: blobs, batch_size: 32, train_size: 300, test_size: 100}\n" +
		"model: {arch: mlp, hidden: [8]}\nstages:\n  - train: {epochs: 2}\n  - evaluate: {split: test}\n" +
		"variants:\n  - {name: sgd, optimizer: {name: sgd, learning_rate: 0.1, momentum: 0.9}}\n  - {name: lion, optimizer: lion}\n"
	if err := os.WriteFile(filepath.Join(dir, "duo.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runLathe(t, dir, "run", "duo.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Count(r.stdout, "run: ") != 3 || !strings.Contains(r.stdout, "duo/sgd") || !strings.Contains(r.stdout, "lathe compare duo") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	c := runLathe(t, dir, "compare", "duo", "--json")
	var out struct {
		Runs []struct {
			Name         string  `json:"name"`
			TestAccuracy float64 `json:"test_accuracy"`
		} `json:"runs"`
		Plot string `json:"plot"`
	}
	if err := json.Unmarshal([]byte(c.stdout), &out); err != nil {
		t.Fatalf("compare --json: %v\n%s%s", err, c.stdout, c.stderr)
	}
	if len(out.Runs) != 2 || out.Plot == "" {
		t.Fatalf("compare: %+v", out)
	}
	png, err := os.ReadFile(filepath.Join(dir, out.Plot))
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("plot %s: %v", out.Plot, err)
	}
}

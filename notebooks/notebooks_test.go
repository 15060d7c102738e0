// Package notebooks holds Lathe's GoNB tutorials and the test that executes
// them headless, as CI does: every notebook runs top to bottom under
// `jupyter nbconvert --execute` with LATHE_FAST=1, then the executed .ipynb
// is read back and checked (see check). nbconvert alone is not enough: a
// panic or a failing command in a cell still exits 0.
package notebooks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tutorials are the notebooks users follow, with what each must show.
var tutorials = []struct {
	file string
	want expectation
}{
	{"00-tour.ipynb", expectation{
		texts:    []string{"MNIST: 60000 training and 10000 test images", "trainable parameters", "test accuracy", "run store", "quickstart  finished"},
		images:   3, // the digits, the live plot, the stored run's curves
		liveRuns: 1,
	}},
	{"01-optimizers.ipynb", expectation{
		texts:    []string{"optimizers-compare/sgd", "optimizers-compare/lion", "TEST ACC", "learning rate by step"},
		images:   3,
		liveRuns: 2,
	}},
	{"02-mixed-precision.ipynb", expectation{
		texts: []string{"mixed-precision/f32", "mixed-precision/bf16", "mixed-precision/fp16", "bf16 vs f32", "loss scale",
			"ops of one fp16 train step of lenet5", "kept in float32"},
		images:   2,
		liveRuns: 1,
	}},
	{"03-recipes.ipynb", expectation{
		texts:    []string{`unknown key "epoch" in train stage (did you mean "epochs"?)`, "ok: my-spirals", "my-spirals", "spirals", "TEST ACC"},
		images:   2,
		liveRuns: 2,
	}},
	{"04-pruning.ipynb", expectation{
		texts: []string{"Sensitivity of lenet5-sensitivity", "| fc1 | 48000 |", "final sparsity, counted from the weights:",
			"sparsity of fc1", "exactly 0", "parameters: 61706 before", "latency per batch of 64 in GoMLX:",
			"latency per batch of 64 in the runtime:", "after fine-tuning", "the control, the same schedule removing weights at random:",
			"Han et al.'s per-layer thresholds:", "Han's pruning, LeNet-5", "Han's pruning, LeNet-300-100", "Structured pruning"},
		images:   7, // 3 live plots, the sensitivity plot, the pruned-vs-dense curves, 2 weight histograms
		liveRuns: 3,
	}},
	{"05-quantization.ipynb", expectation{
		texts:    []string{"budget:", "| PTQ min/max |", "| PTQ per-tensor weights |", "| QAT |", "| conv1 | [", "percentile", "range up to"},
		images:   2, // the live plot, the activation histogram with the observers' ranges
		liveRuns: 1,
	}},
	{"06-distillation.ipynb", expectation{
		texts: []string{"budget:", "distill-notebook", "T = 1 ", "T = 20", "| teacher |", "| student alone |", "| distilled student |",
			"gap closed:", "docs/results.md", "Distillation, Hinton et al.'s MNIST setting", "distill-cnn-notebook", "at the last logged step: soft", "here distillation"},
		images:   5, // 2 live plots, the softened outputs, the student's two curves, the CNN's loss terms
		liveRuns: 2,
	}},
	{"07-seed-pipeline.ipynb", expectation{
		texts: []string{"budget:", "| variant | file | weights | accuracy |", "Model size −50% with high accuracy", "Inference time −80%",
			"report.md agrees with report.json: 4 rows checked", "| technique | size × |", "| combined |", "size: "},
		images:   3, // the live plot, accuracy against size, accuracy against latency
		liveRuns: 1,
	}},
	{"08-deploy.ipynb", expectation{
		texts: []string{"budget:", "lenet.safetensors: ", "tensors in it", "input: [28 28 1]", "top-3", "accuracy on 10000 test images: float",
			"passes onnx.checker's full check", "ONNX Runtime: accuracy", "the same class as Lathe's runtime on", "lathe runtime int8",
			"INT8 SPEED-UP", "ship lenet"},
		images:   1, // the live plot
		liveRuns: 1,
	}},
	{"09-your-own-model.ipynb", expectation{
		texts: []string{"budget:", "PyTorch: ", "arch onnx-fashion_cnn: examples [28 28 1]", "trainable parameters",
			"imported, before any stage: Lathe", "in onnxruntime", "mycnn: ", "first read: image folder",
			"decoded in", "pixels from the cache", "on the folder's 2000 test images"},
		images:   3, // the three live plots
		liveRuns: 3,
	}},
	// A notebook as a new user writes it: import the project, run quickstart.
	{"testdata/new-user.ipynb", expectation{
		texts:    []string{"test accuracy", "quickstart"},
		images:   1,
		liveRuns: 1,
	}},
}

// kernel prepares a private Jupyter data dir with the GoNB kernel installed,
// or skips the test when Jupyter or GoNB is missing (scripts/setup.sh
// installs both, so CI runs it).
func kernel(t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("notebooks: executing them takes minutes; skipped in -short mode")
	}
	// setup.sh installs gonb and goimports into Go's bin folder, which need
	// not be on PATH (CI runs setup.sh in a child shell): look there too.
	path := os.Getenv("PATH")
	if gobin := goBin(); gobin != "" {
		path = gobin + string(os.PathListSeparator) + path
		t.Setenv("PATH", path)
	}
	for _, tool := range []string{"jupyter", "gonb", "goimports"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("notebooks: %s is not installed (scripts/setup.sh installs Jupyter, GoNB and goimports; see notebooks/README.md)", tool)
		}
	}
	if out, err := exec.Command("jupyter", "nbconvert", "--version").CombinedOutput(); err != nil {
		t.Skipf("notebooks: jupyter nbconvert is not installed (apt-get install jupyter-nbconvert python3-ipykernel): %v: %s", err, out)
	}
	data := t.TempDir()
	env := append(os.Environ(),
		"JUPYTER_DATA_DIR="+data, // keep the kernelspec out of the user's home
		"LATHE_FAST=1",
		"LATHE_RUNS="+filepath.Join(t.TempDir(), "runs"),
		"GOMLX_NO_AUTO_INSTALL=1",
	)
	cmd := exec.Command("gonb", "--install", "--force_deps", "--raw_error")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gonb --install: %v\n%s", err, out)
	}
	return env
}

// goBin is where `go install` puts commands.
func goBin() string {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 0 && lines[0] != "" {
		return lines[0]
	}
	if len(lines) > 1 && lines[1] != "" {
		return filepath.Join(strings.Split(lines[1], string(os.PathListSeparator))[0], "bin")
	}
	return ""
}

// execute runs one notebook headless and returns the executed copy's path.
func execute(t *testing.T, env []string, file string) string {
	t.Helper()
	outDir := t.TempDir()
	if keep := os.Getenv("LATHE_NOTEBOOKS_OUT"); keep != "" { // keep the executed copies to look at
		if err := os.MkdirAll(keep, 0o755); err != nil {
			t.Fatal(err)
		}
		outDir = keep
	}
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-20*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "jupyter", "nbconvert", "--to", "notebook", "--execute",
		"--ExecutePreprocessor.kernel_name=gonb", "--ExecutePreprocessor.timeout=600",
		"--output-dir", outDir, "--output", filepath.Base(file), file)
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s executed in %.1f s", file, time.Since(start).Seconds())
	if err != nil {
		t.Fatalf("jupyter nbconvert --execute %s: %v\n%s", file, err, tail(string(out), 40))
	}
	return filepath.Join(outDir, filepath.Base(file))
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// TestNotebooks executes every tutorial and checks its outputs, then
// proves the check fails on a notebook whose cell panics.
func TestNotebooks(t *testing.T) {
	env := kernel(t)
	for i, nb := range tutorials {
		t.Run(strings.TrimSuffix(filepath.Base(nb.file), ".ipynb"), func(t *testing.T) {
			executed := execute(t, env, nb.file)
			problems, live := check(executed, nb.want)
			for _, l := range live {
				t.Logf("live plot in cell %d: one output, drawn %d times, last at step %d", l.cell, l.redraws, l.step)
			}
			if len(problems) > 0 {
				t.Errorf("%s (executed copy: %s):\n  %s", nb.file, executed, strings.Join(problems, "\n  "))
			}
		})
		if i == 0 {
			// Once the build cache is warm: the checker must catch a runtime failure.
			t.Run("deliberate-panic", func(t *testing.T) {
				executed := execute(t, env, "testdata/panic.ipynb") // nbconvert itself exits 0 here
				problems, _ := check(executed, expectation{texts: []string{"before the panic"}})
				if !containsAll(problems, "panic:") {
					t.Fatalf("the checker passed a notebook whose cell panicked; problems: %q", problems)
				}
				if containsAll(problems, "before the panic") {
					t.Errorf("output before the panic went missing: %q", problems)
				}
				t.Logf("checker caught: %s", strings.Join(problems, "; "))
			})
		}
	}
}

func containsAll(problems []string, s string) bool {
	for _, p := range problems {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

// TestCheck runs the checker on hand-written executed notebooks, so each
// rule is seen to fail without Jupyter.
func TestCheck(t *testing.T) {
	const livePlot = `{"output_type":"display_data","data":{"image/png":"iVBO","text/plain":"[plot]"},"metadata":{"lathe_live":"plot","lathe_redraws":%d,"lathe_step":120}}`
	const good = `{"output_type":"stream","name":"stdout","text":["test accuracy 90%\n"]}`
	const image = `{"output_type":"display_data","data":{"image/png":"iVBO"},"metadata":{}}`
	want := expectation{texts: []string{"test accuracy"}, images: 1, liveRuns: 1}
	cases := []struct {
		name    string
		outputs []string
		problem string // "" means the notebook passes
	}{
		{"clean", []string{good, fmt.Sprintf(livePlot, 7)}, ""},
		{"error output", []string{good, fmt.Sprintf(livePlot, 7), `{"output_type":"error","ename":"ERROR","evalue":"compile failed","traceback":[]}`}, "error output ERROR"},
		{"panic on stderr", []string{good, fmt.Sprintf(livePlot, 7), `{"output_type":"stream","name":"stderr","text":"panic: boom\n\ngoroutine 1"}`}, `"panic:"`},
		{"failed command", []string{good, fmt.Sprintf(livePlot, 7), `{"output_type":"stream","name":"stderr","text":["go: exit status 1\n"]}`}, `"exit status "`},
		{"missing text", []string{fmt.Sprintf(livePlot, 7)}, `no output contains "test accuracy"`},
		{"no image", []string{good}, "0 image outputs"},
		{"live plot appended per refresh", []string{good, fmt.Sprintf(livePlot, 1), fmt.Sprintf(livePlot, 2), fmt.Sprintf(livePlot, 3)}, "3 live plot outputs, want 1"},
		{"live plot never updated", []string{good, fmt.Sprintf(livePlot, 1)}, "drawn 1 times"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nb.ipynb")
			nb := `{"cells":[{"cell_type":"code","source":["%%\n"],"outputs":[` + strings.Join(c.outputs, ",") + `]}],"nbformat":4,"nbformat_minor":5,"metadata":{}}`
			if err := os.WriteFile(path, []byte(nb), 0o644); err != nil {
				t.Fatal(err)
			}
			problems, _ := check(path, want)
			switch {
			case c.problem == "" && len(problems) > 0:
				t.Errorf("clean notebook flagged: %q", problems)
			case c.problem != "" && !containsAll(problems, c.problem):
				t.Errorf("problems %q do not mention %q", problems, c.problem)
			}
		})
	}
}

// TestTutorialsEndWithExercises: every tutorial's last cell tells the
// reader what to change and re-run (a tutorial the reader cannot vary
// teaches one run), and no tutorial quotes the results page's figures in
// its prose without reading them (ShowMeasured) — checked here as: a
// notebook citing docs/results.md calls ShowMeasured.
func TestTutorialsEndWithExercises(t *testing.T) {
	for _, tut := range tutorials {
		if strings.HasPrefix(tut.file, "testdata/") {
			continue
		}
		data, err := os.ReadFile(tut.file)
		if err != nil {
			t.Fatal(err)
		}
		var nb notebook
		if err := json.Unmarshal(data, &nb); err != nil {
			t.Fatalf("%s: %v", tut.file, err)
		}
		last := nb.Cells[len(nb.Cells)-1]
		if last.CellType != "markdown" || !strings.Contains(string(last.Source), "## Change this and re-run") {
			t.Errorf("%s: the last cell has no \"## Change this and re-run\" section", tut.file)
		}
		cites, reads := false, false
		for _, c := range nb.Cells {
			cites = cites || (c.CellType == "markdown" && strings.Contains(string(c.Source), "results source"))
			reads = reads || (c.CellType == "code" && strings.Contains(string(c.Source), "nbui.ShowMeasured("))
		}
		if cites && !reads {
			t.Errorf("%s: its prose points to the results source but no cell reads it (nbui.ShowMeasured)", tut.file)
		}
	}
}

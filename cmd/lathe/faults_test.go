package main

// Fault injection: real `lathe` processes killed, interrupted, starved of
// disk, pointed at damaged, read-only and foreign stores, and racing each
// other. Each test checks that nothing is lost beyond the steps since the
// last checkpoint and that a resumed run ends where an uninterrupted one
// does. The default run kills 10 times and runs 3 concurrent writers;
// LATHE_FAULTS=long kills 30 times with 6 writers.

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/internal/filecheck"
	"github.com/lathe-ml/lathe/pkg/runs"
	"golang.org/x/sys/unix"
)

// faultRecipe trains long enough to be interrupted anywhere (8 epochs of
// 56 steps), checkpointing every 20 steps and recording every step.
const faultRecipe = `name: faults
seed: 7
backend: go
data: {dataset: blobs, batch_size: 64, validation: 400, train_size: 4000, test_size: 500}
model: {arch: mlp, hidden: [256, 256]}
stages:
  - train: {epochs: 8, optimizer: {name: adam, learning_rate: 0.003}, log_every: 1, checkpoint_every: 20}
  - evaluate: {split: test}
`

const (
	faultSteps      = 8 * 56
	checkpointEvery = 20
)

// longFaults is whether the long fault suite runs (LATHE_FAULTS=long).
func longFaults() bool { return os.Getenv("LATHE_FAULTS") == "long" }

// proc is a lathe process started in the background, its output in files.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr string
}

func startLathe(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	n := len(args) + int(time.Now().UnixNano()%100000)
	p := &proc{stdout: filepath.Join(dir, fmt.Sprintf("out-%d.txt", n)), stderr: filepath.Join(dir, fmt.Sprintf("err-%d.txt", n))}
	out, err := os.Create(p.stdout)
	if err != nil {
		t.Fatal(err)
	}
	errFile, err := os.Create(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(lathe, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=", "LATHE_RUNS=")
	p.cmd.Stdout, p.cmd.Stderr = out, errFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	errFile.Close()
	return p
}

// wait waits for the process and returns its exit code (-1: killed).
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

func (p *proc) output(t *testing.T) (string, string) {
	out, _ := os.ReadFile(p.stdout)
	errOut, _ := os.ReadFile(p.stderr)
	return string(out), string(errOut)
}

// newestRun is the id of the newest run in dir's store ("" if none yet).
func newestRun(dir string) string {
	s, err := runs.OpenExisting(filepath.Join(dir, "runs"))
	if err != nil {
		return ""
	}
	defer s.Close()
	list, err := s.List()
	if err != nil || len(list) == 0 {
		return ""
	}
	return list[0].ID
}

// lastStep is the last global step the run recorded a loss for.
func lastStep(t *testing.T, dir, id string) int {
	t.Helper()
	s, err := runs.OpenExisting(filepath.Join(dir, "runs"))
	if err != nil {
		return 0
	}
	defer s.Close()
	pts, err := s.Series(id, "loss")
	if err != nil || len(pts) == 0 {
		return 0
	}
	return pts[len(pts)-1].Step
}

// untilStep waits until the run in dir has recorded step target (or the
// process ended), and returns its id.
func untilStep(t *testing.T, p *proc, dir, id string, target int) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if id == "" {
			id = newestRun(dir)
		}
		if id != "" && lastStep(t, dir, id) >= target {
			return id
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(3 * time.Millisecond)
	}
	return id
}

// shown reads `lathe show RUN --json`.
func shown(t *testing.T, dir, id string) (status, errMsg string, final map[string]float64) {
	t.Helper()
	r := runLathe(t, dir, "show", id, "--json")
	var v struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Final  json.RawMessage `json:"final_metrics"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("show --json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	var m runs.Metrics
	if err := json.Unmarshal(v.Final, &m); err != nil {
		t.Fatal(err)
	}
	return v.Status, v.Error, m
}

// uninterrupted runs the fault recipe once without faults (once for all
// tests): the end every interrupted run must reach.
func uninterrupted(t *testing.T) map[string]float64 {
	t.Helper()
	reference.Do(func() {
		dir, err := os.MkdirTemp("", "lathe-reference")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		writeFile(t, filepath.Join(dir, "faults.yaml"), faultRecipe)
		if r := runLathe(t, dir, "run", "faults.yaml"); r.code != 0 {
			t.Fatalf("uninterrupted run: %d\n%s", r.code, r.stderr)
		}
		_, _, reference.final = shown(t, dir, newestRun(dir))
	})
	if reference.final == nil {
		t.Fatal("the uninterrupted reference run failed")
	}
	return reference.final
}

var reference struct {
	sync.Once
	final map[string]float64
}

// recipeDir is a fresh folder holding src as faults.yaml, where lathe runs
// it with its store in ./runs.
func recipeDir(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "faults.yaml"), src)
	return dir
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sameEnd: a run that was interrupted and resumed ends as the
// uninterrupted one does, to float32 rounding.
func sameEnd(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for _, k := range []string{"test_loss", "test_accuracy", "steps"} {
		if math.Abs(got[k]-want[k]) > 1e-5*math.Max(1, math.Abs(want[k])) {
			t.Errorf("%s: %.7g after faults, %.7g uninterrupted", k, got[k], want[k])
		}
	}
}

var resumedFrom = regexp.MustCompile(`resume: from stage \d+, step \d+ of it \(global step (\d+)\)`)

// TestKill9AtRandomSteps kills `lathe run`, then each `lathe resume`,
// with SIGKILL at random moments, and checks what each kill lost and that
// the run ends as an uninterrupted one does. A kill's step is known only
// from below (the store receives points once a second and at epoch ends),
// so the check is on that: the resume starts at most checkpoint_every
// steps before the last step recorded.
func TestKill9AtRandomSteps(t *testing.T) {
	kills := 10
	if longFaults() {
		kills = 30
	}
	want := uninterrupted(t)
	perStep := time.Duration(want["wall_s"] / faultSteps * float64(time.Second))
	dir := recipeDir(t, faultRecipe)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	p := startLathe(t, dir, "run", "faults.yaml")
	id, from := "", 0
	for i := 0; i < kills; i++ {
		// Kill somewhere in the next stretch of training: the steps left
		// shared among the kills left (and the end), at the reference
		// run's pace, which its start-up and evaluation make slow-looking.
		stretch := time.Duration((faultSteps-from)/(kills-i+1)) * perStep
		time.Sleep(time.Duration(rng.Int64N(int64(stretch*6/5) + 1)))
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code >= 0 {
			_, errOut := p.output(t)
			t.Fatalf("kill %d: the process had already ended (exit %d)\n%s", i+1, code, errOut)
		}
		if id == "" {
			if id = newestRun(dir); id == "" {
				// Killed before it recorded the run: nothing to lose.
				p = startLathe(t, dir, "run", "faults.yaml")
				continue
			}
		}
		recorded := lastStep(t, dir, id)
		if status, _, _ := shown(t, dir, id); status != "interrupted" {
			t.Errorf("kill %d: status %s, want interrupted", i+1, status)
		}
		// The next resume says where it starts: what survived this kill.
		p = startLathe(t, dir, "resume", id)
		next := -1
		for deadline := time.Now().Add(time.Minute); next < 0 && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			_, errOut := p.output(t)
			if m := resumedFrom.FindStringSubmatch(errOut); m != nil {
				next, _ = strconv.Atoi(m[1])
			} else if strings.Contains(errOut, "has no checkpoint") {
				next = 0
			}
		}
		t.Logf("kill -9 %2d: at step ≥ %3d (the last recorded), resumed from checkpoint step %3d", i+1, recorded, next)
		if next < 0 || next < from || recorded-next > checkpointEvery {
			t.Errorf("kill %d: last step recorded %d, resumed from %d (the previous resume from %d); a kill may lose only the steps since the last checkpoint (every %d)",
				i+1, recorded, next, from, checkpointEvery)
		}
		from = next
	}
	if code := p.wait(t); code != 0 {
		_, errOut := p.output(t)
		t.Fatalf("final resume: exit %d\n%s", code, errOut)
	}
	status, _, got := shown(t, dir, id)
	if status != "finished" {
		t.Fatalf("status %s", status)
	}
	sameEnd(t, got, want)
	t.Logf("kill -9 ×%d: ended at test loss %.6f (uninterrupted %.6f)", kills, got["test_loss"], want["test_loss"])
}

// TestSignalsStopCleanly: SIGINT and SIGTERM mid-epoch stop the run with a
// checkpoint where it was (nothing lost), and resume ends as uninterrupted.
func TestSignalsStopCleanly(t *testing.T) {
	want := uninterrupted(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := recipeDir(t, faultRecipe)
			p := startLathe(t, dir, "run", "faults.yaml")
			id := untilStep(t, p, dir, "", 123)
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code := p.wait(t)
			stoppedAt := lastStep(t, dir, id)
			status, _, _ := shown(t, dir, id)
			if status != "stopped" || code == 0 {
				t.Errorf("after %v: status %s, exit %d; want stopped and a non-zero exit", sig, status, code)
			}
			r := runLathe(t, dir, "resume", id)
			m := resumedFrom.FindStringSubmatch(r.stderr)
			if r.code != 0 || m == nil {
				t.Fatalf("resume: %d\n%s", r.code, r.stderr)
			}
			if from, _ := strconv.Atoi(m[1]); from != stoppedAt {
				t.Errorf("stopped at step %d, resumed from %d: a clean stop loses nothing", stoppedAt, from)
			}
			_, _, got := shown(t, dir, id)
			sameEnd(t, got, want)
		})
	}
}

// TestDiskFullDuringCheckpoint limits the size of any file the process
// writes (RLIMIT_FSIZE: writes past it fail with EFBIG, as on a full
// disk) below one checkpoint: the save fails, the run is recorded as
// failed with the error, no partial checkpoint is left, and once the limit
// is gone the run resumes (from the start: no checkpoint was ever whole)
// and ends as an uninterrupted run does.
func TestDiskFullDuringCheckpoint(t *testing.T) {
	want := uninterrupted(t)
	dir := recipeDir(t, faultRecipe)
	p := startLathe(t, dir, "run", "faults.yaml")
	// A checkpoint of this model is about 0.7 MB; the store stays far smaller.
	limit := unix.Rlimit{Cur: 400 << 10, Max: 400 << 10}
	if err := unix.Prlimit(p.cmd.Process.Pid, unix.RLIMIT_FSIZE, &limit, nil); err != nil {
		t.Skipf("cannot limit the file size: %v", err)
	}
	code := p.wait(t)
	_, errOut := p.output(t)
	id := newestRun(dir)
	status, msg, _ := shown(t, dir, id)
	if code == 0 || status != "failed" || !strings.Contains(msg, "saving the checkpoint") || !strings.Contains(msg, "file too large") {
		t.Fatalf("exit %d, status %s, error %q\n%s", code, status, msg, errOut)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "runs", id, "checkpoint"))
	for _, e := range entries {
		t.Errorf("left %s in the checkpoint folder", e.Name())
	}
	r := runLathe(t, dir, "resume", id)
	if r.code != 0 || !strings.Contains(r.stderr, "starting it again from the beginning") {
		t.Fatalf("resume after space is freed: %d\n%s", r.code, r.stderr)
	}
	_, _, got := shown(t, dir, id)
	sameEnd(t, got, want)
}

// TestCorruptNewestCheckpoint: the newest checkpoint damaged on disk is
// set aside (and said so), the run resumes from the one before it, and
// ends as an uninterrupted run does.
func TestCorruptNewestCheckpoint(t *testing.T) {
	want := uninterrupted(t)
	dir := recipeDir(t, faultRecipe)
	p := startLathe(t, dir, "run", "faults.yaml")
	id := untilStep(t, p, dir, "", 150)
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	p.wait(t)
	list, err := runs.Checkpoints(filepath.Join(dir, "runs", id, "checkpoint"))
	if err != nil || len(list) < 2 {
		t.Fatalf("checkpoints %v, %v", list, err)
	}
	newest, older := list[len(list)-1], list[len(list)-2]
	if err := os.Truncate(newest+".bin", 1000); err != nil {
		t.Fatal(err)
	}
	r := runLathe(t, dir, "resume", id)
	if r.code != 0 {
		t.Fatalf("resume: %d\n%s", r.code, r.stderr)
	}
	for _, line := range []string{"checkpoint " + filepath.Base(newest) + " is damaged", "using the newest intact one, " + filepath.Base(older)} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("resume does not say %q:\n%s", line, r.stderr)
		}
	}
	_, _, got := shown(t, dir, id)
	sameEnd(t, got, want)
}

// TestReadOnlyStore browses a store its user cannot write: as root, the
// commands run as the unprivileged user nobody (root writes anywhere).
func TestReadOnlyStore(t *testing.T) {
	dir := t.TempDir()
	var ids []string
	for i := 0; i < 2; i++ { // two runs to compare
		r := runLathe(t, dir, "run", "spirals", "--backend", "go")
		if r.code != 0 {
			t.Fatalf("run: %s", r.stderr)
		}
		ids = append(ids, newestRun(dir))
	}
	store := filepath.Join(dir, "runs")
	before := filecheck.Snapshot(t, store)
	for _, path := range []string{filepath.Join(store, "runs.db")} {
		if err := os.Chmod(path, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	// Everything under the store read-only, the test's folders passable.
	_ = filepath.Walk(store, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			return os.Chmod(path, 0o555)
		}
		return err
	})
	defer filepath.Walk(store, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			return os.Chmod(path, 0o755)
		}
		return err
	})
	for p := filepath.Dir(store); p != "/"; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			_ = os.Chmod(p, st.Mode().Perm()|0o001)
		}
	}
	binary := lathe
	if os.Geteuid() == 0 {
		// nobody must be able to run the binary: copy it somewhere public.
		pub, err := os.MkdirTemp("", "lathe-pub")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(pub)
		_ = os.Chmod(pub, 0o755)
		binary = filepath.Join(pub, "lathe")
		data, err := os.ReadFile(lathe)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, binary, string(data))
		_ = os.Chmod(binary, 0o755)
	}
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(binary, append(args, "--runs-dir", store)...)
		cmd.Dir = os.TempDir()
		cmd.Env = append(os.Environ(), "GOMLX_NO_AUTO_INSTALL=1", "HOME="+os.TempDir())
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		r := runCommand(t, cmd)
		return r.stdout, r.stderr, r.code
	}
	if out, errOut, code := run("ls"); code != 0 || !strings.Contains(out, "spirals") {
		t.Errorf("ls of a read-only store: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run("show", "spirals"); code != 0 || !strings.Contains(out, "test_accuracy") {
		t.Errorf("show: exit %d\n%s%s", code, out, errOut)
	}
	// Its plot goes into the store by default: the table still prints.
	if out, errOut, code := run("compare", ids[0], ids[1], "--metric", "test_accuracy"); code != 0 || !strings.Contains(out, "spirals") ||
		!strings.Contains(errOut, "no plot: cannot write") {
		t.Errorf("compare: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run("run", "spirals"); code == 0 || !strings.Contains(errOut, "runs.db") {
		t.Errorf("a run into a read-only store: exit %d, %q; want an error naming the store", code, errOut)
	}
	filecheck.Unchanged(t, before, filecheck.Snapshot(t, store))
}

// TestForeignDatabase: pointed at another program's SQLite file, every
// command refuses it in one line naming the file, and writes nothing.
func TestForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "runs")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(store, "runs.db")
	// The CLI names the store as given: --runs-dir, or ./runs.
	sqlite := exec.Command("python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table runs (name text, score real)'); c.execute(\"insert into runs values ('mine', 1)\"); c.commit()", db)
	if out, err := sqlite.CombinedOutput(); err != nil {
		t.Skipf("python3 sqlite3 unavailable: %v %s", err, out)
	}
	before := filecheck.Snapshot(t, store)
	for _, args := range [][]string{{"ls"}, {"show", "x"}, {"compare", "x"}, {"run", "spirals", "--backend", "go"}, {"resume", "x"}} {
		r := runLathe(t, dir, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "runs/runs.db: not a Lathe run store") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("lathe %s: exit %d, %q", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	filecheck.Unchanged(t, before, filecheck.Snapshot(t, store))
}

// TestConcurrentWritersAndAReader: several runs write one store while
// `lathe ls` polls it: every run finishes with all its points, and no
// read fails.
func TestConcurrentWritersAndAReader(t *testing.T) {
	writers := 3
	if longFaults() {
		writers = 6
	}
	dir := recipeDir(t, strings.Replace(faultRecipe, "epochs: 8", "epochs: 2", 1))
	var procs []*proc
	for i := 0; i < writers; i++ {
		procs = append(procs, startLathe(t, dir, "run", "faults.yaml"))
	}
	done := make(chan struct{})
	reads, failures := 0, []string{}
	go func() {
		defer close(done)
		for {
			finished := true
			for _, p := range procs {
				if p.cmd.ProcessState == nil {
					finished = false
				}
			}
			r := runLathe(t, dir, "ls")
			if r.code != 0 && !strings.Contains(r.stderr, "no run store") {
				failures = append(failures, r.stderr)
			}
			reads++
			if finished {
				return
			}
		}
	}()
	for i, p := range procs {
		if code := p.wait(t); code != 0 {
			_, errOut := p.output(t)
			t.Errorf("writer %d: exit %d\n%s", i, code, errOut)
		}
	}
	<-done
	if len(failures) > 0 {
		t.Errorf("%d of %d reads failed: %s", len(failures), reads, failures[0])
	}
	s, err := runs.OpenExisting(filepath.Join(dir, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, _ := s.List()
	if len(list) != writers {
		t.Fatalf("%d runs recorded, want %d", len(list), writers)
	}
	for _, r := range list {
		pts, _ := s.Series(r.ID, "loss")
		if r.Status != runs.Finished || len(pts) != 2*56 {
			t.Errorf("run %s: %s with %d loss points, want finished with %d", r.ID, r.Status, len(pts), 2*56)
		}
	}
	t.Logf("%d writers, %d reads while they ran, none failed", writers, reads)
}

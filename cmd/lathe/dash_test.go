package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// spiralsRecipe is the shipped spirals recipe made longer, so a run lasts
// long enough (seconds) to be watched while it runs.
func spiralsRecipe(name string, epochs int) string {
	return fmt.Sprintf("name: %s\nseed: 7\nbackend: go\ndata: {dataset: spirals, batch_size: 64, validation: 200}\n"+
		"model: {arch: mlp, hidden: [64, 64]}\nstages:\n  - train: {epochs: %d, optimizer: {name: adam, learning_rate: 1e-2}}\n"+
		"  - evaluate: {split: test}\n", name, epochs)
}

// pane drives a tmux session on a private server, as a user at a terminal.
type pane struct {
	t      *testing.T
	socket string
}

func (p pane) tmux(args ...string) (string, error) {
	// -u: UTF-8 whatever the locale, so braille and symbols survive capture.
	cmd := exec.Command("tmux", append([]string{"-u", "-L", p.socket, "-f", "/dev/null"}, args...)...)
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p pane) must(args ...string) string {
	p.t.Helper()
	out, err := p.tmux(args...)
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (p pane) capture() string { out, _ := p.tmux("capture-pane", "-p", "-t", "dash"); return out }

func (p pane) keys(keys ...string) {
	p.t.Helper()
	for _, k := range keys {
		p.must("send-keys", "-t", "dash", k)
		time.Sleep(150 * time.Millisecond) // one key per read, as typed
	}
}

// waitFor polls the screen until cond holds, failing with the last screen.
func (p pane) waitFor(what string, timeout time.Duration, cond func(screen string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var screen string
	for time.Now().Before(deadline) {
		screen = p.capture()
		if cond(screen) {
			return screen
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.t.Fatalf("waited %s for %s; the screen:\n%s", timeout, what, screen)
	return ""
}

func contains(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				return false
			}
		}
		return true
	}
}

func brailleCells(s string) int {
	n := 0
	for _, r := range s {
		if r > 0x2800 && r <= 0x28FF {
			n++
		}
	}
	return n
}

var stepRE = regexp.MustCompile(`step (\d+)/(\d+)`)

func stepOf(screen string) int {
	m := stepRE.FindStringSubmatch(screen)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestDashInTmux runs `lathe dash` in a detached tmux session as a user
// would: a run started from another terminal appears live, its chart has
// points and its step counter advances, and it turns finished; a run
// launched from the dashboard keeps running after the dashboard quits, and
// quitting restores the terminal.
func TestDashInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (scripts/setup.sh installs it): skipping the dashboard's end-to-end test")
	}
	work := t.TempDir()
	for name, epochs := range map[string]int{"e2e-watch": 150, "e2e-stop": 5000, "e2e-launch": 250} {
		if err := os.WriteFile(filepath.Join(work, name+".yaml"), []byte(spiralsRecipe(name, epochs)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=", "LATHE_RUNS="}
	p := pane{t: t, socket: fmt.Sprintf("lathe-e2e-%d", os.Getpid())}
	t.Cleanup(func() { p.tmux("kill-server") })
	p.must("new-session", "-d", "-s", "dash", "-x", "120", "-y", "40", "-c", work,
		"exec env "+strings.Join(env, " ")+" "+lathe+" dash --runs-dir runs --refresh 250ms")
	p.must("set-option", "-t", "dash", "remain-on-exit", "on")
	p.waitFor("the empty dashboard", 20*time.Second, contains("lathe dash", "No runs in runs yet"))

	// A run started in another terminal appears and is followed live.
	run := exec.Command(lathe, "run", "e2e-watch.yaml", "--runs-dir", "runs")
	run.Dir = work
	run.Env = append(os.Environ(), env...)
	var runLog strings.Builder
	run.Stdout, run.Stderr = &runLog, &runLog
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- run.Wait() }()
	p.waitFor("the run to appear as running", 60*time.Second, contains("e2e-watch", "▶ running"))
	p.keys("Enter")
	screen := p.waitFor("the run's charts to have points", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "loss") && brailleCells(s) >= 20 && stepOf(s) > 0
	})
	first := stepOf(screen)
	screen = p.waitFor("the step counter to advance", 30*time.Second, func(s string) bool {
		return stepOf(s) > first || strings.Contains(s, "✓ finished")
	})
	t.Logf("watched the run at step %d, then %d; %d braille cells", first, stepOf(screen), brailleCells(screen))
	screen = p.waitFor("the run to turn finished", 90*time.Second, contains("e2e-watch · ✓ finished"))
	if !strings.Contains(screen, "✓ 2 evaluate") || brailleCells(screen) < 20 {
		t.Errorf("finished run view lacks its evaluation or charts:\n%s", screen)
	}
	select {
	case err := <-runDone:
		if err != nil {
			t.Fatalf("lathe run: %v\n%s", err, runLog.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lathe run did not exit after finishing")
	}

	// Stop a run from the dashboard: it checkpoints and is marked stopped.
	p.keys("Escape")
	p.waitFor("the runs table", 10*time.Second, contains("NAME", "STATUS"))
	stop := exec.Command(lathe, "run", "e2e-stop.yaml", "--runs-dir", "runs")
	stop.Dir = work
	stop.Env = append(os.Environ(), env...)
	if err := stop.Start(); err != nil {
		t.Fatal(err)
	}
	stopDone := make(chan error, 1)
	go func() { stopDone <- stop.Wait() }()
	p.waitFor("the run to stop to be training", 60*time.Second, func(s string) bool {
		return regexp.MustCompile(`e2e-stop +▶ running +1/2 train +[1-9]`).MatchString(s)
	})
	p.keys("g", "x")
	p.waitFor("the stop confirmation", 10*time.Second, contains("Stop e2e-stop (pid "+strconv.Itoa(stop.Process.Pid)+")?"))
	p.keys("y")
	p.waitFor("the run to be marked stopped", 60*time.Second, regexp.MustCompile(`e2e-stop +■ stopped`).MatchString)
	select {
	case err := <-stopDone:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitStopped {
			t.Errorf("stopped lathe run exited with %v, want status %d", err, exitStopped)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stopped run's process did not exit")
	}
	if ckpts, _ := filepath.Glob(filepath.Join(work, "runs", "*", "checkpoint", "*")); len(ckpts) == 0 {
		t.Error("the stopped run left no checkpoint")
	}

	// Launch from the dashboard, then quit it: the run carries on.
	p.keys("n")
	p.waitFor("the launcher", 10*time.Second, contains("Launch a recipe", "e2e-launch.yaml"))
	p.keys("l", "a", "u")
	p.waitFor("the filter to pick the recipe", 10*time.Second, contains("› e2e-launch.yaml"))
	p.keys("Enter")
	p.waitFor("the launch confirmation", 10*time.Second, contains("Run e2e-launch"))
	p.keys("y")
	screen = p.waitFor("the launched run to start", 60*time.Second, contains("started as run"))
	m := regexp.MustCompile(`started as run (\S+)`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no run id on the screen:\n%s", screen)
	}
	launchedID := m[1]
	p.keys("q")
	p.waitFor("the dashboard to exit", 10*time.Second, func(string) bool {
		out, _ := p.tmux("display-message", "-p", "-t", "dash", "#{pane_dead}")
		return strings.TrimSpace(out) == "1"
	})
	if after := p.capture(); strings.Contains(after, "lathe dash") || strings.Contains(after, "NAME") {
		t.Errorf("the terminal still shows the dashboard after q (alternate screen not restored):\n%s", after)
	}

	status := func() string {
		out, err := exec.Command(lathe, "ls", "--json", "--runs-dir", filepath.Join(work, "runs")).Output()
		if err != nil {
			t.Fatalf("lathe ls: %v", err)
		}
		var list []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(out, &list); err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if r.ID == launchedID {
				return r.Status
			}
		}
		return "absent"
	}
	if s := status(); s != "running" {
		t.Fatalf("launched run %s is %s right after the dashboard quit, want running", launchedID, s)
	}
	deadline := time.Now().Add(120 * time.Second)
	for status() == "running" && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if s := status(); s != "finished" {
		logs, _ := filepath.Glob(filepath.Join(work, "runs", "logs", "*.log"))
		var text []byte
		if len(logs) > 0 {
			text, _ = os.ReadFile(logs[0])
		}
		t.Fatalf("launched run %s ended %s, want finished; its log:\n%s", launchedID, s, text)
	}
	if logs, _ := filepath.Glob(filepath.Join(work, "runs", "logs", "*-e2e-launch.log")); len(logs) != 1 {
		t.Errorf("launch log files: %v", logs)
	}
}

// TestDashNeedsATerminal: without one it says so instead of garbling a pipe.
func TestDashNeedsATerminal(t *testing.T) {
	r := runLathe(t, t.TempDir(), "dash")
	if r.code != exitError || !strings.Contains(r.stderr, "lathe dash needs a terminal") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

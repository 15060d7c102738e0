package tui

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/shirou/gopsutil/v4/process"
)

// Launching and stopping runs. A launched run is its own `lathe run`
// process in its own session, with stdin from /dev/null and its output in
// a log file, so it outlives the dashboard and no terminal signal meant for
// the dashboard reaches it. Stopping sends SIGTERM, which `lathe run`
// answers by checkpointing and recording the run as stopped.

// launchedMsg reports a started run process.
type launchedMsg struct {
	recipe string
	pid    int
	log    string
	cmd    *exec.Cmd
	err    error
}

// exitedMsg reports that a run process this dashboard started has ended.
type exitedMsg struct {
	recipe string
	pid    int
	log    string
	code   int
}

// launch starts `exe run arg --runs-dir dir` in workDir.
func launch(exe, dir, workDir, name, arg string) tea.Cmd {
	return func() tea.Msg {
		msg := launchedMsg{recipe: name}
		absDir, err := filepath.Abs(dir)
		if err != nil {
			msg.err = err
			return msg
		}
		logDir := filepath.Join(absDir, "logs")
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			msg.err = fmt.Errorf("log folder: %w", err)
			return msg
		}
		msg.log = filepath.Join(logDir, time.Now().Format("20060102-150405")+"-"+runs.SafeName(strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)))+".log")
		f, err := os.OpenFile(msg.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			msg.err = fmt.Errorf("log file: %w", err)
			return msg
		}
		defer f.Close() // the child has its own descriptor
		cmd := exec.Command(exe, "run", arg, "--runs-dir", absDir)
		cmd.Dir = workDir
		cmd.Stdin = nil // /dev/null
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			msg.err = fmt.Errorf("starting %s: %w", exe, err)
			return msg
		}
		msg.pid, msg.cmd = cmd.Process.Pid, cmd
		return msg
	}
}

// waitExit reaps a launched process (no zombie while the dashboard runs)
// and reports its exit status.
func waitExit(m launchedMsg) tea.Cmd {
	return func() tea.Msg {
		err := m.cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		return exitedMsg{recipe: m.recipe, pid: m.pid, log: m.log, code: code}
	}
}

// stopMsg reports the outcome of asking a run to stop.
type stopMsg struct {
	runID, name string
	pid         int
	err         error
}

// stopRun sends SIGTERM to a run's process after checking that the
// process id still names that run: the run was started on this machine,
// the process is a `lathe … run` and it started no later than the run.
// A process id reused by an unrelated program is never signalled.
func stopRun(store *runs.Store, r *runs.Run) tea.Cmd {
	return func() tea.Msg {
		msg := stopMsg{runID: r.ID, name: r.Name, pid: r.PID}
		msg.err = checkRunProcess(store, r)
		if msg.err == nil {
			if err := syscall.Kill(r.PID, syscall.SIGTERM); err != nil {
				msg.err = fmt.Errorf("signal pid %d: %w", r.PID, err)
			}
		}
		return msg
	}
}

func checkRunProcess(store *runs.Store, r *runs.Run) error {
	if r.Status != runs.Running {
		return fmt.Errorf("run %s is %s, not running", r.Name, r.Status)
	}
	if r.PID <= 0 {
		return fmt.Errorf("run %s has no process id on record", r.Name)
	}
	host, err := store.Host(r.ID)
	if err != nil {
		return err
	}
	if me, _ := os.Hostname(); host != "" && host != me {
		return fmt.Errorf("run %s runs on %s, not on this machine", r.Name, host)
	}
	p, err := process.NewProcess(int32(r.PID))
	if err != nil {
		return fmt.Errorf("process %d of run %s is gone", r.PID, r.Name)
	}
	args, err := p.CmdlineSlice()
	if err != nil || !isLatheRun(args) {
		return fmt.Errorf("process %d is not a `lathe run`, not signalled (it runs %s)", r.PID, strings.Join(args, " "))
	}
	if ms, err := p.CreateTime(); err == nil {
		if created := time.UnixMilli(ms); created.After(r.Started.Add(5 * time.Second)) {
			return fmt.Errorf("process %d started after run %s: the id was reused, not signalled", r.PID, r.Name)
		}
	}
	return nil
}

// isLatheRun recognizes the command line of `lathe [flags] run …`.
func isLatheRun(args []string) bool {
	if len(args) < 2 || !strings.Contains(filepath.Base(args[0]), "lathe") {
		return false
	}
	for _, a := range args[1:] {
		if a == "run" {
			return true
		}
	}
	return false
}

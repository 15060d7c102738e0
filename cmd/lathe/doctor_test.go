package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ml/lathe/pkg/gocompute"
)

// installXLA runs `lathe doctor --install-xla` with a throw-away home and
// cache, so that nothing is written where a real plugin might live.
func installXLA(t *testing.T, extraEnv ...string) result {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(lathe, "doctor", "--install-xla", "--timeout", "2m")
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"GOMLX_NO_AUTO_INSTALL=1", "GOMLX_BACKEND=", "PJRT_PLUGIN_LIBRARY_PATH=")
	cmd.Env = append(cmd.Env, extraEnv...)
	start := time.Now()
	r := runCommand(t, cmd)
	if d := time.Since(start); d > time.Minute {
		t.Errorf("a failing install took %s", d)
	}
	return r
}

// checkOneLineFailure: exit 1, one line on stderr that starts as every
// lathe error does and says what to do, and no stack trace.
func checkOneLineFailure(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit %d, want 1; stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	errLines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(errLines) != 1 {
		t.Errorf("stderr has %d lines, want 1: %q", len(errLines), r.stderr)
	}
	line := errLines[0]
	want = append([]string{"lathe: doctor --install-xla: could not download the XLA CPU plugin (",
		"copy pjrt_c_api_cpu_plugin.so into "}, want...)
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("error line %q lacks %q", line, w)
		}
	}
	if strings.Contains(r.stderr+r.stdout, "panic") || strings.Contains(r.stderr+r.stdout, "goroutine ") {
		t.Errorf("stack trace reached the user: %s%s", r.stdout, r.stderr)
	}
	// go-xla draws its spinner with terminal escapes on stdout; none of it may leak.
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("terminal escapes on stdout: %q", r.stdout)
	}
}

// TestDoctorInstallXLAUnreachable: with GitHub unreachable (a proxy on a
// closed port, the same on every machine) the install fails at once.
func TestDoctorInstallXLAUnreachable(t *testing.T) {
	r := installXLA(t, "HTTPS_PROXY=http://127.0.0.1:1", "https_proxy=http://127.0.0.1:1", "NO_PROXY=", "no_proxy=")
	checkOneLineFailure(t, r, "connection refused", "GitHub cannot be reached")
}

// TestDoctorInstallXLAOffline: the real offline path, where DNS has no
// answer for GitHub (this project's development machines).
func TestDoctorInstallXLAOffline(t *testing.T) {
	if _, err := net.LookupHost("api.github.com"); err == nil {
		t.Skip("this machine resolves api.github.com: the install could really run")
	}
	r := installXLA(t, "HTTPS_PROXY=", "https_proxy=", "HTTP_PROXY=", "http_proxy=")
	checkOneLineFailure(t, r, "no such host", "this machine has no internet")
}

// TestDoctorNamesTheKernels: doctor says which kernels the pure-Go backend
// computes with, and warns when this lathe lacks compute's SIMD kernels
// (the test binary's build settings are lathe's: scripts/test.sh builds
// both with Go 1.27 and GOEXPERIMENT=simd).
func TestDoctorNamesTheKernels(t *testing.T) {
	r := runLathe(t, t.TempDir(), "doctor")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var kernels string
	for _, line := range strings.Split(r.stdout, "\n") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(line), "kernels: "); ok {
			kernels = k
		}
	}
	simd := gocompute.SIMDBuilt
	switch {
	case kernels == "":
		t.Errorf("doctor names no kernels:\n%s", r.stdout)
	case simd && !strings.HasPrefix(kernels, "compute SIMD ("):
		t.Errorf("a SIMD build names %q", kernels)
	case !simd && !strings.Contains(r.stdout, "WARNING: this lathe was built without compute's SIMD kernels"):
		t.Errorf("a build without SIMD does not warn:\n%s", r.stdout)
	}
}

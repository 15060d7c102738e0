package backend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/go-xla/pkg/installer"
)

// stubInstaller stands in go-xla's CPU installer for the length of a test.
func stubInstaller(t *testing.T, f func(dir string) error) {
	t.Helper()
	saved := cpuAutoInstall
	cpuAutoInstall = func(dir string, _ bool, _ installer.VerbosityLevel) error { return f(dir) }
	t.Cleanup(func() { cpuAutoInstall = saved })
}

// TestInstallAdviceIsOneLine: each way a download fails becomes one line
// with the root cause and what to do, whatever wrapping go-xla adds.
func TestInstallAdviceIsOneLine(t *testing.T) {
	dns := &net.DNSError{Err: "no such host", Name: "api.github.com", Server: "10.0.0.1:53", IsNotFound: true}
	wrap := func(inner error) error {
		u := &url.Error{Op: "Get", URL: "https://api.github.com/repos/gomlx/pjrt-cpu-binaries/releases/tags/v0.83.3", Err: inner}
		return fmt.Errorf("failed to auto-install \"cpu\": failed to fetch release data: %w\nstack trace line", u)
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	cases := []struct {
		err  error
		want []string
	}{
		{wrap(&net.OpError{Op: "dial", Net: "tcp", Err: dns}), []string{"could not download the XLA CPU plugin (dial tcp: lookup api.github.com: no such host): this machine has no internet", "copy pjrt_c_api_cpu_plugin.so into /x/go-xla"}},
		{wrap(refused), []string{"connection refused", "GitHub cannot be reached", "HTTPS_PROXY"}},
		{errors.New("unexpected status code 403 - \"rate limit\""), []string{"403", "GH_TOKEN"}},
		{fmt.Errorf("install: %w", context.DeadlineExceeded), []string{"gave up after 3s", "--timeout"}},
		{fmt.Errorf("mkdir: %w", &os.PathError{Op: "mkdir", Path: "/x/go-xla", Err: os.ErrPermission}), []string{"permission denied", "--xla-dir"}},
		{errors.New("failed to extract files\nmore"), []string{"could not install the XLA CPU plugin (failed to extract files)"}},
	}
	for _, c := range cases {
		got := InstallAdvice(c.err, "/x/go-xla", 3*time.Second).Error()
		if strings.Contains(got, "\n") {
			t.Errorf("not one line: %q", got)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: want %q in it", got, w)
			}
		}
	}
}

// TestInstallGivesUpOnAStalledDownload: go-xla's download cannot be
// cancelled, so the time bound must hold with the installer still blocked.
func TestInstallGivesUpOnAStalledDownload(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stubInstaller(t, func(string) error { <-release; return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	stdout := os.Stdout
	start := time.Now()
	_, err := InstallXLACPU(ctx, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("want a time-out error, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to give up", d)
	}
	if os.Stdout != stdout {
		t.Errorf("os.Stdout left redirected")
	}
}

// TestInstallReportsWhatItDid: a fresh install, then a second call that
// finds the plugin there (go-xla's installer is then a no-op).
func TestInstallReportsWhatItDid(t *testing.T) {
	dir := t.TempDir()
	stubInstaller(t, func(d string) error {
		versioned := filepath.Join(d, "pjrt_c_api_cpu_v0.0.1_plugin.so")
		if _, err := os.Stat(versioned); err == nil {
			return nil
		}
		if err := os.WriteFile(versioned, []byte("ELF"), 0o755); err != nil {
			return err
		}
		return os.Symlink(filepath.Base(versioned), filepath.Join(d, CPUPluginFile))
	})
	first, err := InstallXLACPU(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.AlreadyThere || first.Plugin != filepath.Join(dir, CPUPluginFile) {
		t.Errorf("first install: %+v", first)
	}
	second, err := InstallXLACPU(context.Background(), dir, nil)
	if err != nil || !second.AlreadyThere {
		t.Errorf("second install: %+v, %v", second, err)
	}
}

// TestInstallerFinishedWithoutPlugin: an installer that reports success but
// leaves no plugin is an error, not a later crash when opening it.
func TestInstallerFinishedWithoutPlugin(t *testing.T) {
	stubInstaller(t, func(string) error { return nil })
	if _, err := InstallXLACPU(context.Background(), t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("want a missing-plugin error, got %v", err)
	}
}

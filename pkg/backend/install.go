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
	"time"

	"github.com/gomlx/go-xla/pkg/installer"
)

// CPUPluginFile is the name go-xla's search path looks for; the installer
// writes a versioned file and links this name to it.
const CPUPluginFile = "pjrt_c_api_cpu_plugin.so"

// cpuAutoInstall is go-xla's CPU installer, a variable so that tests can
// stand in a stalled or failing download. Only the CPU installer is called:
// installer.AutoInstall would also pip-download the CUDA plugin and NVIDIA
// libraries (gigabytes) on a machine with a GPU.
var cpuAutoInstall = installer.CPUAutoInstall

// DefaultXLAInstallDir is the per-user folder in go-xla's plugin search path
// (~/.local/lib/go-xla on Linux), where `auto` and xla:cpu find the plugin.
func DefaultXLAInstallDir() (string, error) {
	lib, err := installer.DefaultHomeLibPath()
	if err != nil {
		return "", err
	}
	return filepath.Join(lib, "go-xla"), nil
}

// Installed says what InstallXLACPU did.
type Installed struct {
	// Plugin is the absolute path of pjrt_c_api_cpu_plugin.so in the install folder.
	Plugin string
	// AlreadyThere is true when go-xla found its plugin version installed and downloaded nothing.
	AlreadyThere bool
	Took         time.Duration
}

// InstallXLACPU downloads XLA's CPU PJRT plugin (the version go-xla was tested
// with, from GitHub) into dir, giving up when ctx ends. go-xla's download has
// no timeout of its own (http.DefaultClient) and cannot be cancelled, so it
// runs in a goroutine that is abandoned on timeout: callers are expected to
// exit soon after an error. progress receives go-xla's spinner, which it
// writes to os.Stdout whatever the verbosity; nil discards it. Errors are one
// line that says what failed and what to do (see InstallAdvice).
func InstallXLACPU(ctx context.Context, dir string, progress *os.File) (*Installed, error) {
	start := time.Now()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	before, _ := filepath.Glob(filepath.Join(abs, "pjrt_c_api_cpu_*_plugin.so"))

	done := make(chan error, 1)
	restore := redirectStdout(progress)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("go-xla's installer panicked: %v", r)
			}
		}()
		done <- cpuAutoInstall(abs, true, installer.Quiet)
	}()
	select {
	case err = <-done:
		restore()
	case <-ctx.Done():
		// The abandoned download may print a last spinner frame to stdout;
		// callers exit right after this error.
		restore()
		return nil, InstallAdvice(ctx.Err(), abs, time.Since(start))
	}
	if err != nil {
		return nil, InstallAdvice(err, abs, time.Since(start))
	}
	plugin := filepath.Join(abs, CPUPluginFile)
	if _, err := os.Stat(plugin); err != nil {
		return nil, fmt.Errorf("go-xla's installer finished but %s is missing (%v): copy %s into %s by hand",
			plugin, oneLine(err), CPUPluginFile, abs)
	}
	after, _ := filepath.Glob(filepath.Join(abs, "pjrt_c_api_cpu_*_plugin.so"))
	return &Installed{Plugin: plugin, AlreadyThere: len(before) > 0 && len(after) == len(before), Took: time.Since(start)}, nil
}

// redirectStdout points os.Stdout at w (nil: /dev/null) and returns the undo.
func redirectStdout(w *os.File) (restore func()) {
	stdout := os.Stdout
	var devNull *os.File
	if w == nil {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return func() {}
		}
		w, devNull = f, f
	}
	os.Stdout = w
	return func() {
		os.Stdout = stdout
		if devNull != nil {
			devNull.Close()
		}
	}
}

// InstallAdvice turns an installer error into one line: what failed, the
// root cause (go-xla wraps it in several layers of URLs) and what to do.
func InstallAdvice(err error, dir string, took time.Duration) error {
	// cp follows the link to the versioned file, so one plain copy is enough.
	copyHint := fmt.Sprintf("copy %s into %s or /usr/local/lib/go-xla from a machine that has it", CPUPluginFile, dir)
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("could not install the XLA CPU plugin: gave up after %s (the download stalled or is slow): retry with a longer --timeout, or %s",
			took.Round(time.Second), copyHint)
	case errors.As(err, &dns):
		cause := "dial tcp: lookup " + dns.Name + ": " + dns.Err
		return fmt.Errorf("could not download the XLA CPU plugin (%s): this machine has no internet; %s", cause, copyHint)
	case errors.As(err, &op):
		return fmt.Errorf("could not download the XLA CPU plugin (%s): GitHub cannot be reached from this machine (check HTTPS_PROXY); %s", oneLine(op), copyHint)
	case strings.Contains(err.Error(), "status code 403"):
		return fmt.Errorf("could not download the XLA CPU plugin (GitHub answered 403, probably its API rate limit): set GH_TOKEN and retry, or %s", copyHint)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("could not install the XLA CPU plugin (%s): choose a writable folder with --xla-dir and add it to PJRT_PLUGIN_LIBRARY_PATH", rootCause(err))
	}
	return fmt.Errorf("could not install the XLA CPU plugin (%s): %s", rootCause(err), copyHint)
}

// rootCause drops go-xla's wrapping down to the innermost URL or OS error.
func rootCause(err error) string {
	var u *url.Error
	if errors.As(err, &u) {
		return oneLine(u.Err)
	}
	var p *os.PathError
	if errors.As(err, &p) {
		return oneLine(p)
	}
	return oneLine(err)
}

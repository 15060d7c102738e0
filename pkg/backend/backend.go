// Package backend chooses and opens the GoMLX backend a run computes on.
//
// A backend is named by a spec string, the same in a recipe's `backend:` key,
// the `--backend` flag and the GOMLX_BACKEND environment variable:
//
//	auto              XLA with a CUDA plugin (one installed by JAX counts), then XLA CPU, then pure Go
//	go                the fastest pure-Go backend this binary has: gocompute where
//	                  it was built with compute's SIMD kernels, simplego otherwise
//	gocompute         compute's Go backend (github.com/gomlx/compute, GoMLX's own
//	                  SIMD backend) through Lathe's adapter, package gocompute
//	simplego          GoMLX v0.26's own pure-Go backend (scalar kernels)
//	xla:cpu           XLA's CPU PJRT plugin, found in the standard PJRT search path
//	xla:cuda          XLA's CUDA plugin: JAX's jax_plugins/xla_cuda*/xla_cuda_plugin.so first
//	xla:/abs/plug.so  a PJRT plugin given by its absolute path
//
// LATHE_GOCOMPUTE_CONFIG passes options to compute's Go backend (its own
// syntax: "parallelism=4", "ops_sequential", …; see compute/gobackend).
//
// `auto` never hangs and never panics: go-xla's download of missing plugins is
// disabled (it cannot succeed offline and may block), every attempt to open XLA
// runs under a time bound, and when nothing works Open falls back to the pure-Go
// backend and says why in one line (Opened.Notice).
//
// Example:
//
//	opened, err := backend.Open(backend.Resolve(flagValue, recipeValue))
//	if err != nil { return err }
//	if opened.Notice != "" { fmt.Fprintln(os.Stderr, opened.Notice) }
//	defer opened.Backend.Finalize()
package backend

import (
	"fmt"
	"github.com/lathe-ml/lathe/pkg/spec"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // registers "go"
	"github.com/gomlx/gomlx/backends/xla"        // registers "xla"
	"github.com/lathe-ml/lathe/pkg/gocompute"
)

// EnvVar is GoMLX's own variable for the backend; Lathe honours it with the same syntax.
const EnvVar = backends.ConfigEnvVar

// Specs lists the accepted forms of a backend spec, for error messages.
var Specs = spec.Backends

// OpenTimeout bounds each attempt at opening an XLA plugin: loading a CUDA
// plugin takes seconds, anything past this is treated as a failure.
var OpenTimeout = 90 * time.Second

func init() {
	// Auto-install downloads plugins from the internet; on an offline machine it
	// fails or stalls. Lathe discovers plugins itself, so downloads are opt-in.
	if os.Getenv("LATHE_XLA_AUTO_INSTALL") == "" {
		xla.EnableAutoInstall(false)
	}
}

// Opened is a backend ready for use, with how it was chosen.
type Opened struct {
	Backend backends.Backend
	// Spec is the resolved spec actually opened, e.g. "go" or "xla:/…/xla_cuda_plugin.so".
	Spec string
	// Requested is what the user asked for ("auto", "xla:cpu", …).
	Requested string
	// Notice is a one-line explanation when auto fell back to the pure-Go backend.
	Notice string
	// Kernels names the kernel path that computes: "compute SIMD (AVX2, AVX512)",
	// "compute portable Go (no SIMD: …)", "simplego scalar Go" or "XLA".
	Kernels string
}

// SIMDWarning is said where a binary lacks compute's SIMD kernels: training
// then runs 5–20× slower than it could on this CPU.
const SIMDWarning = "this lathe was built without compute's SIMD kernels (needs Go 1.27+ and GOEXPERIMENT=simd: " +
	"run scripts/setup.sh, or build with GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd); training runs on scalar Go kernels, 5–20× slower"

// Name is a short name for tables: "go" (either pure-Go backend; Kernels
// says which), "xla:cuda", "xla:cpu" or the plugin file name.
func (o *Opened) Name() string {
	if o.Spec == "go" || o.Spec == gocompute.BackendName || o.Spec == "simplego" {
		return "go"
	}
	plugin := strings.TrimPrefix(o.Spec, "xla:")
	switch {
	case plugin == "cpu", plugin == "cuda":
		return "xla:" + plugin
	case strings.Contains(filepath.Base(plugin), "cuda"):
		return "xla:cuda"
	case strings.Contains(filepath.Base(plugin), "cpu"):
		return "xla:cpu"
	}
	return "xla:" + filepath.Base(plugin)
}

// Resolve applies the precedence flag > GOMLX_BACKEND > recipe > "auto".
func Resolve(flag, recipe string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(EnvVar); env != "" {
		return env
	}
	if recipe != "" {
		return recipe
	}
	return "auto"
}

// Validate reports whether spec has one of the accepted forms, without opening anything.
func Validate(s string) error { return spec.ValidateBackend(s) }

// Open opens the backend named by spec (see the package doc). An explicit spec
// that cannot be opened is an error; "auto" falls back to the pure-Go backend.
func Open(spec string) (*Opened, error) {
	if err := Validate(spec); err != nil {
		return nil, err
	}
	if spec == "" {
		spec = "auto"
	}
	switch spec {
	case "auto":
		return openAuto()
	case "go":
		return openSpec("go", bestGo())
	case gocompute.BackendName, "simplego":
		return openSpec(spec, spec)
	case "xla:cuda":
		for _, c := range cudaCandidates() {
			if o, err := openSpec(spec, c); err == nil {
				return o, nil
			}
		}
		return nil, fmt.Errorf("backend xla:cuda: no CUDA PJRT plugin could be opened (searched JAX's site-packages and %s); "+
			"install JAX with CUDA (pip install jax[cuda13]) or name the plugin with xla:/abs/path/xla_cuda_plugin.so", pluginSearchDescription())
	case "xla:cpu":
		if _, ok := findStandardPlugin("cpu"); !ok {
			return nil, fmt.Errorf("backend xla:cpu: no XLA CPU PJRT plugin found in %s; "+
				"install one with `lathe doctor --install-xla` (needs internet) or use --backend go", pluginSearchDescription())
		}
		return openSpec(spec, "xla:cpu")
	}
	path := strings.TrimPrefix(spec, "xla:")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("backend %s: plugin file not found: %w", spec, err)
	}
	return openSpec(spec, spec)
}

// installHint ends the fallback notice of a binary without compute's SIMD
// kernels: what XLA would buy and the command that gets it. The factor is
// simplego's scalar matmul (~10 GFLOP/s on the 2-core development machine)
// against XLA's CPU code generation; see NOTES.md "XLA". With the SIMD
// kernels the pure-Go backend is within reach of XLA on CPU and no hint is given.
const installHint = " (XLA's CPU plugin trains roughly 10–30× faster: `lathe doctor --install-xla`)"

// openAuto tries the XLA candidates in order of preference — CUDA plugins
// (JAX's first), then an installed XLA CPU plugin — then the pure-Go backend.
func openAuto() (*Opened, error) {
	var tried []string
	candidates := cudaCandidates()
	if _, ok := findStandardPlugin("cpu"); ok {
		candidates = append(candidates, "xla:cpu")
	}
	for _, c := range candidates {
		o, err := openSpec("auto", c)
		if err == nil {
			return o, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %s", c, oneLine(err)))
	}
	o, err := openSpec("auto", bestGo())
	if err != nil {
		return nil, err
	}
	if len(tried) == 0 {
		o.Notice = "backend: no XLA PJRT plugin found (no CUDA plugin from JAX, no XLA CPU plugin in " +
			pluginSearchDescription() + "); using the pure-Go backend"
	} else {
		o.Notice = "backend: XLA could not be opened (" + strings.Join(tried, "; ") + "); using the pure-Go backend"
	}
	if gocompute.SIMDBuilt {
		o.Notice += " on " + o.Kernels
	} else if _, ok := findStandardPlugin("cpu"); !ok || len(tried) == 0 {
		// A CPU plugin that is there but failed to open is not helped by installing it again.
		o.Notice += installHint + "; " + SIMDWarning
	}
	return o, nil
}

// openSpec opens one GoMLX config under a time bound, turning panics into errors.
func openSpec(requested, config string) (*Opened, error) {
	type result struct {
		b   backends.Backend
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("%v", r)}
			}
		}()
		var b backends.Backend
		var err error
		switch config {
		case "simplego":
			b, err = openGo()
		case gocompute.BackendName:
			b, err = gocompute.New(os.Getenv("LATHE_GOCOMPUTE_CONFIG"))
		default:
			b, err = backends.NewWithConfig(config)
		}
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("backend %s: %s", config, oneLine(r.err))
		}
		return &Opened{Backend: r.b, Spec: config, Requested: requested, Kernels: Kernels(r.b)}, nil
	case <-time.After(OpenTimeout):
		return nil, fmt.Errorf("backend %s: gave up after %s", config, OpenTimeout)
	}
}

// bestGo is the pure-Go backend "go" and "auto" open: compute's where this
// binary has its SIMD kernels, GoMLX's simplego otherwise (compute's
// portable kernels are no faster than simplego's, and simplego is the
// one every earlier result was measured on).
func bestGo() string {
	if gocompute.SIMDBuilt {
		return gocompute.BackendName
	}
	return "simplego"
}

// Kernels names the kernel path backend b computes with.
func Kernels(b backends.Backend) string {
	switch cb := b.(type) {
	case *gocompute.Backend:
		if !gocompute.SIMDBuilt {
			return "compute portable Go (no SIMD: built without GOEXPERIMENT=simd or Go 1.27)"
		}
		return "compute SIMD (" + cb.Kernels() + ")"
	}
	if b.String() == "go" {
		return "simplego scalar Go"
	}
	return b.String()
}

// openGo opens the pure-Go backend with a larger worker pool than its
// default. GoMLX v0.26.0's pool admits 2×NumCPU tasks, and an op running
// as a task (a DotGeneral) waits inside it for more tasks: once 2×NumCPU
// such ops are ready at once — four on 2 cores, as in a student's backward
// pass beside a hint's projection — every task waits and the process
// hangs. With 4×NumCPU workers the pool admits 8×NumCPU tasks; training
// speed measured the same. GoMLX prints the setting to stdout, which is
// Lathe's summary, so stdout is silenced while it opens.
func openGo() (backends.Backend, error) {
	config := fmt.Sprintf("go:parallelism=%d", 4*runtime.NumCPU())
	stdout := os.Stdout
	if devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stdout = devNull
		defer func() { os.Stdout = stdout; devNull.Close() }()
	}
	return backends.NewWithConfig(config)
}

// oneLine keeps the first line of an error: PJRT errors can carry long traces.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

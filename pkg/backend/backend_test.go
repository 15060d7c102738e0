package backend

import (
	"github.com/lathe-ml/lathe/pkg/gocompute"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	for _, ok := range []string{"", "auto", "go", "xla:cpu", "xla:cuda", "xla:/opt/p/xla_cuda_plugin.so"} {
		if err := Validate(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"tpu", "xla:relative/plugin.so", "XLA", "go:fast"} {
		if err := Validate(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestResolvePrecedence(t *testing.T) {
	t.Setenv(EnvVar, "")
	if got := Resolve("", ""); got != "auto" {
		t.Errorf("default %q", got)
	}
	if got := Resolve("", "xla:cpu"); got != "xla:cpu" {
		t.Errorf("recipe %q", got)
	}
	t.Setenv(EnvVar, "go")
	if got := Resolve("", "xla:cpu"); got != "go" {
		t.Errorf("env over recipe: %q", got)
	}
	if got := Resolve("xla:cuda", "xla:cpu"); got != "xla:cuda" {
		t.Errorf("flag over env: %q", got)
	}
}

// TestAutoFallsBackWithANotice: on a machine without XLA plugins (CI) auto
// opens the pure-Go backend at once and says why in one line.
func TestAutoFallsBackWithANotice(t *testing.T) {
	if len(cudaCandidates()) > 0 {
		t.Skip("this machine has a CUDA plugin: auto rightly picks it")
	}
	if _, ok := findStandardPlugin("cpu"); ok {
		t.Skip("this machine has an XLA CPU plugin")
	}
	start := time.Now()
	o, err := Open("auto")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Backend.Finalize()
	if o.Name() != "go" || o.Notice == "" || strings.Contains(o.Notice, "\n") {
		t.Errorf("opened %s, notice %q", o.Name(), o.Notice)
	}
	if gocompute.SIMDBuilt {
		// The notice names the SIMD kernels the pure-Go backend runs on.
		if !strings.Contains(o.Notice, "compute SIMD") || o.Kernels == "" {
			t.Errorf("notice %q (kernels %q) does not name compute's SIMD kernels", o.Notice, o.Kernels)
		}
	} else if !strings.Contains(o.Notice, "faster") || !strings.Contains(o.Notice, "`lathe doctor --install-xla`") ||
		!strings.Contains(o.Notice, "GOEXPERIMENT=simd") {
		// Without them it says what XLA or a SIMD build would buy, and how to get them.
		t.Errorf("notice %q does not point at lathe doctor --install-xla and a SIMD build", o.Notice)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("auto took %s to fall back", d)
	}
}

// TestBrokenPluginsAreErrorsNotPanics: a file that is not a PJRT plugin, named
// explicitly or found in the search path, gives an error (explicit) or a
// fallback (auto), never a crash.
func TestBrokenPluginsAreErrorsNotPanics(t *testing.T) {
	dir := t.TempDir()
	bogus := filepath.Join(dir, "pjrt_c_api_cpu_plugin.so")
	if err := os.WriteFile(bogus, []byte("not an ELF file"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("xla:" + bogus); err == nil {
		t.Errorf("opening a bogus plugin: want an error")
	} else if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	if _, err := Open("xla:" + filepath.Join(dir, "absent.so")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("absent plugin: %v", err)
	}
	if _, err := Open("xla:cuda"); err == nil && !HasNVIDIADevice() {
		t.Errorf("xla:cuda without a GPU: want an error")
	}
}

func TestExplicitXLACPUWithoutPlugin(t *testing.T) {
	if _, ok := findStandardPlugin("cpu"); ok {
		t.Skip("this machine has an XLA CPU plugin")
	}
	_, err := Open("xla:cpu")
	if err == nil || !strings.Contains(err.Error(), "no XLA CPU PJRT plugin found") || !strings.Contains(err.Error(), "--backend go") {
		t.Errorf("xla:cpu without a plugin: %v", err)
	}
}

func TestOpenedName(t *testing.T) {
	cases := map[string]string{
		"go":       "go",
		"xla:cpu":  "xla:cpu",
		"xla:cuda": "xla:cuda",
		"xla:/usr/lib/python3/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so": "xla:cuda",
		"xla:/opt/pjrt_c_api_cpu_plugin.so":                                            "xla:cpu",
	}
	for spec, want := range cases {
		if got := (&Opened{Spec: spec}).Name(); got != want {
			t.Errorf("%s: %s, want %s", spec, got, want)
		}
	}
}

func TestJAXPluginDiscovery(t *testing.T) {
	venv := t.TempDir()
	plugin := filepath.Join(venv, "lib", "python3.12", "site-packages", "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	if err := os.MkdirAll(filepath.Dir(plugin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plugin, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIRTUAL_ENV", venv)
	found := JAXCUDAPlugins()
	for _, p := range found {
		if p == plugin {
			return
		}
	}
	t.Errorf("plugin in $VIRTUAL_ENV not found: %v", found)
}

// TestGoOpensTheSIMDBackendWhereBuilt: "go" is compute's backend on its
// SIMD kernels in a SIMD build, simplego otherwise; each names its kernels.
// With LATHE_REQUIRE_SIMD=1 (CI) a build without them fails here.
func TestGoOpensTheSIMDBackendWhereBuilt(t *testing.T) {
	if os.Getenv("LATHE_REQUIRE_SIMD") == "1" && !gocompute.SIMDBuilt {
		t.Fatal("LATHE_REQUIRE_SIMD=1 but this test binary lacks compute's SIMD kernels: build with Go 1.27+ and GOEXPERIMENT=simd (scripts/goenv.sh)")
	}
	o, err := Open("go")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Backend.Finalize()
	want := "simplego scalar Go"
	if gocompute.SIMDBuilt {
		want = "compute SIMD ("
	}
	if !strings.HasPrefix(o.Kernels, want) || o.Name() != "go" {
		t.Errorf("go opened %s with kernels %q, want %q…", o.Name(), o.Kernels, want)
	}
	for _, spec := range []string{"simplego", "gocompute"} {
		o, err := Open(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if o.Name() != "go" || o.Kernels == "" {
			t.Errorf("%s opened %s with kernels %q", spec, o.Name(), o.Kernels)
		}
		o.Backend.Finalize()
	}
}

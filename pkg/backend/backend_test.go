package backend

import (
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
	// The notice says what XLA would buy and the command that installs it.
	if !strings.Contains(o.Notice, "faster") || !strings.Contains(o.Notice, "`lathe doctor --install-xla`") {
		t.Errorf("notice %q does not point at lathe doctor --install-xla", o.Notice)
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

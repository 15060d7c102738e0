package backend

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/go-xla/pkg/pjrt"
)

// HasNVIDIADevice reports whether the kernel exposes an NVIDIA GPU. Without
// one a CUDA plugin cannot work, so auto does not spend time loading it.
func HasNVIDIADevice() bool {
	matches, _ := filepath.Glob("/dev/nvidia[0-9]*")
	return len(matches) > 0
}

// JAXCUDAPlugins lists CUDA PJRT plugins installed by JAX
// (site-packages/jax_plugins/xla_cuda*/xla_cuda_plugin.so), newest CUDA first.
func JAXCUDAPlugins() []string {
	seen := map[string]bool{}
	var found []string
	for _, dir := range sitePackagesDirs() {
		matches, _ := filepath.Glob(filepath.Join(dir, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so"))
		for _, m := range matches {
			if abs, err := filepath.Abs(m); err == nil && !seen[abs] {
				seen[abs] = true
				found = append(found, abs)
			}
		}
	}
	// xla_cuda13 before xla_cuda12: the newer plugin matches newer drivers.
	sort.Slice(found, func(i, j int) bool { return found[i] > found[j] })
	return found
}

// cudaCandidates are the specs auto and xla:cuda try, in order.
func cudaCandidates() []string {
	if !HasNVIDIADevice() {
		return nil
	}
	var specs []string
	for _, p := range JAXCUDAPlugins() {
		specs = append(specs, "xla:"+p)
	}
	if _, ok := findStandardPlugin("cuda"); ok {
		specs = append(specs, "xla:cuda")
	}
	return specs
}

// StandardPlugins lists the PJRT plugins in go-xla's search path (name → file).
func StandardPlugins() map[string]string {
	return pjrt.AvailablePlugins()
}

func findStandardPlugin(name string) (string, bool) {
	p, ok := StandardPlugins()[name]
	return p, ok
}

func pluginSearchDescription() string {
	if p := os.Getenv("PJRT_PLUGIN_LIBRARY_PATH"); p != "" {
		return "PJRT_PLUGIN_LIBRARY_PATH=" + p
	}
	return "/usr/local/lib/go-xla, ~/.local/lib/go-xla and the system library path"
}

// sitePackagesDirs guesses where Python packages live: the usual prefixes,
// virtual environments, pyenv and conda, plus what python3 itself reports
// (asked under a short time bound so a broken interpreter cannot stall a run).
func sitePackagesDirs() []string {
	home, _ := os.UserHomeDir()
	patterns := []string{
		"/usr/lib/python3*/site-packages", "/usr/lib/python3*/dist-packages",
		"/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
		"/opt/conda/lib/python3*/site-packages", "/opt/conda/envs/*/lib/python3*/site-packages",
	}
	if home != "" {
		patterns = append(patterns,
			filepath.Join(home, ".local/lib/python3*/site-packages"),
			filepath.Join(home, ".pyenv/versions/*/lib/python3*/site-packages"),
			filepath.Join(home, "miniconda3/lib/python3*/site-packages"),
			filepath.Join(home, "miniconda3/envs/*/lib/python3*/site-packages"),
			filepath.Join(home, "anaconda3/lib/python3*/site-packages"))
	}
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if v := os.Getenv(env); v != "" {
			patterns = append(patterns, filepath.Join(v, "lib/python3*/site-packages"))
		}
	}
	var dirs []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		dirs = append(dirs, m...)
	}
	return append(dirs, pythonSitePackages()...)
}

func pythonSitePackages() []string {
	python, err := exec.LookPath("python3")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c",
		"import site,sys;print('\\n'.join(site.getsitepackages()+[site.getusersitepackages()]+sys.path))").Output()
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" && strings.Contains(line, "-packages") {
			dirs = append(dirs, line)
		}
	}
	return dirs
}

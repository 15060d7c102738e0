package nbui

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeKernel(t *testing.T, dir, argv0 string) {
	t.Helper()
	k := filepath.Join(dir, "kernels", "gonb")
	if err := os.MkdirAll(k, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := `{"argv":["` + argv0 + `","--kernel","{connection_file}"],"display_name":"Go (gonb)","language":"go"}`
	if err := os.WriteFile(filepath.Join(k, "kernel.json"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindGoNBKernel(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to stand in for gonb")
	}
	empty, good, broken := t.TempDir(), t.TempDir(), t.TempDir()
	writeKernel(t, good, sh)
	writeKernel(t, broken, filepath.Join(broken, "gonb-gone"))
	cases := []struct {
		name string
		dirs []string
		want string // substring of the result or the error
		ok   bool
	}{
		{"missing", []string{empty}, "not installed", false},
		{"installed", []string{empty, good}, sh + " (" + good, true},
		{"first folder wins", []string{broken, good}, "gonb-gone, which is missing", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := findGoNBKernel(c.dirs)
			if c.ok != (err == nil) {
				t.Fatalf("got %q, error %v", got, err)
			}
			msg := got
			if err != nil {
				msg = err.Error()
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("%q lacks %q", msg, c.want)
			}
		})
	}
}

// TestCheckKernelHonoursJupyterDataDir: Jupyter looks in JUPYTER_DATA_DIR
// first (the notebook test installs its kernel there), so a kernel written
// there is the one found.
func TestCheckKernelHonoursJupyterDataDir(t *testing.T) {
	if _, err := exec.LookPath("jupyter"); err != nil {
		t.Skip("jupyter is not installed (scripts/setup.sh installs it)")
	}
	sh, _ := exec.LookPath("sh")
	dir := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", dir)
	writeKernel(t, dir, sh)
	k := CheckKernel()
	if k.Nbconvert == "" {
		t.Skipf("nbconvert missing: %v", k.Problems)
	}
	if !strings.Contains(k.Kernel, dir) {
		t.Errorf("kernel %q not found in JUPYTER_DATA_DIR %s (problems %v)", k.Kernel, dir, k.Problems)
	}
}

package nbui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// KernelFix says how to install what notebooks need, by hand.
const KernelFix = "run scripts/setup.sh, or by hand: apt-get install jupyter-nbconvert python3-ipykernel; " +
	"in the repository: go install github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports; " +
	"then gonb --install --force_deps --raw_error (see notebooks/README.md)"

// KernelStatus is what `lathe doctor` reports about running notebooks here.
type KernelStatus struct {
	Nbconvert string // nbconvert's version; "" when missing
	Kernel    string // the GoNB kernelspec file and the program it starts; "" when missing
	Goimports string // where goimports is; "" when missing
	Problems  []string
}

// OK reports whether notebooks can run.
func (k KernelStatus) OK() bool { return len(k.Problems) == 0 }

// CheckKernel looks for Jupyter's nbconvert, the GoNB kernel registered
// with Jupyter (in the data folders `jupyter --paths` lists, which honour
// JUPYTER_DATA_DIR) and goimports, which GoNB runs on every cell.
func CheckKernel() KernelStatus {
	var k KernelStatus
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := exec.LookPath("jupyter"); err != nil {
		k.Problems = append(k.Problems, "jupyter: not found")
	} else if out, err := exec.CommandContext(ctx, "jupyter", "nbconvert", "--version").Output(); err != nil {
		k.Problems = append(k.Problems, "jupyter nbconvert: not installed")
	} else {
		k.Nbconvert = strings.TrimSpace(string(out))
		dirs, err := jupyterDataDirs(ctx)
		if err == nil {
			k.Kernel, err = findGoNBKernel(dirs)
		}
		if err != nil {
			k.Problems = append(k.Problems, "GoNB kernel: "+err.Error())
		}
	}
	if p, err := findTool("goimports"); err != nil {
		k.Problems = append(k.Problems, "goimports: not found (GoNB runs it on every cell)")
	} else {
		k.Goimports = p
	}
	return k
}

func jupyterDataDirs(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "jupyter", "--paths", "--json").Output()
	if err != nil {
		return nil, fmt.Errorf("jupyter --paths: %v", err)
	}
	var paths struct {
		Data []string `json:"data"`
	}
	if err := json.Unmarshal(out, &paths); err != nil {
		return nil, fmt.Errorf("jupyter --paths: %v", err)
	}
	return paths.Data, nil
}

// findGoNBKernel finds kernels/gonb/kernel.json in the first data folder
// that has one (Jupyter's order) and checks that the program it starts exists.
func findGoNBKernel(dataDirs []string) (string, error) {
	for _, dir := range dataDirs {
		file := filepath.Join(dir, "kernels", "gonb", "kernel.json")
		raw, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		var spec struct {
			Argv []string `json:"argv"`
		}
		if err := json.Unmarshal(raw, &spec); err != nil || len(spec.Argv) == 0 {
			return "", fmt.Errorf("%s: not a kernelspec that starts a program", file)
		}
		if _, err := exec.LookPath(spec.Argv[0]); err != nil {
			return "", fmt.Errorf("%s starts %s, which is missing", file, spec.Argv[0])
		}
		return fmt.Sprintf("%s (%s)", spec.Argv[0], file), nil
	}
	return "", fmt.Errorf("not installed (no kernels/gonb/kernel.json in Jupyter's data folders: %s)", strings.Join(dataDirs, ", "))
}

// findTool looks for a command on PATH, then in Go's bin folder, where
// `go install` puts it.
func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		gobin = filepath.Join(filepath.SplitList(gopath)[0], "bin")
	}
	p := filepath.Join(gobin, name)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p + " (not on PATH: add " + gobin + " to PATH)", nil
}

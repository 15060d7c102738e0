package infer

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// KernelsEnv forces a kernel set for the whole process ("portable",
// "avx2", "avx512"), as Use does: for tests and comparisons.
const KernelsEnv = "LATHE_INFER_KERNELS"

var (
	kernelMu sync.Mutex
	forced   *kernels
	envOnce  sync.Once
	envErr   error
)

// Available lists the kernel sets this machine can run, best first; the
// portable Go set is always last.
func Available() []string {
	var names []string
	for _, k := range simdKernels() {
		names = append(names, k.name)
	}
	return append(names, portable.name)
}

// CPUFeatures names the CPU features the kernels use that this machine has.
func CPUFeatures() []string { return cpuFeatures() }

// Use makes models loaded from now on run on the named kernel set
// ("auto" for the best this CPU has). Models already loaded keep theirs.
func Use(name string) error {
	k, err := lookupKernels(name)
	if err != nil {
		return err
	}
	kernelMu.Lock()
	forced = k
	kernelMu.Unlock()
	return nil
}

func lookupKernels(name string) (*kernels, error) {
	switch name {
	case "", "auto":
		if simd := simdKernels(); len(simd) > 0 {
			return simd[0], nil
		}
		return portable, nil
	case portable.name:
		return portable, nil
	}
	for _, k := range simdKernels() {
		if k.name == name {
			return k, nil
		}
	}
	return nil, fmt.Errorf("kernels %q: this CPU runs %s", name, strings.Join(Available(), ", "))
}

// selected is the kernel set a model loaded now gets: Use's, else
// $LATHE_INFER_KERNELS's, else the best available.
func selected() (*kernels, error) {
	envOnce.Do(func() {
		if name := os.Getenv(KernelsEnv); name != "" {
			if k, err := lookupKernels(name); err != nil {
				envErr = fmt.Errorf("$%s: %w", KernelsEnv, err)
			} else {
				forced = k
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	kernelMu.Lock()
	defer kernelMu.Unlock()
	if forced != nil {
		return forced, nil
	}
	return lookupKernels("auto")
}

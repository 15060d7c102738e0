package runs

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// MachineParam is the run parameter that records the machine a run
// measured on (Machine), so that a figure quoted from the run can name its
// CPU: timings differ between an AMD EPYC and an Intel Xeon.
const MachineParam = "machine"

// Machine describes this computer for a figure measured on it: the CPU's
// model name and how many cores Go may use, e.g. "AMD EPYC 9R14, 2 cores".
// Where the model is unknown (no /proc/cpuinfo) it names the architecture.
func Machine() string {
	return fmt.Sprintf("%s, %d cores", cpuModel(), runtime.NumCPU())
}

// cpuModel is /proc/cpuinfo's first "model name" (x86) or "Model"
// (arm64), else GOOS/GOARCH.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			key, value, ok := strings.Cut(sc.Text(), ":")
			key = strings.TrimSpace(key)
			if ok && (key == "model name" || key == "Model") && strings.TrimSpace(value) != "" {
				return strings.Join(strings.Fields(value), " ")
			}
		}
	}
	return runtime.GOOS + "/" + runtime.GOARCH
}

package tui

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// GPU use is read from nvidia-smi when it is installed: it is the one
// interface every NVIDIA driver ships, and it sees the devices of other
// processes too (the training runs in its own process). Other GPUs, or a
// machine without nvidia-smi, show as "none visible".

// gpuStat is one device's use.
type gpuStat struct {
	index             int
	name              string
	util              float64 // percent
	memUsed, memTotal float64 // MiB
}

// gpuReading is one query of every device and of the processes using them.
type gpuReading struct {
	available bool // nvidia-smi exists
	err       string
	gpus      []gpuStat
	procMiB   map[int]float64 // GPU memory by process id
}

// nvidiaSMI runs nvidia-smi with a query and returns its output; a
// variable so tests can stand in for a machine with GPUs.
var nvidiaSMI = func(args ...string) (string, error) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return "", errNoSMI
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil {
		return "", fmt.Errorf("nvidia-smi: %w", err)
	}
	return string(out), nil
}

var errNoSMI = fmt.Errorf("nvidia-smi not found")

func readGPUs() gpuReading {
	out, err := nvidiaSMI("--query-gpu=index,name,utilization.gpu,memory.used,memory.total", "--format=csv,noheader,nounits")
	if err == errNoSMI {
		return gpuReading{}
	}
	if err != nil {
		return gpuReading{available: true, err: err.Error()}
	}
	r := gpuReading{available: true}
	if r.gpus, err = parseGPUs(out); err != nil {
		r.err = err.Error()
		return r
	}
	if apps, err := nvidiaSMI("--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"); err == nil {
		r.procMiB = parseGPUApps(apps)
	}
	return r
}

// parseGPUs reads `nvidia-smi --query-gpu=index,name,utilization.gpu,
// memory.used,memory.total --format=csv,noheader,nounits`. A value the
// driver cannot give reads "[N/A]" (utilization under MIG) and becomes -1.
func parseGPUs(out string) ([]gpuStat, error) {
	var gpus []gpuStat
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 5 {
			return nil, fmt.Errorf("nvidia-smi: unexpected line %q", line)
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		idx, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("nvidia-smi: unexpected line %q", line)
		}
		gpus = append(gpus, gpuStat{index: idx, name: f[1], util: number(f[2]), memUsed: number(f[3]), memTotal: number(f[4])})
	}
	return gpus, nil
}

// parseGPUApps reads `nvidia-smi --query-compute-apps=pid,used_memory
// --format=csv,noheader,nounits`, summing a process's memory over devices.
func parseGPUApps(out string) map[int]float64 {
	m := map[int]float64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) != 2 {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil {
			continue
		}
		if v := number(strings.TrimSpace(f[1])); v >= 0 {
			m[pid] += v
		}
	}
	return m
}

func number(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return v
}

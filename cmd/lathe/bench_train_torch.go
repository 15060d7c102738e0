package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// torchTrain is one run of scripts/torch-train-ref.py: PyTorch's median
// Adam step on the model, batch and threads Lathe timed.
type torchTrain struct {
	Engine    string  `json:"engine"`
	MsPerStep float64 `json:"ms_per_step"`
	Threads   int     `json:"threads"`
	BLAS      string  `json:"blas"`
}

// versusTorch is the outcome of alternating rounds of Lathe and PyTorch on
// one configuration: both sides' medians over the rounds and their ratio.
type versusTorch struct {
	Model        string    `json:"model"`
	Precision    string    `json:"precision"`
	Batch        int       `json:"batch"`
	Kernels      string    `json:"lathe_kernels"`
	Torch        string    `json:"torch"`
	TorchThreads int       `json:"torch_threads"`
	TorchBLAS    string    `json:"torch_blas"`
	OpenBLASCore string    `json:"openblas_coretype,omitempty"`
	LatheMs      []float64 `json:"lathe_ms_rounds"`
	TorchMs      []float64 `json:"torch_ms_rounds"`
	LatheMedian  float64   `json:"lathe_ms"`
	TorchMedian  float64   `json:"torch_ms"`
	Ratio        float64   `json:"lathe_over_torch"`
	// Machine and Date say where and when (lathe results add reads them).
	Machine string `json:"machine"`
	Date    string `json:"date"`
}

// torchArgs describes a zoo model to the script in its own flags.
func torchArgs(s models.Spec, example []int, batch, steps int, precision string) []string {
	input := make([]string, len(example))
	for i, d := range example {
		input[i] = strconv.Itoa(d)
	}
	args := []string{"--model", s.Arch, "--input", strings.Join(input, "x"), "--batch", strconv.Itoa(batch),
		"--precision", precision, "--steps", strconv.Itoa(steps), "--threads", strconv.Itoa(runtime.NumCPU()), "--device", "cpu"}
	if s.Arch == "mlp" {
		hidden := make([]string, len(s.Hidden))
		for i, h := range s.Hidden {
			hidden[i] = strconv.Itoa(h)
		}
		args = append(args, "--hidden", strings.Join(hidden, ","))
	}
	return args
}

func runTorchTrain(script string, args []string) (*torchTrain, error) {
	var stderr bytes.Buffer
	c := exec.Command("/usr/bin/python3", append([]string{script}, args...)...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("--torch: %s: %v: %s", script, err, strings.TrimSpace(bench.LastLine(stderr.String())))
	}
	var r torchTrain
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil || r.MsPerStep <= 0 {
		return nil, fmt.Errorf("--torch: %s printed %q", script, strings.TrimSpace(string(out)))
	}
	return &r, nil
}

// benchVersusTorch alternates Lathe's and PyTorch's train steps, rounds
// times each, so that both sides see the same machine load.
func benchVersusTorch(lathe func() (*bench.Result, error), script string, args []string, rounds int, kernels string) (*versusTorch, error) {
	v := &versusTorch{Kernels: kernels, OpenBLASCore: os.Getenv("OPENBLAS_CORETYPE"), Machine: runs.Machine(), Date: today()}
	for range rounds {
		res, err := lathe()
		if err != nil {
			return nil, err
		}
		v.Model, v.Precision, v.Batch = res.Model, res.Precision, res.Batch
		v.LatheMs = append(v.LatheMs, res.MsPerStep)
		t, err := runTorchTrain(script, args)
		if err != nil {
			return nil, err
		}
		v.Torch, v.TorchThreads, v.TorchBLAS = t.Engine, t.Threads, t.BLAS
		v.TorchMs = append(v.TorchMs, t.MsPerStep)
	}
	v.LatheMedian, v.TorchMedian = median(v.LatheMs), median(v.TorchMs)
	v.Ratio = v.LatheMedian / v.TorchMedian
	return v, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func printVersusTorch(versus []*versusTorch, asJSON bool) error {
	if asJSON {
		return writeJSON(os.Stdout, versus)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tPRECISION\tBATCH\tLATHE MS/STEP\tPYTORCH MS/STEP\tLATHE ÷ PYTORCH\tROUNDS (LATHE | PYTORCH)")
	for _, v := range versus {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.2f\t%.2f×\t%s | %s\n", v.Model, v.Precision, v.Batch, v.LatheMedian, v.TorchMedian, v.Ratio,
			joinMs(v.LatheMs), joinMs(v.TorchMs))
	}
	tw.Flush()
	if len(versus) > 0 {
		v := versus[0]
		core := ""
		if v.OpenBLASCore != "" {
			core = ", OPENBLAS_CORETYPE=" + v.OpenBLASCore
		}
		fmt.Printf("lathe: %s, %d threads; pytorch: %s, %d threads, %s%s; medians of %d alternating rounds\n",
			v.Kernels, runtime.NumCPU(), v.Torch, v.TorchThreads, v.TorchBLAS, core, len(v.LatheMs))
	}
	return nil
}

func joinMs(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}

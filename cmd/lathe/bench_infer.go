package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/spf13/cobra"
)

// inferReport is `lathe bench infer --json`.
type inferReport struct {
	Model       string              `json:"model"`
	CPUFeatures []string            `json:"cpu_features"`
	Kernels     string              `json:"kernels"`
	Threads     int                 `json:"threads"`
	Results     []bench.InferResult `json:"results"`
	// Speedup is GoMLX's p50 over the runtime's, by batch size.
	Speedup map[string]float64 `json:"speedup_vs_gomlx"`
	// VsTorch is the runtime's p50 over PyTorch's (below 1: faster), by batch size.
	VsTorch map[string]float64 `json:"runtime_over_pytorch,omitempty"`
}

func benchInferCmd(g *globalFlags) *cobra.Command {
	var batches, torchScript string
	var asJSON, torch bool
	var seconds float64
	cmd := &cobra.Command{
		Use:   "infer RUN|FILE",
		Short: "Time inference: the GoMLX backend against Lathe's runtime, interleaved in one process",
		Long: "Time a model — a Lathe model file, or a finished run's final model — on the GoMLX backend at hand\n" +
			"(compiled once, compile time reported apart) and on Lathe's pure-Go runtime, call by call in\n" +
			"turn: p50 and p99 latency, samples/s, heap allocations per call, and the ratio. --torch also runs\n" +
			"scripts/torch-infer-ref.py (Debian's python3-torch) on the same shapes and threads, for reference.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sizes []int
			for _, f := range strings.Split(batches, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 || n > 65536 {
					return fmt.Errorf("--batch %q: want batch sizes such as 1,64", batches)
				}
				sizes = append(sizes, n)
			}
			file, name, err := modelFile(g, args[0])
			if err != nil {
				return err
			}
			opened, err := backend.Open(backend.Resolve(g.backend, ""))
			if err != nil {
				return err
			}
			defer opened.Backend.Finalize()
			if opened.Notice != "" && !asJSON {
				fmt.Fprintln(os.Stderr, opened.Notice)
			}
			results, err := bench.Infer(opened.Backend, opened.Name(), file, bench.InferConfig{Batch: sizes, MinTime: time.Duration(seconds * float64(time.Second))})
			if err != nil {
				return err
			}
			rep := inferReport{Model: name, CPUFeatures: infer.CPUFeatures(), Threads: runtime.GOMAXPROCS(0), Results: results, Speedup: map[string]float64{}}
			m, err := infer.New(file)
			if err != nil {
				return err
			}
			rep.Kernels = m.Kernels()
			for i := 0; i+1 < len(results); i += 2 {
				rep.Speedup[strconv.Itoa(results[i].Batch)] = results[i].P50Ms / results[i+1].P50Ms
			}
			if torch {
				torchResults, err := runTorch(torchScript, file, batches, rep.Threads)
				if err != nil {
					return err
				}
				rep.VsTorch = map[string]float64{}
				for _, t := range torchResults {
					for _, r := range results[1:] {
						if r.Batch == t.Batch && strings.HasPrefix(r.Engine, "lathe") {
							rep.VsTorch[strconv.Itoa(t.Batch)] = r.P50Ms / t.P50Ms
						}
					}
				}
				rep.Results = append(rep.Results, torchResults...)
			}
			if asJSON {
				return writeJSON(os.Stdout, rep)
			}
			fmt.Printf("model %s; CPU features %s; runtime kernels %s; %d threads\n", name, strings.Join(rep.CPUFeatures, ","), rep.Kernels, rep.Threads)
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ENGINE\tBATCH\tP50 MS\tP99 MS\tSAMPLES/S\tALLOCS/CALL\tCOMPILE S\tCALLS")
			for _, r := range rep.Results {
				allocs, compile := "-", "-"
				if !strings.HasPrefix(r.Engine, "pytorch") {
					allocs = fmt.Sprintf("%.1f", r.AllocsPerCall)
				}
				if r.CompileS > 0 {
					compile = fmt.Sprintf("%.2f", r.CompileS)
				}
				fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.0f\t%s\t%s\t%d\n", r.Engine, r.Batch, r.P50Ms, r.P99Ms, r.SamplesPerS, allocs, compile, r.Calls)
			}
			tw.Flush()
			for i := 0; i+1 < len(results); i += 2 {
				fmt.Printf("batch %d: the runtime is %.1f× faster than %s (p50 %.3f vs %.3f ms, interleaved in one process)\n",
					results[i].Batch, results[i].P50Ms/results[i+1].P50Ms, results[i].Engine, results[i+1].P50Ms, results[i].P50Ms)
			}
			for _, t := range rep.Results[len(results):] {
				fmt.Printf("batch %d: runtime p50 / %s p50 = %.2f (same session, %d threads)\n", t.Batch, t.Engine, rep.VsTorch[strconv.Itoa(t.Batch)], rep.Threads)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&batches, "batch", "1,64", "batch sizes, comma-separated")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().Float64Var(&seconds, "seconds", 3, "seconds of interleaved calls per batch size")
	cmd.Flags().BoolVar(&torch, "torch", false, "also time PyTorch with scripts/torch-infer-ref.py (/usr/bin/python3 with python3-torch)")
	cmd.Flags().StringVar(&torchScript, "torch-script", "scripts/torch-infer-ref.py", "the PyTorch reference script")
	cmd.Flags().StringVar(&g.backend, "backend", "", "GoMLX backend: auto, go, xla:cpu, xla:cuda or xla:/abs/plugin.so")
	return cmd
}

// modelFile is a model file by path, or a finished run's final model
// exported in memory; name describes it.
func modelFile(g *globalFlags, arg string) (*infer.File, string, error) {
	if info, err := os.Stat(arg); err == nil && info.Mode().IsRegular() {
		if err := refuseONNX(arg); err != nil {
			return nil, "", err
		}
		f, err := infer.ReadFile(arg, 0)
		if err != nil {
			return nil, "", err
		}
		if _, err := infer.New(f); err != nil {
			return nil, "", fmt.Errorf("%s: %w", arg, err)
		}
		return f, arg, nil
	}
	store, err := runs.OpenExisting(storeDir(g))
	if err != nil {
		return nil, "", fmt.Errorf("%s: no such file, and %w", arg, err)
	}
	defer store.Close()
	s, err := runner.Reopen(context.Background(), store, arg, "go")
	if err != nil {
		return nil, "", err
	}
	defer s.Close()
	f, err := export.Build(export.SourceOf(s))
	if err != nil {
		return nil, "", err
	}
	return f, fmt.Sprintf("run %s (%s)", s.RunID, s.Recipe.Name), nil
}

// runTorch runs the PyTorch reference script on the model's graph and
// reads its JSON lines.
func runTorch(script string, file *infer.File, batches string, threads int) ([]bench.InferResult, error) {
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("--torch: %s not found (run from the repository, or give --torch-script)", script)
	}
	graph, err := infer.GraphOf(file)
	if err != nil {
		return nil, err
	}
	shapes := map[string][]int{}
	for name, t := range file.Tensors {
		shapes[name] = t.Shape
	}
	var desc map[string]any
	text, _ := graph.Marshal()
	if err := json.Unmarshal([]byte(text), &desc); err != nil {
		return nil, err
	}
	desc["tensor_shapes"] = shapes
	dir, err := os.MkdirTemp("", "lathe-torch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "graph.json")
	if err := writeJSONFile(path, desc); err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	c := exec.Command("/usr/bin/python3", script, "--graph", path, "--batch", batches, "--threads", strconv.Itoa(threads))
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("--torch: %s: %v: %s", script, err, strings.TrimSpace(lastLine(stderr.String())))
	}
	var results []bench.InferResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r struct {
			Engine      string  `json:"engine"`
			Batch       int     `json:"batch"`
			P50         float64 `json:"p50_ms"`
			P99         float64 `json:"p99_ms"`
			SamplesPerS float64 `json:"samples_per_s"`
			Calls       int     `json:"calls"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("--torch: %s printed %q", script, sc.Text())
		}
		results = append(results, bench.InferResult{Engine: r.Engine, Batch: r.Batch, P50Ms: r.P50, P99Ms: r.P99, SamplesPerS: r.SamplesPerS, Calls: r.Calls})
	}
	return results, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
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
	Model       string   `json:"model"`
	CPUFeatures []string `json:"cpu_features"`
	Kernels     string   `json:"kernels"`
	Threads     int      `json:"threads"`
	// Machine and Date say where and when (lathe results add reads them).
	Machine string              `json:"machine"`
	Date    string              `json:"date"`
	Results []bench.InferResult `json:"results"`
	// Speedup is GoMLX's p50 over the (float) runtime's, by batch size.
	Speedup map[string]float64 `json:"speedup_vs_gomlx"`
	// VsTorch is the (float) runtime's p50 over PyTorch's float one (below
	// 1: faster), by batch size.
	VsTorch map[string]float64 `json:"runtime_over_pytorch,omitempty"`

	// With an int8 model: the two files, the integer kernels, the runtime's
	// int8 speed-up over its float32 (f32 p50 / int8 p50), and with --torch
	// which int8 PyTorch ran and the int8 runtime's p50 over its.
	F32Model    string             `json:"f32_model,omitempty"`
	Int8Model   string             `json:"int8_model,omitempty"`
	Int8Kernels string             `json:"int8_kernels,omitempty"`
	Int8Speedup map[string]float64 `json:"int8_speedup_over_f32,omitempty"`
	TorchInt8   string             `json:"pytorch_int8,omitempty"`
	Int8VsTorch map[string]float64 `json:"int8_runtime_over_pytorch_int8,omitempty"`
	// VsORT is the float runtime's p50 over ONNX Runtime's on the same
	// model's ONNX file (--ort), by batch size, each timed alone;
	// Int8VsORT the int8 runtime's over ONNX Runtime's on the int8 file's
	// QDQ ONNX.
	VsORT map[string]float64 `json:"runtime_over_onnxruntime,omitempty"`
	// Paths is how the runtime runs each layer of the float model
	// (infer.LayerPath), Int8Paths of the int8 one: which layers are int8.
	Paths     []infer.LayerPath  `json:"layers"`
	Int8Paths []infer.LayerPath  `json:"int8_layers,omitempty"`
	Int8VsORT map[string]float64 `json:"int8_runtime_over_onnxruntime_int8,omitempty"`
}

func benchInferCmd(g *globalFlags) *cobra.Command {
	var batches, torchScript, vs, qengine string
	var asJSON, torch, ort bool
	var ortScript string
	var seconds float64
	cmd := &cobra.Command{
		Use:   "infer RUN|FILE",
		Short: "Time inference: the GoMLX backend against Lathe's runtime, interleaved in one process",
		Long: "Time a model — a Lathe model file, or a finished run's final model — on the GoMLX backend at hand\n" +
			"(compiled once, compile time reported apart) and on Lathe's pure-Go runtime, call by call in\n" +
			"turn: p50 and p99 latency, samples/s, heap allocations per call, and the ratio. --torch also runs\n" +
			"scripts/torch-infer-ref.py (Debian's python3-torch) on the same shapes and threads, for reference.\n\n" +
			"An int8 model (a quantize stage's <name>.safetensors) is timed side by side with its float twin\n" +
			"(<name>.f32.safetensors beside it, or --vs F32FILE; a run whose quantize stage wrote both brings\n" +
			"them): the runtime in float32 and in int8, and GoMLX on the float twin, interleaved; with --torch\n" +
			"PyTorch's float and int8 versions too (torch.ao.quantization: dynamic for dense-only models,\n" +
			"static for convolutional ones, on the --torch-qengine engine).\n\n" +
			"Two float models (FILE --vs OTHER, e.g. a dense model and its structured-pruned rebuild) are timed\n" +
			"side by side in the runtime and on GoMLX, interleaved, with OTHER's speed-up over FILE.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sizes, err := parseBatches(batches)
			if err != nil {
				return err
			}
			if err := checkSeconds(seconds); err != nil {
				return err
			}
			if !slices.Contains(torchQEngines, qengine) {
				return fmt.Errorf("--torch-qengine %q: want one of %s", qengine, strings.Join(torchQEngines, ", "))
			}
			// A path that is there but neither a file nor a folder (a named
			// pipe) is a mistaken model file, not a run's name.
			if info, err := os.Stat(args[0]); err == nil && !info.IsDir() && !info.Mode().IsRegular() {
				_, err := infer.StatRegular(args[0])
				return err
			}
			pair, err := benchInputs(g, args[0], vs)
			if err != nil {
				return err
			}
			warnNonFinite(pair.f32Name, pair.f32)
			if pair.int8 != nil {
				warnNonFinite(pair.int8Name, pair.int8)
			}
			if pair.versus != nil {
				warnNonFinite(pair.versusName, pair.versus)
			}
			if torch {
				if _, err := os.Stat(torchScript); err != nil {
					return fmt.Errorf("--torch: %s not found (run from the repository, or give --torch-script)", torchScript)
				}
			}
			if ort {
				if err := bench.ORTAvailable(ortScript); err != nil {
					return fmt.Errorf("--ort: %w", err)
				}
			}
			opened, err := backend.Open(backend.Resolve(g.backend, ""))
			if err != nil {
				return err
			}
			defer opened.Backend.Finalize()
			if opened.Notice != "" && !asJSON {
				fmt.Fprintln(os.Stderr, opened.Notice)
			}
			if pair.versus != nil {
				return benchVersus(opened, pair, sizes, time.Duration(seconds*float64(time.Second)), asJSON)
			}
			cfg := bench.InferConfig{Batch: sizes, MinTime: time.Duration(seconds * float64(time.Second)), Int8: pair.int8}
			results, err := bench.Infer(opened.Backend, opened.Name(), pair.f32, cfg)
			if err != nil {
				return err
			}
			rep, err := newInferReport(pair, results)
			if err != nil {
				return err
			}
			if torch {
				torchResults, err := runTorch(torchScript, pair.f32, batches, rep.Threads, pair.int8 != nil, qengine, seconds)
				if err != nil {
					return err
				}
				rep.addTorch(torchResults)
			}
			if ort {
				alone, err := runtimeAlone(pair, sizes, seconds)
				if err != nil {
					return err
				}
				ortResults, err := bench.RunORT(ortScript, pair.f32, "f32", sizes, rep.Threads, seconds)
				if err != nil {
					return fmt.Errorf("--ort: %w", err)
				}
				if pair.int8 != nil {
					ortInt8, err := bench.RunORT(ortScript, pair.int8, "int8", sizes, rep.Threads, seconds)
					if err != nil {
						return fmt.Errorf("--ort: %w", err)
					}
					ortResults = append(ortResults, ortInt8...)
				}
				rep.addORT(alone, ortResults)
			}
			if asJSON {
				return writeJSON(os.Stdout, rep)
			}
			rep.print()
			return nil
		},
	}
	cmd.Flags().StringVar(&batches, "batch", "1,64", fmt.Sprintf("batch sizes, comma-separated (at most %d, each 1 to %d)", maxBenchBatches, maxBenchBatch))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().Float64Var(&seconds, "seconds", 3, fmt.Sprintf("seconds of interleaved calls per batch size (above 0, at most %d)", maxBenchSeconds))
	cmd.Flags().StringVar(&vs, "vs", "", "the float model an int8 FILE was quantized from (default: <x>.f32.safetensors beside <x>.safetensors), or another float model (a pruned one) to time beside FILE")
	cmd.Flags().BoolVar(&torch, "torch", false, "also time PyTorch with scripts/torch-infer-ref.py (/usr/bin/python3 with python3-torch)")
	cmd.Flags().StringVar(&torchScript, "torch-script", "scripts/torch-infer-ref.py", "the PyTorch reference script")
	cmd.Flags().BoolVar(&ort, "ort", false, "also time ONNX Runtime on the float model's ONNX file (and an int8 model's QDQ ONNX) with scripts/ort-infer.js (Node.js, ONNX Runtime from npm: see setup.sh), beside the runtime timed alone the same way")
	cmd.Flags().StringVar(&ortScript, "ort-script", bench.ORTScript, "the ONNX Runtime reference script")
	cmd.Flags().StringVar(&qengine, "torch-qengine", "auto", "PyTorch's quantized engine for an int8 model: fbgemm, onednn, qnnpack, or auto (the first of those that torch has)")
	cmd.Flags().StringVar(&g.backend, "backend", "", "GoMLX backend: auto, go, xla:cpu, xla:cuda or xla:/abs/plugin.so")
	return cmd
}

// Bounds on `bench infer`'s flags: a run of the command must end in a
// time someone waits for (sizes × seconds, with every engine in turn) and
// within memory (a batch of 65536 MNIST images is 200 MB of input alone).
const (
	maxBenchSeconds = 600
	maxBenchBatch   = 65536
	maxBenchBatches = 16
)

// torchQEngines are the values --torch-qengine takes (the reference
// script's --engine).
var torchQEngines = []string{"auto", "fbgemm", "onednn", "qnnpack"}

// parseBatches reads --batch: distinct sizes from 1 to maxBenchBatch,
// at most maxBenchBatches of them.
func parseBatches(list string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxBenchBatch {
			return nil, fmt.Errorf("--batch %q: %q is not a batch size: want whole numbers from 1 to %d, comma-separated, such as 1,64", list, strings.TrimSpace(f), maxBenchBatch)
		}
		if slices.Contains(sizes, n) {
			return nil, fmt.Errorf("--batch %q: batch size %d is given twice", list, n)
		}
		sizes = append(sizes, n)
	}
	if len(sizes) > maxBenchBatches {
		return nil, fmt.Errorf("--batch %q: %d batch sizes, more than the %d one run times", list, len(sizes), maxBenchBatches)
	}
	return sizes, nil
}

// checkSeconds refuses a --seconds that is not a time to wait for: NaN,
// ±Inf or negative (each became a negative time.Duration — 1e12 s
// overflows it — so every engine ran its minimum of calls and the command
// exited 0), zero (silently the default 3 s), or more than
// maxBenchSeconds.
func checkSeconds(seconds float64) error {
	if math.IsNaN(seconds) || seconds <= 0 || seconds > maxBenchSeconds {
		return fmt.Errorf("--seconds %v: want a number of seconds above 0 and at most %d", seconds, maxBenchSeconds)
	}
	return nil
}

// stride is how many results bench.Infer gives per batch size: GoMLX,
// the runtime, and the runtime on the int8 model when there is one.
func (rep *inferReport) stride() int {
	if rep.Int8Model != "" {
		return 3
	}
	return 2
}

// newInferReport is the report on bench.Infer's results, with the ratios.
func newInferReport(pair *benchPair, results []bench.InferResult) (*inferReport, error) {
	m, err := infer.New(pair.f32)
	if err != nil {
		return nil, err
	}
	rep := &inferReport{Model: pair.name, CPUFeatures: infer.CPUFeatures(), Kernels: m.Kernels(), Threads: runtime.GOMAXPROCS(0), Machine: runs.Machine(), Date: today(),
		Results: results, Speedup: map[string]float64{}, Paths: m.Paths()}
	if pair.int8 != nil {
		rep.F32Model, rep.Int8Model, rep.Int8Kernels, rep.Int8Speedup = pair.f32Name, pair.int8Name, m.Int8Kernels(), map[string]float64{}
		q, err := infer.New(pair.int8)
		if err != nil {
			return nil, err
		}
		rep.Int8Paths = q.Paths()
	}
	k := rep.stride()
	for i := 0; i+k <= len(results); i += k {
		key := strconv.Itoa(results[i].Batch)
		rep.Speedup[key] = results[i].P50Ms / results[i+1].P50Ms
		if k == 3 {
			rep.Int8Speedup[key] = results[i+1].P50Ms / results[i+2].P50Ms
		}
	}
	return rep, nil
}

// addTorch adds PyTorch's results and the runtime's ratios to them.
func (rep *inferReport) addTorch(torchResults []bench.InferResult) {
	k := rep.stride()
	rep.VsTorch = map[string]float64{}
	if k == 3 {
		rep.Int8VsTorch = map[string]float64{}
	}
	for _, t := range torchResults {
		for i := 0; i+k <= len(rep.Results); i += k {
			if rep.Results[i].Batch != t.Batch {
				continue
			}
			key := strconv.Itoa(t.Batch)
			if t.Quant == "f32" {
				rep.VsTorch[key] = rep.Results[i+1].P50Ms / t.P50Ms
			} else if k == 3 {
				rep.Int8VsTorch[key], rep.TorchInt8 = rep.Results[i+2].P50Ms/t.P50Ms, t.Quant
			}
		}
	}
	rep.Results = append(rep.Results, torchResults...)
}

// torchRow is PyTorch's result at batch n in quant ("f32", or any int8).
func (rep *inferReport) torchRow(n int, int8 bool) (bench.InferResult, bool) {
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Engine, "pytorch") && r.Batch == n && (r.Quant != "f32") == int8 {
			return r, true
		}
	}
	return bench.InferResult{}, false
}

// print writes the report as tables.
func (rep *inferReport) print() {
	kernels := rep.Kernels
	if rep.Int8Kernels != "" {
		kernels = "f32 " + rep.Kernels + ", int8 " + rep.Int8Kernels
	}
	fmt.Printf("model %s; CPU features %s; runtime kernels %s; %d threads\n", rep.Model, strings.Join(rep.CPUFeatures, ","), kernels, rep.Threads)
	fmt.Printf("layers: %s\n", infer.FormatPaths(rep.Paths))
	if rep.Int8Paths != nil {
		fmt.Printf("int8 model's layers: %s\n", infer.FormatPaths(rep.Int8Paths))
	}
	printInferRows(rep.Results)
	k := rep.stride()
	var ours []bench.InferResult
	for _, r := range rep.Results {
		if !strings.HasPrefix(r.Engine, "pytorch") && !strings.HasPrefix(r.Engine, bench.ORTEngine) && !strings.Contains(r.Engine, aloneEngine) {
			ours = append(ours, r)
		}
	}
	defer rep.printORT()
	if k == 2 {
		for i := 0; i+k <= len(ours); i += k {
			fmt.Printf("batch %d: the runtime is %.1f× faster than %s (p50 %.3f vs %.3f ms, interleaved in one process)\n",
				ours[i].Batch, ours[i].P50Ms/ours[i+1].P50Ms, ours[i].Engine, ours[i+1].P50Ms, ours[i].P50Ms)
			if t, ok := rep.torchRow(ours[i].Batch, false); ok {
				fmt.Printf("batch %d: runtime p50 / %s p50 = %.2f (same session, %d threads)\n", t.Batch, t.Engine, rep.VsTorch[strconv.Itoa(t.Batch)], rep.Threads)
			}
		}
		return
	}
	fmt.Println()
	torch := rep.VsTorch != nil
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	head := "BATCH\tGOMLX F32 MS\tRUNTIME F32 MS\tRUNTIME INT8 MS\tINT8 SPEED-UP"
	if torch {
		head += "\tPYTORCH F32 MS\tPYTORCH INT8 MS (" + rep.TorchInt8 + ")\tINT8 RUNTIME / PYTORCH INT8"
	}
	fmt.Fprintln(tw, head)
	for i := 0; i+k <= len(ours); i += k {
		n := ours[i].Batch
		line := fmt.Sprintf("%d\t%.3f\t%.3f\t%.3f\t%.2f×", n, ours[i].P50Ms, ours[i+1].P50Ms, ours[i+2].P50Ms, rep.Int8Speedup[strconv.Itoa(n)])
		if torch {
			f, okf := rep.torchRow(n, false)
			q, okq := rep.torchRow(n, true)
			ratio := "-"
			if okq {
				ratio = fmt.Sprintf("%.2f", rep.Int8VsTorch[strconv.Itoa(n)])
			}
			line += "\t" + msOrDash(f, okf) + "\t" + msOrDash(q, okq) + "\t" + ratio
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Print("p50 ms; int8 speed-up: the runtime's f32 p50 over its int8 p50, interleaved call by call in one process")
	if torch {
		fmt.Printf("; PyTorch's f32 and int8 interleaved likewise in its own process, %d threads", rep.Threads)
	}
	fmt.Println()
}

func msOrDash(r bench.InferResult, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.3f", r.P50Ms)
}

// printInferRows prints every engine's timings as a table.
func printInferRows(rows []bench.InferResult) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENGINE\tBATCH\tP50 MS\tP99 MS\tSAMPLES/S\tALLOCS/CALL\tCOMPILE S\tCALLS")
	for _, r := range rows {
		allocs, compile := "-", "-"
		if !strings.HasPrefix(r.Engine, "pytorch") {
			allocs = fmt.Sprintf("%.0f", r.AllocsPerCall)
		}
		if r.CompileS > 0 {
			compile = fmt.Sprintf("%.2f", r.CompileS)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.0f\t%s\t%s\t%d\n", r.Engine, r.Batch, r.P50Ms, r.P99Ms, r.SamplesPerS, allocs, compile, r.Calls)
	}
	tw.Flush()
}

// modelFile is a finished run's final model exported in memory (a file
// by path is benchInputs' readModel); name describes it.
func modelFile(g *globalFlags, arg string) (*infer.File, string, error) {
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
// reads its JSON lines; int8 has it time the model's int8 version too, on
// the quantized engine qengine.
func runTorch(script string, file *infer.File, batches string, threads int, int8 bool, qengine string, seconds float64) ([]bench.InferResult, error) {
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
	args := []string{script, "--graph", path, "--batch", batches, "--threads", strconv.Itoa(threads)}
	if seconds > 0 {
		args = append(args, "--min-seconds", strconv.FormatFloat(seconds, 'g', -1, 64))
	}
	if int8 {
		args = append(args, "--int8", "--engine", qengine)
	}
	var stderr bytes.Buffer
	c := exec.Command("/usr/bin/python3", args...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		why := strings.ReplaceAll(strings.TrimSpace(bench.LastLine(stderr.String())), "give --engine", "give --torch-qengine")
		return nil, fmt.Errorf("--torch: %s: %v: %s", script, err, why)
	}
	return bench.ReferenceRows("--torch", script, out)
}

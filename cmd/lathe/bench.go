package main

import (
	"fmt"
	"github.com/lathe-ml/lathe/pkg/spec"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lathe-ml/lathe/pkg/amp"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/prune"
	"github.com/spf13/cobra"
)

func benchCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure training and inference speed (`lathe bench train`, `lathe bench infer`)",
	}
	cmd.AddCommand(benchTrainCmd(), benchInferCmd(g))
	return cmd
}

func benchTrainCmd() *cobra.Command {
	var (
		arch, hidden, input, dense, backendFlag, precisionList string
		torchScript, profile                                   string
		batch, steps, rounds                                   int
		asJSON, masked, channelMasks, torch, phases            bool
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Time one train step of a zoo model (median of repeated steps after warm-up)",
		Long: "Time one Adam train step of a zoo model on random data and compare it with the step's\n" +
			"matmul and convolution FLOPs at the backend's measured matmul rate.\n" +
			"--dense both runs the model twice in one process, with Lathe's dense layer and with GoMLX's,\n" +
			"and prints the ratio. --precision bf16 (or a list such as f32,bf16) times each precision in one\n" +
			"process, with f32 as the baseline, and prints the step-time ratios. --masks times the model\n" +
			"plain and with pruning masks on every layer (package prune), alternating, in one process, and prints the ratio.\n" +
			"--torch times PyTorch's step on the same model, batch, precision and threads with scripts/torch-train-ref.py\n" +
			"(Debian's python3-torch; install libopenblas0-pthread for OpenBLAS), alternating --rounds rounds of each, and\n" +
			"prints both medians and the ratio. --phases also times a forward-only and a forward+backward graph.\n" +
			"--profile FILE writes a pprof CPU profile of the timed steps (go tool pprof -top bin/lathe FILE).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := models.Spec{Model: spec.Model{Arch: arch}}
			if hidden != "" {
				for _, f := range strings.Split(hidden, ",") {
					h, err := strconv.Atoi(strings.TrimSpace(f))
					if err != nil || h <= 0 {
						return fmt.Errorf("--hidden %q: want comma-separated positive widths such as 256,256,256", hidden)
					}
					spec.Hidden = append(spec.Hidden, h)
				}
			} else if arch == "mlp" {
				spec.Hidden = []int{256, 256, 256}
			}
			if err := spec.Validate(); err != nil {
				return err
			}
			example, err := parseDims(input)
			if err != nil {
				return err
			}
			var precisions []amp.Precision
			for _, name := range strings.Split(precisionList, ",") {
				p, err := amp.Parse(strings.TrimSpace(name))
				if err != nil {
					return fmt.Errorf("--precision: %w", err)
				}
				precisions = append(precisions, p)
			}
			if precisions[0] != amp.F32 { // the baseline a ratio is taken against
				precisions = append([]amp.Precision{amp.F32}, precisions...)
			}
			var variants []bool // GoMLXDense per run
			switch dense {
			case "lathe":
				variants = []bool{false}
			case "gomlx":
				variants = []bool{true}
			case "both":
				variants = []bool{false, true}
			default:
				return fmt.Errorf("--dense %q: want lathe, gomlx or both", dense)
			}
			masked = masked || channelMasks
			if masked && (len(precisions) > 1 || len(variants) > 1) {
				return fmt.Errorf("--masks compares one configuration plain and masked: give one precision and --dense lathe or gomlx")
			}
			if torch && (masked || len(variants) > 1) {
				return fmt.Errorf("--torch compares Lathe's plain step with PyTorch's: leave out --masks and --dense both")
			}
			if torch {
				if _, err := os.Stat(torchScript); err != nil {
					return fmt.Errorf("--torch: %s not found (run from the repository, or give --torch-script)", torchScript)
				}
				if rounds < 1 {
					return fmt.Errorf("--rounds %d: want at least 1", rounds)
				}
			}
			var profileFile *os.File
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return fmt.Errorf("--profile: %w", err)
				}
				defer f.Close()
				profileFile = f
			}
			opened, err := backend.Open(backend.Resolve(backendFlag, ""))
			if err != nil {
				return err
			}
			defer opened.Backend.Finalize()
			if opened.Notice != "" && !asJSON {
				fmt.Fprintln(os.Stderr, opened.Notice)
			}
			for _, p := range precisions {
				if !amp.Supports(opened.Backend, p) {
					return fmt.Errorf("--precision %s: the %s backend has no %s", p, opened.Name(), p.ComputeDType())
				}
			}
			var results []*bench.Result
			var versus []*versusTorch
			for _, p := range precisions {
				for _, gomlx := range variants {
					s := spec
					s.GoMLXDense = gomlx
					s.ComputeDType = p.ComputeDType()
					plain := bench.Config{Model: s, Batch: batch, Example: example, Steps: steps, Phases: phases}
					if profileFile != nil { // one profile: the first configuration's timed steps
						plain.Profile, profileFile = profileFile, nil
					}
					if torch {
						plain.SkipRate = true
						v, err := benchVersusTorch(func() (*bench.Result, error) { return bench.TrainStep(opened.Backend, plain) },
							torchScript, torchArgs(s, example, batch, steps, string(p)), rounds, opened.Kernels)
						if err != nil {
							return err
						}
						versus = append(versus, v)
						continue
					}
					if !masked {
						res, err := bench.TrainStep(opened.Backend, plain)
						if err != nil {
							return err
						}
						res.Backend = opened.Name()
						results = append(results, res)
						continue
					}
					masks := &prune.Masks{Arch: "/" + s.Arch, Prunable: func(string) bool { return true }}
					hooks, wrap, label := masks.Hooks(), masks.WrapOptimizer, "+masks"
					if channelMasks {
						cm := prune.NewChannelMasks(s.Model, everyGroup)
						hooks, wrap, label = cm.Hooks(), cm.WrapOptimizer, "+channel masks"
					}
					withMasks := plain
					withMasks.Model.Hooks = models.Chain(s.Hooks, hooks)
					withMasks.WrapOptimizer, withMasks.Label = wrap, label
					// Alternated, two rounds each, the faster kept: whichever
					// runs first in a process pays for warming it up.
					best := make([]*bench.Result, 2)
					for round := 0; round < 4; round++ {
						cfg := []bench.Config{plain, withMasks}[round%2]
						res, err := bench.TrainStep(opened.Backend, cfg)
						if err != nil {
							return err
						}
						res.Backend = opened.Name()
						if b := best[round%2]; b == nil || res.MsPerStep < b.MsPerStep {
							best[round%2] = res
						}
					}
					results = append(results, best...)
				}
			}
			if torch {
				return printVersusTorch(versus, asJSON)
			}
			if asJSON {
				if len(results) == 1 {
					return writeJSON(os.Stdout, results[0])
				}
				return writeJSON(os.Stdout, results)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tPRECISION\tBATCH\tBACKEND\tMS/STEP\tSAMPLES/S\tGFLOP/STEP\tMATMUL GFLOP/S\tMATMUL-BOUND MS\tEFFICIENCY")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.2f\t%.0f\t%.3f\t%.1f\t%.2f\t%.0f%%\n", r.Model, r.Precision, r.Batch, r.Backend, r.MsPerStep,
					r.SamplesPerS, r.MatmulGFLOP, r.MatmulRate, r.MatmulBoundMs, 100*r.MatmulEfficiency)
			}
			tw.Flush()
			fmt.Printf("kernels: %s\n", opened.Kernels)
			if phases {
				for _, r := range results {
					fmt.Printf("%s %s: forward graph %.2f ms, forward+backward graph %.2f ms, train step %.2f ms (separate executables: differences are estimates)\n",
						r.Model, r.Precision, r.ForwardMs, r.ForwardBackwardMs, r.MsPerStep)
				}
			}
			// Ratios against the first run of the same dense layer (f32 comes first).
			for i, r := range results {
				base := results[i%len(variants)]
				if r.Precision != base.Precision {
					fmt.Printf("%s / f32 step time: %.2f (%.2f vs %.2f ms/step, same process)\n", r.Precision, r.MsPerStep/base.MsPerStep, r.MsPerStep, base.MsPerStep)
				}
			}
			if masked {
				fmt.Printf("masked / plain step time: %.3f (%.2f vs %.2f ms/step, best of 2 alternated rounds each, same process)\n",
					results[1].MsPerStep/results[0].MsPerStep, results[1].MsPerStep, results[0].MsPerStep)
			}
			if len(variants) == 2 {
				fmt.Printf("lathe dense is %.1f× faster than gomlx dense (%.2f vs %.2f ms/step, same process)\n",
					results[1].MsPerStep/results[0].MsPerStep, results[0].MsPerStep, results[1].MsPerStep)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&arch, "model", "mlp", "model arch: "+strings.Join(spec.Archs(), ", "))
	cmd.Flags().StringVar(&hidden, "hidden", "", "mlp hidden widths (default 256,256,256)")
	cmd.Flags().IntVar(&batch, "batch", 128, "batch size")
	cmd.Flags().StringVar(&input, "input", "28x28x1", "one example's shape, e.g. 32x32x3 or 784")
	cmd.Flags().IntVar(&steps, "steps", 20, "timed steps (after 1 compiling and 3 warm-up steps)")
	cmd.Flags().StringVar(&dense, "dense", "lathe", "dense layer: lathe, gomlx or both")
	cmd.Flags().StringVar(&precisionList, "precision", "f32", "compute precision(s): f32, bf16, fp16, or a list such as f32,bf16")
	cmd.Flags().StringVar(&backendFlag, "backend", "", "backend: auto, go, gocompute, simplego, xla:cpu, xla:cuda or xla:/abs/plugin.so")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&masked, "masks", false, "also time the step with pruning masks on every layer, and print the ratio")
	cmd.Flags().BoolVar(&torch, "torch", false, "also time PyTorch's step (scripts/torch-train-ref.py), alternating rounds, and print the ratio")
	cmd.Flags().StringVar(&torchScript, "torch-script", "scripts/torch-train-ref.py", "the PyTorch reference script")
	cmd.Flags().IntVar(&rounds, "rounds", 3, "with --torch: alternating rounds of each side (medians reported)")
	cmd.Flags().BoolVar(&phases, "phases", false, "also time forward and forward+backward alone: the step split into forward, backward and update")
	cmd.Flags().StringVar(&profile, "profile", "", "write a pprof CPU profile of the first configuration's timed steps to this file")
	cmd.Flags().BoolVar(&channelMasks, "channel-masks", false, "as --masks, with the channel masks of gradual structured pruning on every channel group")
	return cmd
}

func parseDims(s string) ([]int, error) {
	var dims []int
	for _, f := range strings.Split(s, "x") {
		d, err := strconv.Atoi(f)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("--input %q: want dimensions such as 28x28x1", s)
		}
		dims = append(dims, d)
	}
	return dims, nil
}

// everyGroup puts channel masks on every channel group.
func everyGroup(spec.ChannelGroup) bool { return true }

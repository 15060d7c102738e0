package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/spf13/cobra"
)

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure training speed (see `lathe bench train`)",
	}
	cmd.AddCommand(benchTrainCmd())
	return cmd
}

func benchTrainCmd() *cobra.Command {
	var (
		arch, hidden, input, dense, backendFlag string
		batch, steps                            int
		asJSON                                  bool
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Time one train step of a zoo model (median of repeated steps after warm-up)",
		Long: "Time one Adam train step of a zoo model on random data and compare it with the step's\n" +
			"matmul and convolution FLOPs at the backend's measured matmul rate.\n" +
			"--dense both runs the model twice in one process, with Lathe's dense layer and with GoMLX's,\n" +
			"and prints the ratio.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := models.Spec{Arch: arch}
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
			opened, err := backend.Open(backend.Resolve(backendFlag, ""))
			if err != nil {
				return err
			}
			defer opened.Backend.Finalize()
			if opened.Notice != "" && !asJSON {
				fmt.Fprintln(os.Stderr, opened.Notice)
			}
			var results []*bench.Result
			for _, gomlx := range variants {
				s := spec
				s.GoMLXDense = gomlx
				res, err := bench.TrainStep(opened.Backend, bench.Config{Model: s, Batch: batch, Example: example, Steps: steps})
				if err != nil {
					return err
				}
				res.Backend = opened.Name()
				results = append(results, res)
			}
			if asJSON {
				if len(results) == 1 {
					return writeJSON(os.Stdout, results[0])
				}
				return writeJSON(os.Stdout, results)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tBATCH\tBACKEND\tMS/STEP\tSAMPLES/S\tGFLOP/STEP\tMATMUL GFLOP/S\tMATMUL-BOUND MS\tEFFICIENCY")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%.2f\t%.0f\t%.3f\t%.1f\t%.2f\t%.0f%%\n", r.Model, r.Batch, r.Backend, r.MsPerStep,
					r.SamplesPerS, r.MatmulGFLOP, r.MatmulRate, r.MatmulBoundMs, 100*r.MatmulEfficiency)
			}
			tw.Flush()
			if len(results) == 2 {
				fmt.Printf("lathe dense is %.1f× faster than gomlx dense (%.2f vs %.2f ms/step, same process)\n",
					results[1].MsPerStep/results[0].MsPerStep, results[0].MsPerStep, results[1].MsPerStep)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&arch, "model", "mlp", "model arch: "+strings.Join(models.Archs, ", "))
	cmd.Flags().StringVar(&hidden, "hidden", "", "mlp hidden widths (default 256,256,256)")
	cmd.Flags().IntVar(&batch, "batch", 128, "batch size")
	cmd.Flags().StringVar(&input, "input", "28x28x1", "one example's shape, e.g. 32x32x3 or 784")
	cmd.Flags().IntVar(&steps, "steps", 20, "timed steps (after 1 compiling and 3 warm-up steps)")
	cmd.Flags().StringVar(&dense, "dense", "lathe", "dense layer: lathe, gomlx or both")
	cmd.Flags().StringVar(&backendFlag, "backend", "", "backend: auto, go, xla:cpu, xla:cuda or xla:/abs/plugin.so")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
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

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lathe-ml/lathe/internal/atomicfile"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/spf13/cobra"
)

func compareCmd(g *globalFlags) *cobra.Command {
	var (
		metric, plotPath string
		asJSON           bool
	)
	cmd := &cobra.Command{
		Use:   "compare RECIPE | RUN RUN...",
		Short: "Compare runs side by side: final accuracy, time, throughput, and a PNG of a metric's curves",
		Long: "Compare the newest variant runs of a recipe (e.g. `lathe compare optimizers-compare`) or the runs named.\n" +
			"Prints a table (best test accuracy first) and writes a PNG plot of --metric for every run.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := runs.OpenExisting(storeDir(g))
			if err != nil {
				return err
			}
			defer store.Close()
			list, err := report.Group(store, args...)
			if err != nil {
				return err
			}
			rows := report.Compare(list)
			png, plotErr := report.CurvesPNG(store, list, metric, 8, 5)
			if plotErr == nil {
				if plotPath == "" {
					plotPath = filepath.Join(store.Dir(), "compare-"+runs.SafeName(args[0])+"-"+metric+".png")
				}
				// The table stands without the plot (a read-only store
				// cannot take it): say why and go on.
				if err := atomicfile.WriteBytes(plotPath, png); err != nil {
					plotErr = fmt.Errorf("cannot write %s: %w (choose another file with --plot)", plotPath, err)
				}
			}
			if asJSON {
				out := map[string]any{"runs": rows}
				if plotErr == nil {
					out["plot"] = plotPath
				}
				return writeJSON(os.Stdout, out)
			}
			if err := report.WriteTable(os.Stdout, rows); err != nil {
				return err
			}
			if plotErr != nil {
				fmt.Fprintf(os.Stderr, "no plot: %v\n", plotErr)
			} else {
				fmt.Printf("plot: %s\n", plotPath)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&metric, "metric", "train_loss", "series to plot (loss, train_loss, train_accuracy, validation_accuracy, learning_rate, …)")
	cmd.Flags().StringVar(&plotPath, "plot", "", "PNG file to write (default <runs-dir>/compare-<ref>-<metric>.png)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

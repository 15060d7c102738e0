// Command lathe runs Lathe recipes and inspects their runs.
//
//	lathe run quickstart            run a shipped recipe (or a recipe file)
//	lathe resume RUN                continue a stopped run from its checkpoint
//	lathe ls                        list runs
//	lathe show RUN                  a run's params, stage results and metrics
//	lathe recipes                   list shipped recipes
//	lathe compare RECIPE|RUN...     compare runs: table and a PNG of their curves
//	lathe report RUN...             trade-off report: accuracy, size, FLOPs, latency of a run's models
//	lathe dash                      the terminal dashboard: live charts, compare, launch and stop
//	lathe bench train               time a train step (ms/step, samples/s, FLOP efficiency)
//	lathe bench infer RUN|FILE      time inference: the GoMLX backend against Lathe's runtime
//	lathe export RUN                write a run's model as a Lathe model file or ONNX
//	lathe predict FILE INPUT...     classify images (mnist:test:0-9, PNG files) with a model file
//	lathe doctor                    backends, plugins, devices and datasets found
//
// Errors are one line on stderr and a non-zero exit status.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/lathe-ml/lathe/pkg/runner"
	_ "github.com/lathe-ml/lathe/pkg/stages" // every shipped stage kind
	"github.com/spf13/cobra"
)

// Exit statuses: 1 for errors, 130 (as shells report ctrl-c) for a stopped run.
const (
	exitError   = 1
	exitStopped = 130
)

type globalFlags struct {
	runsDir string
	backend string
}

func main() {
	var g globalFlags
	root := &cobra.Command{
		Use:           "lathe",
		Short:         "Lathe: recipes that make neural networks cheaper to train and run",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.runsDir, "runs-dir", "", "run store directory (default $LATHE_RUNS or ./runs)")
	root.AddCommand(runCmd(&g), lsCmd(&g), showCmd(&g), recipesCmd(), doctorCmd(&g), dashCmd(&g), benchCmd(&g), compareCmd(&g), resumeCmd(&g), migrateCmd(&g), exportCmd(&g), predictCmd(), reportCmd(&g), resultsCmd(&g))
	if err := root.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "lathe: %v\n", err)
		if errors.Is(err, runner.ErrStopped) {
			os.Exit(exitStopped)
		}
		os.Exit(exitError)
	}
}

package main

import (
	"fmt"
	"os"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/lathe-ml/lathe/tui"
	"github.com/spf13/cobra"
)

func dashCmd(g *globalFlags) *cobra.Command {
	var refresh time.Duration
	var noSystem bool
	cmd := &cobra.Command{
		Use:   "dash",
		Short: "Terminal dashboard: live runs, charts, compare, launch and stop runs",
		Long: "Watch the run store live: a table of runs (enter opens one: charts, stage timeline, params),\n" +
			"compare marked runs (space marks, c compares), launch a recipe (n) as a separate process that\n" +
			"keeps running after you quit, stop a run cleanly (x). ? lists every key; q quits.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
				return fmt.Errorf("lathe dash needs a terminal (for scripts: lathe ls --json, lathe show RUN --json)")
			}
			return tui.Run(tui.Options{Dir: storeDir(g), Refresh: refresh, NoSystem: noSystem})
		},
	}
	cmd.Flags().DurationVar(&refresh, "refresh", time.Second, "how often to read the run store")
	cmd.Flags().BoolVar(&noSystem, "no-system", false, "hide the CPU, memory and GPU panel")
	return cmd
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/lathe-ml/lathe/recipes"
	"github.com/spf13/cobra"
)

func runCmd(g *globalFlags) *cobra.Command {
	var backendFlag string
	cmd := &cobra.Command{
		Use:   "run RECIPE",
		Short: "Run a recipe file or a shipped recipe by name",
		Long: "Run a recipe file or a shipped recipe by name (see `lathe recipes`).\n" +
			"Progress goes to stderr; a summary table and, last, `run: <id>` go to stdout.\n" +
			"ctrl-c stops the run cleanly: it is checkpointed and recorded as stopped.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, err := loadRecipe(args[0])
			if err != nil {
				return err
			}
			store, err := runs.Open(storeDir(g))
			if err != nil {
				return err
			}
			defer store.Close()

			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			console := newConsole(os.Stderr)
			res, err := recipe.Run(ctx, rec, recipe.Options{Backend: backendFlag, Store: store, Sinks: []events.Sink{console}})
			console.Close()
			if res != nil && res.RunID != "" {
				printSummary(os.Stdout, rec, res)
				fmt.Fprintf(os.Stdout, "run: %s\n", res.RunID)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&backendFlag, "backend", "", "backend: auto, go, xla:cpu, xla:cuda or xla:/abs/plugin.so (overrides $GOMLX_BACKEND and the recipe)")
	return cmd
}

// loadRecipe reads arg as a file when one exists there, else as a shipped name.
func loadRecipe(arg string) (*recipe.Recipe, error) {
	if _, err := os.Stat(arg); err == nil {
		return recipe.ParseFile(arg)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("recipe %s: %w", arg, err)
	}
	src, err := recipes.Get(arg)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a recipe file nor a shipped recipe (shipped: %v)", arg, recipes.Names())
	}
	return recipe.Parse(recipes.Path(arg), src)
}

func storeDir(g *globalFlags) string {
	if g.runsDir != "" {
		return g.runsDir
	}
	return runs.DefaultDir()
}

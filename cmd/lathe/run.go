package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/lathe-ml/lathe/pkg/events"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/spf13/cobra"
)

func runCmd(g *globalFlags) *cobra.Command {
	var backendFlag, cpuProfile string
	var seeds []int64
	cmd := &cobra.Command{
		Use:   "run RECIPE",
		Short: "Run a recipe file or a shipped recipe by name",
		Long: "Run a recipe file or a shipped recipe by name (see `lathe recipes`).\n" +
			"Progress goes to stderr; a summary table and, last, `run: <id>` go to stdout.\n" +
			"ctrl-c stops the run cleanly: it is checkpointed and recorded as stopped.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, err := recipe.Load(args[0])
			if err != nil {
				return err
			}
			if len(seeds) > 0 {
				if err := rec.SetSeeds(seeds); err != nil {
					return fmt.Errorf("--seeds: %w", err)
				}
			}
			// A recipe the backend cannot run is refused before the store
			// is opened (or created).
			if err := runner.Preflight(rec, backendFlag); err != nil {
				return err
			}
			store, err := runs.Open(storeDir(g))
			if err != nil {
				return err
			}
			defer store.Close()

			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// A recipe with variants runs once per variant, tied by a group id
			// that `lathe compare` finds them by.
			console := newConsole(os.Stderr)
			opts := runner.Options{Backend: backendFlag, Store: store, Sinks: []events.Sink{console}}
			results, group, err := runner.RunAll(ctx, rec, opts, func(one *recipe.Recipe, res *runner.Result, _, _ int) {
				console.Close()
				if res.RunID != "" {
					printSummary(os.Stdout, one, res)
					printStoredReport(os.Stdout, store.RunDir(res.RunID))
					fmt.Fprintf(os.Stdout, "run: %s\n", res.RunID)
				}
			})
			if err != nil {
				return err
			}
			if group != "" {
				list, err := report.Group(store, rec.Name)
				if err != nil {
					return err
				}
				fmt.Fprintln(os.Stdout)
				if err := report.WriteTable(os.Stdout, report.Compare(list)); err != nil {
					return err
				}
				fmt.Fprintf(os.Stdout, "compare again with: lathe compare %s\n", rec.Name)
				fmt.Fprintf(os.Stdout, "run: %s\n", results[len(results)-1].RunID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	cmd.Flags().Int64SliceVar(&seeds, "seeds", nil, "run the recipe (each variant) once per seed, e.g. 42,43,44, as a `seeds:` key would: results with a spread")
	cmd.Flags().StringVar(&backendFlag, "backend", "", "backend: auto, go, xla:cpu, xla:cuda or xla:/abs/plugin.so (overrides $GOMLX_BACKEND and the recipe)")
	return cmd
}

func storeDir(g *globalFlags) string {
	if g.runsDir != "" {
		return g.runsDir
	}
	return runs.DefaultDir()
}

func resumeCmd(g *globalFlags) *cobra.Command {
	var backendFlag string
	cmd := &cobra.Command{
		Use:   "resume RUN",
		Short: "Continue a stopped, interrupted or failed run from its last checkpoint",
		Long: "Continue a run (id, id prefix or name) from its last checkpoint: the same run record,\n" +
			"its recipe and variant, with weights, optimizer state, schedule and data order restored.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Only an existing store: resuming never creates one.
			store, err := runs.OpenExistingForWrite(storeDir(g))
			if err != nil {
				return err
			}
			defer store.Close()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			console := newConsole(os.Stderr)
			res, err := runner.Resume(ctx, store, args[0], runner.Options{Backend: backendFlag, Sinks: []events.Sink{console}})
			console.Close()
			if res != nil && res.RunID != "" {
				run, gerr := store.Get(res.RunID)
				if gerr == nil {
					fmt.Fprintf(os.Stdout, "\n%s — %s on %s\n", run.Name, res.Status, runs.OrDash(res.Backend))
				}
				fmt.Fprintf(os.Stdout, "final: %s\nrun: %s\n", formatMetrics(res.Final), res.RunID)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&backendFlag, "backend", "", "backend to continue on (default: as the recipe says)")
	return cmd
}

func migrateCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Upgrade a run store made by an older Lathe to this version's layout",
		Long: "Upgrade the run store (--runs-dir, $LATHE_RUNS or ./runs) made by an older Lathe.\n" +
			"Reading commands (ls, show, compare, dash) never write to a store, so they ask for this first;\n" +
			"`lathe run` and `lathe resume` upgrade the store they write to themselves.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := storeDir(g)
			from, err := runs.Migrate(dir)
			if err != nil {
				return err
			}
			if from == runs.SchemaVersion {
				fmt.Printf("run store %s is up to date (schema %d)\n", dir, from)
			} else {
				fmt.Printf("run store %s: upgraded from schema %d to %d\n", dir, from, runs.SchemaVersion)
			}
			return nil
		},
	}
}

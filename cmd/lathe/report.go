package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/models"
	"github.com/lathe-ml/lathe/pkg/report"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/lathe-ml/lathe/pkg/tradeoff"
	"github.com/spf13/cobra"
)

func reportCmd(g *globalFlags) *cobra.Command {
	var (
		measure, asJSON bool
		out             string
		seconds         float64
		trainSteps      int
	)
	cmd := &cobra.Command{
		Use:   "report RUN...",
		Short: "A run's trade-off report, or the model files of several runs measured side by side",
		Long: "With one run whose recipe ended in a report stage, print its trade-off report (report.md,\n" +
			"report.json and two plots in the run's folder). Otherwise, or with --measure, measure every model\n" +
			"file the runs wrote (export and quantize stages) now, in one process — accuracy on the test\n" +
			"split, parameters, non-zeros, bytes on disk, FLOPs, latency at batch 1 and 64 in Lathe's runtime\n" +
			"and as GoMLX graphs — and write the report into --out (default: the run's folder for one run,\n" +
			"./lathe-report for several). The first model is the baseline, the last the combined one.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := runs.OpenExisting(storeDir(g))
			if err != nil {
				return err
			}
			defer store.Close()
			var list []*runs.Run
			for _, ref := range args {
				r, err := store.Get(ref)
				if err != nil {
					return err
				}
				list = append(list, r)
			}
			if len(list) == 1 && !measure {
				t, err := report.ReadTradeoff(store.RunDir(list[0].ID))
				switch {
				case err == nil:
					return showTradeoff(os.Stdout, t, store.RunDir(list[0].ID), asJSON)
				case !errors.Is(err, fs.ErrNotExist):
					return err
				}
			}
			if out == "" {
				out = "lathe-report"
				if len(list) == 1 {
					out = store.RunDir(list[0].ID)
				}
			}
			t, err := measureRuns(g, store, list, time.Duration(seconds*float64(time.Second)), trainSteps)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			if err := report.WriteFiles(out, t); err != nil {
				return err
			}
			return showTradeoff(os.Stdout, t, out, asJSON)
		},
	}
	cmd.Flags().BoolVar(&measure, "measure", false, "measure the model files again even when the run has a report")
	cmd.Flags().StringVar(&out, "out", "", "folder for report.md, report.json and the plots")
	cmd.Flags().Float64Var(&seconds, "seconds", 2, "seconds of interleaved calls per batch size")
	cmd.Flags().IntVar(&trainSteps, "train-steps", 10, "train steps timed in float32 and bfloat16 for the training claim (0: none)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print report.json")
	cmd.Flags().StringVar(&g.backend, "backend", "", "GoMLX backend: auto, go, xla:cpu, xla:cuda or xla:/abs/plugin.so")
	return cmd
}

// measureRuns measures every model file of the runs, on the first run's
// test split (they must share the dataset).
func measureRuns(g *globalFlags, store *runs.Store, list []*runs.Run, minTime time.Duration, trainSteps int) (*report.Tradeoff, error) {
	rec, err := runner.StoredRecipe(list[0])
	if err != nil {
		return nil, err
	}
	var all []tradeoff.Model
	var names []string
	for _, r := range list {
		other, err := runner.StoredRecipe(r)
		if err != nil {
			return nil, err
		}
		if other.Data.Dataset != rec.Data.Dataset {
			return nil, fmt.Errorf("run %s learned %s and run %s %s: a report compares models on one test split", list[0].ID, rec.Data.Dataset, r.ID, other.Data.Dataset)
		}
		found, err := tradeoff.RunModels(r, store.RunDir(r.ID), nil)
		if err != nil {
			return nil, err
		}
		if len(list) > 1 { // name the run in each row
			for i := range found {
				found[i].Name = r.Name + "/" + found[i].Name
			}
		}
		all = append(all, found...)
		names = append(names, r.Name)
	}
	d := rec.Data
	_, _, test, _, err := runner.LoadData(d, rec.Seed)
	if err != nil {
		return nil, err
	}
	opened, err := backend.Open(backend.Resolve(g.backend, rec.Backend))
	if err != nil {
		return nil, err
	}
	defer opened.Backend.Finalize()
	if opened.Notice != "" {
		fmt.Fprintln(os.Stderr, opened.Notice)
	}
	fmt.Fprintf(os.Stderr, "report: measuring %d model files on %d test examples, in the runtime and on %s\n", len(all), test.Len(), opened.Name())
	t, err := tradeoff.Measure(all, tradeoff.Options{Title: strings.Join(names, " + "), Backend: opened.Backend, BackendName: opened.Name(),
		Features: test.Features, Labels: test.Labels, Split: "test", MinTime: minTime})
	if err != nil {
		return nil, err
	}
	if trainSteps > 0 {
		t.Training, err = tradeoff.TrainSteps(opened.Backend, opened.Name(), models.Spec{Model: rec.Model}, d.BatchSize, test.ExampleShape, test.NumClasses, trainSteps)
		if err != nil {
			fmt.Fprintf(os.Stderr, "report: %v\n", err)
		}
	}
	return t, nil
}

// showTradeoff prints a report for the terminal (or its JSON) and where
// its files are.
func showTradeoff(w io.Writer, t *report.Tradeoff, dir string, asJSON bool) error {
	if asJSON {
		return writeJSON(w, t)
	}
	if err := report.WriteText(w, t); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nreport: %s (plots %s, %s)\n", filepath.Join(dir, report.MarkdownFile),
		filepath.Join(dir, report.SizePlotFile), filepath.Join(dir, report.LatencyPlotFile))
	return nil
}

// printStoredReport prints the trade-off report a run's folder holds, if
// any, under a heading.
func printStoredReport(w io.Writer, dir string) {
	t, err := report.ReadTradeoff(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(w, "\ntrade-off report: %v\n", err)
		}
		return
	}
	fmt.Fprintln(w, "\ntrade-off report")
	showTradeoff(w, t, dir, false)
}

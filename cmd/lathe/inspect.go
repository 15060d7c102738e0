package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/lathe-ml/lathe/recipes"
	"github.com/spf13/cobra"
)

// runView is the JSON form of a run for scripts: accuracies are fractions.
type runView struct {
	ID           string             `json:"id"`
	Name         string             `json:"name"`
	Status       runs.Status        `json:"status"`
	Backend      string             `json:"backend"`
	RecipePath   string             `json:"recipe_path"`
	Started      time.Time          `json:"started"`
	Finished     *time.Time         `json:"finished,omitempty"`
	DurationS    float64            `json:"duration_s"`
	Error        string             `json:"error,omitempty"`
	Params       map[string]string  `json:"params"`
	Stages       []runs.StageResult `json:"stages"`
	FinalMetrics runs.Metrics       `json:"final_metrics"`
	// Files are what the run's stages wrote into its folder.
	Files []runs.File `json:"files"`
	// Series are the run's metric series by name (show --series).
	Series map[string][]runs.Point `json:"series,omitempty"`
}

func viewOf(r *runs.Run) runView {
	v := runView{ID: r.ID, Name: r.Name, Status: r.Status, Backend: r.Backend, RecipePath: r.RecipePath,
		Started: r.Started, DurationS: r.Duration().Seconds(), Error: r.Error, Params: r.Params,
		Stages: r.Stages, FinalMetrics: r.Final, Files: r.Files}
	if v.Files == nil {
		v.Files = []runs.File{}
	}
	if !r.Finished.IsZero() {
		f := r.Finished
		v.Finished = &f
	}
	if v.Stages == nil {
		v.Stages = []runs.StageResult{}
	}
	return v
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func lsCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := runs.OpenExisting(storeDir(g))
			if err != nil {
				if asJSON && errors.Is(err, runs.ErrNoStore) {
					return writeJSON(os.Stdout, []runView{})
				}
				return err
			}
			defer store.Close()
			list, err := store.List()
			if err != nil {
				return err
			}
			if asJSON {
				views := make([]runView, 0, len(list))
				for _, r := range list {
					views = append(views, viewOf(r))
				}
				return writeJSON(os.Stdout, views)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tBACKEND\tTEST ACC\tDURATION\tSTARTED")
			for _, r := range list {
				acc := "-"
				if v, ok := r.Final["test_accuracy"]; ok {
					acc = fmt.Sprintf("%.2f%%", 100*v)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Status, runs.OrDash(r.Backend), acc,
					r.Duration().Round(time.Second), r.Started.Local().Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func showCmd(g *globalFlags) *cobra.Command {
	var asJSON, withSeries bool
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run: params, stage results, final metrics (RUN: id, id prefix or name)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := runs.OpenExisting(storeDir(g))
			if err != nil {
				return err
			}
			defer store.Close()
			r, err := store.Get(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				v := viewOf(r)
				if withSeries {
					if v.Series, err = allSeries(store, r.ID); err != nil {
						return err
					}
				}
				return writeJSON(os.Stdout, v)
			}
			printRun(os.Stdout, r)
			printStoredReport(os.Stdout, store.RunDir(r.ID))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&withSeries, "series", false, "with --json: include every metric series (each point's stage, step, value and time)")
	return cmd
}

// allSeries reads every metric series of a run, by name.
func allSeries(store *runs.Store, id string) (map[string][]runs.Point, error) {
	names, err := store.MetricNames(id)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]runs.Point, len(names))
	for _, name := range names {
		if out[name], err = store.Series(id, name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func printRun(w io.Writer, r *runs.Run) {
	fmt.Fprintf(w, "run      %s\nname     %s\nstatus   %s\nbackend  %s\nrecipe   %s\nstarted  %s\nduration %s\n",
		r.ID, r.Name, r.Status, runs.OrDash(r.Backend), runs.OrDash(r.RecipePath),
		r.Started.Local().Format(time.DateTime), r.Duration().Round(time.Second))
	if r.Error != "" {
		fmt.Fprintf(w, "error    %s\n", r.Error)
	}
	if r.Plan != nil {
		if line := runs.ClassLine(r.Plan.Classes); line != "" {
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w, "\nparams")
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "  %s\t%s\n", k, r.Params[k])
	}
	tw.Flush()
	fmt.Fprintln(w, "\nstages")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, st := range r.Stages {
		d := "-"
		if !st.Finished.IsZero() {
			d = st.Finished.Sub(st.Started).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", st.Index+1, st.Kind, st.Status, d, formatMetrics(withoutKey(st.Metrics, "wall_s")))
	}
	tw.Flush()
	if len(r.Final) > 0 {
		fmt.Fprintln(w, "\nfinal metrics")
		for _, k := range runs.SortMetricNames(r.Final) {
			fmt.Fprintf(w, "  %s %s\n", k, runs.FormatMetric(k, r.Final[k]))
		}
	}
	if len(r.Files) > 0 {
		fmt.Fprintln(w, "\nfiles (in the run's folder)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range r.Files {
			fmt.Fprintf(tw, "  %s\tstage %d\t%d bytes\tsha256 %s\n", f.Name, f.Stage+1, f.Bytes, f.SHA256[:16])
		}
		tw.Flush()
	}
}

func withoutKey(m map[string]float64, key string) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func recipesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "recipes",
		Short: "List the shipped recipes (run one with `lathe run NAME`)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION")
			for _, name := range recipes.Names() {
				desc := "-"
				if rec, err := recipe.Load(name); err == nil && rec.Description != "" {
					desc = rec.Description
				} else if err != nil {
					desc = "invalid: " + strings.TrimSpace(err.Error())
				}
				fmt.Fprintf(tw, "%s\t%s\n", name, desc)
			}
			return tw.Flush()
		},
	}
}

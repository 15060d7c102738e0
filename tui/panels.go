package tui

import (
	"sort"
	"strings"

	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// panel is one chart of the run view: a title and the series drawn on it,
// or a panel a stage kind declared (results.Panel), drawn its own way.
type panel struct {
	title  string
	series []string
	// decl is the declared panel when it is drawn other than as curves:
	// bars (sparsity.go), a table (table.go) or phases (phases.go); kind
	// is the kind that declared it.
	decl *results.Panel
	kind string
	// Bars: the members' series ("sparsity/<layer>"), and Left and Of
	// where the run writes them (weights left of all).
	layers []string
	counts []string
}

// declaredPanel is a panel some registered stage kind declares.
type declaredPanel struct {
	kind string
	results.Panel
}

// declaredPanels are every registered kind's panels, by rank.
func declaredPanels() []declaredPanel {
	var out []declaredPanel
	for _, kind := range recipe.Kinds() {
		d, _ := recipe.Declared(kind)
		for _, p := range d.Panels {
			out = append(out, declaredPanel{kind, p})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rank < out[j].Rank })
	return out
}

// The places of the charts every model has, among declared panels' ranks.
const (
	lossRank     = 10
	accuracyRank = 30
)

// panelsFor groups a run's metric names into charts: loss and accuracy,
// which every model has, and the panels the stage kinds declare (a
// sparsity's bars, a quantization's table, a distillation's phases…), in
// the order of their ranks; any other series a run writes is still shown,
// one chart per name, or one chart per prefix for families like
// "width/<layer>". Names come from the store and panels from the kinds'
// declarations, so neither a new series nor a new technique needs a
// change here. run holds the results a table panel shows (nil: none).
func panelsFor(names []string, run *runs.Run) []panel {
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	used := map[string]bool{}
	take := func(ns ...string) []string {
		var out []string
		for _, n := range ns {
			if have[n] && !used[n] {
				used[n] = true
				out = append(out, n)
			}
		}
		return out
	}
	withPrefix := func(prefix string) []string {
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, prefix) && !used[n] {
				out = append(out, n)
			}
		}
		return take(out...)
	}
	withSuffix := func(suffix string, except ...string) []string {
		var out []string
		for _, n := range names {
			if strings.HasSuffix(n, suffix) && !strings.Contains(n, "/") && !contains(except, n) {
				out = append(out, n)
			}
		}
		return take(out...)
	}

	var panels []panel
	add := func(title string, series []string) {
		if len(series) > 0 {
			panels = append(panels, panel{title: title, series: series})
		}
	}
	loss := func() {
		// The batch loss is noisy next to its moving average: plot it only
		// when the run wrote no train_loss.
		lossSeries := take("train_loss", "validation_loss")
		if len(lossSeries) == 0 || !have["train_loss"] {
			lossSeries = append(take("loss"), lossSeries...)
		} else {
			used["loss"] = true
		}
		add("loss", append(lossSeries, withSuffix("_loss")...))
	}
	accuracy := func() {
		add("accuracy", append(take("train_accuracy", "validation_accuracy"), withSuffix("_accuracy")...))
	}
	next := 0 // the built-in charts placed so far
	builtIns := []struct {
		rank  int
		build func()
	}{{lossRank, loss}, {accuracyRank, accuracy}}
	for _, dp := range declaredPanels() {
		for next < len(builtIns) && builtIns[next].rank <= dp.Rank {
			builtIns[next].build()
			next++
		}
		switch {
		case dp.Bars != nil:
			// Without the headline series, the members are a family of
			// curves, as any other.
			if have[dp.Bars.Total] {
				panels = append(panels, panel{title: dp.Title, series: take(dp.Bars.Total), decl: &dp.Panel, kind: dp.kind,
					layers: withPrefix(dp.Bars.Members), counts: take(dp.Bars.Left, dp.Bars.Of)})
			}
		case dp.Table != nil:
			if run != nil && tableResults(run, dp.Table) != nil {
				panels = append(panels, panel{title: dp.Title, decl: &dp.Panel, kind: dp.kind})
			}
		case dp.Phases != nil:
			if metric, ok := phaseMetric(dp.Phases, names); ok {
				panels = append(panels, panel{title: dp.Title, series: []string{dp.Phases.Prefix + metric}, decl: &dp.Panel, kind: dp.kind})
			}
		default:
			var series []string
			for _, c := range dp.Curves {
				if strings.HasSuffix(c, "/") {
					series = append(series, withPrefix(c)...)
				} else {
					series = append(series, take(c)...)
				}
			}
			add(dp.Title, series)
		}
	}
	for ; next < len(builtIns); next++ {
		builtIns[next].build()
	}

	// Everything else: families by prefix, then single series.
	families := map[string][]string{}
	var singles []string
	for _, n := range names {
		if used[n] {
			continue
		}
		if i := strings.IndexByte(n, '/'); i > 0 {
			families[n[:i]] = append(families[n[:i]], n)
		} else {
			singles = append(singles, n)
		}
	}
	prefixes := make([]string, 0, len(families))
	for p := range families {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		if have[p] {
			used[p] = true
			families[p] = append([]string{p}, families[p]...)
		}
		add(p, families[p])
	}
	for _, n := range singles {
		if !used[n] {
			add(strings.ReplaceAll(n, "_", " "), []string{n})
		}
	}
	return panels
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

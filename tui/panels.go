package tui

import (
	"sort"
	"strings"
)

// panel is one chart of the run view: a title and the series drawn on it.
type panel struct {
	title  string
	series []string
	// bars marks the sparsity panel (sparsity.go): under its curve, a bar
	// per layer at the layer's latest value, and the weights left in its
	// title. Layers are read from their newest points rather than drawn
	// as curves, since a network has too many to tell apart on one chart;
	// the counts' curves would only mirror the sparsity's.
	bars   bool
	layers []string // "sparsity/<layer>" series
	counts []string // nonzero_prunable_params, prunable_params
	// quant marks the quantization panel (quantization.go): no series,
	// the int8 conversion's results, which a stage records once.
	quant bool
	// distill marks the distillation panel (distillation.go): the
	// teacher's, the student alone's and the distilled student's curves
	// drawn from their own starts.
	distill bool
}

// panelsFor groups a run's metric names into charts. The known series of
// every technique get a fixed place (loss, accuracy, learning rate,
// throughput, sparsity, loss scale, quantization ranges); any other series
// a run writes is still shown, one chart per name, or one chart per
// prefix for families like "sparsity/<layer>". Names come from the store,
// so a series a later version adds appears without a change here.
// quantized adds the quantization panel after sparsity's: its figures
// are a stage's results, not series, so the names cannot tell.
func panelsFor(names []string, quantized bool) []panel {
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
	// The batch loss is noisy next to its moving average: plot it only
	// when the run wrote no train_loss.
	lossSeries := take("train_loss", "validation_loss")
	if len(lossSeries) == 0 || !have["train_loss"] {
		lossSeries = append(take("loss"), lossSeries...)
	} else {
		used["loss"] = true
	}
	lossSeries = append(lossSeries, withSuffix("_loss")...)
	add("loss", lossSeries)
	if metric, ok := distillMetric(names); ok {
		panels = append(panels, panel{title: "distillation", series: []string{alonePrefix + metric}, distill: true})
	}
	add("accuracy", append(take("train_accuracy", "validation_accuracy"), withSuffix("_accuracy")...))
	add("learning rate", take("learning_rate"))
	add("throughput (samples/s)", take("samples_per_s"))
	if have[sparsityMetric] {
		panels = append(panels, panel{title: "sparsity", series: take(sparsityMetric), bars: true,
			layers: withPrefix(layerSparsityPrefix), counts: take(nonzeroMetric, prunableMetric)})
	} else {
		// Layers without the global figure (not what pkg/prune writes):
		// curves, as any family.
		add("sparsity", withPrefix(layerSparsityPrefix))
	}
	if quantized {
		panels = append(panels, panel{title: "quantization", quant: true})
	}
	add("loss scale", take("loss_scale"))
	add("skipped steps", take("skipped_steps"))
	add("quantization ranges", withPrefix("quant_range/"))
	add("epoch time (s)", take("epoch_s"))

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

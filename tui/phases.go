package tui

import (
	"math"
	"strings"

	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// The phases panel (results.Phases): a distillation trains its student
// twice, alone and then taught, one after the other, and its teacher
// before that; on the accuracy chart the three curves follow one another
// along the global step. Here each is drawn from its own start (x: steps
// into that training), so the eye compares them at the same point of the
// same schedule. The names — the baseline's series prefix, the result
// naming the teacher's stage — are those the declaring kind gives.

// phaseMetric is what the panel compares: the first of the declaration's
// metrics the run has a prefixed (baseline) series of.
func phaseMetric(ph *results.Phases, names []string) (string, bool) {
	for _, m := range ph.Metrics {
		if contains(names, ph.Prefix+m) {
			return m, true
		}
	}
	return "", false
}

// phasesSpec draws the newest run of the phases: the student alone and
// taught, and its teacher's training when the teacher was a stage of the
// run, else a flat line at the teacher's measured accuracy.
func (v runView) phasesSpec(p panel, set *seriesSet, run *runs.Run) chartSpec {
	ph := p.decl.Phases
	metric, _ := phaseMetric(ph, set.names)
	spec := chartSpec{title: p.title + ": " + strings.ReplaceAll(metric, "_", " "), legend: true, clampFraction: true,
		format: runs.FormatPercent}
	alone := set.byName[ph.Prefix+metric]
	if len(alone) == 0 {
		spec.empty = "the student alone has no points yet"
		return spec
	}
	stage := alone[len(alone)-1].Stage
	var stageResults map[string]float64
	if stage < len(run.Stages) {
		stageResults = run.Stages[stage].Metrics
	}
	add := func(label string, c []xy) {
		if len(c) == 0 {
			return
		}
		i := len(spec.lines)
		spec.lines = append(spec.lines, chartLine{label: label, points: c, last: runs.FormatPercent(c[len(c)-1].y),
			style: seriesStyle(i), marker: seriesMarker(i)})
	}
	student := phaseCurve(set, ph.Prefix+metric, ph.Prefix+ph.Start, stage)
	taught := phaseCurve(set, metric, ph.Start, stage)
	level := results.Result{Name: ph.TeacherLevel}
	if t, ok := stageResults[ph.TeacherStage]; ok && t >= 1 {
		add(ph.Labels[0], phaseCurve(set, metric, ph.Start, int(t)-1))
	} else if len(student) > 0 {
		// A teacher from another run or a file: its accuracy on the split
		// the stage checks, as a level to reach.
		for _, name := range runs.SortMetricNames(stageResults) {
			if acc := stageResults[name]; level.Matches(name) && !math.IsNaN(acc) {
				split := strings.TrimSuffix(strings.TrimPrefix(name, level.Family()), strings.SplitN(ph.TeacherLevel, "}", 2)[1])
				add(ph.Labels[0]+" ("+split+")", []xy{{student[0].x, acc}, {student[len(student)-1].x, acc}})
				break
			}
		}
	}
	add(ph.Labels[1], student)
	add(ph.Labels[2], taught)
	if g, ok := stageResults[ph.Gap]; ok {
		spec.note = "gap closed " + runs.FormatPercent(g)
	}
	return spec
}

// phaseCurve is series name's points in stage, x counted from the first
// step of that training (its first start point, which is logged from the
// first steps on).
func phaseCurve(set *seriesSet, name, start string, stage int) []xy {
	first := math.MaxInt
	for _, p := range set.byName[start] {
		if p.Stage == stage {
			first = min(first, p.Step)
		}
	}
	var out []xy
	for _, p := range set.byName[name] {
		if p.Stage != stage {
			continue
		}
		first = min(first, p.Step)
		out = append(out, xy{float64(p.Step), p.Value})
	}
	for i := range out {
		out[i].x -= float64(first - 1)
	}
	return finite(out)
}

// stageResult is metric name from the newest stage that recorded it,
// else the run's final metrics: a distillation's gap closed, as the
// compare table shows it.
func stageResult(r *runs.Run, _ *seriesSet, name string) (float64, bool) {
	for i := len(r.Stages) - 1; i >= 0; i-- {
		if v, ok := r.Stages[i].Metrics[name]; ok {
			return v, true
		}
	}
	v, ok := r.Final[name]
	return v, ok
}

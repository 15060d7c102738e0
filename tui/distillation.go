package tui

import (
	"math"
	"strings"

	"github.com/lathe-ml/lathe/pkg/runs"
)

// The distillation panel: a distillation trains its student twice, alone
// and then taught, one after the other, and its teacher before that; on
// the accuracy chart the three curves follow one another along the
// global step. Here each is drawn from its own start (x: steps into that
// training), so the eye compares them at the same point of the same
// schedule. The names are those pkg/distill records — the baseline's
// series carry alonePrefix, and the stage's results name the teacher's
// stage — not a stage kind's.
const (
	alonePrefix         = "alone_"
	teacherStageMetric  = "teacher_stage" // 1-based; absent for a teacher from a run or file
	gapClosedMetric     = "gap_closed"
	teacherResultPrefix = "teacher_" // + split + "_accuracy"
)

// distillMetric is what the panel compares: validation accuracy, or the
// train accuracy of a recipe that holds out no validation split.
func distillMetric(names []string) (string, bool) {
	for _, m := range []string{"validation_accuracy", "train_accuracy"} {
		if contains(names, alonePrefix+m) {
			return m, true
		}
	}
	return "", false
}

// distillSpec draws the newest distillation of the run: its student
// alone and taught, and its teacher's training when the teacher was a
// stage of the run, else a flat line at the teacher's measured accuracy.
func (v runView) distillSpec(set *seriesSet, run *runs.Run) chartSpec {
	metric, _ := distillMetric(set.names)
	spec := chartSpec{title: "distillation: " + strings.ReplaceAll(metric, "_", " "), legend: true, clampFraction: true,
		format: runs.FormatPercent}
	alone := set.byName[alonePrefix+metric]
	if len(alone) == 0 {
		spec.empty = "the student alone has no points yet"
		return spec
	}
	stage := alone[len(alone)-1].Stage
	var results map[string]float64
	if stage < len(run.Stages) {
		results = run.Stages[stage].Metrics
	}
	add := func(label string, c []xy) {
		if len(c) == 0 {
			return
		}
		i := len(spec.lines)
		spec.lines = append(spec.lines, chartLine{label: label, points: c, last: runs.FormatPercent(c[len(c)-1].y),
			style: seriesStyle(i), marker: seriesMarker(i)})
	}
	student := phaseCurve(set, alonePrefix+metric, alonePrefix+"train_loss", stage)
	taught := phaseCurve(set, metric, "train_loss", stage)
	if t, ok := results[teacherStageMetric]; ok && t >= 1 {
		add("teacher", phaseCurve(set, metric, "train_loss", int(t)-1))
	} else if len(student) > 0 {
		// A teacher from another run or a file: its accuracy on the split
		// the stage checks, as a level to reach.
		for name, acc := range results {
			if len(name) > len(teacherResultPrefix) && name[:len(teacherResultPrefix)] == teacherResultPrefix && isAccuracy(name) && !math.IsNaN(acc) {
				add("teacher ("+name[len(teacherResultPrefix):len(name)-len("_accuracy")]+")",
					[]xy{{student[0].x, acc}, {student[len(student)-1].x, acc}})
				break
			}
		}
	}
	add("alone", student)
	add("distilled", taught)
	if g, ok := results[gapClosedMetric]; ok {
		spec.note = "gap closed " + runs.FormatPercent(g)
	}
	return spec
}

func isAccuracy(name string) bool {
	const suffix = "_accuracy"
	return len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix
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

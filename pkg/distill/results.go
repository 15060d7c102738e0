package distill

import (
	"fmt"
	"strings"

	"github.com/lathe-ml/lathe/pkg/results"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// What a distill stage records: its train phases' results (the baseline's
// as alone_<result>), the teacher's, student's and baseline's accuracy
// and errors on the check split, and the gap closed.
var distillDeclaration = results.Declaration{
	Results: append([]results.Result{
		{Name: "temperature"}, {Name: "alpha"}, {Name: "transfer_set", Format: results.Count},
		{Name: "teacher_params", Format: results.Count},
		{Name: "teacher_stage", Format: results.Count, Doc: "the recipe stage (1-based) that trained the teacher"},
		{Name: "teacher_{split}_accuracy", Format: results.Percent},
		{Name: "teacher_{split}_errors", Format: results.Count},
		{Name: "alone_{split}_errors", Format: results.Count},
		{Name: "student_params", Format: results.Count},
		{Name: "params_ratio", Format: results.Times, Doc: "teacher parameters / student parameters"},
		{Name: "student_{split}_accuracy", Format: results.Percent},
		{Name: "student_{split}_errors", Format: results.Count},
		{Name: "gap_closed", Format: results.Percent, Doc: "(alone − distilled) / (alone − teacher) errors; NaN with no gap"},
	}, termResults...),
	Series:   termResults,
	Includes: []results.Include{{Prefix: "", Kind: "train"}, {Prefix: alonePrefix, Kind: "train"}},
	Summary: func(m map[string]float64) string {
		line := runner.TrainSummary(m)
		gap, ok := m["gap_closed"]
		if !ok {
			return line
		}
		teacher, _ := withAffixes(m, "teacher_", "_errors")
		alone, _ := withAffixes(m, alonePrefix, "_errors")
		student, _ := withAffixes(m, "student_", "_errors")
		return line + fmt.Sprintf(", errors: teacher %s, student alone %s, distilled %s (gap closed %s)",
			runs.FormatCount(teacher), runs.FormatCount(alone), runs.FormatCount(student), runs.FormatPercent(gap))
	},
	Panels: []results.Panel{{Title: "distillation", Rank: 20, Phases: &results.Phases{
		Prefix: alonePrefix, Metrics: []string{"validation_accuracy", "train_accuracy"}, Start: runner.TrainLoss,
		TeacherStage: "teacher_stage", TeacherLevel: "teacher_{split}_accuracy", Gap: "gap_closed",
		Labels: [3]string{"teacher", "alone", "distilled"}}}},
	Compare: []results.Column{{Title: "GAP CLOSED", Name: "gap_closed", Format: results.Percent, Better: 1}},
}

// termResults are the distillation's loss terms, each as it enters the
// loss: a series while the student trains, their last values as results.
var termResults = []results.Result{
	{Name: softLoss, Doc: "the soft-target term as it enters the loss: α·T²·KL(teacher ‖ student)"},
	{Name: hintLoss, Doc: "the hint term: weight × MSE between the projected student and the teacher layer"},
	{Name: attentionLoss, Doc: "attention transfer: weight × mean (a_s − a_t)² of the pairs' normalized attention maps"},
}

// alonePrefix names the results and series of the student trained alone.
const alonePrefix = "alone_"

// withAffixes is the value of the first metric, in name order, named
// prefix…suffix (teacher_test_errors).
func withAffixes(m map[string]float64, prefix, suffix string) (float64, bool) {
	for _, k := range runs.SortMetricNames(m) {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) {
			return m[k], true
		}
	}
	return 0, false
}

// Package results is the results contract: every figure a stage kind
// records — its name, how it is printed, what it means — declared once,
// beside the stage, in its kind's registration (recipe.Kind.Results).
// Consumers read the declarations instead of spelling names again: the
// CLI summary takes each kind's summary line, the dashboard draws each
// kind's panels and compare columns, and the runner refuses a stage that
// records a result its kind does not declare, so renaming a result in a
// stage breaks a test rather than silently emptying a panel.
//
// The package links no GoMLX (the dashboard imports it).
//
// Example, a kind that records one figure per layer and a total:
//
//	var decl = results.Declaration{
//		Results: []results.Result{
//			{Name: "sparsity", Format: results.Percent, Doc: "fraction of the prunable weights at zero"},
//			{Name: "sparsity/{layer}", Format: results.Percent},
//		},
//		Summary: func(m map[string]float64) string { return "sparsity " + results.Percent.Print(m["sparsity"]) },
//	}
package results

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Result is one figure a stage records, or a family of them: Name may
// hold placeholders, each standing for one part of the recorded name —
// {split} (test, validation, train), {layer} (a layer's scope, slashes
// allowed), {role} (a report's model role), {claim} (a report's claim),
// {value} (a number: a sparsity a sensitivity stage tried).
type Result struct {
	Name   string
	Format Format
	Doc    string
}

// Include takes every result of another kind under a prefix: a
// distillation records its train stages' results, its baseline's as
// "alone_<result>".
type Include struct {
	Prefix, Kind string
}

// Declaration is what a stage kind records and how consumers show it.
type Declaration struct {
	// Results are what its stage returns (the stage's row in the store).
	Results []Result
	// Series are the metric series its stage writes while it runs (charts).
	Series []Result
	// Includes are other kinds' results and series its stage records too.
	Includes []Include
	// Adds are results and series it records in other stages: those its
	// loop hooks act in (a pruning schedule reports in the train stage).
	Adds []Result
	// Summary is its stage's line in the summary a run ends with; nil
	// prints every result. AddsSummary is what it adds to the line of a
	// stage holding its Adds ("" when it has nothing to say there).
	Summary     func(m map[string]float64) string
	AddsSummary func(m map[string]float64) string
	// Panels are the dashboard charts it brings; Compare the columns it
	// adds to the dashboard's compare table.
	Panels  []Panel
	Compare []Column
}

// Column is a compare-table column: a result or series by name, the
// newest value a run has (series point, else stage result, else final
// metric), and which way is better (+1 higher, -1 lower).
type Column struct {
	Title, Name string
	Format      Format
	Better      int
}

// placeholders are what Result names may hold, and the patterns they match.
var placeholders = strings.NewReplacer(
	`\{split\}`, `(?:test|validation|train)`,
	`\{layer\}`, `.+`,
	`\{role\}`, `[a-z0-9_]+`,
	`\{claim\}`, `[a-z0-9_]+`,
	`\{value\}`, `[-+0-9.eE]+`,
)

var patterns sync.Map // Result.Name → *regexp.Regexp

// Matches says whether a recorded name is this result (or one of its family).
func (r Result) Matches(name string) bool {
	if !strings.Contains(r.Name, "{") {
		return r.Name == name
	}
	re, ok := patterns.Load(r.Name)
	if !ok {
		re, _ = patterns.LoadOrStore(r.Name, regexp.MustCompile("^"+placeholders.Replace(regexp.QuoteMeta(r.Name))+"$"))
	}
	return re.(*regexp.Regexp).MatchString(name)
}

// Family is the part of a family's name before its first placeholder
// ("weight_sqnr_db/" for "weight_sqnr_db/{layer}"); the name itself for
// a single result.
func (r Result) Family() string {
	if i := strings.IndexByte(r.Name, '{'); i >= 0 {
		return r.Name[:i]
	}
	return r.Name
}

// Lookup finds the declared result a recorded name is, among list.
func Lookup(list []Result, name string) (Result, bool) {
	for _, r := range list {
		if r.Matches(name) {
			return r, true
		}
	}
	return Result{}, false
}

// Kinds resolves a kind's declaration by name (package recipe's registry).
type Kinds func(kind string) (Declaration, bool)

// Allowed are the results a stage of kind may record, and the series it
// may write: its own, those it includes from other kinds, and those the
// kinds in others (the recipe's stages whose loop hooks may act in it)
// add.
func Allowed(kinds Kinds, kind string, others []string) (stageResults, series []Result) {
	d, _ := kinds(kind)
	stageResults, series = slices.Clone(d.Results), slices.Clone(d.Series)
	for _, in := range d.Includes {
		if in.Kind == kind {
			continue
		}
		inc, iseries := Allowed(kinds, in.Kind, nil)
		for _, r := range inc {
			stageResults = append(stageResults, Result{Name: in.Prefix + r.Name, Format: r.Format, Doc: r.Doc})
		}
		for _, r := range iseries {
			series = append(series, Result{Name: in.Prefix + r.Name, Format: r.Format, Doc: r.Doc})
		}
	}
	for _, o := range others {
		if od, ok := kinds(o); ok {
			stageResults = append(stageResults, od.Adds...)
			series = append(series, od.Adds...)
		}
	}
	return stageResults, series
}

// Undeclared lists, sorted, the names in recorded that no result of
// declared matches.
func Undeclared(declared []Result, recorded map[string]float64) []string {
	var out []string
	for name := range recorded {
		if _, ok := Lookup(declared, name); !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Check is the contract: an error naming every result a stage of kind
// recorded that is not declared (wall_s, which the runner adds to every
// stage, is).
func Check(kinds Kinds, kind string, others []string, recorded map[string]float64) error {
	declared, _ := Allowed(kinds, kind, others)
	declared = append(declared, WallSeconds)
	if bad := Undeclared(declared, recorded); len(bad) > 0 {
		return fmt.Errorf("stage kind %s recorded %s, which its declaration (recipe.Kind.Results) does not list", kind, strings.Join(bad, ", "))
	}
	return nil
}

// WallSeconds is the time every stage took, which the runner records.
var WallSeconds = Result{Name: "wall_s", Format: Seconds, Doc: "the stage's wall-clock time"}

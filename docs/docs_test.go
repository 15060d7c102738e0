// Package docs holds Lathe's documentation pages and the tests that keep
// the README's figures tied to their measured source: docs/results.md,
// rendered from the entries in docs/results/ (lathe results).
package docs

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/measured"
	"github.com/lathe-ml/lathe/pkg/recipe"
	_ "github.com/lathe-ml/lathe/pkg/stages" // the stage kinds a recipe names
)

// number is a figure as documents write it: 98.49, 1,029, 3.76, 2026.
var number = regexp.MustCompile(`\d+(,\d{3})*(\.\d+)?`)

// tableNumbers are the numbers in the markdown table rows of the section
// headed heading (up to the next "## "), the header and separator rows
// aside.
func tableNumbers(doc, heading string) []string {
	_, section, found := strings.Cut(doc, "\n"+heading+"\n")
	if !found {
		return nil
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var out []string
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		if rows++; rows <= 2 { // the header and the |---| row
			continue
		}
		out = append(out, number.FindAllString(line, -1)...)
	}
	return out
}

// missing are the numbers of the README's results table that the results
// source does not contain.
func missing(readme, results string) []string {
	have := map[string]bool{}
	for _, n := range number.FindAllString(results, -1) {
		have[n] = true
	}
	var out []string
	for _, n := range tableNumbers(readme, "## Results") {
		if !have[n] {
			out = append(out, n)
		}
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeFiguresAreInTheResults: every number in the README's results
// table is one docs/results.md records with its measurement.
func TestReadmeFiguresAreInTheResults(t *testing.T) {
	readme, results := read(t, "../README.md"), read(t, "results.md")
	if n := len(tableNumbers(readme, "## Results")); n < 20 {
		t.Fatalf("the README's results table has %d numbers: is the section still called \"## Results\"?", n)
	}
	if m := missing(readme, results); len(m) > 0 {
		t.Errorf("the README's results table quotes figures docs/results.md does not have: %v", m)
	}
}

// TestResultsPageIsRendered: docs/results.md is exactly what its entries
// render to, so no figure on it was typed by hand (scripts/results.sh
// measures and renders; after a hand edit of an entry, render again).
func TestResultsPageIsRendered(t *testing.T) {
	entries, err := measured.ReadDir("results")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := measured.Render(&want, entries); err != nil {
		t.Fatal(err)
	}
	if got := read(t, "results.md"); got != want.String() {
		t.Errorf("docs/results.md differs from its entries: run `lathe results render docs/results -o docs/results.md` (or scripts/results.sh)")
	}
}

// TestEditedFigureIsCaught: a figure typed into the README by hand — one
// digit changed — is reported.
func TestEditedFigureIsCaught(t *testing.T) {
	readme, results := read(t, "../README.md"), read(t, "results.md")
	edited := strings.Replace(readme, "22.36×", "23.36×", 1)
	if edited == readme {
		t.Fatal("the README no longer quotes 22.36× (the seed pipeline's size ratio): update this test's example")
	}
	if m := missing(edited, results); len(m) != 1 || m[0] != "23.36" {
		t.Errorf("an edited figure gives %v, want [23.36]", m)
	}
}

// TestReadmeIsAFirstPage: the README stays short, with the two commands
// and the results near the top, and its links to docs resolve.
func TestReadmeIsAFirstPage(t *testing.T) {
	readme := read(t, "../README.md")
	lines := strings.Split(readme, "\n")
	if len(lines) > 200 {
		t.Errorf("README.md has %d lines: keep it to a first page (≤ 200), reference in docs/", len(lines))
	}
	line := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i + 1
			}
		}
		return 0
	}
	if n := line("./scripts/setup.sh"); n == 0 || n > 30 {
		t.Errorf("the set-up command is on line %d: want it in the first 30", n)
	}
	if n := line("./scripts/test.sh"); n == 0 || n > 30 {
		t.Errorf("the test command is on line %d: want it in the first 30", n)
	}
	if n := line("| technique |"); n == 0 || n > 80 {
		t.Errorf("the results table starts on line %d: want it in the first 80", n)
	}
	for _, m := range regexp.MustCompile(`\]\((docs/[^)#]+)`).FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(filepath.Join("..", m[1])); err != nil {
			t.Errorf("the README links to %s: %v", m[1], err)
		}
	}
}

// TestReadmeRecipeParses: the recipe the README shows is one Lathe
// accepts.
func TestReadmeRecipeParses(t *testing.T) {
	readme := read(t, "../README.md")
	_, block, found := strings.Cut(readme, "```yaml\n")
	if !found {
		t.Fatal("the README shows no recipe")
	}
	block, _, _ = strings.Cut(block, "```")
	if _, err := recipe.Parse("README.md", []byte(block)); err != nil {
		t.Errorf("the README's recipe: %v", err)
	}
}

// measuredComments are the numbers of each recipe's "# Measured" comment
// (the line and the comment lines under it), by recipe file.
func measuredComments(t *testing.T) map[string][]string {
	t.Helper()
	paths, err := filepath.Glob("../recipes/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recipes: %v", err)
	}
	out := map[string][]string{}
	for _, p := range paths {
		in := false
		for _, line := range strings.Split(read(t, p), "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(trimmed, "# Measured"):
				in = true
				out[p] = append(out[p], number.FindAllString(strings.TrimPrefix(trimmed, "# Measured"), -1)...)
				continue
			case !in:
				continue
			case !strings.HasPrefix(trimmed, "#") || strings.TrimSpace(strings.TrimPrefix(trimmed, "#")) == "":
				in = false
				continue
			}
			out[p] = append(out[p], number.FindAllString(trimmed, -1)...)
		}
	}
	return out
}

// TestRecipesQuoteTheirMeasurements: every shipped recipe carries a
// "# Measured" comment (the GPU recipe says it has not run), and every
// number in it is one the results page holds.
func TestRecipesQuoteTheirMeasurements(t *testing.T) {
	results := read(t, "results.md")
	have := map[string]bool{}
	for _, n := range number.FindAllString(results, -1) {
		have[n] = true
	}
	comments := measuredComments(t)
	paths, _ := filepath.Glob("../recipes/*.yaml")
	for _, p := range paths {
		nums, ok := comments[p]
		if !ok {
			t.Errorf("%s has no \"# Measured\" comment quoting docs/results.md", p)
			continue
		}
		for _, n := range nums {
			if !have[n] {
				t.Errorf("%s: its Measured comment quotes %s, which docs/results.md does not have", p, n)
			}
		}
	}
}

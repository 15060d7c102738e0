package datasets

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeCSV(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "table.csv")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadCSV: features are every column but the label's, in order;
// classes are the label's values sorted (numerically for integers), and
// each class keeps at least one row on each side of the split.
func TestLoadCSV(t *testing.T) {
	path := writeCSV(t, "a,species,b\n1,10,2\n3,2,4\n5,10,6\n7,2,8\nNaN,2,-Inf\n9,10,10\n")
	train, test, info, err := LoadCSV(CSVOptions{File: path, Label: "species", TestFraction: 0.34, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.Features, ",") != "a,b" || strings.Join(train.ClassNames, ",") != "2,10" {
		t.Fatalf("features %v, classes %v", info.Features, train.ClassNames)
	}
	if train.Len()+test.Len() != 6 || test.Len() != 2 {
		t.Fatalf("split %d/%d, want 4/2 (one row of each class of 3 tested)", train.Len(), test.Len())
	}
	rows := map[float32]int32{}
	for _, s := range []*Set{train, test} {
		for i := range s.Len() {
			rows[s.Example(i)[1]] = s.Labels[i]
		}
	}
	// b's value identifies the row: 2, 6, 10 are class "10" (index 1).
	want := map[float32]int32{2: 1, 4: 0, 6: 1, 8: 0, float32(math.Inf(-1)): 0, 10: 1}
	for b, label := range want {
		if got, ok := rows[b]; !ok || got != label {
			t.Errorf("row with b=%g: label %d (found %v), want %d", b, got, ok, label)
		}
	}
}

// TestCSVErrorsNameLineAndColumn: a bad cell is one line naming the
// file, the line, the column and the cell.
func TestCSVErrorsNameLineAndColumn(t *testing.T) {
	for text, want := range map[string]string{
		"a,b,label\n1,2,x\n3,four,y\n": `:3:3: column "b": "four" is not a number`,
		"a,b,label\n1,,x\n":            `:2:3: column "b": the cell is empty`,
		"a,b,label\n1,2,\n":            `:2:5: the label (column "label") is empty`,
		"a,b,class\n1,2,x\n":           `:1: no column "label" for the label (columns: a, b, class)`,
		"a,b,label\n1,2,x,9\n":         `:2:`,
		"label\nx\n":                   `the label "label" is the only column`,
		"":                             "the file is empty",
		"a,label\n":                    "no rows after the header",
	} {
		_, _, _, err := LoadCSV(CSVOptions{File: writeCSV(t, text), Label: "label"})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "table.csv") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line with the file and %q", text, err, want)
		}
	}
}

// TestFeatureStats: per column, over finite values only, by hand.
func TestFeatureStats(t *testing.T) {
	s := &Set{ExampleShape: []int{3}, Features: []float32{
		1, 10, 5,
		3, 30, 5,
		float32(math.NaN()), 20, 5,
	}}
	means, stds := s.FeatureStats()
	// Column 0: mean of 1 and 3 = 2, std 1. Column 1: 20 and sqrt(200/3).
	// Column 2: constant, std taken as 1.
	want := [][2]float64{{2, 1}, {20, math.Sqrt(200.0 / 3)}, {5, 1}}
	for j, w := range want {
		if math.Abs(float64(means[j])-w[0]) > 1e-5 || math.Abs(float64(stds[j])-w[1]) > 1e-4 {
			t.Errorf("column %d: mean %g std %g, want %g %g", j, means[j], stds[j], w[0], w[1])
		}
	}
	s.NormalizeFeatures(means, stds)
	if got := s.Features[1]; math.Abs(float64(got)-(10-20)/math.Sqrt(200.0/3)) > 1e-5 {
		t.Errorf("normalized %g", got)
	}
	if !math.IsNaN(float64(s.Features[6])) {
		t.Errorf("NaN became %g", s.Features[6])
	}
}

// FuzzReadCSV: no table makes the reader panic.
func FuzzReadCSV(f *testing.F) {
	f.Add("a,b,label\n1,2,x\n3,4,y\n")
	f.Add("a,label\n\"1\n2\",x\n")
	f.Fuzz(func(t *testing.T, text string) {
		features, labels, columns, err := readCSV(strings.NewReader(text), "f.csv", "label")
		if err == nil && (len(columns) == 0 || len(features) != len(labels)*len(columns)) {
			t.Fatalf("%d values for %d rows of %d columns", len(features), len(labels), len(columns))
		}
	})
}

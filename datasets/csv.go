package datasets

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
)

// CSVOptions says how to read a table of examples (LoadCSV).
type CSVOptions struct {
	// File is the CSV file: a header row naming the columns, then one
	// example per row.
	File string
	// Label names the column holding each example's class; every other
	// column is a numeric feature.
	Label string
	// TestFraction of each class is the test split (default 0.2), drawn
	// with Seed.
	TestFraction float64
	Seed         int64
}

// CSVInfo is what LoadCSV found: the feature columns, in order.
type CSVInfo struct {
	Features []string
}

// LoadCSV reads a CSV table of examples: every column but the label is a
// feature, read as a number (NaN and ±Inf are numbers; an empty or
// textual cell is an error naming its line and column). Classes are the
// label column's distinct values, sorted (numerically when all are
// integers). Each class is split into train and test by TestFraction.
// Values are as written: standardizing them is the caller's (the runner
// does it per column with the training split's statistics).
func LoadCSV(o CSVOptions) (train, test *Set, info CSVInfo, err error) {
	if o.TestFraction == 0 {
		o.TestFraction = 0.2
	}
	f, err := os.Open(o.File)
	if err != nil {
		return nil, nil, info, fmt.Errorf("csv: %w", err)
	}
	defer f.Close()
	features, labels, columns, err := readCSV(f, o.File, o.Label)
	if err != nil {
		return nil, nil, info, err
	}
	info.Features = columns
	classes := distinct(labels)
	index := map[string]int32{}
	for i, c := range classes {
		index[c] = int32(i)
	}
	// TestFraction of each class (at least one row, none of a class of
	// one) goes to the test split; both keep the file's order.
	byClass := map[int32][]int{}
	for i, l := range labels {
		byClass[index[l]] = append(byClass[index[l]], i)
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0xc5f))
	isTest := make([]bool, len(labels))
	for c := range int32(len(classes)) {
		rows := byClass[c]
		if n := len(rows); n > 1 {
			k := max(1, int(o.TestFraction*float64(n)+0.5))
			for _, i := range rng.Perm(n)[:min(k, n-1)] {
				isTest[rows[i]] = true
			}
		}
	}
	n := len(columns)
	newSet := func(split string) *Set {
		return &Set{Name: "csv-" + split, ExampleShape: []int{n}, NumClasses: len(classes), ClassNames: classes}
	}
	train, test = newSet("train"), newSet("test")
	for i, l := range labels {
		s := train
		if isTest[i] {
			s = test
		}
		s.Features = append(s.Features, features[i*n:(i+1)*n]...)
		s.Labels = append(s.Labels, index[l])
	}
	if train.Len() == 0 || test.Len() == 0 {
		return nil, nil, info, fmt.Errorf("csv %s: %d rows leave %d for training and %d for testing: want more rows", o.File, len(labels), train.Len(), test.Len())
	}
	return train, test, info, nil
}

// maxCSVValues bounds the table's values (1 GiB of float32).
const maxCSVValues = 1 << 28

// readCSV reads the header and every row: features row-major, the label
// of each row, and the feature columns' names.
func readCSV(r io.Reader, file, label string) (features []float32, labels, columns []string, err error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil, fmt.Errorf("csv %s: the file is empty: want a header row naming the columns", file)
		}
		return nil, nil, nil, csvError(file, err)
	}
	header = slices.Clone(header)
	labelAt := -1
	for i, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		header[i] = name
		if name == label {
			labelAt = i
		}
	}
	if labelAt < 0 && label != "" {
		return nil, nil, nil, fmt.Errorf("csv %s:1: no column %q for the label (columns: %s)", file, label, strings.Join(header, ", "))
	}
	for i, name := range header {
		if i != labelAt {
			columns = append(columns, name)
		}
	}
	if len(columns) == 0 {
		return nil, nil, nil, fmt.Errorf("csv %s:1: the label %q is the only column: there are no features", file, label)
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, nil, csvError(file, err)
		}
		line, _ := cr.FieldPos(0)
		if len(features)+len(columns) > maxCSVValues {
			return nil, nil, nil, fmt.Errorf("csv %s:%d: more than %d values", file, line, maxCSVValues)
		}
		for i, cell := range row {
			if i == labelAt {
				l := strings.TrimSpace(cell)
				if l == "" {
					_, col := cr.FieldPos(i)
					return nil, nil, nil, fmt.Errorf("csv %s:%d:%d: the label (column %q) is empty", file, line, col, label)
				}
				labels = append(labels, l)
				continue
			}
			v, perr := strconv.ParseFloat(strings.TrimSpace(cell), 32)
			if perr != nil && !errors.Is(perr, strconv.ErrRange) {
				_, col := cr.FieldPos(i)
				what := fmt.Sprintf("%q is not a number", cell)
				if strings.TrimSpace(cell) == "" {
					what = "the cell is empty"
				}
				return nil, nil, nil, fmt.Errorf("csv %s:%d:%d: column %q: %s", file, line, col, header[i], what)
			}
			features = append(features, float32(v))
		}
	}
	if len(features) == 0 {
		return nil, nil, nil, fmt.Errorf("csv %s: no rows after the header", file)
	}
	return features, labels, columns, nil
}

// ReadCSV reads a CSV table as LoadCSV does, without splitting it: each
// row's features (row-major, every column but label's), each row's label
// (none when label is ""), and the feature columns' names. `lathe
// predict` reads tables with it.
func ReadCSV(file, label string) (features []float32, labels, columns []string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("csv: %w", err)
	}
	defer f.Close()
	return readCSV(f, file, label)
}

// csvError words encoding/csv's errors (a row with the wrong number of
// fields, a bad quote) with the file, line and column.
func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("csv %s:%d:%d: %v", file, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("csv %s: %w", file, err)
}

// distinct are the labels' distinct values, sorted numerically when all
// are integers ("2" before "10"), else as text.
func distinct(labels []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range labels {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	numeric := true
	for _, l := range out {
		if _, err := strconv.ParseInt(l, 10, 64); err != nil {
			numeric = false
			break
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if numeric {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			return cmp.Compare(x, y)
		}
		return strings.Compare(a, b)
	})
	return out
}

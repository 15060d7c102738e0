package stages_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/bench"
	"github.com/lathe-ml/lathe/pkg/infer"
)

// writeTable writes a CSV of three classes of Gaussian blobs in four
// features on scales a thousandfold apart (what per-column
// standardization is for), the label in the middle column.
func writeTable(t *testing.T, rows int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	scales := []float64{1000, 0.001, 1, 50}
	var b strings.Builder
	b.WriteString("height,weight,kind,age,width\n")
	for range rows {
		c := rng.IntN(3)
		var cells []string
		for j, s := range scales {
			center := float64((c+j)%3) * 2
			cells = append(cells, fmt.Sprintf("%g", (center+rng.NormFloat64()*0.5)*s+s*7))
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s\n", cells[0], cells[1], []string{"ant", "bee", "cat"}[c], cells[2], cells[3])
	}
	path := filepath.Join(t.TempDir(), "table.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCSVGoesThroughEveryStage: a table trains, is evaluated, exported
// (its model file and ONNX standardize each column themselves), quantized
// and distilled; the model file classifies raw rows as the run did.
func TestCSVGoesThroughEveryStage(t *testing.T) {
	table := writeTable(t, 1500)
	src := `name: table
backend: go
data: {dataset: csv, file: ` + table + `, label: kind, batch_size: 32, validation: 100}
model: {arch: mlp, hidden: [16]}
stages:
  - train: {steps: 150, optimizer: {name: adam, learning_rate: 0.01}}
  - evaluate: {split: test}
  - export: {name: table, formats: [safetensors, onnx]}
  - quantize: {mode: ptq, calibration_batches: 4, name: table.int8, formats: [safetensors, onnx]}
  - distill: {teacher: {stage: 1}, student: {arch: mlp, hidden: [4]}, steps: 30}
`
	res, store, err := runRecipe(t, "table.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if acc := res.Stages[1].Metrics["test_accuracy"]; acc < 0.9 {
		t.Errorf("test accuracy %.3f: per-column standardization should make the blobs easy", acc)
	}
	if a := res.Final["export_agreement"]; a != 1 {
		t.Errorf("the exported file agrees with the graph on %.3f of the test rows", a)
	}
	if acc := res.Final["int8_test_accuracy"]; acc < 0.85 {
		t.Errorf("int8 test accuracy %.3f", acc)
	}
	f, err := infer.ReadFile(filepath.Join(store.RunDir(res.RunID), "table.safetensors"), 0)
	if err != nil {
		t.Fatal(err)
	}
	g, err := infer.GraphOf(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Input.Means) != 4 || g.Input.Stds[0] < 100 || g.Input.Stds[1] > 0.1 {
		t.Fatalf("the model file's per-column standardization: means %v stds %v", g.Input.Means, g.Input.Stds)
	}
	// Raw rows of the file, classified by the model file, against the labels.
	features, labels, _, err := datasets.ReadCSV(table, "kind")
	if err != nil {
		t.Fatal(err)
	}
	m, err := infer.New(f)
	if err != nil {
		t.Fatal(err)
	}
	n := len(labels)
	logits := make([]float32, n*3)
	if err := m.Predict(features, n, logits); err != nil {
		t.Fatal(err)
	}
	right := 0
	classes := map[string]int{"ant": 0, "bee": 1, "cat": 2}
	for i := range n {
		if infer.Argmax(logits[3*i:3*i+3]) == classes[labels[i]] {
			right++
		}
	}
	if acc := float64(right) / float64(n); acc < 0.9 {
		t.Errorf("the model file on the raw rows: accuracy %.3f", acc)
	}
	// And ONNX Runtime on its ONNX form, where setup.sh installed it.
	script := filepath.Join("..", "..", bench.ORTScript)
	if err := bench.ORTAvailable(script); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX Runtime: %v", err)
		}
		t.Logf("ONNX Runtime not checked: %v", err)
		return
	}
	ort, err := bench.PredictORT(script, f, features, 2)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range n {
		if ort[i] == infer.Argmax(logits[3*i:3*i+3]) {
			same++
		}
	}
	if same != n {
		t.Errorf("ONNX Runtime picks Lathe's class for %d of %d rows", same, n)
	}
}

// TestCSVTextCellIsRefusedBeforeAnyRun: a text cell is one error naming
// the file, line and column, and no run is recorded.
func TestCSVTextCellIsRefusedBeforeAnyRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte("a,b,label\n1,2,x\n3,4,y\n5,n/a,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, store, err := runRecipe(t, "bad.yaml", "name: bad\nbackend: go\ndata: {dataset: csv, file: "+path+", label: label, batch_size: 1, validation: 0}\nmodel: {arch: mlp}\nstages:\n  - train: {steps: 1}\n")
	if err == nil || !strings.Contains(err.Error(), "bad.csv:4:3: column \"b\": \"n/a\" is not a number") {
		t.Errorf("error %v", err)
	}
	if list, _ := store.List(); len(list) != 0 {
		t.Errorf("a run was recorded: %v", list)
	}
}

package quant

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/lathe-ml/lathe/pkg/infer"
)

// tinyDense is one dense layer, 2 inputs → 2 outputs, weights [in, out]
// {{1, -0.5}, {0.25, 2}}, biases {0.1, -0.2}; the input is not normalized.
func tinyDense(t *testing.T) *infer.File {
	f := &infer.File{Tensors: map[string]infer.Tensor{
		"w": infer.F32Tensor([]float32{1, -0.5, 0.25, 2}, 2, 2),
		"b": infer.F32Tensor([]float32{0.1, -0.2}, 2),
	}, Metadata: map[string]string{}}
	g := &infer.Graph{Format: infer.FormatName, Version: infer.FormatVersion, Input: infer.Input{Shape: []int{2}, Std: 1},
		Ops:    []infer.Op{{Op: "dense", Name: "fc", Inputs: []string{infer.InputValue}, Weights: "w", Bias: "b"}},
		Output: "fc", Classes: []string{"a", "b"}}
	var err error
	if f.Metadata[infer.GraphKey], err = g.Marshal(); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPTQByHand: calibration inputs spanning [-1, 3] give the input grid
// scale 4/127 and zero point round(1/(4/127)) = round(31.75) = 32; the
// weight columns' scales are max|w|/127 = 1/127 and 2/127; the int32 bias
// is round(b/(s_in·s_w)).
func TestPTQByHand(t *testing.T) {
	calib := []float32{-1, 0, 3, 2, 0.5, 0.5}
	q, reports, err := PTQ(tinyDense(t), calib, 3, PTQOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := infer.GraphOf(q)
	if err != nil {
		t.Fatal(err)
	}
	op := g.Ops[0]
	sIn := 4.0 / 127
	if math.Abs(float64(op.InputScale)-sIn) > 1e-7 || op.InputZero != 32 {
		t.Errorf("input grid: scale %v zero %d, want %v and 32", op.InputScale, op.InputZero, sIn)
	}
	scales, _ := q.Tensors[op.WeightScales].Float32s()
	wantScales := []float64{1.0 / 127, 2.0 / 127}
	for j := range wantScales {
		if math.Abs(float64(scales[j])-wantScales[j]) > 1e-8 {
			t.Errorf("weight scale %d: %v, want %v", j, scales[j], wantScales[j])
		}
	}
	// Column 0 is {1, 0.25} on 1/127: 127 and 31.75 → 32; column 1 is
	// {−0.5, 2} on 2/127: −31.75 → −32 and 127. Stored [in, out].
	w := q.Tensors[op.Weights]
	for i, want := range []int8{127, -32, 32, 127} {
		if int8(w.Data[i]) != want {
			t.Errorf("weight %d: %d, want %d", i, int8(w.Data[i]), want)
		}
	}
	bias := q.Tensors[op.Bias]
	for j, b := range []float64{0.1, -0.2} {
		want := int32(math.RoundToEven(b / (sIn * wantScales[j])))
		if got := int32(binary.LittleEndian.Uint32(bias.Data[4*j:])); got != want {
			t.Errorf("bias %d: %d, want %d", j, got, want)
		}
	}
	if len(reports) != 1 || reports[0].Min != -1 || reports[0].Max != 3 {
		t.Errorf("report %+v, want the fc layer's range [-1, 3]", reports)
	}
	// The int8 model computes, for x = (2, 1): quantized x = (round(2·31.75) + 32, round(31.75) + 32)
	// = (96, 64), i.e. (64, 32) steps; outputs s_in·s_w·(Σ q·w + bias).
	m, err := infer.New(q)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 2)
	if err := m.Predict([]float32{2, 1}, 1, out); err != nil {
		t.Fatal(err)
	}
	for j, col := range [][2]float64{{127, 32}, {-32, 127}} {
		b := math.RoundToEven([]float64{0.1, -0.2}[j] / (sIn * wantScales[j]))
		want := sIn * wantScales[j] * (64*col[0] + 32*col[1] + b)
		if math.Abs(float64(out[j])-want) > 1e-5 {
			t.Errorf("output %d: %v, want %v", j, out[j], want)
		}
	}
}

func TestPTQRefuses(t *testing.T) {
	if _, _, err := PTQ(tinyDense(t), []float32{1, 2, 3}, 2, PTQOptions{}); err == nil || !strings.Contains(err.Error(), "calibration") {
		t.Errorf("wrong calibration size: %v", err)
	}
	if _, _, err := PTQ(tinyDense(t), []float32{1, 2}, 1, PTQOptions{Exclude: []string{"fc"}}); err == nil || !strings.Contains(err.Error(), "no dense or conv2d layer left") {
		t.Errorf("everything excluded: %v", err)
	}
	if _, _, err := PTQ(tinyDense(t), []float32{1, 2}, 1, PTQOptions{Observer: "kl"}); err == nil || !strings.Contains(err.Error(), "unknown observer") {
		t.Errorf("unknown observer: %v", err)
	}
	nan := float32(math.NaN())
	if _, _, err := PTQ(tinyDense(t), []float32{nan, nan}, 1, PTQOptions{}); err == nil || !strings.Contains(err.Error(), "no finite input") {
		t.Errorf("NaN calibration: %v", err)
	}
}

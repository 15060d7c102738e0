package quant

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

var (
	uint8Affine     = Config{Bits: 8, Unsigned: true}
	int8Symmetric   = Config{Bits: 8, Symmetric: true, NarrowRange: true}
	int8Affine      = Config{Bits: 8}
	activation7Bits = Config{Bits: 8, Unsigned: true, ReduceRange: true}
)

// TestChooseParamsByHand: params worked out on paper from the formulas in
// PyTorch's observer (and the package doc).
func TestChooseParamsByHand(t *testing.T) {
	cases := []struct {
		name     string
		min, max float32
		c        Config
		scale    float64
		zero     int32
	}{
		// affine uint8 over [-1, 3]: 4/255 per step, 0 at 0 − round(−1/(4/255)) = 63.75 → 64.
		{"affine uint8", -1, 3, uint8Affine, 4.0 / 255, 64},
		// symmetric narrow int8 over [-2, 1]: max |x| = 2 over 127 steps each side.
		{"symmetric narrow", -2, 1, int8Symmetric, 2.0 / 127, 0},
		// a positive range still includes 0: [0.5, 2] → [0, 2], affine int8: 2/255, zero −128.
		{"range widened to 0", 0.5, 2, int8Affine, 2.0 / 255, -128},
		// 7-bit activations over [0, 6.35]: 0.05 per step, zero 0.
		{"reduce range", 0, 6.35, activation7Bits, 6.35 / 127, 0},
		// an all-zero range gets the floor scale instead of 0.
		{"all zero", 0, 0, uint8Affine, float64(Eps), 0},
	}
	for _, c := range cases {
		p, err := ChooseParams(c.min, c.max, c.c)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(float64(p.Scale)-c.scale) > 1e-7*c.scale || p.ZeroPoint != c.zero {
			t.Errorf("%s: scale %v zero %d, want %v and %d", c.name, p.Scale, p.ZeroPoint, c.scale, c.zero)
		}
	}
	if lo, hi := activation7Bits.Range(); lo != 0 || hi != 127 {
		t.Errorf("7-bit activation grid [%d, %d], want [0, 127]", lo, hi)
	}
	if lo, hi := int8Symmetric.Range(); lo != -127 || hi != 127 {
		t.Errorf("narrow int8 grid [%d, %d], want [-127, 127]", lo, hi)
	}
}

// TestRoundTripWithinHalfAStep: every value inside the range comes back
// within scale/2 of itself, on every grid.
func TestRoundTripWithinHalfAStep(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []Config{uint8Affine, int8Symmetric, int8Affine, activation7Bits, {Bits: 4, Symmetric: true, NarrowRange: true}, {Bits: 4}} {
		lo, hi := float32(-3*r.Float64()), float32(5*r.Float64())
		if c.Unsigned && c.ReduceRange {
			lo = 0
		}
		p, err := ChooseParams(lo, hi, c)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for range 10000 {
			x := lo + (hi-lo)*float32(r.Float64())
			if c.Symmetric { // the grid reaches max|x| on both sides
				x = max(x, -hi)
			}
			worst = max(worst, math.Abs(float64(FakeQuant(x, p, c)-x)))
		}
		if worst > float64(p.Scale)/2*(1+1e-5) {
			t.Errorf("%v over [%v, %v]: worst error %v, more than scale/2 = %v", c, lo, hi, worst, p.Scale/2)
		}
	}
}

// TestQuantizeEdges: ties round half to even, out-of-range values clamp,
// NaN maps to the zero point and ±Inf to the grid's ends.
func TestQuantizeEdges(t *testing.T) {
	p := Params{Scale: 0.5, ZeroPoint: 10}
	cases := map[float32]int32{
		0.25:                  10, // 0.5 steps → 0 (even)
		0.75:                  12, // 1.5 → 2
		1.25:                  12, // 2.5 → 2
		-5:                    0,  // −10 + 10
		-6:                    0,  // clamped
		1000:                  255,
		float32(math.NaN()):   10,
		float32(math.Inf(1)):  255,
		float32(math.Inf(-1)): 0,
	}
	for x, want := range cases {
		if got := QuantizeValue(x, p, uint8Affine); got != want {
			t.Errorf("quantize %v: %d, want %d", x, got, want)
		}
	}
	if got := DequantizeValue(12, p); got != 1 {
		t.Errorf("dequantize 12: %v, want 1", got)
	}
}

// TestPerChannel: each output channel (the last axis) gets its own scale,
// max|w|/127 of its own column.
func TestPerChannel(t *testing.T) {
	// [in 2, out 3]: columns {1, -2}, {0.1, 0.05}, {-100, 50}.
	w := []float32{1, 0.1, -100, -2, 0.05, 50}
	ps, err := ChooseParamsPerChannel(w, []int{2, 3}, -1, int8Symmetric)
	if err != nil {
		t.Fatal(err)
	}
	for j, want := range []float64{2.0 / 127, 0.1 / 127, 100.0 / 127} {
		if math.Abs(float64(ps[j].Scale)-want) > 1e-6*want || ps[j].ZeroPoint != 0 {
			t.Errorf("channel %d: %+v, want scale %v zero 0", j, ps[j], want)
		}
	}
	q := make([]int8, len(w))
	if err := QuantizePerChannel(w, []int{2, 3}, -1, ps, int8Symmetric, q); err != nil {
		t.Fatal(err)
	}
	// 1/(2/127) = 63.5 → 64 (even); -2 → -127; 0.1 → 127; 0.05 → 63.5 → 64; -100 → -127; 50 → 63.5 → 64.
	for i, want := range []int8{64, 127, -127, -127, 64, 64} {
		if q[i] != want {
			t.Errorf("q[%d] = %d, want %d", i, q[i], want)
		}
	}
	back := make([]float32, len(w))
	if err := DequantizePerChannel(q, []int{2, 3}, -1, ps, back); err != nil {
		t.Fatal(err)
	}
	for i := range w {
		if d := math.Abs(float64(back[i] - w[i])); d > float64(ps[i%3].Scale)/2*(1+1e-5) {
			t.Errorf("w[%d] = %v came back as %v", i, w[i], back[i])
		}
	}
	if _, err := ChooseParamsPerChannel(w, []int{4, 3}, -1, int8Symmetric); err == nil {
		t.Error("a shape that does not hold the data was accepted")
	}
	if _, err := ChooseParamsPerChannel([]float32{1, float32(math.NaN())}, []int{1, 2}, -1, int8Symmetric); err == nil || !strings.Contains(err.Error(), "channel 1") {
		t.Errorf("NaN weight: %v, want an error naming channel 1", err)
	}
}

func normal(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// TestObserversOnKnownDistributions: min/max of a uniform sample, the
// percentiles of a standard normal (Φ⁻¹(0.999) = 3.0902), the moving
// average's recurrence, and MSE clipping a heavy outlier.
func TestObserversOnKnownDistributions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))

	var mm MinMax
	mm.Observe([]float32{0.5, -1.5, 2, float32(math.NaN()), float32(math.Inf(1))})
	mm.Observe([]float32{3, 0})
	if lo, hi, ok := mm.Range(); !ok || lo != -1.5 || hi != 3 || mm.Skipped() != 2 {
		t.Errorf("minmax: [%v, %v] ok %v skipped %d, want [-1.5, 3], 2 skipped", lo, hi, ok, mm.Skipped())
	}

	ma, _ := NewMovingAverageMinMax(0.5)
	ma.Observe([]float32{-2, 2})
	ma.Observe([]float32{0, 4}) // min −2 + 0.5·(0 − −2) = −1; max 2 + 0.5·(4 − 2) = 3
	if lo, hi, _ := ma.Range(); lo != -1 || hi != 3 {
		t.Errorf("moving average: [%v, %v], want [-1, 3]", lo, hi)
	}

	p, _ := NewPercentile(99.9)
	for range 20 {
		p.Observe(normal(r, 50000))
	}
	if lo, hi, _ := p.Range(); math.Abs(float64(hi)-3.0902) > 0.03 || math.Abs(float64(lo)+3.0902) > 0.03 {
		t.Errorf("99.9th percentile of N(0,1): [%v, %v], want ±3.09", lo, hi)
	}

	// A Laplace(0, 1) sample on a 4-bit grid: min/max spreads 16 levels
	// over the rare extremes (±11 for 100,000 draws); the range that
	// minimises the squared error clips near ±5.03 (Banner et al. 2019,
	// ACIQ's optimal clipping for Laplace at 4 bits), at a fraction of the
	// error.
	int4 := Config{Bits: 4}
	x := make([]float32, 100000)
	for i := range x {
		x[i] = float32(r.ExpFloat64())
		if r.IntN(2) == 0 {
			x[i] = -x[i]
		}
	}
	mse, _ := NewMSE(int4)
	var plain MinMax
	mse.Observe(x)
	plain.Observe(x)
	errOf := func(o Observer) float64 {
		ps, err := ParamsFrom(o, int4)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range x {
			d := float64(FakeQuant(v, ps, int4) - v)
			sum += d * d
		}
		return sum
	}
	if lo, hi, _ := mse.Range(); !(hi > 4 && hi < 6.5 && lo < -4 && lo > -6.5) {
		t.Errorf("mse range of Laplace(1) at 4 bits: [%v, %v], want about ±5", lo, hi)
	}
	if eMSE, eMM := errOf(mse), errOf(&plain); !(eMSE < eMM/2) {
		t.Errorf("squared error: mse %v, minmax %v; want mse below half", eMSE, eMM)
	}

	var empty MinMax
	empty.Observe([]float32{float32(math.NaN())})
	if _, err := ParamsFrom(&empty, uint8Affine); err == nil {
		t.Error("params from an observer that saw only NaN")
	}
}

// TestBadConfigs: bits 3 and unknown observers are refused by name.
func TestBadConfigs(t *testing.T) {
	if err := (Config{Bits: 3}).Validate(); err == nil || !strings.Contains(err.Error(), "bits 3") {
		t.Errorf("bits 3: %v", err)
	}
	if _, err := NewObserver("kl", int8Affine); err == nil || !strings.Contains(err.Error(), "minmax") {
		t.Errorf("unknown observer: %v, want the list of known ones", err)
	}
	for _, name := range ObserverNames() {
		if _, err := NewObserver(name, int8Affine); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestInt4Packing: two values a byte, low nibble first, signs kept.
func TestInt4Packing(t *testing.T) {
	q := []int8{-8, 7, -1, 3, 5}
	b, err := PackInt4(q)
	if err != nil {
		t.Fatal(err)
	}
	// -8 = 0x8, 7 = 0x7 → 0x78; -1 = 0xf, 3 → 0x3f; 5 → 0x05.
	if len(b) != 3 || b[0] != 0x78 || b[1] != 0x3f || b[2] != 0x05 {
		t.Errorf("packed % x, want 78 3f 05", b)
	}
	back, err := UnpackInt4(b, len(q))
	if err != nil {
		t.Fatal(err)
	}
	for i := range q {
		if back[i] != q[i] {
			t.Errorf("value %d: %d came back as %d", i, q[i], back[i])
		}
	}
	if _, err := PackInt4([]int8{8}); err == nil {
		t.Error("8 packed into int4")
	}
}

// TestSQNR: 10·log10(Σx²/Σ(x−x̂)²) by hand: x = [1, 2], x̂ = [1, 1.5]:
// 5 / 0.25 = 20 → 13.0103 dB.
func TestSQNR(t *testing.T) {
	if got := SQNR([]float32{1, 2}, []float32{1, 1.5}); math.Abs(got-13.0103) > 1e-4 {
		t.Errorf("SQNR %v, want 13.0103", got)
	}
	if got := SQNR([]float32{1}, []float32{1}); !math.IsInf(got, 1) {
		t.Errorf("exact SQNR %v, want +Inf", got)
	}
}

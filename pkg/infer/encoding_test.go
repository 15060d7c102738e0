package infer

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoLegacySSEInAVXFunctions: in every amd64 assembly file of the
// repository, generated or written by hand, a function that uses Y or Z
// registers holds no legacy-SSE (non-VEX) instruction on an X register.
// On Intel CPUs, mixing them costs an SSE/AVX transition on every call:
// quantizeU8AVX2's MOVSS and MOVD prologue took ~700 ns a call on a Xeon
// whatever its length, 75% of an int8 LeNet-5's time, and made int8
// slower than float there.
func TestNoLegacySSEInAVXFunctions(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, "_amd64.s") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no amd64 assembly found: the walk is looking in the wrong place")
	}
	vector := regexp.MustCompile(`\b[YZ]([0-9]|[12][0-9]|3[01])\b`)
	xmm := regexp.MustCompile(`\bX([0-9]|[12][0-9]|3[01])\b`)
	checked := 0
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		type line struct {
			n    int
			text string
		}
		var fn string
		var body []line
		flush := func() {
			wide := false
			for _, l := range body {
				wide = wide || vector.MatchString(l.text)
			}
			if !wide {
				return
			}
			checked++
			for _, l := range body {
				fields := strings.Fields(l.text)
				if len(fields) == 0 || strings.HasPrefix(fields[0], "V") || !xmm.MatchString(l.text) {
					continue
				}
				t.Errorf("%s:%d: %s uses the Y/Z registers and %q is a legacy-SSE instruction on an X register: use its VEX form",
					filepath.Base(path), l.n, fn, strings.TrimSpace(l.text))
			}
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			text := sc.Text()
			if i := strings.Index(text, "//"); i >= 0 {
				text = text[:i]
			}
			if strings.HasPrefix(text, "TEXT ") {
				flush()
				fn, body = strings.Fields(text)[1], nil
				continue
			}
			if strings.HasPrefix(text, "\t") || strings.HasPrefix(text, " ") {
				body = append(body, line{n, text})
			}
		}
		flush()
		f.Close()
	}
	if checked < 50 {
		t.Errorf("checked %d AVX functions: the parser missed most of them", checked)
	}
}

// TestReluInPlace: negative values become 0, NaN (of either sign) and
// positive values stay, checked against the definition value by value.
func TestReluInPlace(t *testing.T) {
	nanNeg := math.Float32frombits(0xffc00001)
	v := []float32{-1, 0, 2.5, float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN()), nanNeg, -1e-45, 3e38, float32(math.Copysign(0, -1))}
	want := []float32{0, 0, 2.5, 0, float32(math.Inf(1)), float32(math.NaN()), nanNeg, 0, 3e38, 0}
	reluInPlace(v)
	for i := range v {
		if v[i] != want[i] && !(math.IsNaN(float64(v[i])) && math.IsNaN(float64(want[i]))) {
			t.Errorf("relu[%d] = %v, want %v", i, v[i], want[i])
		}
	}
}

// TestAddRelu: addRelu is the residual add then reluInPlace, value by value.
func TestAddRelu(t *testing.T) {
	out := []float32{-1, 1, 2, float32(math.NaN()), -3, 0.5}
	res := []float32{0.5, -2, 1, 1, float32(math.Inf(1)), -0.5}
	want := []float32{0, 0, 3, float32(math.NaN()), float32(math.Inf(1)), 0}
	addRelu(out, res)
	for i := range out {
		if out[i] != want[i] && !(math.IsNaN(float64(out[i])) && math.IsNaN(float64(want[i]))) {
			t.Errorf("addRelu[%d] = %v, want %v", i, out[i], want[i])
		}
	}
}

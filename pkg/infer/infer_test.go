package infer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// mlpFile is a Lathe model file of an MLP with random weights, the layers
// widths given, input features first.
func mlpFile(t testing.TB, widths ...int) *File {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	f := &File{Tensors: map[string]Tensor{}, Metadata: map[string]string{}}
	g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{widths[0]}, Mean: 0.5, Std: 2}}
	last := InputValue
	for i := 1; i < len(widths); i++ {
		name := fmt.Sprintf("fc%d", i)
		f.Tensors[name+"/weights"] = F32Tensor(randomFloats(r, widths[i-1]*widths[i]), widths[i-1], widths[i])
		f.Tensors[name+"/biases"] = F32Tensor(randomFloats(r, widths[i]), widths[i])
		op := Op{Op: "dense", Name: name, Inputs: []string{last}, Weights: name + "/weights", Bias: name + "/biases"}
		if i < len(widths)-1 {
			op.Activation = "relu"
		}
		g.Ops = append(g.Ops, op)
		last = name
	}
	g.Output = last
	for i := 0; i < widths[len(widths)-1]; i++ {
		g.Classes = append(g.Classes, fmt.Sprint(i))
	}
	text, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f.Metadata[GraphKey] = text
	return f
}

func encode(t testing.TB, f *File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPredictByHand: a 2-2 dense model whose logits are worked out by hand.
func TestPredictByHand(t *testing.T) {
	f := &File{Tensors: map[string]Tensor{
		"w": F32Tensor([]float32{1, 2, 3, 4}, 2, 2), // rows: inputs
		"b": F32Tensor([]float32{0.5, -1}, 2),
	}, Metadata: map[string]string{}}
	g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{2}, Mean: 1, Std: 2},
		Ops: []Op{{Op: "dense", Name: "out", Inputs: []string{InputValue}, Weights: "w", Bias: "b"}}, Output: "out", Classes: []string{"a", "b"}}
	f.Metadata[GraphKey], _ = g.Marshal()
	m, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	// x = (3, -1) normalizes to (1, -1): logits (1·1 − 1·3 + 0.5, 1·2 − 1·4 − 1) = (−1.5, −3).
	got := make([]float32, 2)
	if err := m.Predict([]float32{3, -1}, 1, got); err != nil {
		t.Fatal(err)
	}
	if got[0] != -1.5 || got[1] != -3 {
		t.Errorf("logits %v, want [-1.5 -3]", got)
	}
}

// TestBadFiles: truncated, corrupt, foreign and newer files are errors
// that say what is wrong, never a panic.
func TestBadFiles(t *testing.T) {
	good := encode(t, mlpFile(t, 4, 8, 3))
	if _, err := DecodeFile(good); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(good); n += max(1, n/7) {
		if f, err := DecodeFile(good[:n]); err == nil {
			if _, err := New(f); err == nil {
				t.Fatalf("a file cut to %d of %d bytes loaded", n, len(good))
			}
		}
	}
	newer := mlpFile(t, 4, 3)
	newer.Metadata[GraphKey] = strings.Replace(newer.Metadata[GraphKey], `"version":2`, `"version":3`, 1)
	weightsOnly := mlpFile(t, 4, 3)
	delete(weightsOnly.Metadata, GraphKey)
	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	overlap := func() []byte {
		js := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
		return withHeader(js, 12)
	}()
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than its 8-byte header"},
		{"huge header", huge, "header of 1099511627776 bytes"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "not a safetensors file"},
		{"gzip", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3}, "not a safetensors file"},
		{"overlap", overlap, "overlap"},
		{"outside", withHeader(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), "outside"},
		{"shape and bytes disagree", withHeader(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), "want 12"},
		{"giant shape", withHeader(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, 8), "larger than the file"},
		{"unknown dtype", withHeader(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, 8), "dtype \"F64\""},
		{"newer version", encode(t, newer), "version 3"},
		{"weights only", encode(t, weightsOnly), "not a Lathe model"},
	}
	for _, c := range cases {
		f, err := DecodeFile(c.data)
		if err == nil {
			_, err = New(f)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error of several lines: %q", c.name, err)
		}
	}
}

func withHeader(js string, dataBytes int) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	return append(append(out, js...), make([]byte, dataBytes)...)
}

// TestLoadNamesTheFile: Load's errors start with the path.
func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("error %v, want it to start with %s", err, path)
	}
}

// TestWrongInputSizes: Predict refuses inputs and outputs of the wrong size.
func TestWrongInputSizes(t *testing.T) {
	m, err := New(mlpFile(t, 4, 3))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 6)
	for _, c := range []struct {
		x    []float32
		n    int
		out  []float32
		want string
	}{
		{make([]float32, 7), 2, out, "7 input values for 2 examples of 4"},
		{make([]float32, 8), 2, out[:5], "room for 5 logits"},
		{nil, 0, out, "0 examples"},
	} {
		if err := m.Predict(c.x, c.n, c.out); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// TestConcurrentPredict: calls from many goroutines give what serial calls give.
func TestConcurrentPredict(t *testing.T) {
	m, err := New(mlpFile(t, 64, 96, 96, 10))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	const calls = 16
	inputs, want := make([][]float32, calls), make([][]float32, calls)
	for i := range inputs {
		n := 1 + i%5*13
		inputs[i] = randomFloats(r, n*64)
		want[i] = make([]float32, n*10)
		if err := m.Predict(inputs[i], n, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, calls*4)
	for rep := 0; rep < 4; rep++ {
		for i := range inputs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got := make([]float32, len(want[i]))
				if err := m.Predict(inputs[i], len(got)/10, got); err != nil {
					errs <- err
					return
				}
				for j := range got {
					if got[j] != want[i][j] {
						errs <- fmt.Errorf("call %d: logit %d = %g, serially %g", i, j, got[j], want[i][j])
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPredictDoesNotAllocate: after a first call of a batch size, calls
// of that size or smaller allocate nothing.
func TestPredictDoesNotAllocate(t *testing.T) {
	m, err := New(mlpFile(t, 784, 256, 256, 256, 10))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{64, 1} {
		x, out := make([]float32, n*784), make([]float32, n*10)
		if err := m.Predict(x, n, out); err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(20, func() { _ = m.Predict(x, n, out) }); allocs != 0 {
			t.Errorf("batch %d: %.1f allocations per call", n, allocs)
		}
	}
}

// BenchmarkPredict times the MLP 784-256-256-256-10 at batch 1 and 64.
func BenchmarkPredict(b *testing.B) {
	m, err := New(mlpFile(b, 784, 256, 256, 256, 10))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("mlp/batch%d/%s", n, m.Kernels()), func(b *testing.B) {
			x, out := make([]float32, n*784), make([]float32, n*10)
			_ = m.Predict(x, n, out) // warm-up: the workspace
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := m.Predict(x, n, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// FuzzLoad: no file makes DecodeFile, New or Predict panic.
func FuzzLoad(f *testing.F) {
	f.Add(encode(f, mlpFile(f, 4, 8, 3)))
	f.Add(encode(f, lenetFile(f, 2, 3)))
	f.Add(withHeader(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := DecodeFile(data)
		if err != nil {
			return
		}
		m, err := New(file)
		if err != nil {
			return
		}
		if m.InputSize() > 1<<16 {
			return
		}
		out := make([]float32, m.Classes())
		_ = m.Predict(make([]float32, m.InputSize()), 1, out)
	})
}

// lenetFile is LeNet-5 (conv 5×5 same → pool → conv 5×5 valid → pool →
// 120 → 84 → 10) with random weights and the given filter counts.
func lenetFile(t testing.TB, c1, c2 int) *File {
	t.Helper()
	r := rand.New(rand.NewPCG(9, 10))
	f := &File{Tensors: map[string]Tensor{}, Metadata: map[string]string{}}
	param := func(name string, dims ...int) string {
		n := 1
		for _, d := range dims {
			n *= d
		}
		f.Tensors[name] = F32Tensor(randomFloats(r, n), dims...)
		return name
	}
	g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{28, 28, 1}, Mean: 0.13, Std: 0.31},
		Ops: []Op{
			{Op: "conv2d", Name: "conv1", Inputs: []string{InputValue}, Weights: param("c1w", 5, 5, 1, c1), Bias: param("c1b", c1), Kernel: 5, Padding: "same", Activation: "relu"},
			{Op: "max_pool", Name: "pool1", Inputs: []string{"conv1"}, Window: 2},
			{Op: "conv2d", Name: "conv2", Inputs: []string{"pool1"}, Weights: param("c2w", 5, 5, c1, c2), Bias: param("c2b", c2), Kernel: 5, Padding: "valid", Activation: "relu"},
			{Op: "max_pool", Name: "pool2", Inputs: []string{"conv2"}, Window: 2},
			{Op: "flatten", Name: "flat", Inputs: []string{"pool2"}},
			{Op: "dense", Name: "fc1", Inputs: []string{"flat"}, Weights: param("f1w", 25*c2, 120), Bias: param("f1b", 120), Activation: "relu"},
			{Op: "dense", Name: "fc2", Inputs: []string{"fc1"}, Weights: param("f2w", 120, 84), Bias: param("f2b", 84), Activation: "relu"},
			{Op: "dense", Name: "logits", Inputs: []string{"fc2"}, Weights: param("f3w", 84, 10), Bias: param("f3b", 10)},
		}, Output: "logits", Classes: strings.Split("0 1 2 3 4 5 6 7 8 9", " ")}
	f.Metadata[GraphKey], _ = g.Marshal()
	return f
}

// BenchmarkPredictLeNet times LeNet-5 (6 and 16 filters) at batch 1 and 64.
func BenchmarkPredictLeNet(b *testing.B) {
	m, err := New(lenetFile(b, 6, 16))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch%d/%s", n, m.Kernels()), func(b *testing.B) {
			x, out := make([]float32, n*784), make([]float32, n*10)
			_ = m.Predict(x, n, out)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := m.Predict(x, n, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// TestHugeActivationsRefused: a small file whose ops would need gigabytes
// of activations per example is refused at load, not at its first call.
func TestHugeActivationsRefused(t *testing.T) {
	f := &File{Tensors: map[string]Tensor{"w": F32Tensor(make([]float32, 4096), 1, 1, 1, 4096)}, Metadata: map[string]string{}}
	g := &Graph{Format: FormatName, Version: FormatVersion, Input: Input{Shape: []int{65536, 64, 1}, Std: 1},
		Ops: []Op{{Op: "conv2d", Name: "c", Inputs: []string{InputValue}, Weights: "w", Kernel: 1, Padding: "valid"},
			{Op: "global_avg_pool", Name: "p", Inputs: []string{"c"}}}, Output: "p"}
	for i := 0; i < 4096; i++ {
		g.Classes = append(g.Classes, "c")
	}
	f.Metadata[GraphKey], _ = g.Marshal()
	if _, err := New(f); err == nil || !strings.Contains(err.Error(), "floats of activations per example") {
		t.Errorf("error %v, want the activation bound", err)
	}
}

// TestTrace: Trace shows the normalized input and every op's output in
// order, flattens included, and the last is the logits Predict returns.
func TestTrace(t *testing.T) {
	m, err := New(lenetFile(t, 3, 5))
	if err != nil {
		t.Fatal(err)
	}
	const n = 2
	x := randomFloats(rand.New(rand.NewPCG(1, 2)), n*m.InputSize())
	logits := make([]float32, n*m.Classes())
	var names []string
	var last []float32
	err = m.Trace(x, n, logits, func(name string, data []float32) {
		names = append(names, name)
		if name == InputValue {
			mean, std := m.Graph.Input.Mean, m.Graph.Input.Std
			if len(data) != len(x) || math.Abs(float64(data[7]-(x[7]-mean)/std)) > 1e-6*math.Abs(float64(data[7])) {
				t.Errorf("input: %d values, [7] = %g, want %d and %g", len(data), data[7], len(x), (x[7]-mean)/std)
			}
		}
		last = append(last[:0], data...)
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	want = append(want, InputValue)
	for _, op := range m.Graph.Ops {
		want = append(want, op.Name)
	}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("visited %v, want %v", names, want)
	}
	if fmt.Sprint(last) != fmt.Sprint(logits) {
		t.Errorf("the last value %v is not the logits %v", last, logits)
	}
}

package onnx

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	gtensors "github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"
	onnxgomlx "github.com/gomlx/onnx-gomlx/onnx"
	"github.com/lathe-ml/lathe/pkg/infer"
)

// net is a hand-built Lathe model.
type net struct {
	name    string
	g       *infer.Graph
	tensors map[string]infer.Tensor
}

// builder makes random tensors for a net.
type builder struct {
	rng     *rand.Rand
	tensors map[string]infer.Tensor
	bf16    bool // store the next tensors as BF16
}

func newBuilder(seed uint64) *builder {
	return &builder{rng: rand.New(rand.NewPCG(seed, 7)), tensors: map[string]infer.Tensor{}}
}

// tensor adds a random tensor with values in ±scale and returns its name.
func (b *builder) tensor(name string, scale float64, shape ...int) string {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((2*b.rng.Float64() - 1) * scale)
	}
	if b.bf16 {
		b.tensors[name] = infer.BF16Tensor(v, shape...)
	} else {
		b.tensors[name] = infer.F32Tensor(v, shape...)
	}
	return name
}

// dense returns a dense op in→out with He-like scaled weights and a bias.
func (b *builder) dense(name, input string, in, out int, act string) infer.Op {
	return infer.Op{Op: "dense", Name: name, Inputs: []string{input},
		Weights: b.tensor(name+".w", math.Sqrt(3/float64(in)), in, out),
		Bias:    b.tensor(name+".b", 0.1, out), Activation: act}
}

// conv returns a conv2d op with a bias.
func (b *builder) conv(name, input string, k, c, o, stride int, padding, act string) infer.Op {
	return infer.Op{Op: "conv2d", Name: name, Inputs: []string{input},
		Weights: b.tensor(name+".w", math.Sqrt(3/float64(k*k*c)), k, k, c, o),
		Bias:    b.tensor(name+".b", 0.1, o), Kernel: k, Stride: stride, Padding: padding, Activation: act}
}

func classes(n int) []string {
	c := make([]string, n)
	for i := range c {
		c[i] = fmt.Sprintf("class%d", i)
	}
	return c
}

func graphOf(in infer.Input, ncls int, output string, ops ...infer.Op) *infer.Graph {
	return &infer.Graph{Format: infer.FormatName, Version: infer.FormatVersion, Producer: "lathe test",
		Arch: "test", Input: in, Classes: classes(ncls), Ops: ops, Output: output}
}

func mlpNet() net {
	b := newBuilder(1)
	g := graphOf(infer.Input{Shape: []int{784}, Mean: 0.1307, Std: 0.3081, Scale: "pixels/255"}, 10, "fc2",
		b.dense("fc1", "input", 784, 32, "relu"),
		b.dense("fc2", "fc1", 32, 10, ""))
	return net{"mlp", g, b.tensors}
}

func lenetNet() net {
	b := newBuilder(2)
	c1 := b.conv("conv1", "input", 3, 1, 4, 1, "same", "relu")
	b.bf16 = true // widened to f32 by the export
	c2 := b.conv("conv2", "pool1", 3, 4, 6, 1, "valid", "tanh")
	b.bf16 = false
	g := graphOf(infer.Input{Shape: []int{14, 14, 1}, Mean: 0.5, Std: 0.25}, 10, "fc2",
		c1,
		infer.Op{Op: "max_pool", Name: "pool1", Inputs: []string{"conv1"}, Window: 2}, // 7×7
		c2, // 5×5
		infer.Op{Op: "max_pool", Name: "pool2", Inputs: []string{"conv2"}, Window: 2}, // 2×2, floor
		infer.Op{Op: "flatten", Name: "flat", Inputs: []string{"pool2"}},
		b.dense("fc1", "flat", 24, 16, "gelu"),
		b.dense("fc2", "fc1", 16, 10, ""))
	return net{"lenet", g, b.tensors}
}

// residualNet uses every activation and a stride-2 "same" conv on 7×7.
func residualNet() net {
	b := newBuilder(3)
	g := graphOf(infer.Input{Shape: []int{7, 7, 3}, Mean: 0, Std: 1}, 5, "out",
		b.conv("stem", "input", 3, 3, 8, 2, "same", "swish"), // 4×4, pads 1,1
		b.conv("c1", "stem", 3, 8, 8, 1, "same", ""),
		infer.Op{Op: "add", Name: "res1", Inputs: []string{"c1", "stem"}, Activation: "selu"},
		b.conv("c2", "res1", 2, 8, 8, 1, "same", "sigmoid"), // even kernel: pads 0 before, 1 after
		infer.Op{Op: "add", Name: "res2", Inputs: []string{"res1", "c2"}, Activation: "tanh"},
		infer.Op{Op: "global_avg_pool", Name: "gap", Inputs: []string{"res2"}},
		b.dense("fc1", "gap", 8, 16, "leaky_relu"),
		b.dense("fc2", "fc1", 16, 16, "gelu"),
		b.dense("fc3", "fc2", 16, 12, "relu"),
		infer.Op{Op: "flatten", Name: "flat", Inputs: []string{"fc3"}}, // of a vector: an alias
		b.dense("out", "flat", 12, 5, ""))
	return net{"residual", g, b.tensors}
}

// aliasNet's output is a flatten of a vector (no node of its own, so an
// Identity writes "logits"), read by a later op too.
func aliasNet() net {
	b := newBuilder(4)
	g := graphOf(infer.Input{Shape: []int{6}, Mean: 0, Std: 1}, 4, "f",
		b.dense("d1", "input", 6, 4, "relu"),
		infer.Op{Op: "flatten", Name: "f", Inputs: []string{"d1"}},
		b.dense("d2", "f", 4, 4, ""))
	return net{"alias", g, b.tensors}
}

// imageMLPNet flattens images at once, as the zoo's MLP does on MNIST.
func imageMLPNet() net {
	b := newBuilder(5)
	g := graphOf(infer.Input{Shape: []int{4, 4, 2}, Mean: 0.5, Std: 0.25}, 3, "fc2",
		infer.Op{Name: "flatten", Op: "flatten", Inputs: []string{"input"}},
		b.dense("fc1", "flatten", 32, 8, "relu"),
		b.dense("fc2", "fc1", 8, 3, ""))
	return net{"mlp-images", g, b.tensors}
}

func nets() []net { return []net{mlpNet(), lenetNet(), residualNet(), aliasNet(), imageMLPNet()} }

// TestNoTransposeThereAndBack: an MLP that flattens its images reads them
// as they come (NHWC): its file holds no Transpose, which a transpose to
// NCHW and back before the Flatten used to be; a CNN keeps the one it needs.
func TestNoTransposeThereAndBack(t *testing.T) {
	for _, c := range []struct {
		n          net
		transposes int
	}{{imageMLPNet(), 0}, {lenetNet(), 2}} {
		data, err := Encode(c.n.g, c.n.tensors)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Count(data, []byte("Transpose")); got != c.transposes {
			t.Errorf("%s: %d Transpose nodes, want %d", c.n.name, got, c.transposes)
		}
	}
}

func TestNetsUseEveryActivation(t *testing.T) {
	used := map[string]bool{}
	for _, n := range nets() {
		for _, op := range n.g.Ops {
			used[op.Activation] = true
		}
	}
	for _, a := range infer.Activations {
		if !used[a] {
			t.Errorf("activation %q is not exercised by the test nets", a)
		}
	}
}

// pythonONNX returns the python3 that imports onnx, or skips the test.
func pythonONNX(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	out, err := exec.Command(py, "-c", "import onnx").CombinedOutput()
	if err == nil {
		return py
	}
	msg := fmt.Sprintf("%s with onnx is not available: %v %s", py, err, out)
	if os.Getenv("CI") != "" || os.Getenv("LATHE_REQUIRE_PY") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestChecker runs onnx.checker (with strict shape inference) on each net.
func TestChecker(t *testing.T) {
	py := pythonONNX(t)
	const script = `
import onnx, sys
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
out = m.graph.output[0]
print(out.name, [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim], m.opset_import[0].version, m.ir_version)
`
	for _, n := range nets() {
		t.Run(n.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), n.name+".onnx")
			if err := WriteFile(path, n.g, n.tensors); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(py, "-c", script, path).CombinedOutput()
			if err != nil {
				t.Fatalf("onnx.checker: %v\n%s", err, out)
			}
			want := fmt.Sprintf("logits ['batch', %d] 13 8", len(n.g.Classes))
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("checker printed %q, want %q", got, want)
			}
		})
	}
}

// runtimeLogits runs the Lathe runtime on x.
func runtimeLogits(t *testing.T, n net, x []float32, batch int) []float32 {
	t.Helper()
	js, err := n.g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := infer.New(&infer.File{Tensors: n.tensors, Metadata: map[string]string{infer.GraphKey: js}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, batch*len(n.g.Classes))
	if err := m.Predict(x, batch, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// onnxLogits imports the ONNX bytes with onnx-gomlx and runs them on the
// pure-Go backend.
func onnxLogits(t *testing.T, data []byte, x []float32, dims []int) []float32 {
	t.Helper()
	m, err := onnxgomlx.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.InputsNames, []string{InputName}) || !slices.Equal(m.OutputsNames, []string{OutputName}) {
		t.Fatalf("inputs %v, outputs %v", m.InputsNames, m.OutputsNames)
	}
	ctx := gctx.New()
	if err := m.VariablesToContext(ctx); err != nil {
		t.Fatal(err)
	}
	be, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := gctx.NewExec(be, ctx, func(ctx *gctx.Context, x *graph.Node) *graph.Node {
		return m.CallGraph(ctx, x.Graph(), map[string]*graph.Node{InputName: x}, OutputName)[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Finalize()
	out, err := ex.Exec(gtensors.FromFlatDataAndDimensions(x, dims...))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out[0].Shape().Dimensions, []int{dims[0], m.OutputsShapes[0].Dimensions[1]}; !slices.Equal(got, want) {
		t.Fatalf("output shape %v, want %v", got, want)
	}
	return gtensors.MustCopyFlatData[float32](out[0])
}

// compare checks |a-b| ≤ 1e-4·max(1, |b|) elementwise.
func compare(t *testing.T, got, want []float32) {
	t.Helper()
	compareTol(t, got, want, 1e-4)
}

func compareTol(t *testing.T, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range got {
		a, b := float64(got[i]), float64(want[i])
		if !(math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))) {
			t.Fatalf("value %d: ONNX %g, runtime %g (of %v vs %v)", i, a, b, got, want)
		}
	}
}

func randomInput(seed uint64, g *infer.Graph, batch int) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 11))
	dims := append([]int{batch}, g.Input.Shape...)
	size := 1
	for _, d := range dims {
		size *= d
	}
	x := make([]float32, size)
	for i := range x {
		x[i] = rng.Float32() // raw values in [0, 1), like pixels/255
	}
	return x, dims
}

func roundTrip(t *testing.T, n net) {
	t.Helper()
	data, err := Encode(n.g, n.tensors)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 5
	x, dims := randomInput(42, n.g, batch)
	want := runtimeLogits(t, n, x, batch)
	got := onnxLogits(t, data, x, dims)
	compare(t, got, want)
	spread := 0.0
	for i := range want {
		spread = max(spread, math.Abs(float64(want[i]-want[0])))
	}
	if spread < 1e-3 {
		t.Errorf("logits %v barely vary: the test would not notice a wrong layer", want)
	}
}

// TestRoundTrip imports each net back with onnx-gomlx and runs it against
// the Lathe runtime.
func TestRoundTrip(t *testing.T) {
	for _, n := range nets() {
		t.Run(n.name, func(t *testing.T) { roundTrip(t, n) })
	}
}

// TestActivations runs each activation alone over [-6, 6) against the
// runtime, tightly enough to tell its constants apart.
func TestActivations(t *testing.T) {
	const n = 64
	eye := make([]float32, n*n)
	for i := range n {
		eye[i*n+i] = 1
	}
	x := make([]float32, 2*n)
	for i := range x {
		x[i] = float32(i) / float32(len(x)) // raw [0, 1): normalized [-6, 6)
	}
	x[len(x)-1] = 0.5 // exactly 0 after normalization
	for _, act := range infer.Activations {
		t.Run(act, func(t *testing.T) {
			g := graphOf(infer.Input{Shape: []int{n}, Mean: 0.5, Std: 1.0 / 12}, n, "act",
				infer.Op{Op: "dense", Name: "act", Inputs: []string{"input"}, Weights: "eye", Activation: act})
			nt := net{act, g, map[string]infer.Tensor{"eye": infer.F32Tensor(eye, n, n)}}
			data, err := Encode(nt.g, nt.tensors)
			if err != nil {
				t.Fatal(err)
			}
			compareTol(t, onnxLogits(t, data, x, []int{2, n}), runtimeLogits(t, nt, x, 2), 1e-5)
		})
	}
}

// TestSamePadding runs single convolutions over odd and even sizes,
// kernels and strides against the runtime, and checks the pads against
// values worked out by hand.
func TestSamePadding(t *testing.T) {
	for _, c := range []struct{ n, k, s, before, after int }{
		{7, 3, 2, 1, 1}, // out 4: 3·2+3-7 = 2
		{8, 3, 2, 0, 1}, // out 4: 3·2+3-8 = 1, the odd one after
		{7, 4, 1, 1, 2}, // out 7: 6+4-7 = 3
		{7, 3, 1, 1, 1},
		{5, 1, 2, 0, 0},
		{10, 1, 4, 0, 0}, // (3-1)·4+1-10 < 0: no padding
		{6, 5, 3, 1, 1},  // out 2: 3+5-6 = 2
	} {
		before, after := samePads(c.n, c.k, c.s)
		if int(before) != c.before || int(after) != c.after {
			t.Errorf("samePads(%d, k=%d, s=%d) = %d, %d; want %d, %d", c.n, c.k, c.s, before, after, c.before, c.after)
		}
	}
	for _, size := range [][2]int{{7, 7}, {8, 7}, {6, 9}} {
		for _, k := range []int{1, 2, 3, 4} {
			for _, s := range []int{1, 2, 3} {
				for _, padding := range []string{"same", "valid"} {
					if padding == "valid" && (k > size[0] || k > size[1]) {
						continue
					}
					name := fmt.Sprintf("%dx%d_k%d_s%d_%s", size[0], size[1], k, s, padding)
					t.Run(name, func(t *testing.T) {
						b := newBuilder(uint64(100*k + 10*s + size[0]))
						c := b.conv("conv", "input", k, 2, 3, s, padding, "")
						h, w := outSize(size[0], k, s, padding), outSize(size[1], k, s, padding)
						g := graphOf(infer.Input{Shape: []int{size[0], size[1], 2}, Mean: 0.5, Std: 0.5}, 4, "out",
							c,
							infer.Op{Op: "flatten", Name: "flat", Inputs: []string{"conv"}},
							b.dense("out", "flat", h*w*3, 4, ""))
						roundTrip(t, net{name, g, b.tensors})
					})
				}
			}
		}
	}
}

func outSize(n, k, s int, padding string) int {
	if padding == "same" {
		return (n + s - 1) / s
	}
	return (n-k)/s + 1
}

func TestDeterministic(t *testing.T) {
	for _, n := range nets() {
		a, err := Encode(n.g, n.tensors)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Encode(n.g, n.tensors)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two encodings differ", n.name)
		}
	}
}

// TestModelProto checks the header fields through onnx-gomlx's parse.
func TestModelProto(t *testing.T) {
	n := lenetNet()
	data, err := Encode(n.g, n.tensors)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxgomlx.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p := &m.Proto
	if p.IrVersion != 8 || p.ProducerName != "lathe" || p.ProducerVersion != "lathe test" {
		t.Errorf("ir_version %d, producer %q %q", p.IrVersion, p.ProducerName, p.ProducerVersion)
	}
	if len(p.OpsetImport) != 1 || p.OpsetImport[0].Domain != "" || p.OpsetImport[0].Version != 13 {
		t.Errorf("opset_import %v", p.OpsetImport)
	}
	if len(p.MetadataProps) != 1 || p.MetadataProps[0].Key != ClassesKey || !strings.HasPrefix(p.MetadataProps[0].Value, `["class0","class1",`) {
		t.Errorf("metadata %v", p.MetadataProps)
	}
	in := m.InputsShapes[0]
	if !slices.Equal(in.Dimensions[1:], []int{14, 14, 1}) || in.Names[0] != BatchDim {
		t.Errorf("input shape %v", in)
	}
	// Conv weights are OIHW; the bf16 ones are widened to f32.
	for _, init := range p.Graph.Initializer {
		if init.Name == "conv2.w" {
			if !slices.Equal(init.Dims, []int64{6, 4, 3, 3}) || init.DataType != 1 || len(init.RawData) != 4*6*4*3*3 {
				t.Errorf("conv2.w: dims %v, type %d, %d bytes", init.Dims, init.DataType, len(init.RawData))
			}
		}
	}
	var ops []string
	for _, node := range p.Graph.Node {
		ops = append(ops, node.OpType)
	}
	want := []string{"Sub", "Div", "Transpose", "Conv", "Relu", "MaxPool", "Conv", "Tanh", "MaxPool",
		"Transpose", "Flatten", "MatMul", "Add", "Div", "Erf", "Add", "Mul", "Mul", "MatMul", "Add"}
	if !slices.Equal(ops, want) {
		t.Errorf("nodes %v,\nwant %v", ops, want)
	}
	if last := p.Graph.Node[len(p.Graph.Node)-1]; last.Output[0] != OutputName {
		t.Errorf("last node writes %q", last.Output[0])
	}
}

func TestErrors(t *testing.T) {
	base := mlpNet
	cases := map[string]struct {
		edit func(n *net)
		want string
	}{
		"unknown op": {func(n *net) {
			n.g.Ops = append(n.g.Ops, infer.Op{Op: "softmax", Name: "sm", Inputs: []string{"fc2"}})
			n.g.Output = "sm"
		}, "softmax"},
		"int8 weights without a quantized input": {func(n *net) {
			n.tensors["fc1.w"] = infer.Tensor{DType: infer.I8, Shape: []int{784, 32}, Data: make([]byte, 784*32)}
		}, `op 1 (dense "fc1"): input scale 0 and zero point 0`},
		"int32 bias": {func(n *net) {
			n.tensors["fc2.b"] = infer.Tensor{DType: infer.I32, Shape: []int{10}, Data: make([]byte, 40)}
		}, `tensor "fc2.b" is I32 in a float layer`},
		"shapes": {func(n *net) {
			n.g.Ops[1].Inputs = []string{"input"} // 784 features into 32×10 weights
		}, `op 2 (dense "fc2")`},
		"missing output":     {func(n *net) { n.g.Output = "nope" }, `output "nope"`},
		"unknown activation": {func(n *net) { n.g.Ops[0].Activation = "softplus" }, "softplus"},
		"truncated tensor": {func(n *net) {
			w := n.tensors["fc1.w"]
			w.Data = w.Data[:100]
			n.tensors["fc1.w"] = w
		}, `tensor "fc1.w": 100 bytes`},
		"activation on flatten": {func(n *net) {
			n.g.Ops = slices.Insert(n.g.Ops, 1, infer.Op{Op: "flatten", Name: "f", Inputs: []string{"fc1"}, Activation: "relu"})
			n.g.Ops[2].Inputs = []string{"f"}
		}, `op 2 (flatten "f"): has activation "relu"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			n := base()
			c.edit(&n)
			_, err := Encode(n.g, n.tensors)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "onnx export: ") {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := Encode(nil, nil); err == nil {
		t.Error("nil graph: no error")
	}
}

func TestWriteFile(t *testing.T) {
	n := residualNet()
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := WriteFile(path, n.g, n.tensors); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Encode(n.g, n.tensors)
	if !bytes.Equal(got, want) {
		t.Error("the file differs from Encode's bytes")
	}
	entries := func(dir string) []string {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}

	// An error leaves the existing file as it was and no temporary file.
	bad := mlpNet()
	bad.g.Output = "nope"
	if err := WriteFile(path, bad.g, bad.tensors); err == nil {
		t.Fatal("bad graph: no error")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Error("a failed write changed the existing file")
	}
	if names := entries(dir); !slices.Equal(names, []string{"model.onnx"}) {
		t.Errorf("directory holds %v", names)
	}

	// A missing directory is an error, and nothing is created.
	missing := filepath.Join(dir, "missing", "model.onnx")
	if err := WriteFile(missing, n.g, n.tensors); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing directory: error %v", err)
	}
	if names := entries(dir); !slices.Equal(names, []string{"model.onnx"}) {
		t.Errorf("directory holds %v", names)
	}

	// A path that is a directory cannot be renamed over: the temporary file goes.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(sub, n.g, n.tensors); err == nil {
		t.Error("writing over a non-empty directory: no error")
	}
	if names := entries(dir); !slices.Equal(names, []string{"model.onnx", "sub"}) {
		t.Errorf("directory holds %v", names)
	}
}

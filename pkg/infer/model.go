package infer

import (
	"fmt"
	"math"
	"sync"
)

// Model is a loaded model, ready to predict. It is immutable and safe for
// concurrent use: each call takes a workspace (activation buffers, scratch)
// from the model's free list and gives it back, so after the first call of
// a batch size no call allocates.
type Model struct {
	// Graph is the model's description, as the file holds it.
	Graph *Graph

	kern    *kernels
	steps   []step
	slots   []int // floats per example of each activation buffer
	inSlot  int
	outSlot int
	inSize  int
	classes int
	// scratch is the floats of per-worker scratch a step may use per
	// task (im2col rows, the right-edge tile, a fused pooling's rows).
	scratch int
	// padSize is the floats per example of the zero-padded image buffer
	// the implicit convolutions read.
	padSize int
	// scratch32 is the per-worker int32s the int8 layers use per task
	// (integer sums).
	scratch32 int
	// quantSize is the bytes per example of an int8 layer's input,
	// quantized once per call before the integer GEMMs read it.
	quantSize int
	// exampleBytes is the activation memory of one example (every slot,
	// the padded image, the quantized input); weightBytes the file's
	// tensors. They size a chunk (chunkSize).
	exampleBytes, weightBytes int

	// stepValues is the value each step computes, for Trace; aliases the
	// flattens naming a value again.
	stepValues []stepValue
	aliases    map[string][]string

	mu   sync.Mutex
	free []*workspace
}

type stepValue struct {
	name       string
	slot, size int
}

// workspace is one call's memory: a buffer per slot for batchCap
// examples, and scratch per worker.
type workspace struct {
	batchCap  int
	bufs      [][]float32
	scratch   [][]float32
	scratch32 [][]int32
	padded    []float32
	quantized []uint8
	gate      gate
	n         int // examples in the running call
	// workers is how many goroutines the running call's steps may use: 1
	// when the workspace runs one chunk of a batch split over workers.
	workers int
	// calls holds the per-call jobs handed to workers (steps are shared by
	// concurrent calls; these are not).
	calls struct {
		gemm  gemmCall
		pad   padCall
		pool  poolCall
		int8  int8Call
		quant quantizeCall
		chunk chunkCall
		wino  winoCall
	}
}

// step is one op of the plan, run over a whole batch.
type step interface {
	run(m *Model, ws *workspace)
}

// Load reads a model file and plans it for this CPU's kernels.
func Load(path string) (*Model, error) {
	f, err := ReadFile(path, 0)
	if err != nil {
		return nil, err
	}
	m, err := New(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// New plans a model held in memory (a decoded file).
func New(f *File) (*Model, error) {
	g, err := GraphOf(f)
	if err != nil {
		return nil, err
	}
	shapes, err := g.check(f.Tensors)
	if err != nil {
		return nil, err
	}
	kern, err := selected()
	if err != nil {
		return nil, err
	}
	p := planner{m: &Model{Graph: g, kern: kern}, g: g, f: f, shapes: shapes}
	if err := p.plan(); err != nil {
		return nil, err
	}
	return p.m, nil
}

// InputSize is the number of values of one example.
func (m *Model) InputSize() int { return m.inSize }

// Classes is the number of outputs (logits) per example.
func (m *Model) Classes() int { return m.classes }

// Kernels names the micro-kernels the model runs on ("avx512", "avx2", "portable").
func (m *Model) Kernels() string { return m.kern.name }

// Int8Kernels names the integer kernels the model's int8 layers run on:
// the set goes with Kernels (avx512 brings avx512vnni where the CPU has
// it, else avx2).
func (m *Model) Int8Kernels() string { return m.kern.int8.name }

// Predict runs n examples — x holds n×InputSize raw values, each example
// as the file's Input.Shape lays it out (NHWC for images), before
// normalization — and writes n×Classes logits into logits.
func (m *Model) Predict(x []float32, n int, logits []float32) error {
	return m.run(x, n, logits, nil)
}

// Trace is Predict that also shows visit every value of the graph as it is
// computed — "input" (normalized) first, then each op's output in order,
// n×(its size) values — except a convolution or dense output fused into
// the addition after it, and an int8 convolution's output fused into the
// max pooling after it. data is the model's buffer: read it, do not keep
// it. Calibration (observing activation ranges for int8) reads it.
func (m *Model) Trace(x []float32, n int, logits []float32, visit func(value string, data []float32)) error {
	return m.run(x, n, logits, visit)
}

func (m *Model) run(x []float32, n int, logits []float32, visit func(string, []float32)) error {
	if n < 1 {
		return fmt.Errorf("predict: %d examples", n)
	}
	if len(x) != n*m.inSize {
		return fmt.Errorf("predict: %d input values for %d examples of %d (shape %v)", len(x), n, m.inSize, m.Graph.Input.Shape)
	}
	if len(logits) < n*m.classes {
		return fmt.Errorf("predict: room for %d logits, %d examples need %d", len(logits), n, n*m.classes)
	}
	if visit == nil {
		if chunk := m.chunkSize(n); chunk < n {
			m.runChunked(x, n, logits, chunk)
			return nil
		}
	}
	ws := m.workspace(n)
	defer m.release(ws)
	ws.workers = Workers()
	m.forward(ws, x, n, logits, visit)
	return nil
}

// forward runs every step on n examples in ws.
func (m *Model) forward(ws *workspace, x []float32, n int, logits []float32, visit func(string, []float32)) {
	ws.n = n
	in := ws.bufs[m.inSlot]
	if means, stds := m.Graph.Input.Means, m.Graph.Input.Stds; len(means) > 0 {
		for i, v := range x { // a table's columns: a few per example
			in[i] = (v - means[i%len(means)]) / stds[i%len(stds)]
		}
	} else {
		m.kern.normalize(in, x, m.Graph.Input.Mean, 1/m.Graph.Input.Std)
	}
	if visit != nil {
		m.visit(visit, InputValue, in[:len(x)])
	}
	for i, s := range m.steps {
		s.run(m, ws)
		if visit != nil {
			v := m.stepValues[i]
			m.visit(visit, v.name, ws.bufs[v.slot][:n*v.size])
		}
	}
	copy(logits, ws.bufs[m.outSlot][:n*m.classes])
}

// visit shows a value and the flattens that rename it.
func (m *Model) visit(fn func(string, []float32), name string, data []float32) {
	fn(name, data)
	for _, alias := range m.aliases[name] {
		m.visit(fn, alias, data)
	}
}

// PredictProba is Predict followed by a softmax over each example's logits.
func (m *Model) PredictProba(x []float32, n int, probs []float32) error {
	if err := m.Predict(x, n, probs); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		Softmax(probs[i*m.classes : (i+1)*m.classes])
	}
	return nil
}

// Softmax turns logits into probabilities, in place (max-subtracted, so
// large logits do not overflow).
func Softmax(v []float32) {
	hi := float32(math.Inf(-1))
	for _, x := range v {
		hi = max(hi, x)
	}
	var sum float64
	for i, x := range v {
		e := math.Exp(float64(x - hi))
		v[i] = float32(e)
		sum += e
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / sum)
	}
}

func (m *Model) workspace(n int) *workspace {
	m.mu.Lock()
	var ws *workspace
	if k := len(m.free); k > 0 {
		ws = m.free[k-1]
		m.free = m.free[:k-1]
	}
	m.mu.Unlock()
	if ws == nil {
		ws = &workspace{}
	}
	if ws.batchCap < n {
		ws.batchCap = n
		ws.bufs = make([][]float32, len(m.slots))
		for i, size := range m.slots {
			ws.bufs[i] = make([]float32, n*size)
		}
		ws.padded = make([]float32, n*m.padSize)
		ws.quantized = make([]uint8, n*m.quantSize+8) // +8: a group may read past the last image (see convRow)
	}
	if len(ws.scratch) == 0 {
		ws.scratch = make([][]float32, Workers())
		for i := range ws.scratch {
			ws.scratch[i] = make([]float32, m.scratch)
		}
		ws.scratch32 = make([][]int32, Workers())
		for i := range ws.scratch32 {
			ws.scratch32[i] = make([]int32, m.scratch32)
		}
	}
	return ws
}

func (m *Model) release(ws *workspace) {
	m.mu.Lock()
	m.free = append(m.free, ws)
	m.mu.Unlock()
}

// Argmax is the index of the largest of v (the first of equals): the
// class a row of logits predicts. NaN is never larger than anything.
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

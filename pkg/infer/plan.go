package infer

import (
	"fmt"
)

// planner turns a checked Graph into steps: it fuses what it can (a
// convolution or dense layer with its bias, activation and the residual
// addition after it; batch norm was folded into the weights at export),
// packs the weights for the kernels, and gives every value a buffer,
// reusing a buffer once its value's last reader has run.
type planner struct {
	m      *Model
	g      *Graph
	f      *File
	shapes map[string]shape

	slotOf   map[string]int // value → buffer
	lastUse  map[string]int // value → index of the last op reading it
	freeList []int
	fused    map[int]bool // add ops folded into the op before
}

func (p *planner) plan() error {
	g, m := p.g, p.m
	p.slotOf, p.lastUse, p.fused = map[string]int{}, map[string]int{}, map[int]bool{}
	consumers := map[string]int{}
	producer := map[string]int{}
	for i, op := range g.Ops {
		producer[op.Name] = i
		for _, in := range op.Inputs {
			p.lastUse[in] = i
			consumers[in]++
		}
	}
	p.lastUse[g.Output] = len(g.Ops)
	m.inSize = shape(g.Input.Shape).size()
	m.classes = p.shapes[g.Output][0]
	m.inSlot = p.alloc(InputValue)

	// residualFor[i] is the add op folded into op i, with the other input.
	type fusion struct {
		add   int
		other string
	}
	residualFor := map[int]fusion{}
	for i, op := range g.Ops {
		if op.Op != "add" {
			continue
		}
		for k, in := range op.Inputs {
			j, ok := producer[in]
			other := op.Inputs[1-k]
			if !ok || consumers[in] != 1 || g.Ops[j].Activation != "" || (g.Ops[j].Op != "conv2d" && g.Ops[j].Op != "dense") {
				continue
			}
			// The other addend must exist when op j runs.
			if oj, ok := producer[other]; (ok && oj > j) || other == in {
				continue
			}
			if _, taken := residualFor[j]; taken {
				continue
			}
			residualFor[j] = fusion{add: i, other: other}
			p.fused[i] = true
			break
		}
	}

	// poolFor[j] is the max_pool op folded into int8 convolution j, which
	// pools its requantized rows as it writes them: its output would
	// otherwise be written and read again in float32, costing an int8
	// LeNet-5 as much as its convolutions.
	poolFor := map[int]int{}
	for i, op := range g.Ops {
		if op.Op != "max_pool" {
			continue
		}
		j, ok := producer[op.Inputs[0]]
		if !ok || consumers[op.Inputs[0]] != 1 || g.Ops[j].Op != "conv2d" || !g.Ops[j].Quantized(p.f.Tensors) {
			continue
		}
		if _, res := residualFor[j]; res || p.fused[j] {
			continue
		}
		poolFor[j] = i
		p.fused[i] = true
	}

	for i, op := range g.Ops {
		if p.fused[i] {
			continue
		}
		in := p.shapes[op.Inputs[0]]
		inSlot := p.slotOf[op.Inputs[0]]
		name, act := op.Name, op.Activation
		residual := -1
		if fu, ok := residualFor[i]; ok {
			add := g.Ops[fu.add]
			name, act = add.Name, add.Activation
			residual = p.slotOf[fu.other]
		}
		out := p.shapes[name]
		var s step
		switch op.Op {
		case "flatten":
			// The buffer already holds the values in NHWC order: a flatten
			// only renames it.
			p.slotOf[name] = inSlot
			if m.aliases == nil {
				m.aliases = map[string][]string{}
			}
			m.aliases[op.Inputs[0]] = append(m.aliases[op.Inputs[0]], name)
			p.releaseInputs(i, op)
			continue
		case "dense", "conv2d":
			if !op.Quantized(p.f.Tensors) {
				break
			}
			rows := in[0]
			if op.Op == "conv2d" {
				rows = op.Kernel * op.Kernel * in[2]
			}
			is, err := p.int8Weights(op, rows, out[len(out)-1], m.kern.int8.familyFor(out[len(out)-1]))
			if err != nil {
				return err
			}
			is.act, is.in, is.residual, is.m = act, inSlot, residual, 1
			if op.Op == "conv2d" {
				is.conv = p.geometry(op, in, out)
				is.m = out[0] * out[1]
				if pi, ok := poolFor[i]; ok {
					is.pool = g.Ops[pi].Window
					name = g.Ops[pi].Name
				}
			}
			s = is
		}
		switch {
		case s != nil: // an int8 layer
		case op.Op == "dense":
			fam := m.kern.familyFor(out[0])
			w, err := p.weights(op, in[0], out[0], fam.nr)
			if err != nil {
				return err
			}
			s = &gemmStep{fam: fam, w: w, m: 1, act: act, in: inSlot, residual: residual}
		case op.Op == "conv2d":
			fam := m.kern.familyFor(out[2])
			geom := p.geometry(op, in, out)
			if (act == "" || act == "relu") && winogradFits(m.kern, geom, out[2]) {
				ws, err := p.winograd(op, geom, out[2], fam)
				if err != nil {
					return err
				}
				ws.in, ws.residual, ws.relu, ws.kern = inSlot, residual, act == "relu", m.kern
				if 16*geom.c*out[2] > winoCacheFloats {
					w, err := p.weights(op, 9*in[2], out[2], fam.nr)
					if err != nil {
						return err
					}
					ws.direct = &gemmStep{fam: fam, w: w, act: act, in: inSlot, residual: residual, conv: geom, m: out[0] * out[1]}
				}
				s = ws
				break
			}
			w, err := p.weights(op, op.Kernel*op.Kernel*in[2], out[2], fam.nr)
			if err != nil {
				return err
			}
			cs := &gemmStep{fam: fam, w: w, act: act, in: inSlot, residual: residual, conv: geom}
			cs.m = out[0] * out[1]
			s = cs
		case op.Op == "max_pool":
			s = &maxPoolStep{in: inSlot, h: in[0], w: in[1], c: in[2], window: op.Window}
			p.m.scratch = max(p.m.scratch, 2*in[1]*in[2]) // a row's maxima, twice
		case op.Op == "global_avg_pool":
			s = &avgPoolStep{in: inSlot, positions: in[0] * in[1], c: in[2]}
		case op.Op == "add":
			s = &addStep{a: inSlot, b: p.slotOf[op.Inputs[1]], size: out.size(), act: act}
		default:
			return fmt.Errorf("op %d: unknown op %q", i+1, op.Op)
		}
		outSlot := p.alloc(name)
		setOut(s, outSlot)
		m.steps = append(m.steps, s)
		m.stepValues = append(m.stepValues, stepValue{name: name, slot: outSlot, size: p.shapes[name].size()})
		switch gs := s.(type) {
		case *gemmStep:
			gs.prepare(m)
		case *int8Step:
			gs.prepare(m)
		case *winogradStep:
			gs.prepare(m)
		}
		p.releaseInputs(i, op)
		if fu, ok := residualFor[i]; ok {
			p.releaseInputs(fu.add, g.Ops[fu.add])
		}
		if pi, ok := poolFor[i]; ok {
			p.releaseInputs(pi, g.Ops[pi])
		}
	}
	m.outSlot = p.slotOf[g.Output]
	total := m.padSize
	for _, size := range m.slots {
		total += size
	}
	if total > maxExampleFloats {
		return fmt.Errorf("the model needs %d floats of activations per example, more than the %d the runtime allows (a corrupt file?)", total, maxExampleFloats)
	}
	m.exampleBytes = 4*total + m.quantSize
	for _, t := range p.f.Tensors {
		m.weightBytes += len(t.Data)
	}
	return nil
}

// geometry is a conv2d op's geometry for input and output shapes in, out.
func (p *planner) geometry(op Op, in, out shape) *convGeom {
	g := &convGeom{h: in[0], w: in[1], c: in[2], k: op.Kernel, stride: max(op.Stride, 1), ho: out[0], wo: out[1]}
	if op.Padding == "same" {
		g.padTop = max((out[0]-1)*g.stride+op.Kernel-in[0], 0) / 2
		g.padLeft = max((out[1]-1)*g.stride+op.Kernel-in[1], 0) / 2
	}
	// The padded image holds every position a patch reads.
	g.hp = max(g.padTop+g.h, (g.ho-1)*g.stride+g.k)
	g.wp = max(g.padLeft+g.w, (g.wo-1)*g.stride+g.k)
	return g
}

// maxExampleFloats bounds the activation memory one example may need (256
// MiB; ResNet-18 on 32×32 images needs 0.5 MiB), so that a corrupt or
// hostile file is refused at load instead of exhausting memory at its
// first call.
const maxExampleFloats = 1 << 26

// alloc gives value a buffer: a free one (grown if needed) or a new one.
func (p *planner) alloc(value string) int {
	size := p.shapes[value].size()
	slot := -1
	if n := len(p.freeList); n > 0 {
		slot = p.freeList[n-1]
		p.freeList = p.freeList[:n-1]
		p.m.slots[slot] = max(p.m.slots[slot], size)
	} else {
		slot = len(p.m.slots)
		p.m.slots = append(p.m.slots, size)
	}
	p.slotOf[value] = slot
	return slot
}

// releaseInputs frees the buffers of op i's inputs whose last reader it is
// (unless another live value shares the buffer, as a flatten's does).
func (p *planner) releaseInputs(i int, op Op) {
	for _, in := range op.Inputs {
		if p.lastUse[in] != i {
			continue
		}
		slot, ok := p.slotOf[in]
		if !ok { // a value fused away (a convolution's output read only by its residual addition)
			continue
		}
		shared := false
		for v, s := range p.slotOf {
			if s == slot && v != in && p.lastUse[v] > i {
				shared = true
			}
		}
		if !shared && !contains(p.freeList, slot) {
			p.freeList = append(p.freeList, slot)
		}
	}
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// weights decodes and packs an op's weights [rows, cols] and bias.
func (p *planner) weights(op Op, rows, cols, nr int) (*packed, error) {
	w, err := p.f.Tensors[op.Weights].Float32s()
	if err != nil {
		return nil, fmt.Errorf("op %q: weights: %w", op.Name, err)
	}
	if len(w) != rows*cols {
		return nil, fmt.Errorf("op %q: %d weights, want %d×%d", op.Name, len(w), rows, cols)
	}
	var b []float32
	if op.Bias != "" {
		if b, err = p.f.Tensors[op.Bias].Float32s(); err != nil {
			return nil, fmt.Errorf("op %q: bias: %w", op.Name, err)
		}
	}
	return pack(w, rows, cols, b, nr), nil
}

// winograd decodes a 3×3 convolution's weights [3, 3, c, n] and bias and
// packs their Winograd transforms for fam.
func (p *planner) winograd(op Op, g *convGeom, n int, fam *family) (*winogradStep, error) {
	w, err := p.f.Tensors[op.Weights].Float32s()
	if err != nil {
		return nil, fmt.Errorf("op %q: weights: %w", op.Name, err)
	}
	if len(w) != 9*g.c*n {
		return nil, fmt.Errorf("op %q: %d weights, want 3×3×%d×%d", op.Name, len(w), g.c, n)
	}
	s := &winogradStep{fam: fam, conv: g, bias: make([]float32, n)}
	if op.Bias != "" {
		b, err := p.f.Tensors[op.Bias].Float32s()
		if err != nil {
			return nil, fmt.Errorf("op %q: bias: %w", op.Name, err)
		}
		if len(b) != n {
			return nil, fmt.Errorf("op %q: %d biases, want %d", op.Name, len(b), n)
		}
		copy(s.bias, b)
	}
	for xi, u := range winogradFilters(w, g.c, n) {
		s.u[xi] = pack(u, g.c, n, nil, fam.nr)
	}
	return s, nil
}

func setOut(s step, slot int) {
	switch s := s.(type) {
	case *gemmStep:
		s.out = slot
	case *maxPoolStep:
		s.out = slot
	case *avgPoolStep:
		s.out = slot
	case *addStep:
		s.out = slot
	case *int8Step:
		s.out = slot
	case *winogradStep:
		s.out = slot
		if s.direct != nil {
			s.direct.out = slot
		}
	}
}

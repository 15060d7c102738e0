package infer

// A batch runs layer by layer — every op over all examples, split over
// the workers — or, when it is large enough, in chunks: each worker takes
// a few examples through the whole network on its own, then the next few.
// A chunk's activations stay in the worker's L2 cache from one layer to
// the next, where a whole batch's (3 MB per ResNet-8 layer at batch 64)
// go out to L3 and back at every layer; and the workers meet once per
// call, not once per op. Layer by layer stays for small batches (a chunk
// per worker would leave the other cores idle) and for Trace, whose
// visitor sees each value for the whole batch.

// chunkBytes is the activation memory a chunk aims to stay within: half
// of a 1 MiB L2 (AMD Zen 4/5, Intel Sapphire Rapids have 1–2 MiB), the
// rest being the layer's weights and the kernels' scratch.
const chunkBytes = 512 << 10

// chunkSize is how many examples of an n-example call one chunk takes; n
// means the call runs layer by layer. A chunk holds as many examples as
// fit chunkBytes — but every chunk reads all the weights again, so a
// model whose weights outweigh its activations (ResNet-18: 45 MB against
// 0.8 MB an example) takes chunks of at least weights/(8·activations), to
// keep the weights' traffic below an eighth of the activations'. Every
// worker gets at least chunksPerWorker chunks.
func (m *Model) chunkSize(n int) int {
	workers := Workers()
	if workers < 2 || n < 2*workers {
		return n
	}
	perExample := max(1, m.exampleBytes)
	chunk := max(1, chunkBytes/perExample, m.weightBytes/(8*perExample))
	return min(chunk, (n+chunksPerWorker*workers-1)/(chunksPerWorker*workers))
}

// chunksPerWorker is the fewest chunks a call gives each worker, so that
// a helper that starts late (woken from its park) leaves its share to the
// others, who take the chunks first come first served.
const chunksPerWorker = 4

// chunkCall runs a batch in chunks, one chunk per task, each worker in
// its own workspace.
type chunkCall struct {
	m         *Model
	x, logits []float32
	n, chunk  int
	wss       []*workspace // by worker
	gate      gate
}

func (m *Model) runChunked(x []float32, n int, logits []float32, chunk int) {
	tasks := (n + chunk - 1) / chunk
	workers := min(Workers(), tasks)
	lead := m.workspace(chunk)
	call := &lead.calls.chunk
	call.m, call.x, call.logits, call.n, call.chunk = m, x, logits, n, chunk
	call.wss = append(call.wss[:0], lead)
	for w := 1; w < workers; w++ {
		call.wss = append(call.wss, m.workspace(chunk))
	}
	parallelDynamic(call, tasks, workers, &call.gate)
	for _, ws := range call.wss {
		m.release(ws)
	}
	clear(call.wss) // the free list owns them again
}

func (c *chunkCall) run(task, worker int) {
	m, ws := c.m, c.wss[worker]
	i0 := task * c.chunk
	i1 := min(i0+c.chunk, c.n)
	ws.workers = 1
	m.forward(ws, c.x[i0*m.inSize:i1*m.inSize], i1-i0, c.logits[i0*m.classes:i1*m.classes], nil)
}

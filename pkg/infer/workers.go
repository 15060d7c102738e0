package infer

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The runtime splits an op's work over a fixed set of goroutines started
// once, rather than starting goroutines per call: a go statement with a
// closure allocates, and Predict must not.
//
// A batch-1 call hands out work once per layer, every few microseconds,
// so waking a parked goroutine (a futex call, the scheduler) for each
// would cost as much as the layer (a third of ResNet-8's time at batch
// 1). Workers therefore spin for a while (spinFor) after their last task,
// looking at the queue, before they park on it, and the caller spins
// until its helpers finish rather than sleeping on them — as ONNX Runtime's
// and OpenMP's thread pools do.

// job is work split in tasks: run(task, worker) does one task; worker
// numbers the goroutine (0 is the caller), for per-worker scratch.
type job interface {
	run(task, worker int)
}

// gate counts one parallel call's helpers still working, and hands out
// the tasks of a dynamic one. A workspace owns one, so nothing allocates.
type gate struct {
	pending atomic.Int64
	next    atomic.Int64
}

// piece is one worker's share of a parallel call: tasks [lo, hi), or with
// dynamic, whichever tasks below hi the gate hands it.
type piece struct {
	j       job
	g       *gate
	lo, hi  int
	worker  int
	dynamic bool
}

// spinFor is how long an idle worker polls for work before it parks.
const spinFor = 50 * time.Microsecond

var (
	workersOnce sync.Once
	workQueue   chan piece
	numWorkers  int
)

// Workers is how many goroutines (the caller included) share one op.
func Workers() int {
	workersOnce.Do(func() {
		numWorkers = runtime.GOMAXPROCS(0)
		workQueue = make(chan piece, 4*numWorkers)
		for i := 1; i < numWorkers; i++ {
			go worker()
		}
	})
	return numWorkers
}

func worker() {
	for {
		var p piece
		select {
		case p = <-workQueue:
		default:
			p = awaitPiece()
		}
		drain(p)
		p.g.pending.Add(-1)
	}
}

// awaitPiece polls the queue for spinFor, then parks on it.
func awaitPiece() piece {
	start := time.Now()
	for i := 1; ; i++ {
		select {
		case p := <-workQueue:
			return p
		default:
		}
		if i%64 == 0 && time.Since(start) > spinFor {
			return <-workQueue
		}
	}
}

func drain(p piece) {
	if p.dynamic {
		for {
			t := int(p.g.next.Add(1) - 1)
			if t >= p.hi {
				return
			}
			p.j.run(t, p.worker)
		}
	}
	for t := p.lo; t < p.hi; t++ {
		p.j.run(t, p.worker)
	}
}

// parallel runs tasks 0..tasks-1 of j on up to workers goroutines, the
// caller being one, each taking a contiguous range of tasks. The split is
// static, not first come first served: tasks are laid out in image order
// (rows, then images), so a worker computes the same region of every
// layer and finds most of what it reads — the previous layer's output it
// wrote itself — in its own core's cache. Taken first come first served,
// the regions interleave between the cores, and ResNet-8 at batch 1 ran
// slower on two cores than on one.
func parallel(j job, tasks, workers int, g *gate) {
	run(j, tasks, workers, g, false)
}

// parallelDynamic is parallel with the tasks taken first come first
// served: for tasks that share nothing (chunks of a batch), where a
// helper that starts late should not hold the call up.
func parallelDynamic(j job, tasks, workers int, g *gate) {
	run(j, tasks, workers, g, true)
}

func run(j job, tasks, workers int, g *gate, dynamic bool) {
	workers = min(workers, tasks, Workers())
	if workers <= 1 {
		for t := 0; t < tasks; t++ {
			j.run(t, 0)
		}
		return
	}
	g.pending.Store(int64(workers - 1))
	g.next.Store(0)
	for w := 1; w < workers; w++ {
		p := piece{j: j, g: g, lo: w * tasks / workers, hi: (w + 1) * tasks / workers, worker: w, dynamic: dynamic}
		if dynamic {
			p.hi = tasks
		}
		workQueue <- p
	}
	if dynamic {
		drain(piece{j: j, g: g, hi: tasks, dynamic: true})
	} else {
		drain(piece{j: j, g: g, lo: 0, hi: tasks / workers, worker: 0})
	}
	// The helpers are finishing their last task: wait for them awake,
	// yielding the processor now and then in case one of them is not
	// running at all.
	for i := 1; g.pending.Load() != 0; i++ {
		if i%64 == 0 {
			runtime.Gosched()
		}
	}
}

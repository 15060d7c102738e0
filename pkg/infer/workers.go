package infer

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The runtime splits an op's work over a fixed set of goroutines started
// once, rather than starting goroutines per call: a go statement with a
// closure allocates, and Predict must not.

// job is work split in tasks: run(task, worker) does one task; worker
// numbers the goroutine (0 is the caller), for per-worker scratch.
type job interface {
	run(task, worker int)
}

type piece struct {
	j       job
	next    *atomic.Int64 // the next task to take
	tasks   int
	worker  int
	pending *sync.WaitGroup
}

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
			go func() {
				for p := range workQueue {
					drain(p)
					p.pending.Done()
				}
			}()
		}
	})
	return numWorkers
}

func drain(p piece) {
	for {
		t := int(p.next.Add(1) - 1)
		if t >= p.tasks {
			return
		}
		p.j.run(t, p.worker)
	}
}

// parallel runs tasks 0..tasks-1 of j on up to workers goroutines, the
// caller being one; the tasks are taken in order as goroutines free up.
// next and pending are the caller's (a workspace's), so nothing allocates.
func parallel(j job, tasks, workers int, next *atomic.Int64, pending *sync.WaitGroup) {
	next.Store(0)
	workers = min(workers, tasks, Workers())
	if workers <= 1 {
		for t := 0; t < tasks; t++ {
			j.run(t, 0)
		}
		return
	}
	pending.Add(workers - 1)
	for w := 1; w < workers; w++ {
		workQueue <- piece{j: j, next: next, tasks: tasks, worker: w, pending: pending}
	}
	drain(piece{j: j, next: next, tasks: tasks, worker: 0})
	pending.Wait()
}

package cli

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// daemonProcs sets how many cores `cco run` schedules its goroutines on:
// one, unless the GOMAXPROCS environment variable says otherwise.
//
// cco relays requests to an API whose rate limits stop far below what one
// core relays (BENCHMARKS.md), so more cores buy it nothing but cost: with
// two or more, every hand-off between the server's, the Transport's and
// the writers' goroutines can wake another thread, and those wake-ups, not
// the relaying, were most of the CPU time a request cost, and of its added
// latency when requests come one at a time. On one core a hand-off is a
// switch on the same thread, as within an nginx worker. GOMAXPROCS=N gives
// an instance N cores (the runtime reads it at start; cco then leaves it).
//
// It also gives the collector a floor (gcFloor), unless GOGC is set.
func daemonProcs(sys *System) {
	if v, ok := sys.LookupEnv("GOMAXPROCS"); !ok || v == "" {
		runtime.GOMAXPROCS(1)
	}
	if v, ok := sys.LookupEnv("GOGC"); !ok || v == "" {
		gcFloorOnce.Do(func() { startGCFloor(gcHeadroom) })
	}
}

// gcFloorOnce keeps a process that runs the daemon more than once (the
// tests) to one floor.
var gcFloorOnce sync.Once

// gcHeadroom is the least a relaying daemon may allocate between two
// collections. With GOGC's default of 100 the collector runs when the heap
// has doubled; cco's live heap is a few MiB while it relays, so that was
// a collection every few hundred requests and about a tenth of the CPU a
// request cost (BENCHMARKS.md). A heap that grows by at least 16 MiB
// between collections costs at most 16 MiB more memory, and nothing once
// the live heap (a full response cache) is larger than that: then GOGC's
// default applies as before.
const gcHeadroom = 16 << 20

// gcPercent is the GOGC value that lets a heap of live bytes grow by
// headroom, or by itself if that is more, before the next collection.
func gcPercent(live, headroom uint64) int {
	if live == 0 || live >= headroom {
		return 100
	}
	return int(min(headroom*100/live, 10000))
}

// startGCFloor sets GOGC after every collection so that the next one
// comes no sooner than headroom bytes later (gcPercent). It returns a
// function that stops it (tests); the daemon never does.
func startGCFloor(headroom uint64) (stop func()) {
	var mu sync.Mutex // a cleanup that is running finishes before stop returns
	stopped := false
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	last := 100
	var arm func()
	arm = func() {
		// A collection finds the sentinel unreachable and runs the cleanup
		// afterwards, with the live heap it measured.
		runtime.AddCleanup(&struct{ _ [16]byte }{}, func(struct{}) {
			mu.Lock()
			defer mu.Unlock()
			if stopped {
				return
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				if pct := gcPercent(sample[0].Value.Uint64(), headroom); pct != last {
					debug.SetGCPercent(pct)
					last = pct
				}
			}
			arm()
		}, struct{}{})
	}
	arm()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		debug.SetGCPercent(100)
	}
}

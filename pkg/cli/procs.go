package cli

import "runtime"

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
func daemonProcs(sys *System) {
	if v, ok := sys.LookupEnv("GOMAXPROCS"); !ok || v == "" {
		runtime.GOMAXPROCS(1)
	}
}

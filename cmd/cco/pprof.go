//go:build ccopprof

package main

// Profiling builds only (go build -tags ccopprof): with CCO_PPROF=ADDR set,
// net/http/pprof answers on ADDR (a loopback address) beside the daemon,
// for `go tool pprof http://ADDR/debug/pprof/profile` under a load. Release
// builds never carry it.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("CCO_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil) //nolint:errcheck // a development aid
	}
}

package proxy

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/apierror"
)

// BenchmarkProxy compares Proxy with a bare httputil.ReverseProxy (same
// connection pool) in one process, for a small and a 60 KB request body.
// The end-to-end harness with processes and ratios is cmd/ccobench.
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_1","type":"message","content":[{"type":"text","text":"Hello"}],"usage":{"input_tokens":5,"output_tokens":1}}`)
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)

	bare := httputil.NewSingleHostReverseProxy(target)
	bare.ErrorLog = log.New(io.Discard, "", 0)
	bare.Transport = NewTransport(time.Minute, nil)
	quiet := logrus.New()
	quiet.Out = io.Discard
	quiet.Level = logrus.WarnLevel
	// Admit as the daemon sets it with no spend limit: one atomic load.
	var limited atomic.Bool
	admit := func() *apierror.Error {
		if !limited.Load() {
			return nil
		}
		return apierror.New(http.StatusTooManyRequests, "limited")
	}
	cco := New(Options{Upstream: target, MaxBodyBytes: 32 << 20, HeaderTimeout: time.Minute, IdleTimeout: time.Minute, Logger: quiet, Now: time.Now,
		Admit: admit})

	for _, size := range []int{200, 60 * 1024} {
		body := []byte(`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"` + strings.Repeat("a", size) + `"}]}`)
		for _, p := range []struct {
			name string
			h    http.Handler
		}{{"bare", bare}, {"cco", cco}} {
			b.Run(p.name+"/"+map[int]string{200: "small", 60 * 1024: "60KB"}[size], func(b *testing.B) {
				srv := httptest.NewServer(p.h)
				defer srv.Close()
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Post(srv.URL+"/v1/messages", "application/json", bytes.NewReader(body))
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
			})
		}
	}
}

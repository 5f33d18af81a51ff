package proxy

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countTruncated sends requests sequential streaming POSTs over each of
// conns keep-alive connections, as Claude Code and the SDKs do, and counts
// the responses that do not reach message_stop.
func countTruncated(t *testing.T, base string, conns, requests int) int64 {
	t.Helper()
	var truncated atomic.Int64
	var wg sync.WaitGroup
	body := []byte(`{"model":"claude-haiku-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for range requests / conns {
				resp, err := client.Post(base+"/v1/messages", "application/json", bytes.NewReader(body))
				if err != nil {
					truncated.Add(1)
					continue
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.HasSuffix(got, []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")) {
					truncated.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return truncated.Load()
}

// An upstream that answers without reading the request body (as an API may
// once it has what it needs) and spaces its events in time.
func eagerStreamingUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":%d}\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(2 * time.Millisecond)
		}
		io.WriteString(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	}))
	t.Cleanup(up.Close)
	return up
}

// TestNoTruncationOnReusedConnections guards against the race that makes a
// bare httputil.ReverseProxy cut 0.2-2% of streams short when clients
// reuse keep-alive connections: net/http closes the request body once the
// response headers are written while the Transport is still reading it, and
// the Transport then closes the upstream connection mid-stream (see the
// package doc). cco reads the body before the upstream request starts, so
// not one of these streams may be truncated. The bare proxy runs the same
// load in the same test, for comparison.
func TestNoTruncationOnReusedConnections(t *testing.T) {
	const conns, requests = 8, 4000
	up := eagerStreamingUpstream(t)

	target, _ := url.Parse(up.URL)
	bare := httputil.NewSingleHostReverseProxy(target)
	bare.ErrorLog = log.New(io.Discard, "", 0)
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()
	bareTruncated := countTruncated(t, bareSrv.URL, conns, requests)

	_, base, logs := front(t, up.URL, nil)
	truncated := countTruncated(t, base, conns, requests)

	t.Logf("truncated streams out of %d: bare httputil.ReverseProxy %d, cco %d", requests, bareTruncated, truncated)
	if truncated != 0 {
		t.Errorf("cco truncated %d of %d streams; log:\n%s", truncated, requests, tail(logs.String(), 20))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/cache"
	"github.com/visiquate/cco/pkg/secret"
)

// fuzzUpstream answers every request and records the target each fuzz
// call's request arrived with, by the call's id.
type fuzzUpstream struct {
	mu   sync.Mutex
	seen map[string][]string // x-fuzz-id -> request targets
}

func (u *fuzzUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	u.mu.Lock()
	id := r.Header.Get("X-Fuzz-Id")
	u.seen[id] = append(u.seen[id], r.RequestURI)
	u.mu.Unlock()
	if strings.Contains(r.URL.RawQuery, "stream") {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sseEvent("message_start", `{"type":"message_start","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":3,"output_tokens":1}}}`))
		io.WriteString(w, sseEvent("message_stop", `{"type":"message_stop"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fuzz")
	io.WriteString(w, `{"id":"msg_1","type":"message","model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":3,"output_tokens":1}}`)
}

func (u *fuzzUpstream) take(id string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	got := u.seen[id]
	delete(u.seen, id)
	return got
}

// escapesV1 says what is wrong with a request target the upstream got, if
// anything: a path outside /v1/, or a dot segment however the upstream
// decodes it (percent-decoding, backslashes as slashes).
func escapesV1(target string) string {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return "unparsable target"
	}
	for _, p := range []string{u.EscapedPath(), u.Path} {
		if !strings.HasPrefix(p, "/v1/") {
			return "outside /v1/"
		}
		for seg := range strings.FieldsFuncSeq(p, func(r rune) bool { return r == '/' || r == '\\' }) {
			dec, err := url.PathUnescape(seg)
			if err != nil {
				dec = seg
			}
			for part := range strings.FieldsFuncSeq(dec, func(r rune) bool { return r == '/' || r == '\\' }) {
				if part == ".." || part == "." {
					return "dot segment " + strconv.Quote(part)
				}
			}
		}
	}
	return ""
}

// FuzzProxyRequest sends the proxy, in process, requests built from a
// method, a request target, header lines and a body, as net/http would parse
// them off the wire, with a fake upstream recording what reaches it. The
// proxy must not panic, and nothing it forwards may leave /v1/ or carry a
// dot segment.
//
// In CI: go test -run '^$' -fuzz FuzzProxyRequest -fuzztime 15s ./pkg/proxy
func FuzzProxyRequest(f *testing.F) {
	json := []byte(`{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`)
	f.Add("POST", "/v1/messages?beta=true", "Anthropic-Version: 2023-06-01\nContent-Type: application/json\nX-Api-Key: sk-ant-client", json)
	f.Add("POST", "/v1/messages?stream", "Content-Type: application/json\nCache-Control: no-cache", json)
	f.Add("POST", "/v1/messages", "X-Cco-Cache: bypass\nAuthorization: Bearer tok", json)
	f.Add("POST", "/v1/messages/count_tokens", "", json)
	f.Add("GET", "/v1/models", "Authorization: Bearer tok", []byte(nil))
	f.Add("GET", "/v1/../api/x", "", []byte(nil))
	f.Add("POST", "/v1/%2e%2e/api/x", "", json)
	f.Add("POST", "/v1/%2E%2e%2Fapi", "", json)
	f.Add("GET", "/v1/messages/../../x", "", []byte(nil))
	f.Add("GET", "/v1/./messages", "", []byte(nil))
	f.Add("GET", `/v1/..\..\api\x`, "", []byte(nil))
	f.Add("GET", "/v1/x%5c..%5c..%5capi", "", []byte(nil))
	f.Add("GET", "/v1/a/..%2f..%2fapi", "", []byte(nil))
	f.Add("GET", "/v1//messages//", "", []byte(nil))
	f.Add("GET", "/v1/files/a%2Fb", "", []byte(nil))
	f.Add("GET", "http://evil.example/v1/../x", "", []byte(nil))
	f.Add("OPTIONS", "*", "", []byte(nil))
	f.Add("CONNECT", "evil.example:443", "", []byte(nil))
	f.Add("POST", "/v1/messages", "Transfer-Encoding: chunked", []byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Add("POST", "/v1/messages", "Expect: 100-continue\nContent-Encoding: gzip", []byte{0x1f, 0x8b, 0, 0})
	f.Add("DELETE", "/v1/messages/batches/msgbatch_1?x=%2F..", "Connection: X-Api-Key", []byte(nil))

	up := &fuzzUpstream{seen: map[string][]string{}}
	srv := httptest.NewServer(up)
	f.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	quiet := logrus.New()
	quiet.Out = io.Discard
	c, err := cache.New(cache.Options{MaxBytes: 1 << 20, TTL: time.Minute})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(c.Close)
	p := New(Options{Upstream: target, APIKey: secret.New(testKey), MaxBodyBytes: 64 << 10, BodyTimeout: 5 * time.Second,
		HeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second, Logger: quiet, Now: time.Now,
		Cache: c, CacheMaxEntry: 64 << 10})

	var calls int
	f.Fuzz(func(t *testing.T, method, reqTarget, headers string, body []byte) {
		var raw bytes.Buffer
		raw.WriteString(method + " " + reqTarget + " HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n")
		for line := range strings.SplitSeq(headers, "\n") {
			if line = strings.TrimRight(line, "\r"); line != "" {
				raw.WriteString(line + "\r\n")
			}
		}
		if !strings.Contains(strings.ToLower(headers), "transfer-encoding") {
			raw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
		}
		raw.WriteString("\r\n")
		raw.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			return // net/http answers 400 itself; the proxy never sees it
		}
		calls++
		id := strconv.Itoa(calls)
		req.Header.Set("X-Fuzz-Id", id)
		req.RemoteAddr = "127.0.0.1:50000"
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if r := recover(); r != nil && r != http.ErrAbortHandler {
					t.Fatalf("%s %q panicked: %v", method, reqTarget, r)
				}
			}()
			p.ServeHTTP(rec, req)
		}()
		for _, got := range up.take(id) {
			if why := escapesV1(got); why != "" {
				t.Fatalf("%s %q reached the upstream as %q: %s", method, reqTarget, got, why)
			}
		}
		if st := p.Stats(); st.ArrivingBodyBytes != 0 || st.InFlight != 0 {
			t.Fatalf("after %s %q: %+v", method, reqTarget, st)
		}
	})
}

// escapesV1 itself must catch what the fuzz target looks for.
func TestEscapesV1(t *testing.T) {
	for target, bad := range map[string]bool{
		"/v1/messages?beta=true": false, "/v1/files/a%2Fb": false, "/v1/": false,
		"/v1/../api": true, "/v1/%2e%2e/api": true, "/v1/x/..%2Fy": true, `/v1/..\api`: true,
		"/v1/x%5c..": true, "/v1/./m": true, "/api/x": true, "/v1": true,
	} {
		if got := escapesV1(target) != ""; got != bad {
			t.Errorf("escapesV1(%q) = %q", target, escapesV1(target))
		}
	}
}

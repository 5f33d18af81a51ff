package proxy

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/cache"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// cachedFront is a Proxy with a response cache in front of the fake
// upstream, collecting what OnDone reports.
type cachedFront struct {
	base string
	up   *fakeapi.Upstream
	c    *cache.Cache
	mu   sync.Mutex
	done []Done
}

func newCachedFront(t *testing.T, scenario func(*fakeapi.Request) fakeapi.Scenario) *cachedFront {
	t.Helper()
	f := &cachedFront{up: fakeapi.NewUpstream(t, fakeapi.Options{Scenario: scenario})}
	c, err := cache.New(cache.Options{MaxBytes: 1 << 20, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f.c = c
	_, f.base, _ = front(t, f.up.URL, func(o *Options) {
		o.Cache, o.CacheMaxEntry = c, 1<<20
		o.OnDone = func(d Done) { f.mu.Lock(); f.done = append(f.done, d); f.mu.Unlock() }
	})
	return f
}

func (f *cachedFront) post(t *testing.T, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.base+"/v1/messages?beta=true", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Api-Key", "sk-ant-api03-cache-test")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	before := f.count()
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	// OnDone runs as the handler returns, which may be just after the
	// client has read the last byte: wait for this request's report.
	for deadline := time.Now().Add(5 * time.Second); f.count() == before; {
		if time.Now().After(deadline) {
			t.Fatal("OnDone did not report the request")
		}
		time.Sleep(time.Millisecond)
	}
	return resp, got
}

func (f *cachedFront) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.done)
}

func (f *cachedFront) last() Done {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done[len(f.done)-1]
}

func streamReq(session string) string {
	return `{"model":"claude-haiku-4-5","max_tokens":64,"stream":true,"metadata":{"user_id":"{\"session_id\":\"` + session + `\"}"},"messages":[{"role":"user","content":"hi"}]}`
}

func TestCacheMissThenHit(t *testing.T) {
	usage := fakeapi.Usage{Input: 40, Output: 9, CacheRead: 100}
	f := newCachedFront(t, func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{ToolUse: true, Text: "x", Usage: usage}
	})
	for _, json := range []bool{false, true} {
		body := streamReq("s-1")
		if json {
			body = strings.Replace(body, `"stream":true`, `"stream":false`, 1)
		}
		f.up.Reset()
		r1, b1 := f.post(t, body)
		d1 := f.last()
		r2, b2 := f.post(t, strings.Replace(body, "s-1", "s-2", 1)) // another session: same answer
		d2 := f.last()
		if r1.Header.Get("X-Cco-Cache") != "MISS" || r2.Header.Get("X-Cco-Cache") != "HIT" {
			t.Fatalf("json=%v: x-cco-cache %q then %q", json, r1.Header.Get("X-Cco-Cache"), r2.Header.Get("X-Cco-Cache"))
		}
		if len(f.up.Requests()) != 1 {
			t.Errorf("json=%v: the hit reached the upstream (%d requests)", json, len(f.up.Requests()))
		}
		if !bytes.Equal(b1, b2) || r1.Header.Get("Content-Type") != r2.Header.Get("Content-Type") || r1.Header.Get("Request-Id") != r2.Header.Get("Request-Id") {
			t.Errorf("json=%v: replay differs:\n%q\n%q", json, b1, b2)
		}
		if d1.CacheHit || !d2.CacheHit || d1.Usage.Tokens != d2.Usage.Tokens || d2.Usage.Tokens.Input != 40 || d2.Usage.Tokens.CacheRead != 100 || d2.Usage.Stream == json {
			t.Errorf("json=%v: done %+v then %+v", json, d1, d2)
		}
		if d1.TTFB <= 0 || d1.Latency < d1.TTFB || d2.Status != 200 {
			t.Errorf("json=%v: timings %+v", json, d1)
		}
		if d1.Upstream <= 0 || d1.Upstream > d1.Latency || d2.Upstream != 0 {
			t.Errorf("json=%v: upstream time %v of %v for the miss, %v for the hit (want 0)", json, d1.Upstream, d1.Latency, d2.Upstream)
		}
	}
}

func TestCacheBypassAndWhatIsNotStored(t *testing.T) {
	var mu sync.Mutex
	sc := fakeapi.Scenario{}
	f := newCachedFront(t, func(*fakeapi.Request) fakeapi.Scenario { mu.Lock(); defer mu.Unlock(); return sc })
	set := func(s fakeapi.Scenario) { mu.Lock(); sc = s; mu.Unlock() }
	state := func(body string, hdr ...string) string {
		r, _ := f.post(t, body, hdr...)
		return r.Header.Get("X-Cco-Cache")
	}
	// Bypass on the client's word, in both spellings; bypassed answers are not stored.
	if s := state(streamReq("a"), "Cache-Control", "no-cache"); s != "BYPASS" {
		t.Errorf("cache-control: no-cache: %q", s)
	}
	if s := state(streamReq("a"), "X-Cco-Cache", "bypass"); s != "BYPASS" {
		t.Errorf("x-cco-cache: bypass: %q", s)
	}
	if reqs := f.up.Requests(); reqs[len(reqs)-1].Header.Get("X-Cco-Cache") != "" {
		t.Error("x-cco-cache reached the upstream")
	}
	if s := state(streamReq("a")); s != "MISS" {
		t.Errorf("after bypasses: %q, want MISS (bypassed answers are not stored)", s)
	}
	// Errors, mid-stream errors and cut streams are never stored.
	for i, s := range []fakeapi.Scenario{{Status: 529}, {Status: 400}, {ErrorAfter: 3}} {
		set(s)
		body := strings.Replace(streamReq("b"), `"hi"`, fmt.Sprintf(`"question %d"`, i), 1)
		for range 2 {
			if got := state(body); got != "MISS" {
				t.Errorf("scenario %+v: %q, want MISS twice", s, got)
			}
		}
	}
	// Other routes carry no x-cco-cache.
	req, _ := http.NewRequest("GET", f.base+"/v1/models", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Cco-Cache") != "" {
		t.Error("x-cco-cache on /v1/models")
	}
	if st := f.c.Stats(); st.Bypasses != 2 || st.Stores != 1 {
		t.Errorf("cache stats %+v", st)
	}
}

// Two API keys never share an answer.
func TestCacheSeparatesCredentials(t *testing.T) {
	f := newCachedFront(t, nil)
	r1, _ := f.post(t, streamReq("a"))
	r2, _ := f.post(t, streamReq("a"), "X-Api-Key", "sk-ant-api03-someone-else")
	r3, _ := f.post(t, streamReq("a"))
	if r1.Header.Get("X-Cco-Cache") != "MISS" || r2.Header.Get("X-Cco-Cache") != "MISS" || r3.Header.Get("X-Cco-Cache") != "HIT" {
		t.Errorf("%s %s %s", r1.Header.Get("X-Cco-Cache"), r2.Header.Get("X-Cco-Cache"), r3.Header.Get("X-Cco-Cache"))
	}
}

// A compressed answer passes compressed, is stored decoded, and is
// replayed without Content-Encoding.
func TestCacheStoresCompressedAnswersDecoded(t *testing.T) {
	f := newCachedFront(t, func(*fakeapi.Request) fakeapi.Scenario { return fakeapi.Scenario{Gzip: true} })
	r1, b1 := f.post(t, streamReq("g"), "Accept-Encoding", "gzip")
	if r1.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("first answer not gzip: %v", r1.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b1))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	r2, b2 := f.post(t, streamReq("g"), "Accept-Encoding", "gzip")
	if r2.Header.Get("X-Cco-Cache") != "HIT" || r2.Header.Get("Content-Encoding") != "" || !bytes.Equal(b2, plain) {
		t.Errorf("replay: %v\n%q\nwant %q", r2.Header, b2, plain)
	}
	if d := f.last(); d.Usage.Tokens.Input != fakeapi.DefaultInputTokens || !d.CacheHit {
		t.Errorf("usage of the hit: %+v", d)
	}
}

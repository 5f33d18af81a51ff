package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/live"
)

type pagesFixture struct {
	srv     *Server
	hub     *live.Hub
	cleared atomic.Int32
	asked   chan [2]int64
}

func newPages(t *testing.T) *pagesFixture {
	t.Helper()
	f := &pagesFixture{hub: live.New(control.MaxLiveSessions), asked: make(chan [2]int64, 10)}
	f.srv, _, _ = newLimited(t, func(o *Options) {
		o.Live = f.hub
		o.ClearCache = func() { f.cleared.Add(1) }
		o.CacheStats = func() *control.CacheStats { return &control.CacheStats{Enabled: true} }
		o.Requests = func(_ context.Context, limit int, before int64) (*control.Requests, error) {
			f.asked <- [2]int64{int64(limit), before}
			return &control.Requests{Requests: []control.Request{{ID: 7, Model: "claude-sonnet-4-5"}}, NextBefore: 7}, nil
		}
		o.Instance = func() control.Instance {
			return control.Instance{Listen: "http://127.0.0.1:3000", Upstream: "https://upstream.test", Database: "/d/analytics.db"}
		}
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("# metrics\n")) })
		o.APILimit = Limit{PerMinute: 1000, Concurrent: 2}
	})
	return f
}

const page = "http://127.0.0.1:3000"

// Every dashboard route follows the Host and Origin rules.
func TestPageRoutesHostAndOrigin(t *testing.T) {
	f := newPages(t)
	routes := []struct{ method, path string }{{"GET", "/"}, {"GET", "/api/events"}, {"GET", "/metrics"}, {"GET", "/api/requests"},
		{"GET", "/api/instance"}, {"GET", "/api/stats"}, {"POST", "/api/page/token"}, {"POST", "/api/page/cache/clear"}}
	for _, r := range routes {
		for _, hdr := range []map[string]string{{"Host": "evil.example:3000"}, {"Origin": "https://evil.example"}, {"Origin": "http://localhost:3000"}} {
			host := "127.0.0.1:3000"
			if h, ok := hdr["Host"]; ok {
				host = h
			}
			rec := request(f.srv, r.method, r.path, "127.0.0.1:5000", host, hdr)
			if rec.Code != 403 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s %s %v: %d %s", r.method, r.path, hdr, rec.Code, rec.Body)
			}
		}
	}
	if f.hub.Subscribers() != 0 || f.cleared.Load() != 0 {
		t.Fatal("a refused request subscribed or cleared")
	}
}

// The page token goes only to the page cco served, and only it clears the
// cache.
func TestPageTokenAndCacheClear(t *testing.T) {
	f := newPages(t)
	same := map[string]string{"Origin": page, "Sec-Fetch-Site": "same-origin"}
	for _, hdr := range []map[string]string{
		nil, // curl, or a page's <img>/<script>: no Origin
		{"Sec-Fetch-Site": "same-origin"},
		{"Origin": page, "Sec-Fetch-Site": "cross-site"},
	} {
		if rec := request(f.srv, "POST", "/api/page/token", "127.0.0.1:5000", "127.0.0.1:3000", hdr); rec.Code != 403 {
			t.Errorf("token with %v: %d %s", hdr, rec.Code, rec.Body)
		}
	}
	if rec := request(f.srv, "GET", "/api/page/token", "127.0.0.1:5000", "127.0.0.1:3000", same); rec.Code == 200 {
		t.Error("token served to GET")
	}
	rec := request(f.srv, "POST", "/api/page/token", "127.0.0.1:5000", "127.0.0.1:3000", same)
	var tok control.PageToken
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &tok) != nil || len(tok.Token) != 64 || tok.Token == token {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header on the token")
	}
	for _, hdr := range []map[string]string{
		{"Origin": page},
		{"Origin": page, control.PageTokenHeader: strings.Repeat("0", 64)},
		{"Origin": page, control.TokenHeader: token},
		{control.PageTokenHeader: tok.Token}, // no Origin: not the page
	} {
		if rec := request(f.srv, "POST", "/api/page/cache/clear", "127.0.0.1:5000", "127.0.0.1:3000", hdr); rec.Code/100 != 4 {
			t.Errorf("clear with %v: %d", hdr, rec.Code)
		}
	}
	if f.cleared.Load() != 0 {
		t.Fatal("cleared without the page token")
	}
	rec = request(f.srv, "POST", "/api/page/cache/clear", "127.0.0.1:5000", "127.0.0.1:3000",
		map[string]string{"Origin": page, "Sec-Fetch-Site": "same-origin", control.PageTokenHeader: tok.Token})
	if rec.Code != 200 || f.cleared.Load() != 1 {
		t.Fatalf("clear: %d %s, cleared %d", rec.Code, rec.Body, f.cleared.Load())
	}
	// The page token is not a control token.
	if rec := request(f.srv, "POST", control.CacheClearPath, "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{control.TokenHeader: tok.Token}); rec.Code != 401 {
		t.Errorf("page token on the control route: %d", rec.Code)
	}
}

func TestRequestsRoute(t *testing.T) {
	f := newPages(t)
	rec := request(f.srv, "GET", "/api/requests?limit=20&before=99", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	if rec.Code != 200 || <-f.asked != [2]int64{20, 99} {
		t.Fatalf("requests: %d %s", rec.Code, rec.Body)
	}
	var got control.Requests
	if json.Unmarshal(rec.Body.Bytes(), &got) != nil || len(got.Requests) != 1 || got.NextBefore != 7 {
		t.Errorf("body %s", rec.Body)
	}
	request(f.srv, "GET", "/api/requests", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	if a := <-f.asked; a != [2]int64{0, 0} {
		t.Errorf("defaults asked %v", a)
	}
	for _, q := range []string{"limit=0", "limit=x", "limit=-3", "before=0", "before=abc"} {
		rec := request(f.srv, "GET", "/api/requests?"+q, "127.0.0.1:5000", "127.0.0.1:3000", nil)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_request_error") {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
}

func TestInstanceRoute(t *testing.T) {
	f := newPages(t)
	rec := request(f.srv, "GET", "/api/instance", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	var in control.Instance
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &in) != nil {
		t.Fatalf("instance: %d %s", rec.Code, rec.Body)
	}
	if in.Version != "2025.11.2" || in.Listen != "http://127.0.0.1:3000" || in.Database != "/d/analytics.db" || in.Upstream != "https://upstream.test" {
		t.Errorf("instance %+v", in)
	}
}

// sse reads an event stream's events as "name data" strings.
func sse(t *testing.T, body *bufio.Reader, n int) []string {
	t.Helper()
	var out []string
	event := ""
	for len(out) < n {
		line, err := body.ReadString('\n')
		if err != nil {
			t.Fatalf("after %v: %v", out, err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			out = append(out, event+" "+strings.TrimPrefix(line, "data: "))
		}
	}
	return out
}

// TestEvents: published requests arrive; the sixth stream is refused with
// a 429 envelope; live streams do not use up the concurrency limit; a
// stream that falls behind is told what it lost; stopping ends streams.
func TestEvents(t *testing.T) {
	f := newPages(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	open := func() *http.Response {
		req, _ := http.NewRequest("GET", ts.URL+"/api/events", nil)
		req.Host = "127.0.0.1:3000"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var streams []*http.Response
	for range control.MaxLiveSessions {
		resp := open()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream %d: %d", len(streams), resp.StatusCode)
		}
		streams = append(streams, resp)
	}
	// Five open streams, concurrency limit 2: other API calls still pass.
	if rec := request(f.srv, "GET", "/api/instance", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 200 {
		t.Fatalf("API call beside live streams: %d", rec.Code)
	}
	sixth := open()
	var env struct {
		Type  string `json:"type"`
		Error struct{ Type, Message string }
	}
	json.NewDecoder(sixth.Body).Decode(&env)
	sixth.Body.Close()
	if sixth.StatusCode != 429 || env.Type != "error" || env.Error.Type != "rate_limit_error" || !strings.Contains(env.Error.Message, "at most 5 live") {
		t.Fatalf("sixth stream: %d %+v", sixth.StatusCode, env)
	}
	for f.hub.Subscribers() != control.MaxLiveSessions {
		time.Sleep(time.Millisecond)
	}
	f.hub.Publish(control.Request{Model: "claude-opus-4-5", Status: 200, RequestID: "req_1", CostUSD: 0.25})
	r0 := bufio.NewReader(streams[0].Body)
	got := sse(t, r0, 1)[0]
	var req control.Request
	if !strings.HasPrefix(got, "request ") || json.Unmarshal([]byte(strings.TrimPrefix(got, "request ")), &req) != nil || req.RequestID != "req_1" || req.CostUSD != 0.25 {
		t.Fatalf("event %q", got)
	}
	// Far more than a stream's buffer, published at once: the proxy's side
	// never waits, so some are dropped, and the stream says how many.
	const burst = 20 * live.Buffer
	for i := range burst {
		f.hub.Publish(control.Request{Model: "m", Status: 200, ID: int64(i)})
	}
	r1 := bufio.NewReader(streams[1].Body)
	var requests, dropped int64
	for requests+dropped < burst+1 {
		ev := sse(t, r1, 1)[0]
		switch name, data, _ := strings.Cut(ev, " "); name {
		case "request":
			requests++
		case "dropped":
			var d control.Dropped
			if json.Unmarshal([]byte(data), &d) != nil || d.Dropped < 1 {
				t.Fatalf("dropped event %q", ev)
			}
			dropped += d.Dropped
		}
	}
	if dropped == 0 || requests+dropped != burst+1 {
		t.Errorf("received %d and dropped %d of %d", requests, dropped, burst+1)
	}
	// Closing one stream frees its place.
	streams[4].Body.Close()
	for f.hub.Subscribers() == control.MaxLiveSessions {
		time.Sleep(time.Millisecond)
	}
	again := open()
	if again.StatusCode != 200 {
		t.Fatalf("after a close: %d", again.StatusCode)
	}
	// Stopping ends every stream.
	f.srv.SetStopping()
	for _, resp := range append(streams[:4], again) {
		done := make(chan error, 1)
		go func() {
			_, err := bufio.NewReader(resp.Body).ReadString(0)
			done <- err
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("a stream outlived SetStopping")
		}
		resp.Body.Close()
	}
}

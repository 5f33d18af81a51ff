package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/secret"
)

const testKey = "sk-ant-api03-injected-key-0123456789"

// front serves a Proxy for upstream on a real 127.0.0.1 socket.
func front(t *testing.T, upstream string, mutate func(*Options)) (*Proxy, string, *ccoproc.Buffer) {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	logs := &ccoproc.Buffer{}
	log := logrus.New()
	log.Out = logs
	log.Level = logrus.DebugLevel
	opts := Options{Upstream: u, APIKey: secret.New(testKey), MaxBodyBytes: 1 << 20, HeaderTimeout: 10 * time.Second,
		IdleTimeout: 10 * time.Second, Logger: log, Now: time.Now}
	if mutate != nil {
		mutate(&opts)
	}
	p := New(opts)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL, logs
}

// seen is what the echo upstream reports about the request it got.
type seen struct {
	Method   string
	Path     string
	RawQuery string
	Host     string
	Header   http.Header
	Body     string
}

func echoUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("request-id", "req_echo")
		h.Set("anthropic-ratelimit-requests-remaining", "49")
		h.Set("anthropic-ratelimit-tokens-reset", "2026-11-27T10:00:00Z")
		h.Set("retry-after", "3")
		h.Set("x-should-retry", "true")
		h.Set("Keep-Alive", "timeout=5") // hop-by-hop: must not reach the client
		status := http.StatusOK
		if r.URL.Query().Get("status") != "" {
			fmt.Sscan(r.URL.Query().Get("status"), &status)
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header, string(body)})
	}))
	t.Cleanup(up.Close)
	return up
}

func TestForwardsRequestsAndResponsesUnchanged(t *testing.T) {
	up := echoUpstream(t)
	_, base, _ := front(t, up.URL, nil)
	body := `{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}],"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}],"future_field":{"a":1}}`
	req, _ := http.NewRequest("POST", base+"/v1/messages?beta=true&x=%2F", strings.NewReader(body))
	end2end := map[string]string{
		"Authorization":            "Bearer sk-ant-oat01-client-token",
		"Anthropic-Version":        "2023-06-01",
		"Anthropic-Beta":           "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14",
		"X-Claude-Code-Session-Id": "0f3c2d1e-session",
		"X-App":                    "cli",
		"X-Stainless-Os":           "Linux",
		"User-Agent":               "claude-cli/2.1.0 (external, cli)",
		"Accept-Encoding":          "gzip, deflate, br, zstd",
		"Content-Type":             "application/json",
		"Anthropic-Dangerous-Direct-Browser-Access": "true",
	}
	for k, v := range end2end {
		req.Header.Set(k, v)
	}
	req.Header.Set("Connection", "keep-alive, X-Hop")
	req.Header.Set("X-Hop", "only for the next hop")
	req.Header.Set("Proxy-Authorization", "Basic abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got seen
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.Path != "/v1/messages" || got.RawQuery != "beta=true&x=%2F" || got.Body != body {
		t.Errorf("upstream saw %s %s?%s body %q", got.Method, got.Path, got.RawQuery, got.Body)
	}
	if got.Host != strings.TrimPrefix(up.URL, "http://") {
		t.Errorf("upstream Host %q", got.Host)
	}
	for k, v := range end2end {
		if g := got.Header.Get(k); g != v {
			t.Errorf("header %s: upstream got %q, want %q", k, g, v)
		}
	}
	for _, k := range []string{"X-Hop", "Proxy-Authorization", "X-Forwarded-For", "X-Forwarded-Host", "Via"} {
		if v, ok := got.Header[http.CanonicalHeaderKey(k)]; ok {
			t.Errorf("header %s reached the upstream: %q", k, v)
		}
	}
	if got.Header.Get("X-Api-Key") != "" {
		t.Error("x-api-key added to a request that carried authorization")
	}
	for k, v := range map[string]string{"request-id": "req_echo", "anthropic-ratelimit-requests-remaining": "49",
		"anthropic-ratelimit-tokens-reset": "2026-11-27T10:00:00Z", "retry-after": "3", "x-should-retry": "true"} {
		if g := resp.Header.Get(k); g != v {
			t.Errorf("response header %s = %q, want %q", k, g, v)
		}
	}
	if resp.Header.Get("Keep-Alive") != "" {
		t.Error("hop-by-hop Keep-Alive reached the client")
	}
}

func TestUpstreamStatusesPassThrough(t *testing.T) {
	up := echoUpstream(t)
	_, base, _ := front(t, up.URL, nil)
	for _, status := range []int{400, 401, 403, 404, 413, 429, 500, 529} {
		resp, err := http.Post(fmt.Sprintf("%s/v1/messages?status=%d", base, status), "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status || resp.Header.Get("request-id") != "req_echo" {
			t.Errorf("status %d came back as %d", status, resp.StatusCode)
		}
	}
}

func TestAPIKeyInjection(t *testing.T) {
	up := echoUpstream(t)
	_, base, logs := front(t, up.URL, nil)
	ask := func(h map[string]string) http.Header {
		req, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader("{}"))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got seen
		json.NewDecoder(resp.Body).Decode(&got)
		return got.Header
	}
	if h := ask(nil); h.Get("X-Api-Key") != testKey {
		t.Errorf("no credentials: x-api-key %q", h.Get("X-Api-Key"))
	}
	if h := ask(map[string]string{"X-Api-Key": "sk-ant-api03-client"}); h.Get("X-Api-Key") != "sk-ant-api03-client" {
		t.Errorf("client key altered: %q", h.Get("X-Api-Key"))
	}
	if h := ask(map[string]string{"Authorization": "Bearer tok-123456"}); h.Get("X-Api-Key") != "" || h.Get("Authorization") != "Bearer tok-123456" {
		t.Errorf("bearer request altered: %v", h)
	}
	if strings.Contains(logs.String(), "injected-key") || strings.Contains(logs.String(), "sk-ant-api03-client") {
		t.Errorf("a key reached the log:\n%s", logs)
	}
	// Without a configured key nothing is added.
	_, base2, _ := front(t, up.URL, func(o *Options) { o.APIKey = secret.Secret{} })
	resp, _ := http.Post(base2+"/v1/messages", "application/json", strings.NewReader("{}"))
	var got seen
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.Header.Get("X-Api-Key") != "" {
		t.Error("x-api-key invented")
	}
}

// stepUpstream sends one SSE event each time the test asks, so the test can
// check that each event reaches the client before the next one exists.
type stepUpstream struct {
	next   chan string // events to send; closed to end the stream
	cancel chan struct{}
}

func (s *stepUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	w.(http.Flusher).Flush()
	for {
		select {
		case ev, ok := <-s.next:
			if !ok {
				return
			}
			io.WriteString(w, ev)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			close(s.cancel)
			return
		}
	}
}

func sseEvent(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }

func TestStreamsEventByEvent(t *testing.T) {
	step := &stepUpstream{next: make(chan string), cancel: make(chan struct{})}
	up := httptest.NewServer(step)
	defer up.Close()
	_, base, _ := front(t, up.URL, nil)
	resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	events := []string{
		sseEvent("message_start", `{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"output_tokens":1}}}`),
		sseEvent("ping", `{"type": "ping"}`),
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}`),
		sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}`),
		sseEvent("message_stop", `{"type":"message_stop"}`),
	}
	br := bufio.NewReader(resp.Body)
	var all bytes.Buffer
	for _, ev := range events {
		step.next <- ev // the upstream sends it only now
		got := readEvent(t, br)
		if got != ev {
			t.Fatalf("got event %q, want %q", got, ev)
		}
		all.WriteString(got)
	}
	close(step.next)
	rest, _ := io.ReadAll(br)
	if len(rest) != 0 {
		t.Errorf("extra bytes after the stream: %q", rest)
	}
	if all.String() != strings.Join(events, "") {
		t.Error("stream not byte-identical")
	}
}

// readEvent reads one SSE event (through its blank line).
func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var ev strings.Builder
	for {
		line, err := br.ReadString('\n')
		ev.WriteString(line)
		if err != nil {
			t.Fatalf("reading event: %v (so far %q)", err, ev.String())
		}
		if line == "\n" {
			return ev.String()
		}
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	step := &stepUpstream{next: make(chan string), cancel: make(chan struct{})}
	up := httptest.NewServer(step)
	defer up.Close()
	p, base, _ := front(t, up.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/messages", strings.NewReader(`{"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	step.next <- sseEvent("message_start", `{}`)
	readEvent(t, bufio.NewReader(resp.Body))
	cancel() // the client goes away mid-stream
	select {
	case <-step.cancel:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream request not cancelled after the client left")
	}
	waitFor(t, func() bool { return p.Stats().InFlight == 0 })
	if st := p.Stats(); st.UpstreamErrors != 0 || st.Requests != 1 {
		t.Errorf("stats after a client left: %+v", st)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func decodeEnvelope(t *testing.T, r io.Reader) apierror.Envelope {
	t.Helper()
	var env apierror.Envelope
	if err := json.NewDecoder(r).Decode(&env); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestBodyLimit(t *testing.T) {
	up := echoUpstream(t)
	p, base, _ := front(t, up.URL, func(o *Options) { o.MaxBodyBytes = 1000 })
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(strings.Repeat("x", 1001))
		if chunked {
			body = io.MultiReader(strings.NewReader(strings.Repeat("x", 600)), strings.NewReader(strings.Repeat("y", 401)))
		}
		req, _ := http.NewRequest("POST", base+"/v1/messages", body)
		if chunked {
			req.ContentLength = -1
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		env := decodeEnvelope(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || env.Error.Type != "request_too_large" || resp.Header.Get("x-should-retry") != "false" {
			t.Errorf("chunked=%v: %d %+v %v", chunked, resp.StatusCode, env, resp.Header)
		}
	}
	// At the limit it passes.
	resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader(strings.Repeat("x", 1000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("body at the limit: %d", resp.StatusCode)
	}
	if st := p.Stats(); st.Requests != 3 || st.UpstreamErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Done.Upstream is the upstream's part of the latency: from the hand-off to
// the Transport to the end of the upstream's body, or to the Transport's
// failure; nothing for a request that never went upstream.
func TestUpstreamTime(t *testing.T) {
	const pause = 30 * time.Millisecond
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Query().Get("hang") != "" {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_1",`)
		http.NewResponseController(w).Flush()
		time.Sleep(pause) // the body ends a pause after it began
		io.WriteString(w, `"usage":{"input_tokens":5,"output_tokens":1}}`)
	}))
	t.Cleanup(up.Close)
	done := make(chan Done, 1)
	_, base, _ := front(t, up.URL, func(o *Options) {
		o.MaxBodyBytes = 1000
		o.HeaderTimeout = 4 * pause
		o.OnDone = func(d Done) { done <- d }
	})
	post := func(query, body string) Done {
		t.Helper()
		resp, err := http.Post(base+"/v1/messages"+query, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		select {
		case d := <-done:
			return d
		case <-time.After(5 * time.Second):
			t.Fatal("OnDone did not report the request")
			return Done{}
		}
	}
	if d := post("", "{}"); d.Status != 200 || d.Upstream < pause || d.Upstream > d.Latency {
		t.Errorf("proxied: upstream %v of latency %v (status %d), want at least %v and at most the latency", d.Upstream, d.Latency, d.Status, pause)
	}
	// An upstream that never answers: its time is the upstream's, not cco's.
	if d := post("?hang=1", "{}"); d.Status != 504 || d.Upstream < 4*pause || d.Upstream > d.Latency {
		t.Errorf("header timeout: upstream %v of latency %v (status %d)", d.Upstream, d.Latency, d.Status)
	}
	if d := post("", strings.Repeat("x", 1001)); d.Status != 413 || d.Upstream != 0 {
		t.Errorf("refused body: upstream %v (status %d), want 0", d.Upstream, d.Status)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	p, base, logs := front(t, dead, nil)
	resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	env := decodeEnvelope(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || env.Type != "error" || env.Error.Type != "api_error" || !strings.Contains(env.Error.Message, "could not connect") {
		t.Errorf("%d %+v", resp.StatusCode, env)
	}
	if p.Stats().UpstreamErrors != 1 {
		t.Errorf("stats %+v", p.Stats())
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log lacks the detail:\n%s", logs)
	}
}

func TestHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	defer close(release)
	_, base, _ := front(t, up.URL, func(o *Options) { o.HeaderTimeout = 200 * time.Millisecond })
	resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	env := decodeEnvelope(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 504 || env.Error.Type != "timeout_error" {
		t.Errorf("%d %+v", resp.StatusCode, env)
	}
}

// A stream that goes silent is ended with an SSE error event, so the
// client's SDK raises an error instead of waiting forever.
func TestIdleTimeoutEndsStreamWithErrorEvent(t *testing.T) {
	step := &stepUpstream{next: make(chan string), cancel: make(chan struct{})}
	up := httptest.NewServer(step)
	defer up.Close()
	p, base, _ := front(t, up.URL, func(o *Options) { o.IdleTimeout = 300 * time.Millisecond })
	resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := sseEvent("message_start", `{"type":"message_start"}`)
	step.next <- first
	body, err := io.ReadAll(resp.Body) // the upstream never sends more
	if err != nil {
		t.Fatalf("stream ended with a broken connection instead of an event: %v", err)
	}
	want := first + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"timeout_error\",\"message\":\"the upstream sent nothing for 300ms (upstream.idle_timeout)\"}}\n\n"
	if string(body) != want {
		t.Errorf("got %q\nwant %q", body, want)
	}
	select {
	case <-step.cancel:
	case <-time.After(10 * time.Second):
		t.Fatal("silent upstream request not cancelled")
	}
	if p.Stats().UpstreamErrors != 1 {
		t.Errorf("stats %+v", p.Stats())
	}
}

// An upstream that dies in the middle of an event: the partial event is
// closed off and an error event follows.
func TestUpstreamDiesMidStream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sseEvent("message_start", "{}")+"event: content_block_delta\ndata: {\"ty")
		w.(http.Flusher).Flush()
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	}))
	defer up.Close()
	_, base, _ := front(t, up.URL, nil)
	resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !strings.HasSuffix(string(body), "data: {\"ty\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"the upstream connection failed mid-response\"}}\n\n") {
		t.Errorf("body %q", body)
	}
}

// Upstream connections are pooled: sequential requests reuse one.
func TestUpstreamConnectionsReused(t *testing.T) {
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "{}")
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	_, base, _ := front(t, up.URL, nil)
	for range 50 {
		resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("50 sequential requests opened %d upstream connections, want 1", n)
	}
}

// TLS to the upstream is verified, and HTTP/2 is used where offered.
func TestUpstreamTLSAndHTTP2(t *testing.T) {
	var proto atomic.Value
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
		io.WriteString(w, "{}")
	}))
	up.EnableHTTP2 = true
	up.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	up.StartTLS()
	defer up.Close()
	roots := x509.NewCertPool()
	roots.AddCert(up.Certificate())

	_, base, _ := front(t, up.URL, func(o *Options) { o.RootCAs = roots })
	resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || proto.Load() != "HTTP/2.0" {
		t.Errorf("status %d, upstream saw %v", resp.StatusCode, proto.Load())
	}

	// Without trusting the upstream's certificate: refused, and no retry.
	p, base, logs := front(t, up.URL, nil)
	resp, err = http.Post(base+"/v1/messages", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	env := decodeEnvelope(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || !strings.Contains(env.Error.Message, "TLS certificate could not be verified") || resp.Header.Get("x-should-retry") != "false" {
		t.Errorf("untrusted upstream: %d %+v", resp.StatusCode, env)
	}
	if p.Stats().UpstreamErrors != 1 || !strings.Contains(logs.String(), "certificate") {
		t.Errorf("stats %+v log %s", p.Stats(), logs)
	}
}

// Request bodies are pooled; concurrent requests must still each reach the
// upstream with their own bytes, also when the upstream answers before it
// has read them.
func TestBodiesNeverMix(t *testing.T) {
	var bad atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := r.Header.Get("X-Want")
		if r.URL.Query().Get("early") != "" {
			// Answer in full first (the proxy's client has all of it and
			// the handler is done), then read the body, slowly (net/http
			// allows it in full duplex).
			http.NewResponseController(w).EnableFullDuplex()
			w.Header().Set("Content-Length", "2")
			w.WriteHeader(200)
			io.WriteString(w, "ok")
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
		got, _ := io.ReadAll(r.Body)
		// The tag, then one letter to the end: a buffer reused while the
		// Transport still wrote from it would change the bytes after the tag.
		// (On loopback the kernel takes a 20 KB body in one write, so this
		// seldom catches a buffer returned too early; it does catch bodies
		// mixed or cut on the way.)
		rest := strings.TrimPrefix(string(got), want)
		if len(got) != 20000 || len(rest) == len(got) || rest != strings.Repeat(rest[:1], len(rest)) {
			bad.Add(1)
		}
	}))
	defer up.Close()
	_, base, _ := front(t, up.URL, nil)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			tag := fmt.Sprintf("body-%04d-", i)
			body := tag + strings.Repeat(string(rune('a'+i%26)), 20000-len(tag))
			q := ""
			if i%2 == 0 {
				q = "?early=1"
			}
			req, _ := http.NewRequest("POST", base+"/v1/messages"+q, strings.NewReader(body))
			req.Header.Set("X-Want", tag)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d requests reached the upstream with the wrong body", bad.Load())
	}
}

package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowClient declares a body of declared bytes on a POST to /v1/messages,
// sends sent bytes of it and then nothing more.
type slowClient struct {
	conn net.Conn
	br   *bufio.Reader
}

func startSlowClient(t *testing.T, base string, declared, sent int) *slowClient {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", declared)
	if _, err := io.WriteString(conn, head+strings.Repeat("{", sent)); err != nil {
		t.Fatal(err)
	}
	return &slowClient{conn: conn, br: bufio.NewReader(conn)}
}

// answer waits for the response (or the test's patience to end).
func (c *slowClient) answer(t *testing.T) (*http.Response, error) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, nil
}

// countingUpstream counts the requests that reached it.
func countingUpstream(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(up.Close)
	return up, &n
}

// A client that declares a 32 MiB body and sends one byte gets 408 in the
// Anthropic envelope once the body timeout passes; meanwhile the proxy holds
// a first chunk, not the declared length, and the upstream sees nothing.
func TestSlowBodyGets408(t *testing.T) {
	up, reached := countingUpstream(t)
	p, base, logs := front(t, up.URL, func(o *Options) {
		o.MaxBodyBytes = 32 << 20
		o.BodyTimeout = 300 * time.Millisecond
	})
	c := startSlowClient(t, base, 32<<20, 1)
	waitFor(t, func() bool { return p.Stats().ArrivingBodyBytes > 0 })
	if held := p.Stats().ArrivingBodyBytes; held > firstChunk {
		t.Errorf("one byte arrived of a declared 32 MiB; the proxy holds %d bytes", held)
	}
	resp, err := c.answer(t)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	env := decodeEnvelope(t, resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || env.Type != "error" || env.Error.Type != "invalid_request_error" ||
		!strings.Contains(env.Error.Message, "server.body_timeout") {
		t.Errorf("slow body: %d %+v", resp.StatusCode, env)
	}
	if !resp.Close {
		t.Error("the connection of a body left unread stays open")
	}
	waitFor(t, func() bool { return p.Stats().InFlight == 0 })
	if st := p.Stats(); st.ArrivingBodyBytes != 0 || st.UpstreamErrors != 0 {
		t.Errorf("after the 408: %+v", st)
	}
	if reached.Load() != 0 {
		t.Errorf("a slow body reached the upstream %d times", reached.Load())
	}
	if !strings.Contains(logs.String(), "body timeout") {
		t.Errorf("the 408 is not in the log:\n%s", logs)
	}
	// A body that arrives in time, over several writes, is forwarded whole.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := strings.Repeat("x", 150_000)
	fmt.Fprintf(conn, "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n", len(body))
	for i := 0; i < len(body); i += 50_000 {
		io.WriteString(conn, body[i:i+50_000])
		time.Sleep(20 * time.Millisecond)
	}
	ok, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || ok.StatusCode != 200 || reached.Load() != 1 {
		t.Fatalf("a body sent in parts: %v %v, upstream reached %d times", ok, err, reached.Load())
	}
}

// Many slow clients each hold at most a first chunk, not what they declare,
// and all get 408 without the upstream seeing one of them.
func TestSlowBodiesDoNotReserveDeclaredLengths(t *testing.T) {
	up, reached := countingUpstream(t)
	p, base, _ := front(t, up.URL, func(o *Options) {
		o.MaxBodyBytes = 32 << 20
		o.BodyTimeout = 2 * time.Second
	})
	const clients = 40
	var cs []*slowClient
	for range clients {
		cs = append(cs, startSlowClient(t, base, 32<<20, 1))
	}
	waitFor(t, func() bool { return p.Stats().InFlight == clients && p.Stats().ArrivingBodyBytes >= clients*firstChunk })
	if held := p.Stats().ArrivingBodyBytes; held > clients*firstChunk {
		t.Errorf("%d clients declared 32 MiB each and sent a byte; the proxy holds %d bytes (%d each)", clients, held, held/clients)
	}
	var wg sync.WaitGroup
	var not408 atomic.Int32
	for _, c := range cs {
		wg.Go(func() {
			resp, err := c.answer(t)
			if err != nil || resp.StatusCode != http.StatusRequestTimeout {
				not408.Add(1)
			}
		})
	}
	wg.Wait()
	if not408.Load() != 0 {
		t.Errorf("%d of %d slow clients did not get 408", not408.Load(), clients)
	}
	waitFor(t, func() bool { return p.Stats().ArrivingBodyBytes == 0 })
	if reached.Load() != 0 {
		t.Errorf("slow bodies reached the upstream %d times", reached.Load())
	}
}

// Bodies still arriving hold at most MaxArrivingBytes together: past it a
// request gets 503 overloaded_error (clients retry it) and does not reach
// the upstream; once the slow bodies are gone, requests pass again.
func TestArrivingBodiesAreCapped(t *testing.T) {
	up, reached := countingUpstream(t)
	p, base, _ := front(t, up.URL, func(o *Options) {
		o.MaxBodyBytes = 1 << 20
		o.MaxArrivingBytes = 3 * firstChunk
		o.BodyTimeout = time.Second
	})
	var cs []*slowClient
	for range 3 {
		cs = append(cs, startSlowClient(t, base, 1<<20, 1))
	}
	waitFor(t, func() bool { return p.Stats().ArrivingBodyBytes == 3*firstChunk })
	resp, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader(`{"model":"claude-haiku-4-5"}`))
	if err != nil {
		t.Fatal(err)
	}
	env := decodeEnvelope(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || env.Error.Type != "overloaded_error" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the cap: %d %+v %v", resp.StatusCode, env, resp.Header)
	}
	if reached.Load() != 0 {
		t.Errorf("a refused body reached the upstream")
	}
	for _, c := range cs {
		if resp, err := c.answer(t); err != nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("slow client: %v %v", resp, err)
		}
	}
	waitFor(t, func() bool { return p.Stats().ArrivingBodyBytes == 0 })
	resp, err = http.Post(base+"/v1/messages", "application/json", strings.NewReader(`{"model":"claude-haiku-4-5"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || reached.Load() != 1 {
		t.Errorf("after the slow bodies left: %d, upstream reached %d times", resp.StatusCode, reached.Load())
	}
}

// Bodies that cross the first chunk and its doublings, with and without a
// declared length, reach the upstream whole; at the limit they pass, one
// byte past it they get 413.
func TestGrowingBodiesArriveWhole(t *testing.T) {
	up := echoUpstream(t)
	const limit = 300_000
	p, base, _ := front(t, up.URL, func(o *Options) { o.MaxBodyBytes = limit })
	for _, size := range []int{1, firstChunk - 1, firstChunk, firstChunk + 1, 2*firstChunk + 7, limit, limit + 1} {
		for _, chunked := range []bool{false, true} {
			body := strings.Repeat("abcdefghij", size/10+1)[:size]
			req, _ := http.NewRequest("POST", base+"/v1/messages", io.MultiReader(strings.NewReader(body[:size/2]), strings.NewReader(body[size/2:])))
			req.ContentLength = int64(size)
			if chunked {
				req.ContentLength = -1
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if size > limit {
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					t.Errorf("size %d chunked=%v: %d, want 413", size, chunked, resp.StatusCode)
				}
				resp.Body.Close()
				continue
			}
			var got seen
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || got.Body != body {
				t.Errorf("size %d chunked=%v: %d, upstream got %d bytes (%v)", size, chunked, resp.StatusCode, len(got.Body), err)
			}
		}
	}
	if held := p.Stats().ArrivingBodyBytes; held != 0 {
		t.Errorf("%d bytes still counted as arriving", held)
	}
}

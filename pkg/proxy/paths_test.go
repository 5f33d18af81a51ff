package proxy

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestForwardPath(t *testing.T) {
	tests := []struct {
		in      string // the request target as the client sent it
		want    string // the escaped path forwarded; "" means refused
		wantRaw bool   // the client's own encoding is kept
	}{
		{in: "/v1/messages", want: "/v1/messages", wantRaw: true},
		{in: "/v1/messages?beta=true", want: "/v1/messages", wantRaw: true},
		{in: "/v1/models/", want: "/v1/models/", wantRaw: true},
		{in: "/v1/files/a%2Fb", want: "/v1/files/a%2Fb", wantRaw: true},
		{in: "/v1/./messages", want: "/v1/messages"},
		{in: "/v1//messages", want: "/v1/messages"},
		{in: "/v1/messages/batches/../count_tokens", want: "/v1/messages/count_tokens"},
		{in: "/v1/x/%2e%2e/messages", want: "/v1/messages"},
		{in: "/v1/x/..%2fmessages", want: "/v1/messages"},
		{in: `/v1/x\..\messages`, want: "/v1/messages"},
		{in: "/v1/x%5C..%5Cmessages", want: "/v1/messages"},
		{in: "/v1/messages/.", want: "/v1/messages"},
		// An encoded slash in /v1/ itself: forwarded decoded, as /v1/ (the
		// fuzzer's find).
		{in: "/v1%2F", want: "/v1/"},
		{in: "/v1%2fmessages", want: "/v1/messages"},
		{in: "/v1/../api/x"},
		{in: "/v1/%2e%2e/api/x"},
		{in: "/v1/%2E%2E/api/x"},
		{in: "/v1/messages/../../x"},
		{in: "/v1/.."},
		{in: "/v1/."},
		{in: "/v1"},
		{in: `/v1\..\api`},
		{in: "/v1/..%2f..%2fapi"},
		{in: "/v1/%2e%2e%5capi"},
		{in: "/v1/a/../../../../etc/passwd"},
	}
	for _, tt := range tests {
		u, err := url.ParseRequestURI(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		p, raw, ok := forwardPath(u)
		if tt.want == "" {
			if ok {
				t.Errorf("%s: forwarded as %q, want refused", tt.in, p)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: refused, want %s", tt.in, tt.want)
			continue
		}
		got := (&url.URL{Path: p, RawPath: raw}).EscapedPath()
		if got != tt.want || tt.wantRaw && raw != u.RawPath {
			t.Errorf("%s: forwarded as %q (raw %q), want %q (client's encoding kept: %v)", tt.in, got, raw, tt.want, tt.wantRaw)
		}
	}
}

// recordingUpstream answers 200 to anything and records the request
// targets it got.
type recordingUpstream struct {
	mu      sync.Mutex
	targets []string
}

func (u *recordingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.targets = append(u.targets, r.RequestURI)
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{}`))
}

func (u *recordingUpstream) got() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.targets...)
}

// rawRequest sends target exactly as written (no client cleans it) and
// returns the status.
func rawRequest(t *testing.T, base, method, target string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusBadRequest {
		env := decodeEnvelope(t, resp.Body)
		if env.Type != "error" || env.Error.Type != "invalid_request_error" {
			t.Errorf("%s: 400 with %+v", target, env)
		}
	}
	return resp.StatusCode
}

// A /v1/ path that leaves /v1/ once cleaned gets 400 and never reaches the
// upstream; one that stays is forwarded cleaned.
func TestPathsLeavingV1AreRefused(t *testing.T) {
	up := &recordingUpstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	p, base, _ := front(t, srv.URL, nil)
	for _, target := range []string{"/v1/../api/x", "/v1/%2e%2e/api/x", "/v1/messages/../../x", `/v1/..\api\x`, "/v1/..%2Fapi"} {
		if code := rawRequest(t, base, "POST", target); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", target, code)
		}
	}
	if got := up.got(); len(got) != 0 {
		t.Fatalf("refused paths reached the upstream: %q", got)
	}
	for target, want := range map[string]string{
		"/v1/./messages":                   "/v1/messages",
		"/v1/messages/x/../count_tokens?a": "/v1/messages/count_tokens?a",
	} {
		if code := rawRequest(t, base, "POST", target); code != http.StatusOK {
			t.Errorf("%s: %d, want 200", target, code)
		}
		got := up.got()
		if len(got) == 0 || got[len(got)-1] != want {
			t.Errorf("%s: upstream got %q, want %s", target, got, want)
		}
	}
	if st := p.Stats(); st.UpstreamErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/proxy"
	"github.com/visiquate/cco/pkg/secret"
)

const accessToken = "cco-access-0123456789abcdef0123456789abcdef"

var accessHeader = map[string]string{"X-Cco-Token": accessToken}

func withAccessToken(o *Options) {
	o.Remote = true
	o.AccessToken = secret.New(accessToken)
}

// recordingProxy stands in for the /v1 proxy and keeps the headers of
// every request that reaches it.
type recordingProxy struct {
	mu      sync.Mutex
	headers []http.Header
}

func (p *recordingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.headers = append(p.headers, r.Header.Clone())
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"proxied":true}`)
}

func (p *recordingProxy) Stats() proxy.Stats { return proxy.Stats{} }

func (p *recordingProxy) seen() []http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.headers)
}

type tokenFixture struct {
	srv       *Server
	proxy     *recordingProxy
	logs      *bytes.Buffer
	shutdowns int
	cleared   int
}

func newTokenFixture(t *testing.T, mutate func(*Options)) *tokenFixture {
	t.Helper()
	f := &tokenFixture{proxy: &recordingProxy{}, logs: &bytes.Buffer{}}
	s, _, _ := newLimited(t, func(o *Options) {
		o.Proxy = f.proxy
		o.Logger = logrus.New()
		o.Logger.Out = f.logs
		o.Logger.Level = logrus.DebugLevel
		o.APILimit = Limit{} // the rate limit has its own test below
		o.Shutdown = func() { f.shutdowns++ }
		o.Stats = func(context.Context, string, string) (*control.Stats, error) { return &control.Stats{}, nil }
		o.CacheStats = func() *control.CacheStats { return &control.CacheStats{} }
		o.ClearCache = func() { f.cleared++ }
		if mutate != nil {
			mutate(o)
		}
	})
	f.srv = s
	return f
}

// send makes a request from the client at remote; hdr values are set as
// given, keys included (so a test can send a key net/http would not
// canonicalise), and repeated keys in extra are added.
func (f *tokenFixture) send(method, path, remote string, hdr map[string]string, extra http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(`{"model":"claude-haiku-4-5"}`))
	req.RemoteAddr = remote
	req.Host = "127.0.0.1:3000"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for k, vs := range extra {
		req.Header[k] = append(req.Header[k], vs...)
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

const (
	loopbackClient = "127.0.0.1:50000"
	remoteClient   = "198.51.100.7:50000"
)

// Every route, for loopback and other clients, with every way of getting
// the token wrong: other machines get 401 in Anthropic's envelope unless
// they send the access token in x-cco-token; loopback clients are not
// asked for it.
func TestAccessTokenOnEveryRoute(t *testing.T) {
	routes := []struct {
		method, path string
		// loopback and remote are the statuses once past the gate; the
		// control routes want the control token from loopback and refuse
		// other machines.
		loopback, remote int
	}{
		{"POST", "/v1/messages", 200, 200},
		{"POST", "/v1/messages/count_tokens?beta=true", 200, 200},
		{"GET", "/v1/models", 200, 200},
		{"GET", "/health", 200, 200},
		{"HEAD", "/health", 200, 200},
		{"GET", "/ready", 200, 200},
		{"GET", "/", 200, 200},
		{"HEAD", "/", 200, 200},
		{"GET", "/api/stats?range=7d", 200, 200},
		{"POST", control.ShutdownPath, 401, 403},
		{"GET", control.CachePath, 401, 403},
		{"POST", control.CacheClearPath, 401, 403},
		{"GET", control.ShutdownPath, 405, 405}, // no route, so no route guards
		{"GET", "/nope", 404, 404},
		{"POST", "/api/nope", 404, 404},
	}
	cases := []struct {
		name  string
		hdr   map[string]string
		extra http.Header
		admit bool
		sent  string // what must not come back in the answer or the log
	}{
		{name: "no token"},
		{name: "wrong token", hdr: map[string]string{"X-Cco-Token": "cco-access-ffffffffffffffffffffffffffffffff"}, sent: "ffffffffffffffff"},
		{name: "wrong-length token", hdr: map[string]string{"x-cco-token": "short-guess"}, sent: "short-guess"},
		{name: "prefix of the token", hdr: map[string]string{"x-cco-token": accessToken[:20]}},
		{name: "token plus more", hdr: map[string]string{"x-cco-token": accessToken + "0"}},
		{name: "empty token", extra: http.Header{"X-Cco-Token": {""}}},
		{name: "token twice", extra: http.Header{"X-Cco-Token": {accessToken, accessToken}}},
		{name: "token in authorization", hdr: map[string]string{"Authorization": "Bearer " + accessToken}},
		{name: "token in x-api-key", hdr: map[string]string{"X-Api-Key": accessToken}},
		{name: "right token", hdr: accessHeader, admit: true},
		{name: "right token, lower-case key", extra: http.Header{"x-cco-token": {accessToken}}, admit: true},
	}
	for _, client := range []string{loopbackClient, remoteClient, "[::1]:50000", "[2001:db8::7]:50000", "[::ffff:127.0.0.1]:50000"} {
		for _, tc := range cases {
			t.Run(client+"/"+tc.name, func(t *testing.T) {
				f := newTokenFixture(t, withAccessToken)
				onLoopback := isLoopbackClient(client)
				for _, r := range routes {
					rec := f.send(r.method, r.path, client, tc.hdr, tc.extra)
					want := r.remote
					switch {
					case onLoopback:
						want = r.loopback
					case !tc.admit:
						want = 401
					}
					if rec.Code != want {
						t.Errorf("%s %s: %d, want %d: %s", r.method, r.path, rec.Code, want, rec.Body)
						continue
					}
					refused := !onLoopback && !tc.admit
					if refused {
						checkAccessDenied(t, r.method+" "+r.path, rec)
					}
					if tc.sent != "" && strings.Contains(rec.Body.String(), tc.sent) {
						t.Errorf("%s %s: the answer echoes what was sent: %s", r.method, r.path, rec.Body)
					}
				}
				if f.shutdowns != 0 || f.cleared != 0 {
					t.Errorf("control routes acted: %d shutdowns, %d clears", f.shutdowns, f.cleared)
				}
				proxied := len(f.proxy.seen())
				if onLoopback || tc.admit {
					if proxied != 3 {
						t.Errorf("proxy saw %d requests, want 3", proxied)
					}
				} else if proxied != 0 {
					t.Errorf("refused requests reached the proxy: %d", proxied)
				}
				logs := f.logs.String()
				for _, leak := range []string{accessToken, accessToken[:20], tc.sent} {
					if leak != "" && strings.Contains(logs, leak) {
						t.Errorf("the log holds what was sent (%q):\n%s", leak, logs)
					}
				}
				refusals := strings.Count(logs, "refused a client on another machine")
				switch {
				case onLoopback || tc.admit:
					if refusals != 0 {
						t.Errorf("%d refusals logged:\n%s", refusals, logs)
					}
				case refusals != len(routes) || !strings.Contains(logs, clientIP(client)):
					t.Errorf("want %d refusals with the client's address logged:\n%s", len(routes), logs)
				}
			})
		}
	}
}

func checkAccessDenied(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var env apierror.Envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Errorf("%s: body %q: %v", what, rec.Body, err)
		return
	}
	if env.Type != "error" || env.Error.Type != "authentication_error" || !strings.Contains(env.Error.Message, "x-cco-token") {
		t.Errorf("%s: envelope %+v", what, env)
	}
	if rec.Header().Get("x-should-retry") != "false" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("%s: headers %v", what, rec.Header())
	}
}

// x-cco-token (and the control token's header) never reaches the proxy, from any client, with or without a
// configured token or remote access; the client's own credentials do,
// unchanged.
func TestTokenHeaderIsStripped(t *testing.T) {
	setups := []struct {
		name   string
		mutate func(*Options)
		client string
	}{
		{"remote client", withAccessToken, remoteClient},
		{"loopback client, remote on", withAccessToken, loopbackClient},
		{"loopback client, remote off", nil, loopbackClient},
		{"remote off, no token configured", nil, remoteClient},
		{"remote off, token configured", func(o *Options) { o.AccessToken = secret.New(accessToken) }, remoteClient},
	}
	for _, su := range setups {
		for _, key := range []string{"X-Cco-Token", "x-cco-token"} {
			t.Run(su.name+"/"+key, func(t *testing.T) {
				f := newTokenFixture(t, su.mutate)
				hdr := map[string]string{
					"X-Api-Key":         "sk-ant-api03-client-key",
					"Authorization":     "Bearer sk-ant-oat01-client",
					"Anthropic-Version": "2023-06-01",
				}
				extra := http.Header{key: {accessToken}, control.TokenHeader: {token}}
				rec := f.send("POST", "/v1/messages?beta=true", su.client, hdr, extra)
				if rec.Code != 200 {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
				seen := f.proxy.seen()
				if len(seen) != 1 {
					t.Fatalf("proxy saw %d requests", len(seen))
				}
				for k := range seen[0] {
					if strings.EqualFold(k, "x-cco-token") || strings.EqualFold(k, control.TokenHeader) {
						t.Errorf("the proxy saw %s: %q", k, seen[0][k])
					}
				}
				for k, v := range hdr {
					if got := seen[0].Values(k); len(got) != 1 || got[0] != v {
						t.Errorf("%s reached the proxy as %q, want %q", k, got, v)
					}
				}
			})
		}
	}
}

// With remote access on but no access token (the daemon refuses to start
// so), other machines get nothing at all, whatever they send.
func TestRemoteWithoutAccessTokenServesOnlyLoopback(t *testing.T) {
	f := newTokenFixture(t, func(o *Options) { o.Remote = true })
	for _, path := range []string{"/v1/messages", "/health", "/", "/api/stats", "/nope"} {
		for _, hdr := range []map[string]string{nil, {"X-Cco-Token": ""}, {"X-Cco-Token": "anything"}, {"X-Cco-Token": token}} {
			rec := f.send("GET", path, remoteClient, hdr, nil)
			var env apierror.Envelope
			json.Unmarshal(rec.Body.Bytes(), &env)
			if rec.Code != 403 || env.Error.Type != "permission_error" {
				t.Errorf("%s %v: %d %s", path, hdr, rec.Code, rec.Body)
			}
		}
		if rec := f.send("GET", path, loopbackClient, nil, nil); rec.Code >= 400 && path != "/nope" {
			t.Errorf("loopback %s: %d", path, rec.Code)
		}
	}
	if n := len(f.proxy.seen()); n != 1 {
		t.Errorf("proxy saw %d requests, want the loopback one", n)
	}
}

// The control token, in its own header, still works from loopback when
// remote access is on; neither token opens a control route otherwise.
func TestControlTokenFromLoopbackWithRemoteOn(t *testing.T) {
	f := newTokenFixture(t, withAccessToken)
	if rec := f.send("POST", control.ShutdownPath, loopbackClient, map[string]string{"X-Cco-Token": accessToken}, nil); rec.Code != 401 {
		t.Errorf("the access token opened a control route: %d", rec.Code)
	}
	if rec := f.send("POST", control.ShutdownPath, loopbackClient, map[string]string{"X-Cco-Token": token}, nil); rec.Code != 401 {
		t.Errorf("the control token in x-cco-token opened a control route: %d", rec.Code)
	}
	if rec := f.send("POST", control.ShutdownPath, remoteClient, map[string]string{"X-Cco-Token": accessToken, control.TokenHeader: token}, nil); rec.Code != 403 {
		t.Errorf("the control token admitted another machine: %d", rec.Code)
	}
	if f.shutdowns != 0 {
		t.Fatal("shut down")
	}
	if rec := f.send("POST", control.ShutdownPath, loopbackClient, map[string]string{control.TokenHeader: token}, nil); rec.Code != 202 || f.shutdowns != 1 {
		t.Errorf("control token from loopback: %d, %d shutdowns", rec.Code, f.shutdowns)
	}
}

// Refused requests spend the client's budget: a flood of guesses from one
// address is cut off by the rate limit, also for the right token, and the
// log gets one line per guess let through, no more.
func TestTokenGuessesAreRateLimited(t *testing.T) {
	f := newTokenFixture(t, func(o *Options) {
		withAccessToken(o)
		o.APILimit = Limit{PerMinute: 30}
	})
	codes := map[int]int{}
	for i := range 100 {
		rec := f.send("POST", "/v1/messages", remoteClient, map[string]string{"X-Cco-Token": "guess-" + string(rune('a'+i%26))}, nil)
		codes[rec.Code]++
	}
	if codes[401] != 30 || codes[429] != 70 {
		t.Errorf("answers to 100 guesses: %v", codes)
	}
	if rec := f.send("POST", "/v1/messages", remoteClient, accessHeader, nil); rec.Code != 429 {
		t.Errorf("right token after the flood: %d", rec.Code)
	}
	if n := strings.Count(f.logs.String(), "refused a client on another machine"); n != 30 {
		t.Errorf("%d refusals logged, want 30", n)
	}
	// Other clients have their own budget.
	if rec := f.send("POST", "/v1/messages", "198.51.100.8:1", accessHeader, nil); rec.Code != 200 {
		t.Errorf("another client: %d", rec.Code)
	}
}

func TestTokenGate(t *testing.T) {
	g := newTokenGate(secret.New("s3cret"))
	for _, tc := range []struct {
		values []string
		want   string
	}{
		{nil, "no x-cco-token"},
		{[]string{""}, "wrong x-cco-token"},
		{[]string{"s3cre"}, "wrong x-cco-token"},
		{[]string{"s3cret "}, "wrong x-cco-token"},
		{[]string{"S3CRET"}, "wrong x-cco-token"},
		{[]string{"s3cret", "s3cret"}, "more than one x-cco-token"},
		{[]string{"s3cret"}, ""},
	} {
		if got := g.refusal(tc.values); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.values, got, tc.want)
		}
	}
	if got := newTokenGate(secret.Secret{}).refusal([]string{""}); got != "no access token is configured" {
		t.Errorf("zero token: %q", got)
	}
	if equalSecret("", "") || equalSecret("a", "") || !equalSecret("a", "a") || equalSecret("a", "ab") {
		t.Error("equalSecret")
	}
}

// isLoopbackClient reports whether the TCP peer at remoteAddr is on
// loopback. Anything unparsable counts as another machine.
func isLoopbackClient(remoteAddr string) bool {
	ip := net.ParseIP(clientIP(remoteAddr))
	return ip != nil && ip.IsLoopback()
}

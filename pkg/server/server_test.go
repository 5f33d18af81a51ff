package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/proxy"
	"github.com/visiquate/cco/pkg/version"
)

const token = "0123456789abcdef0123456789abcdef"

type fixture struct {
	srv      *Server
	shutdown atomic.Int32
	logs     bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	log := logrus.New()
	log.Out = &f.logs
	log.Level = logrus.DebugLevel
	started := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f.srv = New(Options{
		Info:      version.Info{Version: "2025.11.2"},
		PID:       4242,
		StartedAt: started,
		Now:       func() time.Time { return started.Add(90*time.Second + 500*time.Millisecond) },
		Logger:    log,
		Token:     token,
		Shutdown:  func() { f.shutdown.Add(1) },
	})
	return f
}

func (f *fixture) do(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.Host = "127.0.0.1:3000"
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return v
}

func TestHealthAndReady(t *testing.T) {
	f := newFixture(t)
	rec := f.do("GET", "/health", nil)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("health: %d %s", rec.Code, rec.Header())
	}
	h := decode[control.Health](t, rec)
	if h.Status != "ok" || h.Uptime != 90 || h.Version != "2025.11.2" || h.PID != 4242 {
		t.Errorf("health body %+v", h)
	}
	var raw map[string]any
	json.Unmarshal(rec.Body.Bytes(), &raw)
	if _, ok := raw["uptime"].(float64); !ok {
		t.Errorf("uptime is not a number: %s", rec.Body)
	}

	rec = f.do("GET", "/ready", nil)
	r := decode[control.Ready](t, rec)
	if rec.Code != 200 || !r.Ready {
		t.Fatalf("ready: %d %+v", rec.Code, r)
	}
	if ts, err := time.Parse(time.RFC3339, r.Timestamp); err != nil || !ts.Equal(time.Date(2026, 11, 27, 10, 1, 30, 0, time.UTC)) {
		t.Errorf("timestamp %q: %v", r.Timestamp, err)
	}

	if rec := f.do("HEAD", "/health", nil); rec.Code != 200 {
		t.Errorf("HEAD /health: %d", rec.Code)
	}

	f.srv.SetStopping()
	rec = f.do("GET", "/ready", nil)
	if r := decode[control.Ready](t, rec); rec.Code != 503 || r.Ready {
		t.Errorf("ready while stopping: %d %+v", rec.Code, r)
	}
	if h := decode[control.Health](t, f.do("GET", "/health", nil)); h.Status != "stopping" {
		t.Errorf("health while stopping: %+v", h)
	}
}

func TestDashboardPage(t *testing.T) {
	f := newFixture(t)
	rec := f.do("GET", "/", nil)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "<title>cco dashboard</title>") {
		t.Errorf("GET /: %d %s", rec.Code, rec.Header())
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("dashboard can be framed")
	}
}

func TestErrorsUseAnthropicEnvelope(t *testing.T) {
	f := newFixture(t)
	rec := f.do("GET", "/nope", nil)
	env := decode[apierror.Envelope](t, rec)
	if rec.Code != 404 || env.Type != "error" || env.Error.Type != "not_found_error" || env.Error.Message == "" {
		t.Errorf("404: %d %s", rec.Code, rec.Body)
	}
	rec = f.do("GET", control.ShutdownPath, map[string]string{control.TokenHeader: token})
	if env := decode[apierror.Envelope](t, rec); rec.Code != 405 || env.Error.Type != "invalid_request_error" {
		t.Errorf("GET on control route: %d %s", rec.Code, rec.Body)
	}
	if f.shutdown.Load() != 0 {
		t.Error("GET triggered a shutdown")
	}
}

func TestControlRefusals(t *testing.T) {
	tests := []struct {
		name    string
		hdr     map[string]string
		code    int
		errType string
		noRetry bool
	}{
		{"no token", nil, 401, "authentication_error", true},
		{"wrong token", map[string]string{control.TokenHeader: strings.Repeat("0", 32)}, 401, "authentication_error", true},
		{"rebinding host", map[string]string{control.TokenHeader: token, "Host": "evil.example:3000"}, 403, "permission_error", true},
		{"lan host", map[string]string{control.TokenHeader: token, "Host": "192.168.1.5:3000"}, 403, "permission_error", true},
		{"browser origin", map[string]string{control.TokenHeader: token, "Origin": "https://evil.example"}, 403, "permission_error", true},
		{"even a loopback origin", map[string]string{control.TokenHeader: token, "Origin": "http://127.0.0.1:3000"}, 403, "permission_error", false},
		{"fetch metadata", map[string]string{control.TokenHeader: token, "Sec-Fetch-Site": "cross-site"}, 403, "permission_error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.do("POST", control.ShutdownPath, tt.hdr)
			env := decode[apierror.Envelope](t, rec)
			if rec.Code != tt.code || env.Error.Type != tt.errType {
				t.Errorf("got %d %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("x-should-retry") == "false"; got != tt.noRetry {
				t.Errorf("x-should-retry: %q", rec.Header().Get("x-should-retry"))
			}
			if f.shutdown.Load() != 0 {
				t.Error("refused request triggered a shutdown")
			}
			if strings.Contains(f.logs.String(), token) {
				t.Error("token in the log")
			}
		})
	}
}

func TestControlShutdown(t *testing.T) {
	for _, host := range []string{"127.0.0.1:3000", "localhost:3000", "[::1]:3000", "127.0.0.2:3000", "LOCALHOST"} {
		f := newFixture(t)
		rec := f.do("POST", control.ShutdownPath, map[string]string{control.TokenHeader: token, "Host": host})
		if rec.Code != 202 {
			t.Fatalf("host %s: %d %s", host, rec.Code, rec.Body)
		}
		if f.shutdown.Load() != 1 {
			t.Fatalf("host %s: shutdown called %d times", host, f.shutdown.Load())
		}
		f.do("POST", control.ShutdownPath, map[string]string{control.TokenHeader: token})
		if f.shutdown.Load() != 1 {
			t.Errorf("second request called shutdown again")
		}
	}
}

// The control client and the server agree on the wire.
func TestControlClient(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	c := control.Client{HTTP: ts.Client(), BaseURL: ts.URL}
	h, err := c.Health(t.Context())
	if err != nil || h.PID != 4242 {
		t.Fatalf("health %+v %v", h, err)
	}
	err = c.Shutdown(t.Context(), "wrong")
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "missing or wrong") {
		t.Errorf("wrong token: %v", err)
	}
	if err := c.Shutdown(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	if f.shutdown.Load() != 1 {
		t.Error("shutdown not called")
	}
	resp, _ := http.Get(ts.URL + "/missing")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte(`"not_found_error"`)) {
		t.Errorf("404 body %s", body)
	}
}

// fakeProxy stands in for the /v1 proxy: it can hold requests open.
type fakeProxy struct {
	hold    chan struct{} // when set, requests wait for it to close
	entered chan struct{}
	served  atomic.Int32
}

func (p *fakeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.served.Add(1)
	if p.hold != nil {
		p.entered <- struct{}{}
		<-p.hold
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"proxied":"`+r.URL.Path+`"}`)
}

func (p *fakeProxy) Stats() proxy.Stats {
	return proxy.Stats{Requests: int64(p.served.Load()), InFlight: 2, UpstreamErrors: 3}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newLimited(t *testing.T, mutate func(*Options)) (*Server, *fakeProxy, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	fp := &fakeProxy{}
	log := logrus.New()
	log.Out = io.Discard
	opts := Options{
		Info: version.Info{Version: "2025.11.2"}, StartedAt: clk.Now(), Now: clk.Now, Logger: log, Token: token,
		Shutdown: func() {}, Proxy: fp,
		APILimit: Limit{PerMinute: 100, Concurrent: 10},
	}
	if mutate != nil {
		mutate(&opts)
	}
	return New(opts), fp, clk
}

func request(s *Server, method, target, remote, host string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader("{}"))
	req.RemoteAddr = remote
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestProxyRouteAndHealthFigures(t *testing.T) {
	s, fp, _ := newLimited(t, nil)
	for _, m := range []string{"GET", "POST", "HEAD", "DELETE"} {
		rec := request(s, m, "/v1/messages/count_tokens?beta=true", "127.0.0.1:5000", "127.0.0.1:3000", nil)
		if rec.Code != 200 {
			t.Errorf("%s /v1: %d %s", m, rec.Code, rec.Body)
		}
	}
	if fp.served.Load() != 4 {
		t.Errorf("proxy served %d", fp.served.Load())
	}
	rec := request(s, "GET", "/health", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	var h control.Health
	json.Unmarshal(rec.Body.Bytes(), &h)
	if h.Proxy == nil || *h.Proxy != (control.ProxyStats{Requests: 4, InFlight: 2, UpstreamErrors: 3}) {
		t.Errorf("health proxy figures: %s", rec.Body)
	}
}

// Every route checks Host (DNS rebinding) and Origin (web pages).
func TestHostAndOriginOnEveryRoute(t *testing.T) {
	s, fp, _ := newLimited(t, func(o *Options) { o.AllowedHosts = []string{"cco.internal"} })
	routes := []struct{ method, path string }{{"GET", "/health"}, {"GET", "/ready"}, {"GET", "/"}, {"POST", "/v1/messages"}, {"OPTIONS", "/v1/messages"}, {"GET", "/nope"}}
	for _, r := range routes {
		for _, host := range []string{"evil.example:3000", "evil.example", "192.168.1.5:3000", "127.0.0.1.evil.example:3000", "localhost.evil.example"} {
			rec := request(s, r.method, r.path, "127.0.0.1:5000", host, nil)
			if rec.Code != 403 || !strings.Contains(rec.Body.String(), `"permission_error"`) {
				t.Errorf("%s %s Host %s: %d %s", r.method, r.path, host, rec.Code, rec.Body)
			}
		}
		for _, origin := range []string{"https://evil.example", "http://localhost:5173", "http://127.0.0.1:3001", "null"} {
			rec := request(s, r.method, r.path, "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{"Origin": origin})
			if rec.Code != 403 {
				t.Errorf("%s %s Origin %s: %d", r.method, r.path, origin, rec.Code)
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("CORS header sent")
			}
		}
	}
	if fp.served.Load() != 0 {
		t.Fatalf("refused requests reached the proxy: %d", fp.served.Load())
	}
	for _, host := range []string{"127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "cco.internal:3000", "CCO.internal"} {
		if rec := request(s, "POST", "/v1/messages", "127.0.0.1:5000", host, nil); rec.Code != 200 {
			t.Errorf("Host %s refused: %d", host, rec.Code)
		}
	}
	// The page cco serves may call cco: same origin.
	if rec := request(s, "GET", "/health", "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{"Origin": "http://127.0.0.1:3000"}); rec.Code != 200 {
		t.Errorf("same-origin request refused: %d", rec.Code)
	}
	// Listening beyond loopback, IP-literal Hosts are fine (no DNS is involved).
	remote, _, _ := newLimited(t, withAccessToken)
	if rec := request(remote, "GET", "/health", "192.168.1.9:5000", "192.168.1.5:3000", accessHeader); rec.Code != 200 {
		t.Errorf("remote IP host: %d", rec.Code)
	}
	if rec := request(remote, "GET", "/health", "192.168.1.9:5000", "evil.example:3000", accessHeader); rec.Code != 403 {
		t.Errorf("remote name host: %d", rec.Code)
	}
}

func TestAPIRateLimitPerClient(t *testing.T) {
	s, _, clk := newLimited(t, nil)
	for i := range 100 {
		if rec := request(s, "POST", "/api/control/shutdown", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 401 {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	rec := request(s, "POST", "/api/control/shutdown", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	var env apierror.Envelope
	json.Unmarshal(rec.Body.Bytes(), &env)
	if rec.Code != 429 || env.Error.Type != "rate_limit_error" || rec.Header().Get("retry-after") != "1" {
		t.Fatalf("101st request: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	// Another client has its own budget.
	if rec := request(s, "POST", "/api/control/shutdown", "127.0.0.2:5000", "127.0.0.1:3000", nil); rec.Code != 401 {
		t.Errorf("other client: %d", rec.Code)
	}
	// The bucket refills at 100 a minute.
	clk.Add(600 * time.Millisecond)
	if rec := request(s, "POST", "/api/control/shutdown", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 401 {
		t.Errorf("after refill: %d", rec.Code)
	}
	// Loopback clients of /v1, /health and the page are not limited by default.
	for range 300 {
		for _, p := range []string{"/v1/messages", "/health"} {
			if rec := request(s, "POST", p, "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code == 429 {
				t.Fatalf("%s limited for a loopback client", p)
			}
		}
	}
}

func TestConcurrencyLimits(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(*Options)
		remote  string
		hdr     map[string]string
		path    string
		allowed int
	}{
		{"proxy limit for loopback clients", func(o *Options) { o.ProxyLimit = Limit{Concurrent: 3} }, "127.0.0.1:5000", nil, "/v1/messages", 3},
		{"api limit for other machines on /v1", withAccessToken, "192.168.1.9:5000", accessHeader, "/v1/messages", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fp, _ := newLimited(t, tt.opts)
			fp.hold, fp.entered = make(chan struct{}), make(chan struct{}, 100)
			var wg sync.WaitGroup
			for range tt.allowed {
				wg.Add(1)
				go func() {
					defer wg.Done()
					request(s, "POST", tt.path, tt.remote, "127.0.0.1:3000", tt.hdr)
				}()
				<-fp.entered
			}
			rec := request(s, "POST", tt.path, tt.remote, "127.0.0.1:3000", tt.hdr)
			if rec.Code != 429 || rec.Header().Get("retry-after") == "" {
				t.Errorf("request over the concurrency limit: %d %v", rec.Code, rec.Header())
			}
			close(fp.hold)
			wg.Wait()
			fp.hold = nil
			if rec := request(s, "POST", tt.path, tt.remote, "127.0.0.1:3000", tt.hdr); rec.Code != 200 {
				t.Errorf("after the others finished: %d", rec.Code)
			}
		})
	}
}

func TestProxyRateLimitPerMinute(t *testing.T) {
	s, _, clk := newLimited(t, func(o *Options) { o.ProxyLimit = Limit{PerMinute: 6} })
	for i := range 6 {
		if rec := request(s, "POST", "/v1/messages", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 200 {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	rec := request(s, "POST", "/v1/messages", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	if rec.Code != 429 || rec.Header().Get("retry-after") != "10" {
		t.Fatalf("7th request: %d retry-after %q", rec.Code, rec.Header().Get("retry-after"))
	}
	clk.Add(10 * time.Second)
	if rec := request(s, "POST", "/v1/messages", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 200 {
		t.Errorf("after waiting: %d", rec.Code)
	}
}

func TestStatsAndCacheRoutes(t *testing.T) {
	cleared := 0
	s, _, _ := newLimited(t, func(o *Options) {
		o.Stats = func(_ context.Context, name, _ string) (*control.Stats, error) {
			if name == "week" {
				return nil, apierror.New(http.StatusBadRequest, "unknown range %q", name)
			}
			return &control.Stats{Range: name, Totals: control.Totals{Requests: 7}}, nil
		}
		o.Blocks = func(_ context.Context, q control.ReportQuery) (*control.Blocks, error) {
			if q.Since == "bad" {
				return nil, apierror.New(http.StatusBadRequest, "since %q is not a date", q.Since)
			}
			return &control.Blocks{Since: q.Since, Until: q.Until, Blocks: []control.Block{{Active: true}}}, nil
		}
		o.Report = func(_ context.Context, name string, q control.ReportQuery) (*control.Report, error) {
			if q.TimeZone == "Nowhere/Else" {
				return nil, apierror.New(http.StatusBadRequest, "time zone %q is not an IANA zone name", q.TimeZone)
			}
			return &control.Report{Report: name, TimeZone: q.TimeZone, Since: q.Since + "/" + q.StartOfWeek}, nil
		}
		o.CacheStats = func() *control.CacheStats { return &control.CacheStats{Enabled: true, Entries: 3} }
		o.ClearCache = func() { cleared++ }
	})
	rec := request(s, "GET", control.BlocksPath+"?since=2026-12-01&until=2026-12-02", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	var bs control.Blocks
	json.Unmarshal(rec.Body.Bytes(), &bs)
	if rec.Code != 200 || bs.Since != "2026-12-01" || bs.Until != "2026-12-02" || len(bs.Blocks) != 1 {
		t.Errorf("blocks: %d %s", rec.Code, rec.Body)
	}
	if rec := request(s, "GET", control.BlocksPath+"?since=bad", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 400 {
		t.Errorf("blocks with a bad date: %d %s", rec.Code, rec.Body)
	}
	for _, name := range control.Reports {
		rec := request(s, "GET", control.ReportsPath+name+"?since=20261201&tz=Asia/Tokyo&start_of_week=mon", "127.0.0.1:5000", "127.0.0.1:3000", nil)
		var r control.Report
		_ = json.Unmarshal(rec.Body.Bytes(), &r)
		if rec.Code != 200 || r.Report != name || r.TimeZone != "Asia/Tokyo" || r.Since != "20261201/mon" {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if rec := request(s, "GET", control.ReportsPath+"daily?tz=Nowhere/Else", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), "invalid_request_error") {
		t.Errorf("daily with a bad zone: %d %s", rec.Code, rec.Body)
	}
	if rec := request(s, "GET", control.ReportsPath+"yearly", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 404 {
		t.Errorf("an unknown report: %d %s", rec.Code, rec.Body)
	}
	rec = request(s, "GET", "/api/stats?range=7d", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	var st control.Stats
	json.Unmarshal(rec.Body.Bytes(), &st)
	if rec.Code != 200 || st.Range != "7d" || st.Totals.Requests != 7 {
		t.Errorf("stats: %d %s", rec.Code, rec.Body)
	}
	rec = request(s, "GET", "/api/stats?range=week", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"invalid_request_error"`) {
		t.Errorf("bad range: %d %s", rec.Code, rec.Body)
	}
	// The cache routes need the token, and clearing needs POST.
	if rec := request(s, "GET", control.CachePath, "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 401 {
		t.Errorf("cache stats without token: %d", rec.Code)
	}
	if rec := request(s, "POST", control.CacheClearPath, "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 401 || cleared != 0 {
		t.Errorf("clear without token: %d", rec.Code)
	}
	if rec := request(s, "GET", control.CacheClearPath, "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{control.TokenHeader: token}); rec.Code != 405 || cleared != 0 {
		t.Errorf("clear by GET: %d", rec.Code)
	}
	rec = request(s, "GET", control.CachePath, "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{control.TokenHeader: token})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"entries":3`) {
		t.Errorf("cache stats: %d %s", rec.Code, rec.Body)
	}
	if rec := request(s, "POST", control.CacheClearPath, "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{control.TokenHeader: token}); rec.Code != 200 || cleared != 1 {
		t.Errorf("clear: %d, cleared %d", rec.Code, cleared)
	}
}

// The page's assets are served under the same Host and Origin rules as the
// page: a rebinding Host or another site's Origin gets nothing.
func TestDashboardAssets(t *testing.T) {
	s, _, _ := newLimited(t, nil)
	for _, p := range []string{"/", "/assets/app.js", "/assets/app.css"} {
		rec := request(s, "GET", p, "127.0.0.1:5000", "127.0.0.1:3000", nil)
		if rec.Code != 200 || rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d %v", p, rec.Code, rec.Header())
		}
		if rec := request(s, "GET", p, "127.0.0.1:5000", "evil.example:3000", nil); rec.Code != 403 {
			t.Errorf("%s with a rebinding Host: %d", p, rec.Code)
		}
		if rec := request(s, "GET", p, "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{"Origin": "https://evil.example"}); rec.Code != 403 {
			t.Errorf("%s with another site's Origin: %d", p, rec.Code)
		}
	}
	if rec := request(s, "GET", "/assets/nope.js", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 404 {
		t.Errorf("missing asset: %d", rec.Code)
	}
}

// /metrics follows the Host and Origin rules; a rate-limit refusal is
// reported with its kind.
func TestMetricsRouteAndRefusals(t *testing.T) {
	var refused []string
	s, _, _ := newLimited(t, func(o *Options) {
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "cco_up 1\n") })
		o.ProxyLimit = Limit{PerMinute: 1}
		o.OnRateLimited = func(kind string) { refused = append(refused, kind) }
	})
	if rec := request(s, "GET", "/metrics", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 200 || rec.Body.String() != "cco_up 1\n" {
		t.Errorf("/metrics: %d %s", rec.Code, rec.Body)
	}
	if rec := request(s, "GET", "/metrics", "127.0.0.1:5000", "evil.example:3000", nil); rec.Code != 403 {
		t.Errorf("/metrics with a rebinding Host: %d", rec.Code)
	}
	if rec := request(s, "GET", "/metrics", "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{"Origin": "https://evil.example"}); rec.Code != 403 {
		t.Errorf("/metrics with another site's Origin: %d", rec.Code)
	}
	request(s, "POST", "/v1/messages", "127.0.0.1:5000", "127.0.0.1:3000", nil)
	if rec := request(s, "POST", "/v1/messages", "127.0.0.1:5000", "127.0.0.1:3000", nil); rec.Code != 429 {
		t.Fatalf("second request: %d", rec.Code)
	}
	if len(refused) != 1 || refused[0] != "proxy" {
		t.Errorf("refusals reported: %v", refused)
	}
}

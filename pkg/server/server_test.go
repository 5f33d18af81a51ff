package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/control"
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
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "<title>cco</title>") {
		t.Errorf("GET /: %d %s", rec.Code, rec.Header())
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("dashboard can be framed")
	}
}

func TestErrorsUseAnthropicEnvelope(t *testing.T) {
	f := newFixture(t)
	rec := f.do("GET", "/nope", nil)
	env := decode[envelope](t, rec)
	if rec.Code != 404 || env.Type != "error" || env.Error.Type != "not_found_error" || env.Error.Message == "" {
		t.Errorf("404: %d %s", rec.Code, rec.Body)
	}
	rec = f.do("GET", control.ShutdownPath, map[string]string{control.TokenHeader: token})
	if env := decode[envelope](t, rec); rec.Code != 405 || env.Error.Type != "invalid_request_error" {
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
		{"rebinding host", map[string]string{control.TokenHeader: token, "Host": "evil.example:3000"}, 403, "permission_error", false},
		{"lan host", map[string]string{control.TokenHeader: token, "Host": "192.168.1.5:3000"}, 403, "permission_error", false},
		{"browser origin", map[string]string{control.TokenHeader: token, "Origin": "https://evil.example"}, 403, "permission_error", false},
		{"even a loopback origin", map[string]string{control.TokenHeader: token, "Origin": "http://127.0.0.1:3000"}, 403, "permission_error", false},
		{"fetch metadata", map[string]string{control.TokenHeader: token, "Sec-Fetch-Site": "cross-site"}, 403, "permission_error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.do("POST", control.ShutdownPath, tt.hdr)
			env := decode[envelope](t, rec)
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

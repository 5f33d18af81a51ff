package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestBrowserRefusal(t *testing.T) {
	const host = "127.0.0.1:3000"
	tests := []struct {
		name   string
		method string
		hdr    map[string]string
		refuse bool
	}{
		{"Claude Code, SDKs, curl: neither header", "POST", nil, false},
		{"the dashboard's own fetch", "POST", map[string]string{"Origin": "http://127.0.0.1:3000", "Sec-Fetch-Site": "same-origin"}, false},
		{"the dashboard's own GET", "GET", map[string]string{"Sec-Fetch-Site": "same-origin"}, false},
		{"a typed URL", "GET", map[string]string{"Sec-Fetch-Site": "none"}, false},
		{"a typed URL, HEAD", "HEAD", map[string]string{"Sec-Fetch-Site": "none"}, false},
		{"none cannot POST", "POST", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"<img> on another site", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"form post from another site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"another port of localhost", "GET", map[string]string{"Sec-Fetch-Site": "same-site"}, true},
		{"an unknown value", "GET", map[string]string{"Sec-Fetch-Site": "nearby"}, true},
		{"another Origin", "POST", map[string]string{"Origin": "https://evil.example"}, true},
		{"another Origin that says same-origin", "POST", map[string]string{"Origin": "http://localhost:5173", "Sec-Fetch-Site": "same-origin"}, true},
		{"Origin null", "POST", map[string]string{"Origin": "null"}, true},
		{"https is not cco's origin", "POST", map[string]string{"Origin": "https://127.0.0.1:3000"}, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.hdr {
			h.Set(k, v)
		}
		if got := browserRefusal(tt.method, host, h); (got != "") != tt.refuse {
			t.Errorf("%s: refusal %q, want refused %v", tt.name, got, tt.refuse)
		}
	}
}

// What a browser marks cross-site or same-site is refused on every route,
// /v1/* included, before it reaches the proxy; clients that send no Fetch
// Metadata are unaffected.
func TestCrossSiteRefusedOnEveryRoute(t *testing.T) {
	s, fp, _ := newLimited(t, nil)
	routes := []struct{ method, path string }{
		{"POST", "/v1/messages"}, {"GET", "/v1/models"}, {"GET", "/"}, {"GET", "/health"},
		{"GET", "/ready"}, {"GET", "/nope"}, {"POST", "/api/page/token"},
	}
	for _, r := range routes {
		for _, site := range []string{"cross-site", "same-site"} {
			rec := request(s, r.method, r.path, "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{"Sec-Fetch-Site": site})
			if rec.Code != 403 || !strings.Contains(rec.Body.String(), `"permission_error"`) || rec.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s %s Sec-Fetch-Site %s: %d %s", r.method, r.path, site, rec.Code, rec.Body)
			}
		}
	}
	if rec := request(s, "POST", "/v1/messages", "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{"Sec-Fetch-Site": "none"}); rec.Code != 403 {
		t.Errorf("POST with Sec-Fetch-Site none: %d", rec.Code)
	}
	if fp.served.Load() != 0 {
		t.Fatalf("refused requests reached the proxy: %d", fp.served.Load())
	}
	for _, hdr := range []map[string]string{nil, {"Sec-Fetch-Site": "same-origin"}, {"User-Agent": "claude-cli/2.1.0 (external, cli)", "X-Api-Key": "sk-ant-x"}} {
		if rec := request(s, "POST", "/v1/messages", "127.0.0.1:5000", "127.0.0.1:3000", hdr); rec.Code != 200 {
			t.Errorf("POST /v1/messages with %v: %d", hdr, rec.Code)
		}
	}
	for _, p := range []string{"/", "/health"} {
		if rec := request(s, "GET", p, "127.0.0.1:5000", "127.0.0.1:3000", map[string]string{"Sec-Fetch-Site": "none"}); rec.Code != 200 {
			t.Errorf("GET %s typed by the user: %d", p, rec.Code)
		}
	}
}

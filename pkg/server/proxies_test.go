package server

import (
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/secret"
)

// behindNginx is an instance on loopback with a reverse proxy on this
// machine (127.0.0.1) trusted, and an access token.
func behindNginx(o *Options) {
	o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	o.AccessToken = secret.New(accessToken)
}

// Through a trusted proxy, a request counts as its client's: remote, so
// it needs the access token and never reaches the control routes; a
// proxy's own request (no X-Forwarded-For) is its own, local; and a peer
// that is not trusted is never believed about X-Forwarded-For.
func TestTrustedProxies(t *testing.T) {
	f := newTokenFixture(t, behindNginx)
	xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
	withToken := func(v string) map[string]string {
		return map[string]string{"X-Forwarded-For": v, "X-Cco-Token": accessToken}
	}
	for _, tt := range []struct {
		name, method, path, remote string
		hdr                        map[string]string
		want                       int
	}{
		{"proxied, no token", "POST", "/v1/messages", loopbackClient, xff("203.0.113.9"), http.StatusUnauthorized},
		{"proxied, with the token", "POST", "/v1/messages", loopbackClient, withToken("203.0.113.9"), http.StatusOK},
		{"proxied from a client on the proxy's machine", "POST", "/v1/messages", loopbackClient, xff("127.0.0.1"), http.StatusUnauthorized},
		{"proxied to a control route", "POST", control.CacheClearPath, loopbackClient, withToken("203.0.113.9"), http.StatusForbidden},
		{"the proxy's own request", "POST", "/v1/messages", loopbackClient, nil, http.StatusOK},
		{"local control request", "GET", control.CachePath, loopbackClient, map[string]string{control.TokenHeader: token}, http.StatusOK},
		{"garbage in the header", "POST", "/v1/messages", loopbackClient, xff("not-an-ip"), http.StatusUnauthorized},
	} {
		if got := f.send(tt.method, tt.path, tt.remote, tt.hdr, nil); got.Code != tt.want {
			t.Errorf("%s: %d, want %d\n%s", tt.name, got.Code, tt.want, got.Body)
		}
	}
}

// Per-client limits see the client a trusted proxy names, so clients
// behind one proxy do not share a budget; an untrusted peer that claims
// another address in X-Forwarded-For is limited as itself.
func TestTrustedProxyRateLimit(t *testing.T) {
	s, _, _ := newLimited(t, func(o *Options) {
		behindNginx(o)
		o.Remote = true
		o.APILimit = Limit{PerMinute: 2, Concurrent: 10}
	})
	ask := func(remote, xff string) int {
		return request(s, "POST", "/v1/messages", remote, "127.0.0.1:3000",
			map[string]string{"X-Forwarded-For": xff, "X-Cco-Token": accessToken}).Code
	}
	for i, want := range []int{200, 200, 429} {
		if got := ask(loopbackClient, "203.0.113.1"); got != want {
			t.Errorf("client A request %d: %d, want %d", i+1, got, want)
		}
	}
	if got := ask(loopbackClient, "203.0.113.2"); got != 200 {
		t.Errorf("client B behind the same proxy: %d, want 200 (a budget of its own)", got)
	}
	for i, want := range []int{200, 200, 429} {
		// A new address each time: believed, it would never be limited.
		if got := ask(remoteClient, "203.0.113."+string(rune('3'+i))); got != want {
			t.Errorf("untrusted peer request %d: %d, want %d", i+1, got, want)
		}
	}
}

// fakeCounter is a RateCounter that two servers share, as replicas share
// Redis; down makes it fail as a Redis that cannot be reached.
type fakeCounter struct {
	mu    sync.Mutex
	count map[string]int
	down  bool
}

func (f *fakeCounter) CountRequest(key string, perMinute int) (bool, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return false, 0, errors.New("connection refused")
	}
	if f.count == nil {
		f.count = map[string]int{}
	}
	f.count[key]++
	return f.count[key] <= perMinute, 20 * time.Second, nil
}

// With a shared counter, a client's per-minute budget holds across
// replicas; requests at once stay per replica; with the counter away each
// replica counts locally, so the limits never lift.
func TestSharedLimits(t *testing.T) {
	shared := &fakeCounter{}
	replica := func() *Server {
		s, _, _ := newLimited(t, func(o *Options) {
			behindNginx(o)
			o.APILimit = Limit{PerMinute: 3, Concurrent: 10}
			o.SharedLimits = shared
		})
		return s
	}
	one, two := replica(), replica()
	ask := func(s *Server, xff string) int {
		return request(s, "POST", "/v1/messages", loopbackClient, "127.0.0.1:3000",
			map[string]string{"X-Forwarded-For": xff, "X-Cco-Token": accessToken}).Code
	}
	var got []int
	for i := range 4 {
		got = append(got, ask([]*Server{one, two}[i%2], "203.0.113.1"))
	}
	if want := []int{200, 200, 200, 429}; !slices.Equal(got, want) {
		t.Errorf("one client through two replicas at 3 a minute: %v, want %v", got, want)
	}
	if _, ok := shared.count["api:203.0.113.1"]; !ok {
		t.Errorf("the shared counter's keys: %v", shared.count)
	}
	shared.mu.Lock()
	shared.down = true
	shared.mu.Unlock()
	got = got[:0]
	for range 4 {
		got = append(got, ask(one, "203.0.113.9"))
	}
	if want := []int{200, 200, 200, 429}; !slices.Equal(got, want) {
		t.Errorf("counter down, one replica counts locally: %v, want %v", got, want)
	}
}

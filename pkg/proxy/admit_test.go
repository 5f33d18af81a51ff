package proxy

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/cache"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// Options.Admit refuses a POST /v1/messages before it reaches the upstream,
// after the cache: a cached answer is still served (it costs nothing), and
// count_tokens and other routes are never asked about.
func TestAdmitRefusesBeforeTheUpstream(t *testing.T) {
	f := &cachedFront{up: fakeapi.NewUpstream(t, fakeapi.Options{})}
	c, err := cache.New(cache.Options{MaxBytes: 1 << 20, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var refuse atomic.Bool
	var asked atomic.Int64
	_, f.base, _ = front(t, f.up.URL, func(o *Options) {
		o.Cache, o.CacheMaxEntry = c, 1<<20
		o.OnDone = func(d Done) { f.mu.Lock(); f.done = append(f.done, d); f.mu.Unlock() }
		o.Admit = func() *apierror.Error {
			asked.Add(1)
			if !refuse.Load() {
				return nil
			}
			return &apierror.Error{Status: 429, Type: "rate_limit_error", NoRetry: true, RetryAfter: 600, Message: "cco: daily spend limit reached"}
		}
	})
	body := streamReq("s-1")
	if r, _ := f.post(t, body); r.StatusCode != 200 || r.Header.Get("X-Cco-Cache") != "MISS" {
		t.Fatalf("first: %d %s", r.StatusCode, r.Header.Get("X-Cco-Cache"))
	}
	refuse.Store(true)
	if r, _ := f.post(t, strings.Replace(body, "s-1", "s-2", 1)); r.StatusCode != 200 || r.Header.Get("X-Cco-Cache") != "HIT" {
		t.Errorf("a cached answer over the limit: %d %s", r.StatusCode, r.Header.Get("X-Cco-Cache"))
	}
	r, got := f.post(t, strings.Replace(body, `"hi"`, `"hello"`, 1))
	id := r.Header.Get("Request-Id")
	want := `{"type":"error","error":{"type":"rate_limit_error","message":"cco: daily spend limit reached"},"request_id":"` + id + `"}` + "\n"
	if r.StatusCode != 429 || !strings.HasPrefix(id, "req_cco_") || string(got) != want || r.Header.Get("X-Should-Retry") != "false" || r.Header.Get("Retry-After") != "600" {
		t.Errorf("refused: %d %v %q", r.StatusCode, r.Header, got)
	}
	if d := f.last(); d.Status != 429 || d.ErrorType != "rate_limit_error" || d.Upstream != 0 || d.RequestID != id {
		t.Errorf("reported %+v", d)
	}
	if n := len(f.up.Requests()); n != 1 {
		t.Errorf("the upstream got %d requests, want the first only", n)
	}
	before := asked.Load()
	req, _ := http.NewRequest("POST", f.base+"/v1/messages/count_tokens", strings.NewReader(`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || asked.Load() != before {
		t.Errorf("count_tokens: %d, Admit asked %d times", resp.StatusCode, asked.Load()-before)
	}
}

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/realdb"
)

// Two cco processes with cache.url pointing at one Redis share a cache: an
// answer fetched through the first is a HIT through the second, the
// upstream asked once. With Redis stopped both still answer, as BYPASS,
// and each warns once.
func TestSharedCacheAcrossReplicas(t *testing.T) {
	r := realdb.StartRedis(t)
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	env := []string{"CCO_CACHE_URL=" + r.URL()}
	one := ccoproc.StartCCO(t, ccoBin, env, "--upstream", u.URL)
	two := ccoproc.StartCCO(t, ccoBin, env, "--upstream", u.URL)
	c := &teamClient{}
	ask := func(in *ccoproc.Instance) string {
		t.Helper()
		code, state, err := c.ask(in.URL, "", "shared", false)
		if err != nil || code != 200 {
			t.Fatalf("%d %v", code, err)
		}
		return state
	}
	if got := ask(one); got != "MISS" {
		t.Errorf("first request through replica 1: %q, want MISS", got)
	}
	if got := ask(two); got != "HIT" {
		t.Errorf("the same request through replica 2: %q, want HIT", got)
	}
	if n := len(u.Requests()); n != 1 {
		t.Errorf("the upstream was asked %d times, want once", n)
	}

	r.Stop()
	for _, in := range []*ccoproc.Instance{one, two, one} {
		if got := ask(in); got != "BYPASS" {
			t.Errorf("with Redis stopped: %q, want BYPASS", got)
		}
	}
	if n := len(u.Requests()); n != 4 {
		t.Errorf("with Redis stopped the upstream was asked %d times in all, want 4", n)
	}
	if log := one.Log(); strings.Count(log, "response cache bypassed") != 1 {
		t.Errorf("want one warning about Redis in the log:\n%s", log)
	}
}

// Behind a trusted proxy (here the test, from 127.0.0.1 with
// X-Forwarded-For), two replicas sharing a Redis hold a client to one
// per-minute budget between them; another client has its own.
func TestLimitsAcrossReplicas(t *testing.T) {
	r := realdb.StartRedis(t)
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	conf := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(conf, []byte("[rate_limit]\napi_rpm = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "cco-access-0123456789abcdef0123456789abcdef"
	env := []string{"CCO_CACHE_URL=" + r.URL(), "CCO_TRUSTED_PROXIES=127.0.0.1", "CCO_SERVER_TOKEN=" + token, "CCO_CONFIG=" + conf}
	replicas := []*ccoproc.Instance{ccoproc.StartCCO(t, ccoBin, env, "--upstream", u.URL), ccoproc.StartCCO(t, ccoBin, env, "--upstream", u.URL)}
	c := &teamClient{token: token}
	ask := func(in *ccoproc.Instance, client string) int {
		t.Helper()
		code, _, err := c.ask(in.URL, client, "limit", false)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	var got []int
	for i := range 4 {
		got = append(got, ask(replicas[i%2], "203.0.113.5"))
	}
	if want := []int{200, 200, 200, 429}; !slices.Equal(got, want) {
		t.Errorf("one client, 4 requests through two replicas at 3 a minute: %v, want %v", got, want)
	}
	if code := ask(replicas[1], "203.0.113.6"); code != 200 {
		t.Errorf("another client: %d, want 200", code)
	}
}

// teamClient sends requests as the README's users would, through the
// balancer or to one replica.
type teamClient struct {
	token string
	sent  atomic.Int64 // answered 200
	hits  atomic.Int64 // of which x-cco-cache: HIT
}

// ask sends one request with a body made from what, as the client at
// address from (who also names itself so in x-cco-user); it returns the
// status and x-cco-cache.
func (c *teamClient) ask(base, from, what string, stream bool) (int, string, error) {
	body := fmt.Sprintf(`{"model":"claude-haiku-4-5","max_tokens":16,"stream":%t,"messages":[{"role":"user","content":%q}]}`, stream, what)
	req, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", "sk-ant-api03-team")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-cco-token", c.token)
	if from != "" {
		req.Header.Set("x-forwarded-for", from)
		req.Header.Set("x-cco-user", from)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, "", err
	}
	state := resp.Header.Get("X-Cco-Cache")
	if resp.StatusCode == 200 {
		if stream && !strings.Contains(string(data), "message_stop") {
			return 0, "", fmt.Errorf("a stream cut short: %q", data)
		}
		c.sent.Add(1)
		if state == "HIT" {
			c.hits.Add(1)
		}
	}
	return resp.StatusCode, state, nil
}

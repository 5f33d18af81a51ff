package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// rawClient neither asks for nor undoes compression: bytes are compared as
// they travel.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func post(t *testing.T, url string, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const streamBody = `{"model":"claude-haiku-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

// A stream through cco is byte-identical to the same stream fetched
// directly, compressed or not, and the upstream's headers come through.
func TestStreamsAreByteIdentical(t *testing.T) {
	for _, gz := range []bool{false, true} {
		u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
			return fakeapi.Scenario{ToolUse: true, Thinking: true, Pings: 3, Text: "some text first", Gzip: gz,
				Usage: fakeapi.Usage{Input: 100, Output: 50, CacheWrite5m: 10, CacheWrite1h: 20, CacheRead: 30}}
		}})
		cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)
		hdr := map[string]string{"X-Api-Key": "sk-ant-api03-raw", "Accept-Encoding": "gzip, deflate, br, zstd"}

		direct := post(t, u.URL+"/v1/messages?beta=true", streamBody, hdr)
		want, err := io.ReadAll(direct.Body)
		direct.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		via := post(t, cco.URL+"/v1/messages?beta=true", streamBody, hdr)
		got, err := io.ReadAll(via.Body)
		via.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) || len(got) == 0 {
			t.Errorf("gzip=%v: stream through cco differs from direct:\n got %q\nwant %q", gz, got, want)
		}
		for _, h := range []string{"Content-Type", "Content-Encoding", "Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Tokens-Remaining"} {
			if via.Header.Get(h) != direct.Header.Get(h) {
				t.Errorf("gzip=%v: header %s: %q through cco, %q direct", gz, h, via.Header.Get(h), direct.Header.Get(h))
			}
		}
		if gz != (via.Header.Get("Content-Encoding") == "gzip") {
			t.Errorf("gzip=%v: Content-Encoding %q", gz, via.Header.Get("Content-Encoding"))
		}
		if !strings.HasPrefix(via.Header.Get("Request-Id"), "req_") {
			t.Errorf("request-id %q", via.Header.Get("Request-Id"))
		}
	}
}

// Each event reaches the client before the upstream sends the next one.
func TestEventsArriveBeforeTheNextIsSent(t *testing.T) {
	var mu sync.Mutex
	flushed := map[int]time.Time{}
	u := fakeapi.NewUpstream(t, fakeapi.Options{
		Scenario: func(*fakeapi.Request) fakeapi.Scenario {
			return fakeapi.Scenario{Deltas: 6, Pings: 2, EventGap: 100 * time.Millisecond}
		},
		OnFlush: func(_ string, event int, at time.Time) {
			mu.Lock()
			flushed[event] = at
			mu.Unlock()
		},
	})
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)
	resp := post(t, cco.URL+"/v1/messages", streamBody, map[string]string{"X-Api-Key": "sk-ant-x"})
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var arrived []time.Time
	for {
		line, err := br.ReadString('\n')
		if line == "\n" {
			arrived = append(arrived, time.Now())
		}
		if err != nil {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrived) != len(flushed) || len(arrived) < 10 {
		t.Fatalf("%d events arrived, %d flushed", len(arrived), len(flushed))
	}
	for i := 0; i+1 < len(arrived); i++ {
		if !arrived[i].Before(flushed[i+1]) {
			t.Errorf("event %d arrived at %s, after event %d was flushed at %s", i, arrived[i].Format(time.StampMicro), i+1, flushed[i+1].Format(time.StampMicro))
		}
	}
}

// A request without credentials gets the key from ANTHROPIC_API_KEY; the
// key never reaches cco's log.
func TestAPIKeyFromEnvironment(t *testing.T) {
	const key = "sk-ant-api03-from-the-environment-0123456789"
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	cco := ccoproc.StartCCO(t, ccoBin, []string{"ANTHROPIC_API_KEY=" + key}, "--upstream", u.URL, "--log-level", "trace")
	resp := post(t, cco.URL+"/v1/messages", streamBody, nil)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp = post(t, cco.URL+"/v1/messages", streamBody, map[string]string{"Authorization": "Bearer sk-ant-oat01-user"})
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	reqs := u.Requests()
	if len(reqs) != 2 || reqs[0].Header.Get("X-Api-Key") != key || reqs[1].Header.Get("X-Api-Key") != "" || reqs[1].Header.Get("Authorization") != "Bearer sk-ant-oat01-user" {
		t.Fatalf("upstream saw %+v", reqs)
	}
	// Both requests are logged (at trace level, the most there is); the
	// keys are not.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(cco.Log(), "proxy request done") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if log := cco.Log(); strings.Contains(log, "from-the-environment") || strings.Contains(log, "oat01-user") || strings.Count(log, "proxy request done") != 2 {
		t.Errorf("log:\n%s", log)
	}
}

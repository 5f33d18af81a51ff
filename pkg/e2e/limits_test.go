package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// TestSpendLimit: with limits.daily_usd reached, a Claude Code-style
// request gets the 429 rate_limit_error envelope with x-should-retry:
// false and never reaches the upstream; a cached answer is still served;
// /health, cco stats and the log say so; `cco config set` raising the
// limit lets requests through again, without a restart.
func TestSpendLimit(t *testing.T) {
	// The day must not end during the test (the limit would reset).
	now := time.Now()
	if left := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.Local).Sub(now); left < time.Minute {
		time.Sleep(left + time.Second)
	}
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("[limits]\ndaily_usd = 0.000001 # a millionth of a dollar: one request passes it\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL, "--config", cfg)
	hdr := map[string]string{"x-api-key": "sk-ant-api03-limits", "anthropic-beta": "claude-code-20250219",
		"x-app": "cli", "user-agent": "claude-cli/2.1.197 (external, cli)", "x-claude-code-session-id": "5f0c1d2e-limits"}
	ask := func(text string) (*http.Response, []byte) {
		t.Helper()
		resp := post(t, cco.URL+"/v1/messages?beta=true", strings.Replace(streamBody, `"hi"`, strconv.Quote(text), 1), hdr)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	health := func() control.Health {
		t.Helper()
		var h control.Health
		getJSON(t, cco.URL+"/health", &h)
		return h
	}

	if h := health(); h.Limits["daily"].State != control.LimitOK || h.Limits["daily"].ResetsAt == nil || len(h.Limits) != 1 {
		t.Fatalf("/health before any request: %+v", h.Limits)
	}
	if resp, body := ask("first"); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, body)
	}
	for deadline := time.Now().Add(10 * time.Second); health().Limits["daily"].State != control.LimitBlocked; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the limit was not reached: %+v", health().Limits)
		}
	}

	resp, body := ask("second")
	var env apierror.Envelope
	json.Unmarshal(body, &env)
	msg := regexp.MustCompile(`^cco: daily spend limit reached \(\$0\.\d{4} of \$0\.00\); resets at 00:00 \(in (\d+h)?(\d+m)?\)\. Raise limits\.daily_usd to continue\.$`)
	if resp.StatusCode != 429 || env.Type != "error" || env.Error.Type != "rate_limit_error" || !msg.MatchString(env.Error.Message) {
		t.Errorf("over the limit: %d %s", resp.StatusCode, body)
	}
	t.Logf("429: %s", body)
	if resp.Header.Get("X-Should-Retry") != "false" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", resp.Header)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s <= 0 || s > 25*3600 {
		t.Errorf("retry-after %q", resp.Header.Get("Retry-After"))
	}
	if n := len(u.Requests()); n != 1 {
		t.Errorf("the upstream got %d requests, want 1", n)
	}
	if resp, _ := ask("first"); resp.StatusCode != 200 || resp.Header.Get("X-Cco-Cache") != "HIT" {
		t.Errorf("a cached answer over the limit: %d %s", resp.StatusCode, resp.Header.Get("X-Cco-Cache"))
	}

	stats := exec.Command(ccoBin, "stats", "--config", cfg)
	stats.Env = ccoproc.Env(cco.Home)
	out, err := stats.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^daily limit +\$0\.\d+ of \$0\.00 \(\d+\.\d%\), reached: new requests are refused; resets at 00:00 \(in `).Match(out) {
		t.Errorf("cco stats: %v\n%s", err, out)
	}
	t.Logf("cco stats:\n%s", out)
	if line := runStatusLine(t, cco.Home, claudeStatusInput("5f0c1d2e-limits")); !strings.HasSuffix(line, " · ⛔ daily limit") {
		t.Errorf("status line %q", line)
	}
	if log := cco.Log(); !strings.Contains(log, "spend limit reached: new /v1/messages requests are refused") || !strings.Contains(log, "limit=daily") {
		t.Errorf("log:\n%s", log)
	}

	set := exec.Command(ccoBin, "config", "set", "--config", cfg, "limits.daily_usd", "1000")
	set.Env = ccoproc.Env(cco.Home)
	if out, err := set.CombinedOutput(); err != nil {
		t.Fatalf("cco config set: %v\n%s", err, out)
	}
	start := time.Now()
	for {
		resp, body := ask("second")
		if resp.StatusCode == 200 {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("still refused after the raise: %d %s", resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if h := health(); h.Limits["daily"].State != control.LimitOK || h.Limits["daily"].USD != 1000 {
		t.Errorf("/health after the raise: %+v", h.Limits)
	}
	if !strings.Contains(cco.Log(), "spend limits changed") {
		t.Errorf("the change is not logged:\n%s", cco.Log())
	}
}

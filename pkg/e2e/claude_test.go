package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// TestClaudeCode runs Claude Code itself through cco against the fake
// upstream: `claude -p ... --output-format json` must succeed with exactly
// one upstream request for its one turn, and the same run again must be
// answered from cco's cache.
//
// It needs the claude executable named by CCO_TEST_CLAUDE; `task
// claude-code` and .ci/run install the pinned @anthropic-ai/claude-code from
// npm into a temporary folder and set it.
func TestClaudeCode(t *testing.T) {
	claude := os.Getenv("CCO_TEST_CLAUDE")
	if claude == "" {
		t.Skip("CCO_TEST_CLAUDE is not set: run `task claude-code` (CI always runs this test)")
	}
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Usage: fakeapi.Usage{Input: 10, Output: 7}}
	}})
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)

	home, work := t.TempDir(), t.TempDir()
	run := func() string {
		t.Helper()
		cmd := exec.Command(claude, "-p", "say hi", "--output-format", "json", "--model", "claude-haiku-4-5", "--no-session-persistence")
		cmd.Dir = work
		cmd.Stdin = nil // /dev/null: an open empty pipe makes it wait
		cmd.Env = claudeEnv(home, cco.URL)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		t.Logf("claude ran in %s", time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("claude: %v\nstdout: %s\nstderr: %s\ncco log:\n%s", err, stdout.String(), stderr.String(), cco.Log())
		}
		var out struct {
			IsError bool   `json:"is_error"`
			Result  string `json:"result"`
			Usage   struct {
				InputTokens  int `json:"input_tokens"`
				OutputTokens int `json:"output_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
		}
		if out.IsError || out.Result != fakeapi.DefaultText || out.Usage.InputTokens != 10 || out.Usage.OutputTokens != 7 {
			t.Errorf("claude result: %s", stdout.String())
		}
		return out.Result
	}
	turns := func() []fakeapi.Request {
		var rs []fakeapi.Request
		for _, r := range u.Requests() {
			if r.Path == "/v1/messages" {
				rs = append(rs, r)
			}
		}
		return rs
	}

	first := run()
	if n := len(turns()); n != 1 {
		t.Fatalf("want exactly one upstream /v1/messages request, got %d: %v", n, u.Requests())
	}
	r := turns()[0]
	if r.Method != "POST" || r.RawQuery != "beta=true" || r.Header.Get("X-Api-Key") != "sk-ant-api03-dummy-claude-code" ||
		r.Header.Get("Anthropic-Version") == "" || !strings.Contains(r.Header.Get("Anthropic-Beta"), "claude-code") ||
		r.Header.Get("X-Claude-Code-Session-Id") == "" || !bytes.Contains(r.Body, []byte(`"stream":true`)) {
		t.Errorf("the turn's request lost something on the way: %s %s?%s %v (%d bytes)", r.Method, r.Path, r.RawQuery, r.Header, len(r.Body))
	}

	// The same run again: a new session, the same question: cco answers it.
	second := run()
	if n := len(turns()); n != 1 {
		t.Errorf("the repeated run reached the upstream: %d requests", n)
	}
	if first != second {
		t.Errorf("answers differ: %q, %q", first, second)
	}
	// Access lines are written in batches (within 100 ms): wait for it.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(cco.Log(), "cache=HIT") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(cco.Log(), "cache=HIT") {
		t.Errorf("no cache hit in cco's log:\n%s", cco.Log())
	}
}

// claudeEnv is the environment Claude Code runs in, in HOME home, through
// the cco at baseURL.
func claudeEnv(home, baseURL string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"ANTHROPIC_BASE_URL=" + baseURL,
		"ANTHROPIC_API_KEY=sk-ant-api03-dummy-claude-code",
		// No traffic besides the turn itself: no HEAD probe, no calls to
		// api.anthropic.com (which would carry the key past cco).
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_ERROR_REPORTING=1",
		// A failure shows as one request and exit 1, not as retries.
		"CLAUDE_CODE_MAX_RETRIES=0",
		"CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK=1",
	}
}

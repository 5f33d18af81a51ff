package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// claudeStatusInput is what Claude Code sends a status line command on
// stdin, in the documented fields (hook_event_name, session_id,
// transcript_path, cwd, model, workspace, version, output_style, cost),
// for session id.
func claudeStatusInput(id string) string {
	return fmt.Sprintf(`{
  "hook_event_name": "Status",
  "session_id": %q,
  "transcript_path": "/home/dev/.claude/projects/-home-dev-src/%s.jsonl",
  "cwd": "/home/dev/src",
  "model": {"id": "claude-haiku-4-5", "display_name": "Haiku 4.5"},
  "workspace": {"current_dir": "/home/dev/src", "project_dir": "/home/dev/src"},
  "version": "2.1.332",
  "output_style": {"name": "default"},
  "cost": {"total_cost_usd": 0.0123, "total_duration_ms": 45000, "total_api_duration_ms": 2300,
    "total_lines_added": 12, "total_lines_removed": 3}
}`, id, id)
}

// runStatusLine runs `cco statusline` as Claude Code would, for the
// instance's user, with stdin.
func runStatusLine(t testing.TB, home, stdin string) string {
	t.Helper()
	cmd := exec.Command(ccoBin, "statusline")
	cmd.Env = ccoproc.Env(home)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cco statusline: %v\n%s", err, stderr.String())
	}
	return strings.TrimSuffix(string(out), "\n")
}

// TestStatusLine: a session's requests through a running cco are on the
// line Claude Code shows for that session; another session's line has no
// session part; a stopped instance gives the plain fallback.
func TestStatusLine(t *testing.T) {
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)
	for range 2 {
		body := `{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
		req, _ := http.NewRequest("POST", cco.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("x-api-key", "sk-ant-api03-statusline")
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("content-type", "application/json")
		req.Header.Set("x-claude-code-session-id", "0b6c5f0e-8a47-4d7e-9d0c-2f3b1c4d5e6f")
		req.Header.Set("cache-control", "no-cache") // both priced, not the second a hit
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	var st control.StatusLine
	for deadline := time.Now().Add(10 * time.Second); st.SessionRequests < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(cco.URL + control.StatusLinePath + "?session=0b6c5f0e-8a47-4d7e-9d0c-2f3b1c4d5e6f")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
	}
	if st.SessionRequests != 2 || st.SessionCostNanoUSD <= 0 || st.TodayCostNanoUSD != st.SessionCostNanoUSD || !st.BlockActive ||
		st.BlockCostNanoUSD != st.SessionCostNanoUSD || st.BlockRemainingMinutes <= 0 || st.BlockRemainingMinutes > 300 {
		t.Fatalf("/api/statusline: %+v", st)
	}

	line := runStatusLine(t, cco.Home, claudeStatusInput("0b6c5f0e-8a47-4d7e-9d0c-2f3b1c4d5e6f"))
	usd := func(n int64) string { return fmt.Sprintf("$%.4f", float64(n)/1e9) }
	if !strings.HasPrefix(line, "cco session ") || !strings.Contains(line, " · today ") || !strings.Contains(line, " · block ") {
		t.Errorf("the session's line: %q (cost %s)", line, usd(st.SessionCostNanoUSD))
	}
	if other := runStatusLine(t, cco.Home, claudeStatusInput("another-session")); strings.Contains(other, "session") || !strings.HasPrefix(other, "cco today ") {
		t.Errorf("another session's line: %q", other)
	}
	if bare := runStatusLine(t, cco.Home, ""); !strings.HasPrefix(bare, "cco today ") {
		t.Errorf("no stdin: %q", bare)
	}
	cco.Stop() //nolint:errcheck // how it exits is not this test's

	if line := runStatusLine(t, cco.Home, claudeStatusInput("x")); line != "cco: not running" {
		t.Errorf("no instance: %q", line)
	}
}

// BenchmarkStatusLine is `cco statusline`'s wall time as Claude Code sees
// it (exec to exit, stdin given) with an instance running; it reports the
// median as p50-ms.
func BenchmarkStatusLine(b *testing.B) {
	u := fakeapi.NewUpstream(b, fakeapi.Options{})
	cco := ccoproc.StartCCO(b, ccoBin, nil, "--upstream", u.URL)
	input := claudeStatusInput("0b6c5f0e-8a47-4d7e-9d0c-2f3b1c4d5e6f")
	// The baseline, in the same run: `cco version`, which starts the same
	// binary and does nothing else.
	var times, base []time.Duration
	for b.Loop() {
		start := time.Now()
		if line := runStatusLine(b, cco.Home, input); !strings.HasPrefix(line, "cco ") || strings.Contains(line, "not running") || strings.Contains(line, "no answer") {
			b.Fatalf("line %q", line)
		}
		times = append(times, time.Since(start))
		start = time.Now()
		cmd := exec.Command(ccoBin, "version")
		cmd.Env = ccoproc.Env(cco.Home)
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		base = append(base, time.Since(start))
	}
	median := func(ts []time.Duration) float64 {
		slices.Sort(ts)
		return float64(ts[len(ts)/2].Microseconds()) / 1000
	}
	p50, start := median(times), median(base)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(start, "version-p50-ms")
	b.ReportMetric(p50/start, "x-version")
}

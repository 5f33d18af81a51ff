package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// TestClaudeCodeImport runs Claude Code through cco, keeping its session
// logs, then imports those logs: every message in them is one cco
// recorded itself (by the upstream's request-id and the message id, as
// Claude Code logs them), so the import reads them all and adds none. A
// repeated question answered from cco's cache is logged by Claude Code
// with the original's ids, and is not added either.
//
// It needs the claude executable named by CCO_TEST_CLAUDE (see
// TestClaudeCode).
func TestClaudeCodeImport(t *testing.T) {
	claude := os.Getenv("CCO_TEST_CLAUDE")
	if claude == "" {
		t.Skip("CCO_TEST_CLAUDE is not set: run `task claude-code` (CI always runs this test)")
	}
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		// Thinking and text: two content blocks, two lines in the log.
		return fakeapi.Scenario{Thinking: true, Usage: fakeapi.Usage{Input: 12, Output: 34, CacheWrite5m: 100, CacheWrite1h: 200, CacheRead: 3000}}
	}})
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)

	home, work := t.TempDir(), t.TempDir()
	ask := func(prompt string) {
		t.Helper()
		cmd := exec.Command(claude, "-p", prompt, "--output-format", "json", "--model", "claude-haiku-4-5")
		cmd.Dir = work
		cmd.Stdin = nil
		cmd.Env = claudeEnv(home, cco.URL)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("claude: %v\nstdout: %s\nstderr: %s\ncco log:\n%s", err, stdout.String(), stderr.String(), cco.Log())
		}
	}
	ask("say hi")
	ask("say bye")
	ask("say hi") // a new session, the same question: answered from cco's cache

	// cliIn runs cco with env added to the instance's; cli, as it is.
	cliIn := func(env []string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(ccoBin, args...)
		cmd.Env = append(append([]string(nil), cco.Cmd.Env...), env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("cco %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.Bytes()
	}
	cli := func(args ...string) []byte { t.Helper(); return cliIn(nil, args...) }
	type stats struct {
		Totals struct {
			Requests  int64 `json:"requests"`
			CacheHits int64 `json:"cache_hits"`
			CostNano  int64 `json:"cost_nano_usd"`
		} `json:"totals"`
	}
	// cco writes its rows within a second of each answer.
	var before stats
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := json.Unmarshal(cli("stats", "--range", "all", "--json"), &before); err != nil {
			t.Fatal(err)
		}
		if before.Totals.Requests >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if before.Totals.Requests != 3 || before.Totals.CacheHits != 1 {
		t.Fatalf("cco recorded %+v, want 3 requests, 1 from its cache", before.Totals)
	}
	logs, _ := filepath.Glob(filepath.Join(home, ".claude", "projects", "*", "*.jsonl"))
	if len(logs) != 3 {
		t.Fatalf("Claude Code wrote %d session logs, want 3: %v", len(logs), logs)
	}

	var rep struct {
		Files, Messages, Malformed, Imported int
		Assistant                            int `json:"assistant_lines"`
		Present                              int `json:"already_present"`
		Versions                             map[string]int
	}
	out := cli("stats", "import", "--claude-dir", filepath.Join(home, ".claude"), "--min-age", "0", "--json")
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("cco stats import --json:\n%s", out)
	if testing.Verbose() {
		for _, f := range logs {
			b, _ := os.ReadFile(f)
			for _, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, `"type":"assistant"`) {
					t.Logf("%s: %.600s", filepath.Base(f), line)
				}
			}
		}
	}
	// Two distinct answers: the cache hit is logged with the original's
	// request id and message id.
	if rep.Files != 3 || rep.Messages != 2 || rep.Assistant < 3 || rep.Malformed != 0 || rep.Imported != 0 || rep.Present != 2 {
		t.Errorf("import of Claude Code's own logs:\n%s", out)
	}
	// The same logs into an empty database: both messages would be new.
	empty := "CCO_DATABASE_URL=sqlite:///" + strings.TrimPrefix(filepath.ToSlash(filepath.Join(t.TempDir(), "empty.db")), "/")
	out = cliIn([]string{empty}, "stats", "import", "--claude-dir", filepath.Join(home, ".claude"), "--min-age", "0", "--json", "--dry-run")
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Imported != 2 || rep.Present != 0 {
		t.Errorf("dry run into an empty database:\n%s", out)
	}

	var after stats
	if err := json.Unmarshal(cli("stats", "--range", "all", "--json"), &after); err != nil {
		t.Fatal(err)
	}
	if after.Totals != before.Totals {
		t.Errorf("the import changed the stats: %+v, was %+v", after.Totals, before.Totals)
	}
}

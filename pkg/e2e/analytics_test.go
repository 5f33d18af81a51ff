package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/realdb"
)

// byModel answers each model with usage chosen for hand-computable costs.
func byModel(r *fakeapi.Request) fakeapi.Scenario {
	var body struct {
		Model string `json:"model"`
	}
	json.Unmarshal(r.Body, &body)
	switch body.Model {
	case "claude-haiku-4-5":
		return fakeapi.Scenario{Usage: fakeapi.Usage{Input: 1000, Output: 500, CacheWrite5m: 2000, CacheRead: 10000}}
	case "claude-sonnet-4-5-20250929":
		return fakeapi.Scenario{Usage: fakeapi.Usage{Input: 2000, Output: 1000, CacheWrite1h: 4000}}
	case "claude-sonnet-5-5":
		return fakeapi.Scenario{Usage: fakeapi.Usage{Input: 100, Output: 10}}
	case "claude-opus-4-5":
		return fakeapi.Scenario{Status: 529}
	}
	return fakeapi.Scenario{}
}

// The hand-computed expectation, in nano-dollars (prices per million
// tokens: Haiku 4.5 input 1, output 5, 5m write 1.25, read 0.10; Sonnet 4.5
// input 3, output 15, 1h write 6):
//
//	haiku:  1000×1000 + 500×5000 + 2000×1250 + 10000×100      =  7,000,000 ($0.007)
//	        prompt caching saved 10000 × (1000 − 100)           =  9,000,000 ($0.009)
//	sonnet: 2000×3000 + 1000×15000 + 4000×6000                 = 45,000,000 ($0.045)
//	sonnet-5-5: no price: recorded, cost unknown
//	opus 529: an error, nothing billed
//	haiku again: a cache hit, cost 0, saved 7,000,000 ($0.007)
var wantTotals = control.Totals{
	Requests: 5, Errors: 1, CacheHits: 1, UnknownCost: 1,
	InputTokens: 3100, OutputTokens: 1510, CacheWrite5mTokens: 2000, CacheWrite1hTokens: 4000, CacheReadTokens: 10000,
	CostNanoUSD: 52_000_000, CostUSD: 0.052,
	CacheSavingsNanoUSD: 7_000_000, CacheSavingsUSD: 0.007,
	PromptCacheSavingsNanoUSD: 9_000_000, PromptCacheSavingsUSD: 0.009,
}

// /api/stats and `cco stats` agree with a hand-computed fixture, to the cent
// and below, on SQLite (the default) and on PostgreSQL (database.url), whose
// password never shows in the log, /health or `config show`.
func TestStatsAgreeWithHandComputedFixture(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { statsAgreeWithFixture(t, nil, nil) })
	t.Run("postgres", func(t *testing.T) {
		pg := realdb.StartPostgres(t)
		// Trust authentication ignores the password; it is here to be hidden.
		url := strings.Replace(pg.URL(""), "postgres://cco@", "postgres://cco:s3cret-pw@", 1)
		statsAgreeWithFixture(t, []string{"CCO_DATABASE_URL=" + url}, func(cco *ccoproc.Instance) {
			var seen []string
			for _, args := range [][]string{{"config", "get", "database.url"}, {"config", "show"}, {"status", "--json"}} {
				cmd := exec.Command(ccoBin, args...)
				cmd.Env = cco.Cmd.Env
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Errorf("cco %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				seen = append(seen, string(out))
			}
			if !strings.Contains(seen[0], "postgres://cco:xxxxx@127.0.0.1") {
				t.Errorf("cco config get database.url = %q, want the URL with its password as xxxxx", seen[0])
			}
			for _, path := range []string{"/health", "/api/instance"} {
				resp, err := http.Get(cco.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				seen = append(seen, string(b))
			}
			for _, text := range append(seen, cco.Log()) {
				if strings.Contains(text, "s3cret-pw") {
					t.Errorf("the database password leaked:\n%s", text)
				}
			}
		})
	})
}

// statsAgreeWithFixture runs the fixture through an instance started with
// env, calls whileRunning (if any) before stopping it, and reads the
// stats again offline.
func statsAgreeWithFixture(t *testing.T, env []string, whileRunning func(*ccoproc.Instance)) {
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: byModel})
	cco := ccoproc.StartCCO(t, ccoBin, env, "--upstream", u.URL)
	client := anthropic.NewClient(option.WithBaseURL(cco.URL), option.WithAPIKey("sk-ant-api03-stats"), option.WithMaxRetries(0))
	ctx := context.Background()
	ask := func(model string) error {
		stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
			Model: anthropic.Model(model), MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("price me"))},
		})
		for stream.Next() {
		}
		return stream.Err()
	}
	for _, m := range []string{"claude-haiku-4-5", "claude-sonnet-4-5-20250929", "claude-sonnet-5-5"} {
		if err := ask(m); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if err := ask("claude-opus-4-5"); err == nil {
		t.Fatal("the 529 did not fail")
	}
	if err := ask("claude-haiku-4-5"); err != nil {
		t.Fatal(err)
	}
	if n := len(u.Requests()); n != 4 {
		t.Fatalf("upstream saw %d requests; the repeat should have been a cache hit", n)
	}

	// The rows are written off the request path: wait until all five count.
	var api control.Stats
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(cco.URL + "/api/stats?range=today")
		if err != nil {
			t.Fatal(err)
		}
		api = control.Stats{}
		json.NewDecoder(resp.Body).Decode(&api)
		resp.Body.Close()
		if api.Totals.Requests == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if api.Totals != wantTotals {
		t.Errorf("/api/stats totals\n got %+v\nwant %+v", api.Totals, wantTotals)
	}
	if api.CacheHitRate != 0.2 || api.Range != "today" || api.ResponseCache == nil || api.ResponseCache.Hits != 1 {
		t.Errorf("/api/stats: hit rate %v, range %q, cache %+v", api.CacheHitRate, api.Range, api.ResponseCache)
	}
	models := map[string]control.ModelStats{}
	for _, m := range api.ByModel {
		models[m.Model] = m
	}
	if m := models["claude-haiku-4-5"]; m.Requests != 2 || m.CostNanoUSD != 7_000_000 || m.CacheSavingsNanoUSD != 7_000_000 || m.PromptCacheSavingsNanoUSD != 9_000_000 {
		t.Errorf("haiku: %+v", m)
	}
	if m := models["claude-sonnet-4-5-20250929"]; m.CostNanoUSD != 45_000_000 || m.CacheWrite1hTokens != 4000 {
		t.Errorf("sonnet: %+v", m)
	}
	if m := models["claude-sonnet-5-5"]; m.UnknownCost != 1 || m.CostNanoUSD != 0 || m.InputTokens != 100 {
		t.Errorf("unknown model: %+v", m)
	}
	if len(api.ByDay) != 1 || api.ByDay[0].Totals != wantTotals {
		t.Errorf("by day: %+v", api.ByDay)
	}

	// The CLI, through the same instance.
	cli := func(args ...string) string {
		cmd := exec.Command(ccoBin, args...)
		cmd.Env = append(cco.Cmd.Env, "NO_COLOR=1")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("cco %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	var viaCLI control.Stats
	if err := json.Unmarshal([]byte(cli("stats", "--range", "today", "--json")), &viaCLI); err != nil {
		t.Fatal(err)
	}
	if viaCLI.Totals != api.Totals {
		t.Errorf("cco stats --json differs from /api/stats:\n%+v\n%+v", viaCLI.Totals, api.Totals)
	}
	table := cli("stats")
	for _, want := range []string{"requests      5 (1 errors; 1 from cco's cache, 20.0%; 1 with unknown cost)",
		"cost          $0.052", "saved         $0.007 by cco's cache, $0.009 by prompt caching", "claude-haiku-4-5", "(+ unknown)"} {
		if !strings.Contains(table, want) {
			t.Errorf("cco stats lacks %q:\n%s", want, table)
		}
	}

	if whileRunning != nil {
		whileRunning(cco)
	}

	// With the instance stopped, cco stats reads the database itself.
	if err := cco.Stop(); err != nil && !strings.Contains(err.Error(), "exit status") {
		t.Fatal(err)
	}
	var offline control.Stats
	if err := json.Unmarshal([]byte(cli("stats", "--range", "all", "--json")), &offline); err != nil {
		t.Fatal(err)
	}
	if offline.Totals != wantTotals {
		t.Errorf("offline stats\n got %+v\nwant %+v", offline.Totals, wantTotals)
	}
}

// A cached stream, replayed, parses in the official SDK exactly as the
// original did.
func TestCacheReplayParsesIdenticallyInSDK(t *testing.T) {
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Thinking: true, ToolUse: true, Text: "before the tool", Pings: 2,
			Usage: fakeapi.Usage{Input: 30, Output: 20, CacheWrite5m: 5, CacheWrite1h: 6, CacheRead: 7}}
	}})
	cco := ccoproc.StartCCO(t, ccoBin, nil, "--upstream", u.URL)
	client := anthropic.NewClient(option.WithBaseURL(cco.URL), option.WithAPIKey("sk-ant-api03-replay"), option.WithMaxRetries(0))
	var messages [2]string
	var states [2]string
	for i := range 2 {
		var resp *http.Response
		stream := client.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
			Model: anthropic.ModelClaudeHaiku4_5, MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("replay me"))},
		}, option.WithResponseInto(&resp))
		var msg anthropic.Message
		for stream.Next() {
			if err := msg.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(msg)
		messages[i], states[i] = string(b), resp.Header.Get("X-Cco-Cache")
	}
	if states != [2]string{"MISS", "HIT"} {
		t.Errorf("x-cco-cache: %v", states)
	}
	if messages[0] != messages[1] {
		t.Errorf("replayed stream parses differently:\n%s\n%s", messages[0], messages[1])
	}
	if len(u.Requests()) != 1 {
		t.Errorf("upstream saw %d requests", len(u.Requests()))
	}
}

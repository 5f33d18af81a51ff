package analytics

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/claudelog"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/proxy"
	"github.com/visiquate/cco/pkg/store"
	"github.com/visiquate/cco/pkg/usage"
)

func readFixtures(t *testing.T) *claudelog.Log {
	t.Helper()
	var l claudelog.Log
	if err := l.ReadDir(filepath.Join("..", "claudelog", "testdata", "claude", "projects")); err != nil {
		t.Fatal(err)
	}
	return &l
}

// TestImportFixtures imports claudelog's fixtures into a real database:
// the imported totals are the fixtures' worked by hand
// (claudelog/testdata/claude/README.md), the stats count them, a message
// cco recorded itself is not counted twice, and a second import adds
// nothing.
func TestImportFixtures(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "analytics.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	prices := pricing.Default()

	// cco proxied msg_01D1 itself (opus, 67,545,000 nano-USD): its row
	// has the upstream's request-id and the message id.
	rec := &Recorder{Prices: prices, Queue: db}
	d1 := usage.Usage{Model: "claude-opus-4-1-20250805", MessageID: "msg_01D1", Stream: true, Complete: true,
		Tokens: pricing.Tokens{Input: 3, Output: 500, CacheRead: 20000}}
	rec.Record(proxy.Done{Start: time.Date(2025, 10, 11, 7, 59, 58, 0, time.UTC), Path: "/v1/messages", Status: 200,
		RequestID: "req_011D1", Usage: d1, UserAgent: "claude-cli/2.0.20 (external, cli)"})
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	rep, err := Import(ctx, db, readFixtures(t), ImportOptions{Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	// Seven of the eight messages; D1 was there.
	want := control.Totals{Requests: 7, UnknownCost: 1, InputTokens: 3226 - 3, OutputTokens: 2580 - 500,
		CacheWrite5mTokens: 3800, CacheWrite1hTokens: 1700, CacheReadTokens: 44500 - 20000,
		CostNanoUSD: 107_134_000 - 67_545_000}
	got := rep.Totals
	got.CostUSD, got.PromptCacheSavingsNanoUSD, got.PromptCacheSavingsUSD = 0, 0, 0
	if rep.Imported != 7 || rep.Present != 1 || got != want {
		t.Errorf("imported %d, present %d, totals %+v\nwant 7, 1, %+v", rep.Imported, rep.Present, got, want)
	}
	if !reflect.DeepEqual(rep.UnknownModels, []string{"claude-future-9"}) || rep.Messages != 8 || rep.Malformed != 6 {
		t.Errorf("report %+v", rep)
	}
	st, err := db.Stats(ctx, time.Time{}, time.Now(), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if st.Totals.Requests != 8 || st.Totals.CostNano != 107_134_000 || st.Totals.Input != 3226 || st.Totals.CacheRead != 44500 {
		t.Errorf("stats after the import: %+v", st.Totals)
	}

	// Again: nothing added, the stats as they were.
	rep, err = Import(ctx, db, readFixtures(t), ImportOptions{Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 0 || rep.Present != 8 || rep.Totals != (control.Totals{}) {
		t.Errorf("second import: %+v", rep)
	}
	if again, err := db.Stats(ctx, time.Time{}, time.Now(), time.UTC); err != nil || again.Totals != st.Totals {
		t.Errorf("stats after the second import: %+v, %v", again.Totals, err)
	}
}

// From and To leave messages out, counted; a dry run adds nothing.
func TestImportWindow(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "analytics.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := ImportOptions{Prices: pricing.Default(), DryRun: true,
		From: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 10, 10, 9, 0, 10, 0, time.UTC)}
	rep, err := Import(ctx, db, readFixtures(t), o)
	if err != nil {
		t.Fatal(err)
	}
	// Out: A1, A2 (June); B2 at To, C1, B5, D1 after. In: E1, B1.
	if rep.TooOld != 2 || rep.TooRecent != 4 || rep.Imported != 2 || rep.Totals.CostNanoUSD != 5_880_000+4_230_000 || !rep.DryRun {
		t.Errorf("report %+v", rep)
	}
	if st, err := db.Stats(ctx, time.Time{}, time.Now(), time.UTC); err != nil || st.Totals.Requests != 0 {
		t.Errorf("the dry run wrote: %+v, %v", st.Totals, err)
	}
}

// An imported row is priced as cco prices its own.
func TestImportedRow(t *testing.T) {
	prices := pricing.Default()
	m := claudelog.Message{Time: time.Unix(100, 0), MessageID: "msg_1", RequestID: "req_1", SessionID: "s", Model: "claude-haiku-4-5",
		Version: "2.0.14", Input: 10, Output: 20, CacheWrite5m: 30, CacheWrite1h: 40, CacheRead: 50}
	r := ImportedRow(prices, m)
	tok := pricing.Tokens{Input: 10, Output: 20, CacheWrite5m: 30, CacheWrite1h: 40, CacheRead: 50}
	cost, _ := prices.Cost("claude-haiku-4-5", tok)
	saved, _ := prices.PromptCacheSavings("claude-haiku-4-5", tok)
	want := store.Record{Time: m.Time, RequestID: "req_1", MessageID: "msg_1", SessionID: "s", Model: "claude-haiku-4-5",
		Path: "/v1/messages", Status: 200, Input: 10, Output: 20, CacheWrite5m: 30, CacheWrite1h: 40, CacheRead: 50,
		CostNano: cost, CostKnown: true, PromptCacheSavedNano: saved, UserAgent: "claude-code-import/2.0.14", Imported: true}
	if r != want || cost != 10*1000+20*5000+30*1250+40*2000+50*100 {
		t.Errorf("row %+v\nwant %+v", r, want)
	}
}

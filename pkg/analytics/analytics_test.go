package analytics

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/cache"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/proxy"
	"github.com/visiquate/cco/pkg/store"
	"github.com/visiquate/cco/pkg/usage"
)

type captured struct{ rows []store.Record }

func (c *captured) Record(r store.Record) bool { c.rows = append(c.rows, r); return true }

func TestRecorderPrices(t *testing.T) {
	q := &captured{}
	rec := &Recorder{Prices: pricing.Default(), Queue: q}
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	haiku := usage.Usage{Model: "claude-haiku-4-5-20251001", Stream: true, Complete: true,
		Tokens: pricing.Tokens{Input: 1000, Output: 500, CacheWrite5m: 2000, CacheWrite1h: 100, CacheRead: 10000}}
	rec.Record(proxy.Done{Start: start, Path: "/v1/messages", Status: 200, Usage: haiku, RequestID: "req_1",
		Latency: time.Second, TTFB: 100 * time.Millisecond, UserAgent: "claude-cli/2.1", SessionID: "s1"})
	rec.Record(proxy.Done{Start: start, Path: "/v1/messages", Status: 200, Usage: haiku, CacheHit: true})
	rec.Record(proxy.Done{Start: start, Path: "/v1/messages", Status: 200, Usage: usage.Usage{Model: "claude-sonnet-9", Tokens: pricing.Tokens{Input: 5}}})
	rec.Record(proxy.Done{Start: start, Path: "/v1/messages", Status: 529, ErrorType: "overloaded_error"})

	r := q.rows[0]
	// 1000×1000 + 500×5000 + 2000×1250 + 100×2000 + 10000×100 nano-dollars.
	if r.CostNano != 7_200_000 || !r.CostKnown || r.PromptCacheSavedNano != 9_000_000 || r.SavedNano != 0 {
		t.Errorf("priced row %+v", r)
	}
	if r.Model != "claude-haiku-4-5-20251001" || r.Input != 1000 || r.CacheWrite1h != 100 || r.RequestID != "req_1" || !r.Stream ||
		r.Latency != time.Second || r.TTFB != 100*time.Millisecond || r.UserAgent != "claude-cli/2.1" || r.SessionID != "s1" || !r.Time.Equal(start) {
		t.Errorf("row fields %+v", r)
	}
	if h := q.rows[1]; !h.CacheHit || h.CostNano != 0 || h.SavedNano != 7_200_000 || h.PromptCacheSavedNano != 0 || h.Input != 0 || h.CacheRead != 0 {
		t.Errorf("cache hit row %+v", h)
	}
	if u := q.rows[2]; u.CostKnown || u.CostNano != 0 || u.Model != "claude-sonnet-9" || u.Input != 5 {
		t.Errorf("unknown model row %+v", u)
	}
	if e := q.rows[3]; !e.CostKnown || e.Model != "unknown" || e.Status != 529 || e.ErrorType != "overloaded_error" {
		t.Errorf("error row %+v", e)
	}
}

func TestRange(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data")
	}
	now := time.Date(2026, 11, 27, 15, 30, 0, 0, ny)
	for name, wantFrom := range map[string]time.Time{
		"today": time.Date(2026, 11, 27, 0, 0, 0, 0, ny),
		"":      time.Date(2026, 11, 27, 0, 0, 0, 0, ny),
		"7d":    time.Date(2026, 11, 21, 0, 0, 0, 0, ny),
		"30d":   time.Date(2026, 10, 29, 0, 0, 0, 0, ny),
		"all":   {},
	} {
		from, to, err := Range(name, now, ny)
		if err != nil || !from.Equal(wantFrom) || !to.After(now) {
			t.Errorf("Range(%q) = %v, %v, %v; want from %v", name, from, to, err, wantFrom)
		}
	}
	if _, _, err := Range("week", now, ny); err == nil {
		t.Error("unknown range accepted")
	}
}

func TestReport(t *testing.T) {
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := &Recorder{Prices: pricing.Default(), Queue: db}
	now := time.Now()
	u := usage.Usage{Model: "claude-haiku-4-5", Tokens: pricing.Tokens{Input: 1000, Output: 200}}
	rec.Record(proxy.Done{Start: now.Add(-time.Minute), Status: 200, Usage: u})
	rec.Record(proxy.Done{Start: now.Add(-time.Minute), Status: 200, Usage: u, CacheHit: true})
	rec.Record(proxy.Done{Start: now.AddDate(0, 0, -40), Status: 200, Usage: u})
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	cs := &cache.Stats{Entries: 1, Hits: 1, Misses: 1, HitRate: 0.5}
	rep, err := Report(context.Background(), db, "today", "", now, time.Local, 3, cs)
	if err != nil {
		t.Fatal(err)
	}
	// 1000×1000 + 200×5000 = 2,000,000 nano-dollars a request.
	if rep.Totals.Requests != 2 || rep.Totals.CacheHits != 1 || rep.Totals.CostNanoUSD != 2_000_000 || rep.Totals.CostUSD != 0.002 ||
		rep.Totals.CacheSavingsNanoUSD != 2_000_000 || rep.CacheHitRate != 0.5 || rep.DroppedRecords != 3 {
		t.Errorf("today: %+v", rep)
	}
	if rep.ResponseCache == nil || !rep.ResponseCache.Enabled || rep.ResponseCache.Entries != 1 || len(rep.ByModel) != 1 || len(rep.ByDay) != 1 || rep.From == "" {
		t.Errorf("report parts: %+v", rep)
	}
	all, err := Report(context.Background(), db, "all", "", now, time.Local, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if all.Totals.Requests != 3 || all.From != "" || all.ResponseCache != nil || len(all.ByDay) != 2 {
		t.Errorf("all: %+v", all)
	}
	if _, err := Report(context.Background(), db, "forever", "", now, time.Local, 0, nil); err == nil {
		t.Error("bad range accepted")
	}
	if CacheReport(nil).Enabled {
		t.Error("nil cache reported enabled")
	}
}

// TestReportGroups: the rows carry who asked (x-cco-user, else the key's
// hash) and the replica, and the report groups by each.
func TestReportGroups(t *testing.T) {
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := &Recorder{Prices: pricing.Default(), Queue: db, Replica: "box:3000"}
	now := time.Now()
	u := usage.Usage{Model: "claude-haiku-4-5", Tokens: pricing.Tokens{Input: 1000, Output: 200}}
	rec.Record(proxy.Done{Start: now.Add(-time.Minute), Status: 200, Usage: u, User: "ana", Credential: "00aa", SessionID: "s1"})
	rec.Record(proxy.Done{Start: now.Add(-time.Minute), Status: 200, Usage: u, Credential: "00bb", SessionID: "s2"})
	rec.Record(proxy.Done{Start: now.Add(-time.Minute), Status: 200, Usage: u, Credential: "00bb", SessionID: "s2"})
	rec.Record(proxy.Done{Start: now.Add(-time.Minute), Status: 500, ErrorType: "api_error"})
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys := func(by string) map[string]int64 {
		t.Helper()
		rep, err := Report(context.Background(), db, "today", by, now, time.Local, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.By != by {
			t.Errorf("by = %q, want %q", rep.By, by)
		}
		out := map[string]int64{}
		for _, g := range rep.Groups {
			out[g.Key] = g.Requests
			if by != "day" && (g.First == "" || g.Last == "") {
				t.Errorf("group %q has no first/last", g.Key)
			}
		}
		return out
	}
	for by, want := range map[string]map[string]int64{
		"user":    {"ana": 1, "key:00bb": 2, "": 1},
		"replica": {"box:3000": 4},
		"session": {"s1": 1, "s2": 2},
		"model":   {"claude-haiku-4-5": 3, "unknown": 1},
		"day":     {now.Format(time.DateOnly): 4},
	} {
		if got := keys(by); !reflect.DeepEqual(got, want) {
			t.Errorf("by %s: %v, want %v", by, got, want)
		}
	}
	rep, err := Report(context.Background(), db, "today", "", now, time.Local, 0, nil)
	if err != nil || rep.Groups != nil || rep.By != "" {
		t.Errorf("no grouping asked: %+v, %v", rep, err)
	}
	if _, err := Report(context.Background(), db, "today", "team", now, time.Local, 0, nil); err == nil || !strings.Contains(err.Error(), "model, user, session, replica, day") {
		t.Errorf("unknown grouping: %v", err)
	}
}

type discard struct{}

func (discard) Record(store.Record) bool { return true }

// BenchmarkRecord is the request path's cost of recording: pricing a
// finished request and handing its row to the queue. "priced" stops there;
// "store" queues into a real store (default queue size) whose writer runs
// on the other core, so its figure also carries the contention and
// collection that the writer causes, and the rows the full queue drops.
func BenchmarkRecord(b *testing.B) {
	d := proxy.Done{Start: time.Now(), Path: "/v1/messages", Status: 200, RequestID: "req_1", UserAgent: "claude-cli/2.1.332", SessionID: "0f3c",
		Usage: usage.Usage{Model: "claude-sonnet-4-5-20250929", Stream: true, Complete: true,
			Tokens: pricing.Tokens{Input: 3, Output: 250, CacheWrite5m: 1200, CacheRead: 48000}}}
	b.Run("priced", func(b *testing.B) {
		rec := &Recorder{Prices: pricing.Default(), Queue: discard{}}
		b.ReportAllocs()
		for b.Loop() {
			rec.Record(d)
		}
	})
	b.Run("store", func(b *testing.B) {
		db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(b.TempDir(), "a.db")})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		rec := &Recorder{Prices: pricing.Default(), Queue: db}
		b.ReportAllocs()
		for b.Loop() {
			rec.Record(d)
		}
		b.StopTimer()
		b.ReportMetric(float64(db.Dropped())/float64(b.N), "dropped/op")
	})
}

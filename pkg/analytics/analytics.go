// Package analytics prices finished proxy requests into rows for the store,
// and turns the store's sums into the /api/stats report that the daemon
// serves and `cco stats` prints. It also prices the messages of Claude
// Code's own logs (claudelog) for `cco stats import`.
//
// It imports cache, claudelog, control, pricing, proxy and store.
package analytics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/visiquate/cco/pkg/cache"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/proxy"
	"github.com/visiquate/cco/pkg/store"
)

// Queue takes rows without blocking; *store.Store is one.
type Queue interface {
	Record(store.Record) bool
}

// Recorder prices requests and queues them.
type Recorder struct {
	Prices *pricing.Table
	Queue  Queue
	// Replica names this cco in the rows (server.replica).
	Replica string
	// Observe, when set, also gets each row (the metrics count it).
	Observe func(store.Record)
}

// Record is a proxy.Options.OnDone: it runs on the request's goroutine, so
// it only prices the row and hands it to the queue.
func (rec *Recorder) Record(d proxy.Done) {
	u := d.Usage
	r := Priced(rec.Prices, u.Model, u.Tokens)
	r.Time, r.RequestID, r.MessageID, r.Path, r.Status, r.Stream = d.Start, d.RequestID, u.MessageID, d.Path, d.Status, u.Stream
	r.CacheHit, r.Latency, r.TTFB, r.Upstream, r.ErrorType = d.CacheHit, d.Latency, d.TTFB, d.Upstream, d.ErrorType
	r.UserAgent, r.SessionID, r.User, r.Credential, r.Replica = d.UserAgent, d.SessionID, d.User, d.Credential, rec.Replica
	if d.CacheHit {
		// Nothing was paid and no tokens were used: what the answer would
		// have cost is the cache's saving, and prompt caching saved nothing.
		r.SavedNano, r.CostNano, r.PromptCacheSavedNano = r.CostNano, 0, 0
		r.Input, r.Output, r.CacheWrite5m, r.CacheWrite1h, r.CacheRead = 0, 0, 0, 0, 0
	}
	rec.Queue.Record(r)
	if rec.Observe != nil {
		rec.Observe(r)
	}
}

// Priced is a row with model's tokens and their price: what they cost,
// whether the model has a price, and what prompt caching saved. A row
// without a model is "unknown"; one without a model or tokens has nothing
// to price and counts as priced (errors, count_tokens, models).
func Priced(prices *pricing.Table, model string, tok pricing.Tokens) store.Record {
	cost, known := prices.Cost(model, tok)
	saved, _ := prices.PromptCacheSavings(model, tok)
	r := store.Record{
		Model: model, Input: tok.Input, Output: tok.Output, CacheWrite5m: tok.CacheWrite5m, CacheWrite1h: tok.CacheWrite1h,
		CacheRead: tok.CacheRead, CostNano: cost, CostKnown: known, PromptCacheSavedNano: saved,
	}
	if model == "" {
		r.Model = "unknown"
		if cost == 0 && tok == (pricing.Tokens{}) {
			r.CostKnown = true
		}
	}
	return r
}

// Ranges are the names /api/stats and `cco stats` accept.
var Ranges = []string{"today", "7d", "30d", "all"}

// Range turns a range name into [from, to): "today" starts at midnight in
// loc, "7d" and "30d" at midnight that many days back (today included),
// "all" at the beginning.
func Range(name string, now time.Time, loc *time.Location) (from, to time.Time, err error) {
	now = now.In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	to = now.Add(time.Nanosecond)
	switch name {
	case "today", "":
		return midnight, to, nil
	case "7d":
		return midnight.AddDate(0, 0, -6), to, nil
	case "30d":
		return midnight.AddDate(0, 0, -29), to, nil
	case "all":
		return time.Time{}, to, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("unknown range %q: use today, 7d, 30d or all", name)
}

// StatsSource is what Report reads; *store.Store is one.
type StatsSource interface {
	Stats(ctx context.Context, from, to time.Time, loc *time.Location) (*store.Stats, error)
	Groups(ctx context.Context, by string, from, to time.Time) ([]store.GroupTotals, error)
}

// CheckBy says whether by is a grouping Report knows ("" is none).
func CheckBy(by string) error {
	if by == "" || slices.Contains(control.GroupBy, by) {
		return nil
	}
	return fmt.Errorf("unknown grouping %q: use %s", by, strings.Join(control.GroupBy, ", "))
}

// Report builds the /api/stats body for a range, grouped by by when it is
// set. dropped counts rows the queue refused; cacheStats may be nil when
// the cache is off.
func Report(ctx context.Context, src StatsSource, name, by string, now time.Time, loc *time.Location, dropped int64, cacheStats *cache.Stats) (*control.Stats, error) {
	if name == "" {
		name = "today"
	}
	from, to, err := Range(name, now, loc)
	if err != nil {
		return nil, err
	}
	if err := CheckBy(by); err != nil {
		return nil, err
	}
	st, err := src.Stats(ctx, from, to, loc)
	if err != nil {
		return nil, err
	}
	out := &control.Stats{
		Range:          name,
		To:             now.In(loc).Format(time.RFC3339),
		Totals:         totals(st.Totals),
		ByModel:        []control.ModelStats{},
		ByDay:          []control.DayStats{},
		DroppedRecords: dropped,
	}
	if !from.IsZero() {
		out.From = from.Format(time.RFC3339)
	}
	if st.Totals.Requests > 0 {
		out.CacheHitRate = float64(st.Totals.CacheHits) / float64(st.Totals.Requests)
	}
	for _, m := range st.ByModel {
		out.ByModel = append(out.ByModel, control.ModelStats{Model: m.Model, Totals: totals(m.Totals)})
	}
	for _, d := range st.ByDay {
		out.ByDay = append(out.ByDay, control.DayStats{Day: d.Day, Totals: totals(d.Totals)})
	}
	breakdowns(out, st, loc)
	if err := groups(ctx, out, src, st, by, loc); err != nil {
		return nil, err
	}
	if cacheStats != nil {
		out.ResponseCache = CacheReport(cacheStats)
	}
	return out, nil
}

// CacheReport is the wire form of the cache's figures; nil means off.
func CacheReport(s *cache.Stats) *control.CacheStats {
	if s == nil {
		return &control.CacheStats{Enabled: false}
	}
	return &control.CacheStats{Enabled: true, Entries: s.Entries, Bytes: s.Bytes, MaxBytes: s.MaxBytes, TTL: s.TTL,
		Hits: s.Hits, Misses: s.Misses, Bypasses: s.Bypasses, Stores: s.Stores, HitRate: s.HitRate}
}

func totals(t store.Totals) control.Totals {
	return control.Totals{
		Requests: t.Requests, Errors: t.Errors, CacheHits: t.CacheHits, UnknownCost: t.UnknownCost,
		InputTokens: t.Input, OutputTokens: t.Output, CacheWrite5mTokens: t.CacheWrite5m, CacheWrite1hTokens: t.CacheWrite1h,
		CacheReadTokens: t.CacheRead,
		CostNanoUSD:     t.CostNano, CostUSD: usd(t.CostNano),
		CacheSavingsNanoUSD: t.CacheSavedNano, CacheSavingsUSD: usd(t.CacheSavedNano),
		PromptCacheSavingsNanoUSD: t.PromptCacheSavedNano, PromptCacheSavingsUSD: usd(t.PromptCacheSavedNano),
	}
}

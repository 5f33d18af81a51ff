package analytics

import (
	"context"
	"time"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/store"
)

// Request is the wire form of one request row; id is 0 for a row not yet
// written.
func Request(r store.Record, id int64) control.Request {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return control.Request{
		ID: id, Time: r.Time.UTC(), Model: r.Model, Path: r.Path, Status: r.Status, Stream: r.Stream,
		RequestID: r.RequestID, SessionID: r.SessionID,
		InputTokens: r.Input, OutputTokens: r.Output, CacheWrite5mTokens: r.CacheWrite5m, CacheWrite1hTokens: r.CacheWrite1h,
		CacheReadTokens: r.CacheRead,
		CostNanoUSD:     r.CostNano, CostUSD: usd(r.CostNano), CostKnown: r.CostKnown,
		CacheHit: r.CacheHit, CacheSavingsUSD: usd(r.SavedNano),
		LatencyMS: ms(r.Latency), TTFBMS: ms(r.TTFB), ErrorType: r.ErrorType,
	}
}

// RecentSource is what Requests reads; *store.Store is one.
type RecentSource interface {
	Recent(ctx context.Context, limit int, before int64) ([]store.Row, error)
}

// Requests builds the /api/requests body: limit rows (bounded to
// control.MaxRequestsLimit; 0 means the default) with ids below before.
func Requests(ctx context.Context, src RecentSource, limit int, before int64) (*control.Requests, error) {
	if limit <= 0 {
		limit = control.DefaultRequestsLimit
	}
	limit = min(limit, control.MaxRequestsLimit)
	// One more than asked says whether another page follows.
	rows, err := src.Recent(ctx, limit+1, before)
	if err != nil {
		return nil, err
	}
	out := &control.Requests{Requests: make([]control.Request, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			out.NextBefore = rows[limit-1].ID
			break
		}
		out.Requests = append(out.Requests, Request(r.Record, r.ID))
	}
	return out, nil
}

// breakdowns adds the hourly and per-session figures to a report.
func breakdowns(out *control.Stats, st *store.Stats, loc *time.Location) {
	out.BySession = make([]control.SessionStats, 0, len(st.BySession))
	for _, s := range st.BySession {
		out.BySession = append(out.BySession, control.SessionStats{SessionID: s.Key,
			First: s.First.In(loc).Format(time.RFC3339), Last: s.Last.In(loc).Format(time.RFC3339), Totals: totals(s.Totals)})
	}
	if st.ByHour != nil {
		out.ByHour = make([]control.HourStats, 0, len(st.ByHour))
		for _, h := range st.ByHour {
			out.ByHour = append(out.ByHour, control.HourStats{Hour: h.Hour.In(loc).Format(time.RFC3339), Totals: totals(h.Totals)})
		}
	}
}

// groups adds Stats.Groups for by ("" adds none): the store's groups, or
// for days the report's own.
func groups(ctx context.Context, out *control.Stats, src StatsSource, st *store.Stats, by string, loc *time.Location) error {
	if by == "" {
		return nil
	}
	out.By, out.Groups = by, []control.GroupStats{}
	if by == "day" {
		for _, d := range st.ByDay {
			out.Groups = append(out.Groups, control.GroupStats{Key: d.Day, Totals: totals(d.Totals)})
		}
		return nil
	}
	gs, err := src.Groups(ctx, by, st.From, st.To)
	if err != nil {
		return err
	}
	for _, g := range gs {
		x := control.GroupStats{Key: g.Key, First: g.First.In(loc).Format(time.RFC3339), Last: g.Last.In(loc).Format(time.RFC3339),
			Totals: totals(g.Totals)}
		if by != "model" {
			for _, m := range g.ByModel {
				x.ByModel = append(x.ByModel, control.ModelStats{Model: m.Model, Totals: totals(m.Totals)})
			}
		}
		out.Groups = append(out.Groups, x)
	}
	return nil
}

func usd(nano int64) float64 { return float64(nano) / 1e9 }

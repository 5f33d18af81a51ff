package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/store"
)

// BlocksSource is what BlocksReport reads; *store.Store is one.
type BlocksSource interface {
	Blocks(ctx context.Context, from, to time.Time) ([]store.Block, error)
	Totals(ctx context.Context, from, to time.Time) (store.Totals, error)
}

// BurnWindow is how far back the active block's burn rate looks: the
// pace of the last minutes, not of the whole block, so that a pause or a
// burst shows at once.
const BurnWindow = 10 * time.Minute

// Dates turns --since and --until (YYYY-MM-DD or YYYYMMDD in loc, either
// empty) into [from, to): from the start of since's day to the end of
// until's, or to just after now.
func Dates(since, until string, now time.Time, loc *time.Location) (from, to time.Time, err error) {
	day := func(name, v string) (time.Time, error) {
		for _, layout := range []string{time.DateOnly, "20060102"} {
			if t, err := time.ParseInLocation(layout, v, loc); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%s %q is not a date (YYYY-MM-DD or YYYYMMDD)", name, v)
	}
	to = now.Add(time.Nanosecond)
	if since != "" {
		if from, err = day("since", since); err != nil {
			return
		}
	}
	if until != "" {
		var u time.Time
		if u, err = day("until", until); err != nil {
			return
		}
		to = u.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.After(from) {
		err = fmt.Errorf("until %s is before since %s", until, since)
	}
	return
}

// BlocksReport builds the /api/stats/blocks body for [from, to) at now.
func BlocksReport(ctx context.Context, src BlocksSource, from, to, now time.Time, loc *time.Location) (*control.Blocks, error) {
	bs, err := src.Blocks(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := &control.Blocks{Until: to.In(loc).Format(time.RFC3339), Blocks: make([]control.Block, 0, len(bs))}
	if !from.IsZero() {
		out.Since = from.In(loc).Format(time.RFC3339)
	}
	f := func(t time.Time) string { return t.In(loc).Format(time.RFC3339) }
	for _, b := range bs {
		x := control.Block{Start: f(b.Start), End: f(b.End), First: f(b.First), Last: f(b.Last),
			Active: now.Before(b.End) && !now.Before(b.Start), Models: []string{}, Totals: totals(b.Totals),
			Tokens: tokens(b.Totals)}
		x.ByModel = make([]control.ModelStats, 0, len(b.ByModel))
		for _, m := range b.ByModel {
			x.Models = append(x.Models, m.Model)
			x.ByModel = append(x.ByModel, control.ModelStats{Model: m.Model, Totals: totals(m.Totals)})
		}
		if x.Active {
			x.ElapsedMinutes = now.Sub(b.Start).Minutes()
			x.RemainingMinutes = b.End.Sub(now).Minutes()
			// The pace of the last BurnWindow, or since the block's first
			// request when that is more recent (over at least a minute:
			// one request a second ago is no rate).
			since, recent := b.First, b.Totals
			if w := now.Add(-BurnWindow); w.After(since) {
				since = w
				if recent, err = src.Totals(ctx, w, now.Add(time.Nanosecond)); err != nil {
					return nil, err
				}
			}
			span := max(now.Sub(since).Minutes(), 1)
			x.BurnTokensPerMinute = float64(tokens(recent)) / span
			x.BurnUSDPerMinute = usd(recent.CostNano) / span
			x.ProjectedCostNanoUSD = b.CostNano + int64(float64(recent.CostNano)/span*x.RemainingMinutes)
			x.ProjectedCostUSD = usd(x.ProjectedCostNanoUSD)
		}
		out.Blocks = append(out.Blocks, x)
	}
	return out, nil
}

package analytics

import (
	"context"
	"time"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/store"
)

// StatusLineSource is what StatusLine reads; *store.Store is one.
type StatusLineSource interface {
	BlocksSource
	Totals(ctx context.Context, from, to time.Time) (store.Totals, error)
	Session(ctx context.Context, id string) (store.GroupTotals, error)
}

// blockLookback is how far back StatusLine follows the chain of blocks to
// find where the active one started: blocks run back to back while
// requests keep coming, so the start depends on history; three days of
// requests without a five-hour pause are not expected.
const blockLookback = 72 * time.Hour

// StatusLine builds the /api/statusline body for session ("" for none) at
// now; days are loc's.
func StatusLine(ctx context.Context, src StatusLineSource, session string, now time.Time, loc *time.Location) (*control.StatusLine, error) {
	out := &control.StatusLine{}
	if session != "" {
		g, err := src.Session(ctx, session)
		if err != nil {
			return nil, err
		}
		out.SessionRequests, out.SessionCostNanoUSD = g.Requests, g.CostNano
	}
	local := now.In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	end := now.Add(time.Nanosecond)
	t, err := src.Totals(ctx, midnight, end)
	if err != nil {
		return nil, err
	}
	out.TodayCostNanoUSD, out.TodaySavedNanoUSD = t.CostNano, t.CacheSavedNano+t.PromptCacheSavedNano
	bs, err := src.Blocks(ctx, now.Add(-blockLookback), end)
	if err != nil {
		return nil, err
	}
	if n := len(bs); n > 0 && now.Before(bs[n-1].End) {
		b := bs[n-1]
		out.BlockActive, out.BlockCostNanoUSD, out.BlockRemainingMinutes = true, b.CostNano, b.End.Sub(now).Minutes()
	}
	return out, nil
}

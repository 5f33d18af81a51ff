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

// BlockLookback is how far back ActiveBlock follows the chain of blocks to
// find where the active one started: blocks run back to back while
// requests keep coming, so the start depends on history; three days of
// requests without a five-hour pause are not expected.
const BlockLookback = 72 * time.Hour

// ActiveBlock is the 5-hour block running at now, if there is one.
func ActiveBlock(ctx context.Context, src interface {
	Blocks(ctx context.Context, from, to time.Time) ([]store.Block, error)
}, now time.Time) (store.Block, bool, error) {
	bs, err := src.Blocks(ctx, now.Add(-BlockLookback), now.Add(time.Nanosecond))
	if err != nil || len(bs) == 0 || !now.Before(bs[len(bs)-1].End) {
		return store.Block{}, false, err
	}
	return bs[len(bs)-1], true, nil
}

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
	b, active, err := ActiveBlock(ctx, src, now)
	if err != nil {
		return nil, err
	}
	if active {
		out.BlockActive, out.BlockCostNanoUSD, out.BlockRemainingMinutes = true, b.CostNano, b.End.Sub(now).Minutes()
	}
	return out, nil
}

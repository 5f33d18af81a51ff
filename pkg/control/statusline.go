package control

import (
	"context"
	"net/url"
)

// StatusLinePath is what `cco statusline` asks: the figures of one line.
const StatusLinePath = "/api/statusline"

// StatusLine is the body of GET /api/statusline?session=ID.
type StatusLine struct {
	// The session's figures (every request it made through cco, whenever);
	// zero for an unknown session or none asked.
	SessionRequests    int64 `json:"session_requests"`
	SessionCostNanoUSD int64 `json:"session_cost_nano_usd"`
	// Today's, in the instance's time zone; saved is cco's cache and prompt
	// caching together.
	TodayCostNanoUSD  int64 `json:"today_cost_nano_usd"`
	TodaySavedNanoUSD int64 `json:"today_saved_nano_usd"`
	// The active 5-hour block, if there is one.
	BlockActive           bool    `json:"block_active"`
	BlockCostNanoUSD      int64   `json:"block_cost_nano_usd"`
	BlockRemainingMinutes float64 `json:"block_remaining_minutes"`
	UpdateAvailable       bool    `json:"update_available"`
	// Limits are the spend limits the user set, for a mark at 80% and 100%.
	Limits Limits `json:"limits,omitempty"`
}

// StatusLine fetches /api/statusline for a session ("" for none).
func (c Client) StatusLine(ctx context.Context, session string) (StatusLine, error) {
	var s StatusLine
	err := c.getJSON(ctx, StatusLinePath+"?"+url.Values{"session": {session}}.Encode(), "", &s)
	return s, err
}

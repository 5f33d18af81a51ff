package control

import "context"

// BlocksPath is the 5-hour blocks report.
const BlocksPath = "/api/stats/blocks"

// Blocks is the body of GET /api/stats/blocks?since=DATE&until=DATE&tz=ZONE
// (dates YYYY-MM-DD in the zone, by default the instance's, both
// optional, until included; see ReportQuery).
type Blocks struct {
	Since  string  `json:"since,omitempty"` // RFC 3339 start of the range; absent for "from the beginning"
	Until  string  `json:"until"`           // RFC 3339 end of the range (exclusive)
	Blocks []Block `json:"blocks"`          // oldest first
}

// Block is one of Claude's 5-hour usage windows.
type Block struct {
	Start  string   `json:"start"` // RFC 3339; a UTC hour
	End    string   `json:"end"`   // Start + 5 h
	First  string   `json:"first"` // its first and last request
	Last   string   `json:"last"`
	Active bool     `json:"active"` // now is before End
	Models []string `json:"models"` // by cost, highest first
	Totals
	ByModel []ModelStats `json:"by_model"` // the same order
	Tokens  int64        `json:"tokens"`   // input, output, cache writes and reads

	// For the active block: minutes since Start and until End; the burn
	// rate since its first request; and what it costs by End at that rate.
	ElapsedMinutes       float64 `json:"elapsed_minutes,omitempty"`
	RemainingMinutes     float64 `json:"remaining_minutes,omitempty"`
	BurnTokensPerMinute  float64 `json:"burn_tokens_per_minute,omitempty"`
	BurnUSDPerMinute     float64 `json:"burn_usd_per_minute,omitempty"`
	ProjectedCostNanoUSD int64   `json:"projected_cost_nano_usd,omitempty"`
	ProjectedCostUSD     float64 `json:"projected_cost_usd,omitempty"`
}

// Blocks fetches /api/stats/blocks.
func (c Client) Blocks(ctx context.Context, since, until string) (Blocks, error) {
	return c.BlocksIn(ctx, ReportQuery{Since: since, Until: until})
}

package control

import "time"

// The states of a spend limit.
const (
	LimitOK      = "ok"
	LimitWarn    = "warn"    // 80% or more spent: logged once, marked in the status line
	LimitBlocked = "blocked" // all spent: new /v1/messages requests get 429 until ResetsAt
)

// LimitNames are the spend limits in display order: a local calendar day,
// a local calendar month, Claude's active 5-hour block.
var LimitNames = []string{"daily", "monthly", "block"}

// Limit is the state of one spend limit the user set (limits.NAME_usd).
type Limit struct {
	USD          float64 `json:"usd"`
	SpentUSD     float64 `json:"spent_usd"`
	SpentNanoUSD int64   `json:"spent_nano_usd"`
	Percent      float64 `json:"percent"` // of USD spent, to a tenth
	State        string  `json:"state"`   // LimitOK, LimitWarn or LimitBlocked
	// ResetsAt is when the period ends and the spend starts again from 0;
	// absent for a block limit while no block is running (the next
	// request starts one).
	ResetsAt *time.Time `json:"resets_at,omitempty"`
}

// Limits are the set spend limits by name (LimitNames); an unset limit is
// absent, and so is the whole object when none is set.
type Limits map[string]Limit

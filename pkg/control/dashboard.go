package control

import "time"

// Paths of the dashboard's own endpoints. Like every route they follow the
// Host and Origin rules; PageTokenPath and PageCacheClearPath also demand a
// same-origin browser request.
const (
	RequestsPath       = "/api/requests"
	EventsPath         = "/api/events"
	InstancePath       = "/api/instance"
	PageTokenPath      = "/api/page/token"
	PageCacheClearPath = "/api/page/cache/clear"
	// PageTokenHeader carries the page token on the page's state-changing
	// requests.
	PageTokenHeader = "X-CCO-Page-Token"
)

// MaxLiveSessions is how many /api/events streams may be open at once.
const MaxLiveSessions = 5

// Request is one finished request: a row of GET /api/requests and the data
// of each "request" event on /api/events.
type Request struct {
	// ID is the row's id, the cursor of ?before=. Live events carry 0: the
	// row is not written yet when the event is sent.
	ID        int64     `json:"id,omitempty"`
	Time      time.Time `json:"time"` // when the request started
	Model     string    `json:"model"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	Stream    bool      `json:"stream"`
	RequestID string    `json:"request_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`

	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	CacheWrite5mTokens int64 `json:"cache_write_5m_tokens"`
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens"`
	CacheReadTokens    int64 `json:"cache_read_tokens"`

	CostNanoUSD     int64   `json:"cost_nano_usd"`
	CostUSD         float64 `json:"cost_usd"`
	CostKnown       bool    `json:"cost_known"`
	CacheHit        bool    `json:"cache_hit"`
	CacheSavingsUSD float64 `json:"cache_savings_usd"` // for a hit: what it would have cost

	LatencyMS float64 `json:"latency_ms"`
	TTFBMS    float64 `json:"ttfb_ms"`
	ErrorType string  `json:"error_type,omitempty"`
}

// Requests is the body of GET /api/requests?limit=N&before=ID: the newest
// rows first. NextBefore, when not zero, fetches the page after this one.
type Requests struct {
	Requests   []Request `json:"requests"`
	NextBefore int64     `json:"next_before,omitempty"`
}

// Default and largest ?limit= of /api/requests.
const (
	DefaultRequestsLimit = 50
	MaxRequestsLimit     = 500
)

// Dropped is the data of a "dropped" event: the stream could not keep up
// and this many requests were left out since the last event.
type Dropped struct {
	Dropped int64 `json:"dropped"`
}

// Instance is the body of GET /api/instance: the facts the dashboard shows.
type Instance struct {
	Version       string        `json:"version"`
	Commit        string        `json:"commit,omitempty"`
	GoVersion     string        `json:"go_version,omitempty"`
	PID           int           `json:"pid"`
	StartedAt     time.Time     `json:"started_at"`
	UptimeSeconds int64         `json:"uptime_seconds"`
	Listen        string        `json:"listen"`   // the base URL clients use
	Upstream      string        `json:"upstream"` // credentials removed
	Database      string        `json:"database"`
	Cache         *CacheStats   `json:"cache"`
	Update        *UpdateStatus `json:"update,omitempty"`
	Service       string        `json:"service,omitempty"` // CCO_SERVICE when run by a service manager
}

// PageToken is the body of GET /api/page/token.
type PageToken struct {
	Token string `json:"token"`
}

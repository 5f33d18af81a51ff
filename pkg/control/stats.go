package control

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Paths of the analytics and cache endpoints.
const (
	StatsPath      = "/api/stats"
	CachePath      = "/api/control/cache"
	CacheClearPath = "/api/control/cache/clear"
)

// Stats is the body of GET /api/stats?range=today|7d|30d|all, with
// &by=model|user|session|replica|day for Groups.
type Stats struct {
	Range        string       `json:"range"`
	From         string       `json:"from,omitempty"` // RFC 3339; absent for "all"
	To           string       `json:"to"`
	Totals       Totals       `json:"totals"`
	CacheHitRate float64      `json:"cache_hit_rate"` // requests answered from cco's cache / requests
	ByModel      []ModelStats `json:"by_model"`
	ByDay        []DayStats   `json:"by_day"`
	// ByHour splits the "today" range by hour (local hours with rows);
	// other ranges leave it out.
	ByHour []HourStats `json:"by_hour,omitempty"`
	// BySession is the Claude Code sessions of the range (by cost, highest
	// first, at most MaxSessions; requests without a session are left out).
	BySession []SessionStats `json:"by_session"`
	// By and Groups: the range's totals per model, user (x-cco-user, else
	// "key:" and a hash of the API key), session, replica or day, when
	// asked for with by=; costliest first (days in order).
	By             string       `json:"by,omitempty"`
	Groups         []GroupStats `json:"groups,omitempty"`
	DroppedRecords int64        `json:"dropped_records"` // rows the analytics queue could not take since start
	ResponseCache  *CacheStats  `json:"response_cache,omitempty"`
	// Limits are the instance's spend limits now, whatever the range;
	// absent when none is set or no instance answered.
	Limits Limits `json:"limits,omitempty"`
}

// Totals sums requests. Money is in nano-dollars (exact) and dollars.
type Totals struct {
	Requests                  int64   `json:"requests"`
	Errors                    int64   `json:"errors"`
	CacheHits                 int64   `json:"cache_hits"`
	UnknownCost               int64   `json:"unknown_cost_requests"`
	InputTokens               int64   `json:"input_tokens"`
	OutputTokens              int64   `json:"output_tokens"`
	CacheWrite5mTokens        int64   `json:"cache_write_5m_tokens"`
	CacheWrite1hTokens        int64   `json:"cache_write_1h_tokens"`
	CacheReadTokens           int64   `json:"cache_read_tokens"`
	CostNanoUSD               int64   `json:"cost_nano_usd"`
	CostUSD                   float64 `json:"cost_usd"`
	CacheSavingsNanoUSD       int64   `json:"cache_savings_nano_usd"` // what cco's cache hits would have cost
	CacheSavingsUSD           float64 `json:"cache_savings_usd"`
	PromptCacheSavingsNanoUSD int64   `json:"prompt_cache_savings_nano_usd"` // cache reads priced as plain input, minus their price
	PromptCacheSavingsUSD     float64 `json:"prompt_cache_savings_usd"`
}

// ModelStats are the totals of one model.
type ModelStats struct {
	Model string `json:"model"`
	Totals
}

// DayStats are the totals of one day.
type DayStats struct {
	Day string `json:"day"` // 2026-11-27, in the instance's time zone
	Totals
}

// HourStats are the totals of one hour.
type HourStats struct {
	Hour string `json:"hour"` // RFC 3339 start of the hour, in the instance's time zone
	Totals
}

// MaxSessions is how many sessions Stats.BySession lists at most.
const MaxSessions = 20

// SessionStats are the totals of one Claude Code session.
type SessionStats struct {
	SessionID string `json:"session_id"`
	First     string `json:"first"` // RFC 3339 times of its first and last request in the range
	Last      string `json:"last"`
	Totals
}

// GroupStats are the totals of one group of Stats.Groups.
type GroupStats struct {
	Key   string `json:"key"`             // "" for requests without one (no x-cco-user nor key, no replica name)
	First string `json:"first,omitempty"` // RFC 3339 times of its first and last request in the range
	Last  string `json:"last,omitempty"`
	Totals
	ByModel []ModelStats `json:"by_model,omitempty"`
}

// GroupBy are the names Stats can group by.
var GroupBy = []string{"model", "user", "session", "replica", "day"}

// CacheStats are the response cache's figures since the instance started.
type CacheStats struct {
	Enabled  bool    `json:"enabled"`
	Entries  int     `json:"entries"`
	Bytes    int64   `json:"bytes"`
	MaxBytes int64   `json:"max_bytes"`
	TTL      string  `json:"ttl"`
	Hits     int64   `json:"hits"`
	Misses   int64   `json:"misses"`
	Bypasses int64   `json:"bypasses"`
	Stores   int64   `json:"stores"`
	HitRate  float64 `json:"hit_rate"`
}

// Stats fetches /api/stats for a range, grouped by by when it is set.
func (c Client) Stats(ctx context.Context, rangeName, by string) (Stats, error) {
	var s Stats
	q := url.Values{"range": {rangeName}}
	if by != "" {
		q.Set("by", by)
	}
	err := c.getJSON(ctx, StatsPath+"?"+q.Encode(), "", &s)
	return s, err
}

// CacheStats fetches the response cache's figures (token-protected).
func (c Client) CacheStats(ctx context.Context, token string) (CacheStats, error) {
	var s CacheStats
	err := c.getJSON(ctx, CachePath, token, &s)
	return s, err
}

// ClearCache empties the response cache (token-protected).
func (c Client) ClearCache(ctx context.Context, token string) error {
	resp, err := c.do(ctx, http.MethodPost, CacheClearPath, token)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("clear cache: %s", statusText(resp))
	}
	return nil
}

func (c Client) getJSON(ctx context.Context, path, token string, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, token)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, statusText(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

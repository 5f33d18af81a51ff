package store

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Row is a stored request and its id.
type Row struct {
	ID int64
	Record
}

// Recent returns up to limit rows, newest first, with ids below before (0
// means from the newest). The caller bounds limit.
func (s *Store) Recent(ctx context.Context, limit int, before int64) ([]Row, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.db.QueryContext(ctx, s.eng.rebind(`SELECT id, time_ms, request_id, model, path, status, stream,
	input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
	cost_nano, cost_known, cache_hit, saved_nano, prompt_cache_saved_nano,
	latency_us, ttfb_us, error_type, user_agent, session_id, user_name, credential, replica
FROM requests WHERE id < ? ORDER BY id DESC LIMIT ?`), before, limit)
	if err != nil {
		return nil, fmt.Errorf("recent requests from %s: %w", s.path, err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var (
			r                     Row
			timeMs, latency, ttfb int64
			stream, known, hit    bool
		)
		if err := rows.Scan(&r.ID, &timeMs, &r.RequestID, &r.Model, &r.Path, &r.Status, &stream,
			&r.Input, &r.Output, &r.CacheWrite5m, &r.CacheWrite1h, &r.CacheRead,
			&r.CostNano, &known, &hit, &r.SavedNano, &r.PromptCacheSavedNano,
			&latency, &ttfb, &r.ErrorType, &r.UserAgent, &r.SessionID, &r.User, &r.Credential, &r.Replica); err != nil {
			return nil, fmt.Errorf("recent requests from %s: %w", s.path, err)
		}
		r.Time = time.UnixMilli(timeMs)
		r.Stream, r.CostKnown, r.CacheHit = stream, known, hit
		r.Latency, r.TTFB = time.Duration(latency)*time.Microsecond, time.Duration(ttfb)*time.Microsecond
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent requests from %s: %w", s.path, err)
	}
	return out, nil
}

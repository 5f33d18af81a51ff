package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Totals sums a set of rows. Every field is a plain sum of what was
// recorded, tokens of cache hits included.
type Totals struct {
	Requests    int64
	Errors      int64 // status >= 400 or an error type
	CacheHits   int64 // answered from cco's response cache
	UnknownCost int64 // the model had no price

	Input, Output, CacheWrite5m, CacheWrite1h, CacheRead int64 // tokens

	CostNano             int64 // nano-USD paid
	CacheSavedNano       int64 // nano-USD that cache hits would have cost
	PromptCacheSavedNano int64 // nano-USD that prompt caching saved
}

func (t *Totals) add(u Totals) {
	t.Requests += u.Requests
	t.Errors += u.Errors
	t.CacheHits += u.CacheHits
	t.UnknownCost += u.UnknownCost
	t.Input += u.Input
	t.Output += u.Output
	t.CacheWrite5m += u.CacheWrite5m
	t.CacheWrite1h += u.CacheWrite1h
	t.CacheRead += u.CacheRead
	t.CostNano += u.CostNano
	t.CacheSavedNano += u.CacheSavedNano
	t.PromptCacheSavedNano += u.PromptCacheSavedNano
}

// ModelTotals are the totals of one model.
type ModelTotals struct {
	Model string
	Totals
}

// DayTotals are the totals of one calendar day.
type DayTotals struct {
	Day string // "2026-11-27" in the location Stats was given
	Totals
}

// HourTotals are the totals of one hour.
type HourTotals struct {
	Hour time.Time // its start, in the location Stats was given
	Totals
}

// SessionTotals are the totals of one Claude Code session.
type SessionTotals struct {
	SessionID   string
	First, Last time.Time // its first and last request in the range
	Totals
}

// MaxSessions is how many sessions Stats.BySession holds at most.
const MaxSessions = 20

// Stats sums the rows of a time range.
type Stats struct {
	From, To time.Time // as asked
	Totals   Totals
	ByModel  []ModelTotals // by cost, highest first, then by name
	ByDay    []DayTotals   // ascending; days without rows are left out
	// ByHour splits ranges of two days or less by hour (ascending, hours
	// without rows left out); nil for longer ranges.
	ByHour []HourTotals
	// BySession: the costliest sessions, at most MaxSessions; requests
	// without a session are left out.
	BySession []SessionTotals
}

const dayMs = 24 * 60 * 60 * 1000

// Stats sums the rows with from <= Time < to. A zero from means since the
// first row, a zero to up to the last. Days are calendar days in loc (nil
// means UTC), daylight-saving changes included. ByModel, ByDay and
// BySession are never nil.
func (s *Store) Stats(ctx context.Context, from, to time.Time, loc *time.Location) (*Stats, error) {
	if loc == nil {
		loc = time.UTC
	}
	st := &Stats{From: from, To: to, ByModel: []ModelTotals{}, ByDay: []DayTotals{}, BySession: []SessionTotals{}}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		// Round up: a row at ms m is in range when m*1e6 ns >= from.
		lo = from.UnixMilli()
		if time.UnixMilli(lo).Before(from) {
			lo++
		}
	}
	if !to.IsZero() {
		// Round up: a row at ms m is before to when m*1e6 ns < to.
		hi = to.UnixMilli()
		if time.UnixMilli(hi).Before(to) {
			hi++
		}
	}
	if lo >= hi {
		return st, nil
	}
	if err := s.stats(ctx, st, lo, hi, loc); err != nil {
		return nil, fmt.Errorf("analytics stats from %s: %w", s.path, err)
	}
	return st, nil
}

// A segment is a stretch of time in which loc keeps one UTC offset, so a
// row's local day is origin's day plus whole days since origin, origin being
// the local midnight that starts the segment's first day.
type segment struct {
	lo, hi int64 // [lo, hi) unix ms
	day    int64 // local days since 1970-01-01 of lo
	origin int64 // unix ms of that local midnight at this offset
}

// segments cuts [lo, hi) at loc's offset changes.
func segments(lo, hi int64, loc *time.Location) []segment {
	var segs []segment
	for lo < hi {
		t := time.UnixMilli(lo).In(loc)
		_, off := t.Zone()
		end := hi
		if _, zend := t.ZoneBounds(); !zend.IsZero() && zend.UnixMilli() > lo && zend.UnixMilli() < hi {
			end = zend.UnixMilli()
		}
		local := lo + int64(off)*1000
		day := local / dayMs
		if local%dayMs < 0 {
			day-- // floor, for times before 1970
		}
		segs = append(segs, segment{lo: lo, hi: end, day: day, origin: day*dayMs - int64(off)*1000})
		lo = end
	}
	return segs
}

func (s *Store) stats(ctx context.Context, st *Stats, lo, hi int64, loc *time.Location) error {
	var minT, maxT sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		s.eng.rebind("SELECT min(time_ms), max(time_ms) FROM requests WHERE time_ms >= ? AND time_ms < ?"), lo, hi).
		Scan(&minT, &maxT)
	if err != nil {
		return err
	}
	if !minT.Valid {
		return nil // no rows
	}
	segs := segments(minT.Int64, maxT.Int64+1, loc)

	// One pass over the range, grouped by model and local day; the totals
	// and the two breakdowns are summed from those groups.
	q, args := segmentsCTE(segs)
	q += `
SELECT r.model, seg.first_day + (r.time_ms - seg.origin) / ` + fmt.Sprint(dayMs) + ` AS d,
	` + sumColumns + `
FROM seg JOIN requests r ON r.time_ms >= seg.lo AND r.time_ms < seg.hi
GROUP BY r.model, d`
	rows, err := s.db.QueryContext(ctx, s.eng.rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	byModel := map[string]*ModelTotals{}
	byDay := map[int64]*DayTotals{}
	for rows.Next() {
		var (
			model string
			day   int64
			t     Totals
		)
		if err := rows.Scan(append([]any{&model, &day}, t.dest()...)...); err != nil {
			return err
		}
		st.Totals.add(t)
		m := byModel[model]
		if m == nil {
			m = &ModelTotals{Model: model}
			byModel[model] = m
		}
		m.add(t)
		d := byDay[day]
		if d == nil {
			d = &DayTotals{Day: time.UnixMilli(day * dayMs).UTC().Format(time.DateOnly)}
			byDay[day] = d
		}
		d.add(t)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range byModel {
		st.ByModel = append(st.ByModel, *m)
	}
	sort.Slice(st.ByModel, func(i, j int) bool {
		a, b := st.ByModel[i], st.ByModel[j]
		if a.CostNano != b.CostNano {
			return a.CostNano > b.CostNano
		}
		return a.Model < b.Model
	})
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for _, d := range days {
		st.ByDay = append(st.ByDay, *byDay[d])
	}
	if lo != math.MinInt64 && hi != math.MaxInt64 && hi-lo <= hourlyUpTo {
		if err := s.byHour(ctx, st, segs, loc); err != nil {
			return err
		}
	}
	return s.bySession(ctx, st, lo, hi)
}

// sumColumns sums a group of rows into the fields Totals.dest scans, in
// SQL both engines read alike (PostgreSQL sums no booleans, and sums
// BIGINTs into NUMERIC unless told otherwise).
const sumColumns = `count(*),
	CAST(sum(CASE WHEN r.status >= 400 OR r.error_type <> '' THEN 1 ELSE 0 END) AS BIGINT),
	CAST(sum(CASE WHEN r.cache_hit <> 0 THEN 1 ELSE 0 END) AS BIGINT),
	CAST(sum(CASE WHEN r.cost_known = 0 THEN 1 ELSE 0 END) AS BIGINT),
	CAST(sum(r.input_tokens) AS BIGINT), CAST(sum(r.output_tokens) AS BIGINT),
	CAST(sum(r.cache_write_5m_tokens) AS BIGINT), CAST(sum(r.cache_write_1h_tokens) AS BIGINT),
	CAST(sum(r.cache_read_tokens) AS BIGINT),
	CAST(sum(r.cost_nano) AS BIGINT), CAST(sum(r.saved_nano) AS BIGINT), CAST(sum(r.prompt_cache_saved_nano) AS BIGINT)`

// dest is where a row of sumColumns is scanned.
func (t *Totals) dest() []any {
	return []any{&t.Requests, &t.Errors, &t.CacheHits, &t.UnknownCost,
		&t.Input, &t.Output, &t.CacheWrite5m, &t.CacheWrite1h, &t.CacheRead,
		&t.CostNano, &t.CacheSavedNano, &t.PromptCacheSavedNano}
}

// segmentsCTE is a WITH clause naming segs "seg (lo, hi, first_day,
// origin)", and its arguments.
func segmentsCTE(segs []segment) (string, []any) {
	var q strings.Builder
	args := make([]any, 0, 4*len(segs))
	q.WriteString("WITH seg (lo, hi, first_day, origin) AS (VALUES ")
	for i, g := range segs {
		if i > 0 {
			q.WriteString(", ")
		}
		// Typed: PostgreSQL takes an untyped parameter in VALUES as text.
		q.WriteString("(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))")
		args = append(args, g.lo, g.hi, g.day, g.origin)
	}
	q.WriteString(")")
	return q.String(), args
}

// hourlyUpTo is the longest range (in ms) that Stats splits by hour.
const hourlyUpTo = 2 * dayMs

const hourMs = 60 * 60 * 1000

// byHour splits the range by local hour. An hour is keyed by the UTC time
// it starts, so the hour a daylight-saving change repeats is two hours.
func (s *Store) byHour(ctx context.Context, st *Stats, segs []segment, loc *time.Location) error {
	q, args := segmentsCTE(segs)
	q += `
SELECT seg.origin + (r.time_ms - seg.origin) / ` + fmt.Sprint(hourMs) + ` * ` + fmt.Sprint(hourMs) + ` AS h,
	` + sumColumns + `
FROM seg JOIN requests r ON r.time_ms >= seg.lo AND r.time_ms < seg.hi
GROUP BY h ORDER BY h`
	rows, err := s.db.QueryContext(ctx, s.eng.rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	st.ByHour = []HourTotals{}
	for rows.Next() {
		var (
			h int64
			t Totals
		)
		if err := rows.Scan(append([]any{&h}, t.dest()...)...); err != nil {
			return err
		}
		st.ByHour = append(st.ByHour, HourTotals{Hour: time.UnixMilli(h).In(loc), Totals: t})
	}
	return rows.Err()
}

// bySession sums the range per Claude Code session, costliest first, at
// most MaxSessions of them.
func (s *Store) bySession(ctx context.Context, st *Stats, lo, hi int64) error {
	rows, err := s.db.QueryContext(ctx, s.eng.rebind(`
SELECT r.session_id, min(r.time_ms), max(r.time_ms),
	`+sumColumns+`
FROM requests r WHERE r.time_ms >= ? AND r.time_ms < ? AND r.session_id <> ''
GROUP BY r.session_id ORDER BY sum(r.cost_nano) DESC, r.session_id LIMIT ?`), lo, hi, MaxSessions)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			x           SessionTotals
			first, last int64
		)
		if err := rows.Scan(append([]any{&x.SessionID, &first, &last}, x.dest()...)...); err != nil {
			return err
		}
		x.First, x.Last = time.UnixMilli(first), time.UnixMilli(last)
		st.BySession = append(st.BySession, x)
	}
	return rows.Err()
}

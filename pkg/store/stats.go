package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
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

// Add adds u to t.
func (t *Totals) Add(u Totals) {
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
	ByModel []ModelTotals // by cost, highest first, then by name
}

// HourTotals are the totals of one hour.
type HourTotals struct {
	Hour time.Time // its start, in the location Stats was given
	Totals
}

// GroupTotals are the totals of one session, user, replica or model (see
// Groups).
type GroupTotals struct {
	Key         string
	First, Last time.Time // its first and last request in the range
	Totals
	ByModel []ModelTotals // by cost, highest first, then by name
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
	// BySession: the costliest sessions, at most MaxSessions, without
	// their models (Groups has them); requests without a session are left
	// out.
	BySession []GroupTotals
}

const dayMs = 24 * 60 * 60 * 1000

// bounds turns [from, to) into unix ms: a zero from is the first row, a
// zero to is past the last.
func bounds(from, to time.Time) (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
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
	return lo, hi
}

// span narrows an open end of [lo, hi) to the buckets the rollups hold;
// ok is false when they hold none.
func (s *Store) span(ctx context.Context, lo, hi int64) (_, _ int64, ok bool, err error) {
	if lo != math.MinInt64 && hi != math.MaxInt64 {
		return lo, hi, true, nil
	}
	var first, last sql.NullInt64
	l := dimModel.levels[0]
	err = s.db.QueryRowContext(ctx, s.eng.rebind("SELECT min(bucket_ms), max(bucket_ms) FROM rollups WHERE dim = ?"),
		l.code).Scan(&first, &last)
	if err != nil || !first.Valid {
		return 0, 0, false, err
	}
	return max(lo, first.Int64), min(hi, last.Int64+l.bucket), true, nil
}

// Stats sums the rows with from <= Time < to. A zero from means since the
// first row, a zero to up to the last. Days are calendar days in loc (nil
// means UTC), daylight-saving changes included. ByModel, ByDay and
// BySession are never nil.
func (s *Store) Stats(ctx context.Context, from, to time.Time, loc *time.Location) (*Stats, error) {
	if loc == nil {
		loc = time.UTC
	}
	st := &Stats{From: from, To: to, ByModel: []ModelTotals{}, ByDay: []DayTotals{}, BySession: []GroupTotals{}}
	lo, hi := bounds(from, to)
	if lo >= hi {
		return st, nil
	}
	if err := s.stats(ctx, st, lo, hi, loc, true); err != nil {
		return nil, fmt.Errorf("analytics stats from %s: %w", s.path, err)
	}
	return st, nil
}

// Days sums the rows with from <= Time < to (zero from and to as in Stats)
// per calendar day in loc (nil means UTC), each with its models: Stats'
// ByDay without the hours and sessions. Days without rows are left out.
func (s *Store) Days(ctx context.Context, from, to time.Time, loc *time.Location) ([]DayTotals, error) {
	if loc == nil {
		loc = time.UTC
	}
	st := &Stats{ByDay: []DayTotals{}}
	lo, hi := bounds(from, to)
	if lo >= hi {
		return st.ByDay, nil
	}
	if err := s.stats(ctx, st, lo, hi, loc, false); err != nil {
		return nil, fmt.Errorf("analytics days from %s: %w", s.path, err)
	}
	return st.ByDay, nil
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

// stats fills st's totals, models and days; full adds the hours and
// sessions.
func (s *Store) stats(ctx context.Context, st *Stats, lo, hi int64, loc *time.Location, full bool) error {
	open := lo == math.MinInt64 || hi == math.MaxInt64
	lo, hi, ok, err := s.span(ctx, lo, hi)
	if err != nil || !ok || lo >= hi {
		return err
	}
	segs := segments(lo, hi, loc)

	// One pass over the range, grouped by model and local day; the totals
	// and the two breakdowns are summed from those groups.
	q, args := segmentsCTE(segs)
	q2, args2 := dimModel.source(lo, hi, true)
	q += q2 + `
SELECT r.model, seg.first_day + (r.t - seg.origin) / ` + fmt.Sprint(dayMs) + ` AS d,
	` + sumColumns + `
FROM seg JOIN src r ON r.t >= seg.lo AND r.t < seg.hi
GROUP BY r.model, d`
	args = append(args, args2...)
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
		st.Totals.Add(t)
		m := byModel[model]
		if m == nil {
			m = &ModelTotals{Model: model}
			byModel[model] = m
		}
		m.Add(t)
		d := byDay[day]
		if d == nil {
			d = &DayTotals{Day: time.UnixMilli(day * dayMs).UTC().Format(time.DateOnly)}
			byDay[day] = d
		}
		d.Add(t)
		d.ByModel = append(d.ByModel, ModelTotals{Model: model, Totals: t})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range byModel {
		st.ByModel = append(st.ByModel, *m)
	}
	sortModels(st.ByModel)
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for _, d := range days {
		sortModels(byDay[d].ByModel)
		st.ByDay = append(st.ByDay, *byDay[d])
	}
	if st.Totals.Requests == 0 || !full {
		return nil
	}
	if hi-lo <= hourlyUpTo && !open {
		if err := s.byHour(ctx, st, segs, lo, hi, loc); err != nil {
			return err
		}
	}
	st.BySession, err = s.topGroups(ctx, dimSession, lo, hi, MaxSessions)
	return err
}

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
func (s *Store) byHour(ctx context.Context, st *Stats, segs []segment, lo, hi int64, loc *time.Location) error {
	q, args := segmentsCTE(segs)
	q2, args2 := dimModel.source(lo, hi, true)
	q += q2 + `
SELECT seg.origin + (r.t - seg.origin) / ` + fmt.Sprint(hourMs) + ` * ` + fmt.Sprint(hourMs) + ` AS h,
	` + sumColumns + `
FROM seg JOIN src r ON r.t >= seg.lo AND r.t < seg.hi
GROUP BY h ORDER BY h`
	args = append(args, args2...)
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

// Dimensions Groups can group by.
var groupDims = map[string]*dim{"model": dimModel, "session": dimSession, "user": dimUser, "replica": dimReplica}

// GroupNames are the names Groups takes.
var GroupNames = []string{"model", "user", "session", "replica"}

// Groups sums the rows with from <= Time < to (zero from and to as in
// Stats) per model, user (see Who), session or replica: costliest first,
// then by key. A session group leaves out requests without a session; the
// other groups sum every request, those without a user or replica under
// the key "".
func (s *Store) Groups(ctx context.Context, by string, from, to time.Time) ([]GroupTotals, error) {
	d := groupDims[by]
	if d == nil {
		return nil, fmt.Errorf("analytics: cannot group by %q (want %s)", by, strings.Join(GroupNames, ", "))
	}
	lo, hi := bounds(from, to)
	out := []GroupTotals{}
	if lo >= hi {
		return out, nil
	}
	lo, hi, ok, err := s.span(ctx, lo, hi)
	if err == nil && ok && lo < hi {
		out, err = s.groups(ctx, d, lo, hi)
	}
	if err != nil {
		return nil, fmt.Errorf("analytics by %s from %s: %w", by, s.path, err)
	}
	return out, nil
}

// groups sums [lo, hi) per group of d, costliest first.
func (s *Store) groups(ctx context.Context, d *dim, lo, hi int64) ([]GroupTotals, error) {
	q, args := d.source(lo, hi, false)
	key := "r.grp"
	if d == dimModel {
		key = "r.model"
	}
	rows, err := s.db.QueryContext(ctx, s.eng.rebind(q+`
SELECT `+key+`, r.model, min(r.first_ms), max(r.last_ms),
	`+sumColumns+`
FROM src r GROUP BY `+key+`, r.model`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byKey := map[string]*GroupTotals{}
	for rows.Next() {
		var (
			k, model    string
			first, last int64
			t           Totals
		)
		if err := rows.Scan(append([]any{&k, &model, &first, &last}, t.dest()...)...); err != nil {
			return nil, err
		}
		g := byKey[k]
		if g == nil {
			g = &GroupTotals{Key: k, First: time.UnixMilli(first), Last: time.UnixMilli(last)}
			byKey[k] = g
		}
		g.Add(t)
		g.First = minTime(g.First, time.UnixMilli(first))
		g.Last = maxTime(g.Last, time.UnixMilli(last))
		g.ByModel = append(g.ByModel, ModelTotals{Model: model, Totals: t})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]GroupTotals, 0, len(byKey))
	for _, g := range byKey {
		sortModels(g.ByModel)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b GroupTotals) int {
		return cmp.Or(cmp.Compare(b.CostNano, a.CostNano), strings.Compare(a.Key, b.Key))
	})
	return out, nil
}

// topGroups is the costliest limit groups of d in [lo, hi), without their
// models: the ranking is done by the database, which returns limit rows.
func (s *Store) topGroups(ctx context.Context, d *dim, lo, hi int64, limit int) ([]GroupTotals, error) {
	q, args := d.source(lo, hi, false)
	rows, err := s.db.QueryContext(ctx, s.eng.rebind(q+`
SELECT r.grp, min(r.first_ms), max(r.last_ms),
	`+sumColumns+`
FROM src r GROUP BY r.grp ORDER BY sum(r.cost_nano) DESC, r.grp LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []GroupTotals{}
	for rows.Next() {
		var (
			g           GroupTotals
			first, last int64
		)
		if err := rows.Scan(append([]any{&g.Key, &first, &last}, g.dest()...)...); err != nil {
			return nil, err
		}
		g.First, g.Last = time.UnixMilli(first), time.UnixMilli(last)
		out = append(out, g)
	}
	return out, rows.Err()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sortModels orders models by cost, highest first, then by name.
func sortModels(ms []ModelTotals) {
	slices.SortFunc(ms, func(a, b ModelTotals) int {
		return cmp.Or(cmp.Compare(b.CostNano, a.CostNano), strings.Compare(a.Model, b.Model))
	})
}

// Totals sums the rows with from <= Time < to (zero from and to as in
// Stats).
func (s *Store) Totals(ctx context.Context, from, to time.Time) (Totals, error) {
	var t Totals
	lo, hi := bounds(from, to)
	if lo >= hi {
		return t, nil
	}
	lo, hi, ok, err := s.span(ctx, lo, hi)
	if err == nil && ok && lo < hi {
		q, args := dimModel.source(lo, hi, false)
		var got Totals
		err = s.db.QueryRowContext(ctx, s.eng.rebind(q+"\nSELECT "+sumColumns+" FROM src r"), args...).Scan(nullable(got.dest())...)
		t = got
	}
	if err != nil {
		return Totals{}, fmt.Errorf("analytics totals from %s: %w", s.path, err)
	}
	return t, nil
}

// Session sums every row of one Claude Code session, whenever it ran;
// Requests is 0 when there is none.
func (s *Store) Session(ctx context.Context, id string) (GroupTotals, error) {
	g := GroupTotals{Key: id}
	var first, last sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.eng.rebind(`SELECT min(r.first_ms), max(r.last_ms), `+sumColumns+`
FROM rollups r WHERE r.dim = ? AND r.grp = ?`), dimSession.levels[0].code, id).
		Scan(append([]any{&first, &last}, nullable(g.dest())...)...)
	if err != nil {
		return g, fmt.Errorf("analytics session from %s: %w", s.path, err)
	}
	if first.Valid {
		g.First, g.Last = time.UnixMilli(first.Int64), time.UnixMilli(last.Int64)
	}
	return g, nil
}

// nullable wraps int64 destinations so that the sums of no rows (NULL)
// scan as 0.
func nullable(dest []any) []any {
	out := make([]any, len(dest))
	for i, d := range dest {
		out[i] = &zeroIfNull{d.(*int64)}
	}
	return out
}

type zeroIfNull struct{ p *int64 }

func (z *zeroIfNull) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*z.p = n.Int64
	return nil
}

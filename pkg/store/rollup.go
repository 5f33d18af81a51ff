package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// The rollups table sums the rows of requests per bucket of time, so that
// stats over weeks read thousands of sums instead of millions of rows. Per
// model, the buckets are 15 minutes long, since a local day or hour starts
// on a quarter hour in every time zone in use (+05:30, +05:45, +12:45 and
// the like). Per session, user and replica, which are never split by day,
// there are two sizes: UTC days, and hours for the ends of a range that
// cover part of a day.
//
// A range is read from the largest buckets it covers whole, then from the
// smaller ones at its ends, then from the rows themselves for what is left
// at its ends; so the answers are those of the rows, to the nano-dollar,
// wherever the range starts and ends. Retention deletes rows and keeps the
// rollups: a range that starts or ends inside a pruned bucket misses that
// bucket's rows.

// A dim is one dimension of the rollups.
type dim struct {
	// levels are its bucket sizes, largest first, and the rollups.dim
	// value of each.
	levels []level
	// group is the SQL of the group key over a row of requests, and key
	// the same for a Record; where, when set, keeps the rows the
	// dimension counts (SQL, and Go).
	group string
	key   func(*Record) string
	where string
	keep  func(*Record) bool
}

type level struct {
	code   string
	bucket int64 // ms
}

const quarterMs = 15 * 60 * 1000

var (
	dimModel = &dim{levels: []level{{"m", quarterMs}}, group: "''", key: func(*Record) string { return "" }}
	// The session dimension leaves out rows without a session.
	dimSession = &dim{levels: []level{{"S", dayMs}, {"s", hourMs}}, group: "session_id",
		key: func(r *Record) string { return r.SessionID }, where: "session_id <> ''", keep: func(r *Record) bool { return r.SessionID != "" }}
	dimUser = &dim{levels: []level{{"U", dayMs}, {"u", hourMs}},
		group: "CASE WHEN user_name <> '' THEN user_name WHEN credential <> '' THEN 'key:' || credential ELSE '' END",
		key:   func(r *Record) string { return Who(r.User, r.Credential) }}
	dimReplica = &dim{levels: []level{{"R", dayMs}, {"r", hourMs}}, group: "replica", key: func(r *Record) string { return r.Replica }}

	dims = []*dim{dimModel, dimSession, dimUser, dimReplica}
)

// Who is the user a row counts for: its x-cco-user, else its credential
// ("key:" and the hash), else "" (neither was sent).
func Who(user, credential string) string {
	switch {
	case user != "":
		return user
	case credential != "":
		return "key:" + credential
	}
	return ""
}

// floorTo is t's bucket of size b (floor, also before 1970).
func floorTo(t, b int64) int64 {
	r := t % b
	if r < 0 {
		r += b
	}
	return t - r
}

// rollupKey is one row of the rollups table.
type rollupKey struct {
	dim          string
	bucket       int64
	group, model string
}

type rollupSums struct {
	first, last int64
	Totals
}

// addRow adds one row of requests to a rollup's sums.
func (u *rollupSums) addRow(r *Record, t int64) {
	if u.Requests == 0 || t < u.first {
		u.first = t
	}
	if u.Requests == 0 || t > u.last {
		u.last = t
	}
	u.Requests++
	if r.Status >= 400 || r.ErrorType != "" {
		u.Errors++
	}
	if r.CacheHit {
		u.CacheHits++
	}
	if !r.CostKnown {
		u.UnknownCost++
	}
	u.Input += r.Input
	u.Output += r.Output
	u.CacheWrite5m += r.CacheWrite5m
	u.CacheWrite1h += r.CacheWrite1h
	u.CacheRead += r.CacheRead
	u.CostNano += r.CostNano
	u.CacheSavedNano += r.SavedNano
	u.PromptCacheSavedNano += r.PromptCacheSavedNano
}

const (
	rollupColumns = `INSERT INTO rollups (dim, bucket_ms, grp, model, first_ms, last_ms,
	requests, errors, cache_hits, unknown_cost,
	input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
	cost_nano, saved_nano, prompt_cache_saved_nano) VALUES `
	rollupParams = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	// The sums grow; the first and last times widen.
	rollupConflict = `
ON CONFLICT (dim, bucket_ms, grp, model) DO UPDATE SET
	first_ms = CASE WHEN excluded.first_ms < rollups.first_ms THEN excluded.first_ms ELSE rollups.first_ms END,
	last_ms = CASE WHEN excluded.last_ms > rollups.last_ms THEN excluded.last_ms ELSE rollups.last_ms END,
	requests = rollups.requests + excluded.requests,
	errors = rollups.errors + excluded.errors,
	cache_hits = rollups.cache_hits + excluded.cache_hits,
	unknown_cost = rollups.unknown_cost + excluded.unknown_cost,
	input_tokens = rollups.input_tokens + excluded.input_tokens,
	output_tokens = rollups.output_tokens + excluded.output_tokens,
	cache_write_5m_tokens = rollups.cache_write_5m_tokens + excluded.cache_write_5m_tokens,
	cache_write_1h_tokens = rollups.cache_write_1h_tokens + excluded.cache_write_1h_tokens,
	cache_read_tokens = rollups.cache_read_tokens + excluded.cache_read_tokens,
	cost_nano = rollups.cost_nano + excluded.cost_nano,
	saved_nano = rollups.saved_nano + excluded.saved_nano,
	prompt_cache_saved_nano = rollups.prompt_cache_saved_nano + excluded.prompt_cache_saved_nano`

	// rollupsPerUpsert rollup rows go in one statement at most.
	rollupsPerUpsert = 64
)

// addRollups adds a batch of rows to the rollups, in tx. The rows are
// summed per rollup row first, and upserted in key order, so that two
// replicas writing the same buckets at once take their locks in the same
// order.
func (s *Store) addRollups(ctx context.Context, tx *sql.Tx, rows []Record) error {
	sums := map[rollupKey]*rollupSums{}
	for i := range rows {
		r := &rows[i]
		t := r.Time.UnixMilli()
		model, session, user, replica := text(r.Model), text(r.SessionID), text(r.User), text(r.Replica)
		clean := Record{Model: model, SessionID: session, User: user, Credential: text(r.Credential), Replica: replica}
		for _, d := range dims {
			if d.keep != nil && !d.keep(&clean) {
				continue
			}
			for _, l := range d.levels {
				k := rollupKey{dim: l.code, bucket: floorTo(t, l.bucket), group: d.key(&clean), model: model}
				u := sums[k]
				if u == nil {
					u = &rollupSums{}
					sums[k] = u
				}
				u.addRow(r, t)
			}
		}
	}
	keys := make([]rollupKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(strings.Compare(a.dim, b.dim), cmp.Compare(a.bucket, b.bucket),
			strings.Compare(a.group, b.group), strings.Compare(a.model, b.model))
	})
	args := make([]any, 0, rollupsPerUpsert*18)
	for len(keys) > 0 {
		n := min(len(keys), rollupsPerUpsert)
		args = args[:0]
		for _, k := range keys[:n] {
			u := sums[k]
			args = append(args, k.dim, k.bucket, k.group, k.model, u.first, u.last,
				u.Requests, u.Errors, u.CacheHits, u.UnknownCost,
				u.Input, u.Output, u.CacheWrite5m, u.CacheWrite1h, u.CacheRead,
				u.CostNano, u.CacheSavedNano, u.PromptCacheSavedNano)
		}
		q := rollupColumns + strings.TrimSuffix(strings.Repeat(rollupParams+", ", n), ", ") + rollupConflict
		if _, err := tx.ExecContext(ctx, s.eng.rebind(q), args...); err != nil {
			return fmt.Errorf("add to rollups: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// rowSums is the rows of requests as rollups: one row each, in the columns
// of rollups, for the ends of a range that cover part of a bucket.
const rowSums = `time_ms AS first_ms, time_ms AS last_ms, 1 AS requests,
	CASE WHEN status >= 400 OR error_type <> '' THEN 1 ELSE 0 END AS errors,
	CASE WHEN cache_hit <> 0 THEN 1 ELSE 0 END AS cache_hits,
	CASE WHEN cost_known = 0 THEN 1 ELSE 0 END AS unknown_cost,
	input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
	cost_nano, saved_nano, prompt_cache_saved_nano`

// source is a WITH clause naming "src (grp, model, t, first_ms, last_ms,
// requests, ..., prompt_cache_saved_nano)": what d counts of [lo, hi),
// from the rollups of the buckets inside it and the rows of its ends; t is
// the bucket's start or the row's time. It follows a WITH clause of its own
// when with is set (written ", src AS ..."), and its arguments follow.
func (d *dim) source(lo, hi int64, with bool) (string, []any) {
	var q strings.Builder
	if with {
		q.WriteString(",\n")
	} else {
		q.WriteString("WITH ")
	}
	q.WriteString("src AS (\n")
	var args []any
	part := func() {
		if len(args) > 0 {
			q.WriteString("\nUNION ALL\n")
		}
	}
	var cover func(lo, hi int64, levels []level)
	cover = func(lo, hi int64, levels []level) {
		if len(levels) == 0 {
			part()
			q.WriteString("SELECT " + d.group + " AS grp, model, time_ms AS t, " + rowSums +
				"\nFROM requests WHERE time_ms >= ? AND time_ms < ?")
			if d.where != "" {
				q.WriteString(" AND " + d.where)
			}
			args = append(args, lo, hi)
			return
		}
		l := levels[0]
		alo, ahi := floorTo(lo, l.bucket), floorTo(hi, l.bucket)
		if alo < lo {
			alo += l.bucket
		}
		if alo >= ahi { // no whole bucket
			cover(lo, hi, levels[1:])
			return
		}
		part()
		q.WriteString(`SELECT grp, model, bucket_ms AS t, first_ms, last_ms, requests, errors, cache_hits, unknown_cost,
	input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
	cost_nano, saved_nano, prompt_cache_saved_nano
FROM rollups WHERE dim = ? AND bucket_ms >= ? AND bucket_ms < ?`)
		args = append(args, l.code, alo, ahi)
		if lo < alo {
			cover(lo, alo, levels[1:])
		}
		if ahi < hi {
			cover(ahi, hi, levels[1:])
		}
	}
	cover(lo, hi, d.levels)
	q.WriteString(")")
	return q.String(), args
}

// sumColumns sums a group of src into the fields Totals.dest scans, in SQL
// both engines read alike (PostgreSQL sums BIGINTs into NUMERIC unless told
// otherwise).
const sumColumns = `CAST(sum(r.requests) AS BIGINT), CAST(sum(r.errors) AS BIGINT),
	CAST(sum(r.cache_hits) AS BIGINT), CAST(sum(r.unknown_cost) AS BIGINT),
	CAST(sum(r.input_tokens) AS BIGINT), CAST(sum(r.output_tokens) AS BIGINT),
	CAST(sum(r.cache_write_5m_tokens) AS BIGINT), CAST(sum(r.cache_write_1h_tokens) AS BIGINT),
	CAST(sum(r.cache_read_tokens) AS BIGINT),
	CAST(sum(r.cost_nano) AS BIGINT), CAST(sum(r.saved_nano) AS BIGINT), CAST(sum(r.prompt_cache_saved_nano) AS BIGINT)`

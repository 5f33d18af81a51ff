package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Importing rows that cco did not proxy: `cco stats import` reads Claude
// Code's session logs into the database. A row is recognised by its
// request id (the upstream's request-id, which Claude Code logs as
// requestId and cco records for its own rows) or its message id: Import
// skips a row whose request id or message id is in the database already,
// whether cco recorded it or an earlier import did, so importing the same
// logs twice adds nothing. The rows it adds are marked imported and added
// to the rollups in the same transaction, as the writer's are.
//
// The ids are looked for among the rows within importWindow of each row's
// time, found through the index on time_ms that the stats use already:
// indexes on the ids themselves (random keys, one entry per row) made the
// writer's batches about seven times slower on a table of 250,000 rows
// (BenchmarkInsert), a cost every proxied request would pay for the sake
// of a rare import. Claude Code logs a message when its content has
// arrived, cco records it at the request's start: minutes apart at most,
// on the same clock. A row cco recorded more than importWindow away from
// the log's time (a clock off by over an hour between the machine that
// ran Claude Code and cco's) is not recognised.
//
// A batch's lookups and inserts are one transaction, which on SQLite holds
// the write lock from its start (BEGIN IMMEDIATE) and on PostgreSQL takes
// an advisory lock first: two imports at once cannot both add a row. The
// daemon's writer does not look before it writes; a message still being
// answered while its log line is imported can be counted twice, which is
// why `cco stats import` leaves the last minutes of the logs alone.

// Imported is what Import did (or, for ImportDryRun, would do).
type Imported struct {
	Added   int    // rows inserted
	Present int    // rows skipped: their request id or message id was there already
	Totals  Totals // the sums of the rows added
}

// importBatch rows are looked up and inserted in one transaction.
const importBatch = DefaultBatchSize

// importWindow is how far from a row's time its ids are looked for.
const importWindow = time.Hour

// importLock is the key of PostgreSQL's advisory lock for imports ("cci").
const importLock = 0x636369

// Import adds rows that are not in the database yet, marked imported, and
// reports how many it added and skipped. Every row must have a request id
// or a message id (a row with neither could not be recognised by the next
// import); a zero Time is the store's now.
func (s *Store) Import(ctx context.Context, rows []Record) (Imported, error) {
	return s.importRows(ctx, rows, true)
}

// ImportDryRun is Import without writing anything: what it would add.
func (s *Store) ImportDryRun(ctx context.Context, rows []Record) (Imported, error) {
	return s.importRows(ctx, rows, false)
}

func (s *Store) importRows(ctx context.Context, rows []Record, commit bool) (Imported, error) {
	var total Imported
	for i := range rows {
		if rows[i].RequestID == "" && rows[i].MessageID == "" {
			return total, fmt.Errorf("import into analytics db %s: row %d has neither a request id nor a message id", s.path, i)
		}
	}
	// The ids added by earlier batches: a dry run does not find them in
	// the database.
	added := ids{req: map[string]bool{}, msg: map[string]bool{}}
	for len(rows) > 0 {
		n := min(len(rows), importBatch)
		got, err := s.importBatch(ctx, rows[:n], added, commit)
		if err != nil {
			return total, fmt.Errorf("import into analytics db %s: %w", s.path, err)
		}
		total.Added += got.Added
		total.Present += got.Present
		total.Totals.Add(got.Totals)
		rows = rows[n:]
	}
	return total, nil
}

// ids are request ids and message ids.
type ids struct{ req, msg map[string]bool }

// importBatch imports rows in one transaction, skipping those whose ids
// are in the database or in added, and adds the ids of the rows it adds to
// added.
func (s *Store) importBatch(ctx context.Context, rows []Record, added ids, commit bool) (Imported, error) {
	var out Imported
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return out, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if s.eng == postgresEngine {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(importLock)); err != nil {
			return out, fmt.Errorf("lock: %w", err)
		}
	}
	have, err := s.idsNear(ctx, tx, rows)
	if err != nil {
		return out, err
	}
	haveReq, haveMsg := have.req, have.msg
	add := make([]Record, 0, len(rows))
	var sums rollupSums
	for _, r := range rows {
		req, msg := text(r.RequestID), text(r.MessageID)
		if (req != "" && (haveReq[req] || added.req[req])) || (msg != "" && (haveMsg[msg] || added.msg[msg])) {
			out.Present++
			continue
		}
		if req != "" {
			added.req[req] = true
		}
		if msg != "" {
			added.msg[msg] = true
		}
		if r.Time.IsZero() {
			r.Time = s.opts.Now()
		}
		r.Imported = true
		add = append(add, r)
		sums.addRow(&r, r.Time.UnixMilli())
	}
	out.Added, out.Totals = len(add), sums.Totals
	if len(add) == 0 || !commit {
		return out, nil
	}
	if err := s.insertTx(ctx, tx, add); err != nil {
		return Imported{}, err
	}
	if err := tx.Commit(); err != nil {
		return Imported{}, err
	}
	return out, nil
}

// idsNear returns the request ids and message ids of the rows within
// importWindow of any of rows' times: the spans around them, merged, read
// through the index on time_ms.
func (s *Store) idsNear(ctx context.Context, tx *sql.Tx, rows []Record) (ids, error) {
	have := ids{req: map[string]bool{}, msg: map[string]bool{}}
	times := make([]int64, len(rows))
	for i := range rows {
		times[i] = rows[i].Time.UnixMilli()
	}
	slices.Sort(times)
	w := importWindow.Milliseconds()
	for i := 0; i < len(times); {
		lo, hi := times[i]-w, times[i]+w
		for i++; i < len(times) && times[i]-w <= hi; i++ {
			hi = times[i] + w
		}
		if err := s.readIDs(ctx, tx, lo, hi, have); err != nil {
			return have, err
		}
	}
	return have, nil
}

// readIDs adds the ids of the rows of [lo, hi] to have.
func (s *Store) readIDs(ctx context.Context, tx *sql.Tx, lo, hi int64, have ids) error {
	rs, err := tx.QueryContext(ctx, s.eng.rebind(`SELECT request_id, message_id FROM requests
WHERE time_ms >= ? AND time_ms <= ? AND (request_id <> '' OR message_id <> '')`), lo, hi)
	if err != nil {
		return fmt.Errorf("look up ids: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var req, msg string
		if err := rs.Scan(&req, &msg); err != nil {
			return fmt.Errorf("look up ids: %w", err)
		}
		if req != "" {
			have.req[req] = true
		}
		if msg != "" {
			have.msg[msg] = true
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("look up ids: %w", err)
	}
	return nil
}

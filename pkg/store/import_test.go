package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// withIDs gives rows request and message ids of their own, prefix-i.
func withIDs(rows []Record, prefix string) []Record {
	for i := range rows {
		rows[i].RequestID = fmt.Sprintf("req_%s%d", prefix, i)
		rows[i].MessageID = fmt.Sprintf("msg_%s%d", prefix, i)
	}
	return rows
}

// sumRows is what rows add up to, as the rollups sum them.
func sumRows(rows []Record) Totals {
	var u rollupSums
	for i := range rows {
		u.addRow(&rows[i], rows[i].Time.UnixMilli())
	}
	return u.Totals
}

// TestImport: an import skips what cco recorded itself (by request id or
// message id) and what is repeated within it, adds the rest marked
// imported, into the rollups too; the same import again adds nothing; a
// dry run writes nothing. On both engines, over several batches.
func TestImport(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		s := openStore(t, e.options(t))
		start := utc("2026-03-01T00:00:00Z")
		// cco's own rows: one with both ids, one from before message ids
		// were recorded.
		own := []Record{row(1), row(2)}
		own[0].RequestID, own[0].MessageID, own[0].Time = "req_own1", "msg_own1", start.Add(time.Hour)
		own[1].RequestID, own[1].Time = "req_own2", start.Add(2*time.Hour)
		for _, r := range own {
			s.Record(r)
		}
		flush(t, s)

		fresh := withIDs(randomRows(21, 1200, start, 3), "i")
		fresh[0].RequestID = "" // an early Claude Code log: no request id
		logged := append([]Record(nil), fresh...)
		// Claude Code logs a message after cco's row began it: the ids are
		// looked for within importWindow of the log's time.
		mine := func(r Record, req, msg string, at time.Time) Record {
			r.RequestID, r.MessageID, r.Time = req, msg, at
			return r
		}
		logged = append(logged,
			mine(fresh[5], "req_own1", "msg_own1", own[0].Time.Add(40*time.Second)),       // cco's, by both ids
			mine(fresh[6], "req_own2", "msg_x2", own[1].Time.Add(importWindow)),           // cco's, by its request id
			mine(fresh[7], "", "msg_own1", own[0].Time.Add(-importWindow)),                // cco's, by its message id
			mine(fresh[8], "req_other", "msg_i9", fresh[8].Time),                          // repeats fresh[9]'s message
			mine(fresh[10], fresh[10].RequestID, "", fresh[10].Time.Add(-3*24*time.Hour)), // repeats fresh[10]'s request
		)

		// A dry run says what would be added, and adds nothing.
		got, err := s.ImportDryRun(ctx, logged)
		if err != nil {
			t.Fatal(err)
		}
		want := Imported{Added: len(fresh), Present: 5, Totals: sumRows(fresh)}
		if got != want {
			t.Errorf("dry run: %+v\nwant      %+v", got, want)
		}
		if n := rowCount(t, s); n != 2 {
			t.Fatalf("the dry run wrote: %d rows", n)
		}

		got, err = s.Import(ctx, logged)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("import: %+v\nwant    %+v", got, want)
		}
		if n := queryInt(t, s.db, "SELECT count(*) FROM requests WHERE imported = 1"); n != int64(len(fresh)) {
			t.Errorf("%d rows marked imported, want %d", n, len(fresh))
		}
		if n := queryInt(t, s.db, s.eng.rebind("SELECT count(*) FROM requests WHERE imported = 0 AND message_id = ?"), "msg_own1"); n != 1 {
			t.Errorf("cco's own row has no message id")
		}
		all := append(append([]Record(nil), own...), fresh...)
		// Whole buckets (rollups) and part-buckets (rows) see them alike.
		sameStats(t, s, all, time.Time{}, time.Time{}, time.UTC)
		sameStats(t, s, all, start.Add(90*time.Minute+7*time.Second), start.Add(50*time.Hour), mustLoad(t, "Asia/Kolkata"))

		// Again: nothing new.
		got, err = s.Import(ctx, logged)
		if err != nil {
			t.Fatal(err)
		}
		if got != (Imported{Present: len(logged)}) {
			t.Errorf("second import: %+v", got)
		}
		if n := rowCount(t, s); n != int64(len(all)) {
			t.Errorf("%d rows after the second import, want %d", n, len(all))
		}
		sameStats(t, s, all, time.Time{}, time.Time{}, time.UTC)

		// A row that could never be recognised again is refused.
		r := row(3)
		r.RequestID = ""
		if _, err := s.Import(ctx, []Record{r}); err == nil {
			t.Error("a row without ids was imported")
		}
	})
}

// Two imports of the same rows at once, through two stores on one
// database (two `cco stats import` processes), add each row once.
func TestImportConcurrently(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		o := e.options(t)
		a, b := openStore(t, o), openStore(t, o)
		rows := withIDs(randomRows(4, 2000, utc("2026-05-01T00:00:00Z"), 2), "c")
		var wg sync.WaitGroup
		results := make([]Imported, 2)
		errs := make([]error, 2)
		for i, s := range []*Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = s.Import(ctx, rows)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if added := results[0].Added + results[1].Added; added != len(rows) || results[0].Present+results[1].Present != len(rows) {
			t.Errorf("imports at once: %+v, %+v; want %d added between them", results[0], results[1], len(rows))
		}
		if n := rowCount(t, a); n != int64(len(rows)) {
			t.Errorf("%d rows, want %d", n, len(rows))
		}
		sameStats(t, a, rows, time.Time{}, time.Time{}, time.UTC)
	})
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testOptions puts the database in a folder that does not exist yet and
// fails the test on any background write error.
func testOptions(t *testing.T) Options {
	t.Helper()
	return Options{
		Path:    filepath.Join(t.TempDir(), "data", "analytics.db"),
		OnError: func(err error) { t.Errorf("background write: %v", err) },
	}
}

func openStore(t *testing.T, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// rawDB opens the file behind the store's back, as another process would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driverName, dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawDBFor opens the database of o behind the store's back, on either
// engine.
func rawDBFor(t *testing.T, o Options) *sql.DB {
	t.Helper()
	if o.URL == "" {
		return rawDB(t, o.Path)
	}
	db, err := sql.Open(postgresEngine.driver, o.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func queryInt(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func rowCount(t *testing.T, s *Store) int64 {
	t.Helper()
	return queryInt(t, s.db, "SELECT count(*) FROM requests")
}

func flush(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond; the deadline only keeps a broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func row(i int) Record {
	return Record{
		Time: t0.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprintf("req_%d", i), Model: "claude-sonnet-4-5",
		Path: "/v1/messages", Status: 200, Input: 10, Output: 20, CostNano: 1000, CostKnown: true,
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes on Windows")
	}
	o := testOptions(t)
	s := openStore(t, o)
	s.Record(row(1))
	flush(t, s) // the -wal file now exists
	for path, want := range map[string]os.FileMode{
		filepath.Dir(o.Path): 0o700 | os.ModeDir,
		o.Path:               0o600,
		o.Path + "-wal":      0o600,
		o.Path + "-shm":      0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if got := queryInt(t, s.db, "PRAGMA synchronous"); got != 1 {
		t.Errorf("synchronous = %d, want 1 (NORMAL)", got)
	}
	if got := queryInt(t, s.db, "PRAGMA busy_timeout"); got != 5000 {
		t.Errorf("busy_timeout = %d, want 5000", got)
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"no path", Options{}},
		{"question mark", Options{Path: filepath.Join(dir, "a?b.db")}},
		{"negative retention", Options{Path: filepath.Join(dir, "a.db"), Retention: -time.Hour}},
		{"not a database", Options{Path: writeFile(t, filepath.Join(dir, "junk.db"), "this is not a database, just long enough text to be read as a header....................................................")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.o)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
		})
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRoundTrip checks that every field lands in its column.
func TestRoundTrip(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := openStore(t, e.options(t))
		in := Record{
			Time: time.Date(2026, 11, 27, 10, 11, 12, 345_678_901, time.FixedZone("x", 3600)), RequestID: "req_01", Model: "claude-opus-4-5",
			Path: "/v1/messages", Status: 529, Stream: true,
			Input: 1, Output: 2, CacheWrite5m: 3, CacheWrite1h: 4, CacheRead: 5,
			CostNano: 6, CostKnown: true, CacheHit: true, SavedNano: 7, PromptCacheSavedNano: 8,
			Latency: 1234567 * time.Nanosecond, TTFB: 89 * time.Millisecond,
			ErrorType: "overloaded_error", UserAgent: "claude-cli/2.0", SessionID: "sess-1",
		}
		if !s.Record(in) {
			t.Fatal("Record refused")
		}
		flush(t, s)
		var (
			got    [21]any
			ptrs   [21]any
			wanted = []any{
				int64(1795770672345), "req_01", "claude-opus-4-5", "/v1/messages", int64(529), int64(1),
				int64(1), int64(2), int64(3), int64(4), int64(5),
				int64(6), int64(1), int64(1), int64(7), int64(8),
				int64(1234), int64(89000), "overloaded_error", "claude-cli/2.0", "sess-1",
			}
		)
		for i := range got {
			ptrs[i] = &got[i]
		}
		err := s.db.QueryRow(`SELECT time_ms, request_id, model, path, status, stream,
			input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
			cost_nano, cost_known, cache_hit, saved_nano, prompt_cache_saved_nano,
			latency_us, ttfb_us, error_type, user_agent, session_id FROM requests`).Scan(ptrs[:]...)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range wanted {
			g := got[i]
			if b, ok := g.([]byte); ok { // drivers differ in how they hand back TEXT to *any
				g = string(b)
			}
			if g != w {
				t.Errorf("column %d = %#v, want %#v", i, g, w)
			}
		}
	})
}

func TestRecordZeroTimeIsNow(t *testing.T) {
	o := testOptions(t)
	o.Now = func() time.Time { return t0 }
	s := openStore(t, o)
	s.Record(Record{Model: "m"})
	flush(t, s)
	if got := queryInt(t, s.db, "SELECT time_ms FROM requests"); got != t0.UnixMilli() {
		t.Errorf("time_ms = %d, want %d", got, t0.UnixMilli())
	}
}

func TestBatching(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		o := e.options(t)
		o.BatchSize = 5
		o.FlushInterval = time.Hour // only a full batch, Flush or Close commit
		s := openStore(t, o)

		for i := range 3 {
			s.Record(row(i))
		}
		// Three rows wait for more: nothing may commit them.
		if got := s.Written(); got != 0 {
			t.Fatalf("Written = %d before a full batch", got)
		}
		flush(t, s)
		if got, n := s.Written(), rowCount(t, s); got != 3 || n != 3 {
			t.Fatalf("after Flush: Written = %d, rows = %d; want 3", got, n)
		}
		if got := s.batches.Load(); got != 1 {
			t.Errorf("batches = %d, want 1", got)
		}

		for i := range 12 {
			s.Record(row(10 + i))
		}
		// Two full batches commit on their own, one transaction each.
		waitFor(t, "two full batches", func() bool { return s.Written() == 13 })
		if got := s.batches.Load(); got != 3 {
			t.Errorf("batches = %d, want 3 (one per full batch)", got)
		}
		if got := rowCount(t, s); got != 13 {
			t.Errorf("rows = %d, want 13", got)
		}
		flush(t, s)
		if got, b := s.Written(), s.batches.Load(); got != 15 || b != 4 {
			t.Errorf("after Flush: Written = %d, batches = %d; want 15, 4", got, b)
		}
		flush(t, s) // nothing queued: no empty transaction
		if got := s.batches.Load(); got != 4 {
			t.Errorf("empty Flush committed: batches = %d", got)
		}
	})
}

func TestFlushInterval(t *testing.T) {
	o := testOptions(t)
	o.FlushInterval = 10 * time.Millisecond
	s := openStore(t, o)
	s.Record(row(1))
	waitFor(t, "the interval's commit", func() bool { return s.Written() == 1 })
	if got := s.batches.Load(); got != 1 {
		t.Errorf("batches = %d, want 1", got)
	}
}

// TestQueueOverflow holds the write lock from a second connection, as
// another process could, so the writer is stuck in its first commit while
// the queue fills.
func TestQueueOverflow(t *testing.T) {
	o := testOptions(t)
	o.QueueSize = 10
	o.BatchSize = 1
	o.FlushInterval = time.Hour
	s := openStore(t, o)

	lock, err := rawDB(t, s.path).Begin() // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	accepted := 0
	for i := range n {
		if s.Record(row(i)) {
			accepted++
		}
	}
	// Had any Record blocked, the loop would only have finished after the
	// writer gave up on the lock, and OnError would have failed the test.
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	t.Logf("accepted %d of %d", accepted, n)
	// The queue takes 10; the writer holds at most one batch of 1.
	if accepted < o.QueueSize || accepted > o.QueueSize+o.BatchSize {
		t.Errorf("accepted %d rows, want %d or %d", accepted, o.QueueSize, o.QueueSize+o.BatchSize)
	}
	if got := s.Dropped(); got != int64(n-accepted) {
		t.Errorf("Dropped = %d, want %d", got, n-accepted)
	}
	flush(t, s)
	if got := rowCount(t, s); got != int64(accepted) {
		t.Errorf("rows = %d, want the %d accepted", got, accepted)
	}
	if got := s.Written(); got != int64(accepted) {
		t.Errorf("Written = %d, want %d", got, accepted)
	}
}

func TestCloseFlushes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		o := e.options(t)
		o.OnError = nil
		o.FlushInterval = time.Hour
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1234 {
			if !s.Record(row(i)) {
				t.Fatalf("Record %d refused", i)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := s.Written(); got != 1234 {
			t.Errorf("Written = %d, want 1234", got)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if s.Record(row(0)) {
			t.Error("Record after Close accepted the row")
		}
		if got := s.Dropped(); got != 1 {
			t.Errorf("Dropped = %d, want 1 (the row after Close)", got)
		}
		if err := s.Flush(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Flush after Close = %v, want ErrClosed", err)
		}
		if got := queryInt(t, rawDBFor(t, o), "SELECT count(*) FROM requests"); got != 1234 {
			t.Errorf("rows after reopening = %d, want 1234", got)
		}
	})
}

func TestFlushContext(t *testing.T) {
	s := openStore(t, testOptions(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The writer may or may not take the request first; either way Flush
	// returns, with nil or the context's error.
	if err := s.Flush(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Flush = %v", err)
	}
}

// TestConcurrent records, flushes and reads from many goroutines at once;
// run it with -race.
func TestConcurrent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		o := e.options(t)
		o.BatchSize = 64
		o.FlushInterval = 5 * time.Millisecond
		s := openStore(t, o)
		var wg sync.WaitGroup
		var accepted atomic.Int64
		for g := range 8 {
			wg.Go(func() {
				for i := range 500 {
					if s.Record(row(g*1000 + i)) {
						accepted.Add(1)
					}
					if i%100 == 0 {
						if err := s.Flush(context.Background()); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Go(func() {
			for range 20 {
				if _, err := s.Stats(context.Background(), time.Time{}, time.Time{}, time.UTC); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Wait()
		flush(t, s)
		if got, want := rowCount(t, s), accepted.Load(); got != want || s.Written() != want {
			t.Errorf("rows = %d, Written = %d, want %d", got, s.Written(), want)
		}
		if got := accepted.Load() + s.Dropped(); got != 8*500 {
			t.Errorf("accepted + dropped = %d, want %d", got, 8*500)
		}
	})
}

func TestRetention(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		path := filepath.Join(t.TempDir(), "analytics.db")
		s := openStore(t, Options{Path: path})
		for _, age := range []time.Duration{48 * time.Hour, 25 * time.Hour, 23 * time.Hour, time.Hour} {
			s.Record(Record{Time: t0.Add(-age), Model: fmt.Sprint(age)})
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		var now atomic.Int64
		now.Store(t0.UnixNano())
		o := Options{
			Path: path, Retention: 24 * time.Hour,
			Now:        func() time.Time { return time.Unix(0, now.Load()) },
			OnError:    func(err error) { t.Errorf("background: %v", err) },
			pruneEvery: 5 * time.Millisecond,
		}
		s = openStore(t, o)
		// At open: the rows more than 24h before t0 are gone.
		if got := rowCount(t, s); got != 2 {
			t.Fatalf("rows after Open = %d, want 2", got)
		}
		// Later: 22h on, the 23h-old row is 45h old, the 1h-old one 23h.
		now.Store(t0.Add(22 * time.Hour).UnixNano())
		waitFor(t, "the periodic prune", func() bool { return rowCount(t, s) == 1 })
		var model string
		if err := s.db.QueryRow("SELECT model FROM requests").Scan(&model); err != nil || model != "1h0m0s" {
			t.Errorf("kept %q, %v; want the 1h-old row", model, err)
		}
	})
}

// A batch goes in as multi-row INSERTs and single ones for the rest: every
// column of every row must land in its place.
func TestManyRowsRoundTrip(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := openStore(t, e.options(t))
		const n = 2*rowsPerInsert + 23
		base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		for i := range n {
			k := int64(i)
			s.Record(Record{
				Time: base.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprint("req_", i), Model: fmt.Sprint("m", i%3), Path: "/v1/messages",
				Status: 200 + i, Stream: i%2 == 0, Input: k, Output: 2 * k, CacheWrite5m: 3 * k, CacheWrite1h: 4 * k, CacheRead: 5 * k,
				CostNano: 6 * k, CostKnown: i%5 != 0, CacheHit: i%7 == 0, SavedNano: 7 * k, PromptCacheSavedNano: 8 * k,
				Latency: time.Duration(k) * time.Millisecond, TTFB: time.Duration(k) * time.Microsecond,
				ErrorType: fmt.Sprint("e", i), UserAgent: fmt.Sprint("ua", i), SessionID: fmt.Sprint("s", i),
			})
		}
		flush(t, s)
		rows, err := s.db.Query(`SELECT time_ms, request_id, model, status, stream, input_tokens, output_tokens, cache_write_5m_tokens,
			cache_write_1h_tokens, cache_read_tokens, cost_nano, cost_known, cache_hit, saved_nano, prompt_cache_saved_nano,
			latency_us, ttfb_us, error_type, user_agent, session_id FROM requests ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		i := 0
		for rows.Next() {
			var (
				tm, status, stream, in, out, w5, w1, cr, cost, known, hit, saved, pcs, lat, ttfb int64
				rid, model, et, ua, sid                                                          string
			)
			if err := rows.Scan(&tm, &rid, &model, &status, &stream, &in, &out, &w5, &w1, &cr, &cost, &known, &hit, &saved, &pcs, &lat, &ttfb, &et, &ua, &sid); err != nil {
				t.Fatal(err)
			}
			k := int64(i)
			want := []int64{base.Add(time.Duration(i) * time.Second).UnixMilli(), 200 + k, map[bool]int64{true: 1}[i%2 == 0], k, 2 * k, 3 * k, 4 * k, 5 * k, 6 * k,
				map[bool]int64{true: 1}[i%5 != 0], map[bool]int64{true: 1}[i%7 == 0], 7 * k, 8 * k, k * 1000, k}
			got := []int64{tm, status, stream, in, out, w5, w1, cr, cost, known, hit, saved, pcs, lat, ttfb}
			if fmt.Sprint(got) != fmt.Sprint(want) || rid != fmt.Sprint("req_", i) || model != fmt.Sprint("m", i%3) ||
				et != fmt.Sprint("e", i) || ua != fmt.Sprint("ua", i) || sid != fmt.Sprint("s", i) {
				t.Fatalf("row %d: %v %s %s %s %s %s\nwant %v", i, got, rid, model, et, ua, sid, want)
			}
			i++
		}
		if i != n {
			t.Fatalf("%d rows, want %d", i, n)
		}
	})
}

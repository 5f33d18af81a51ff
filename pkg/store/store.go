// Package store is cco's analytics database: one row per proxied request,
// written off the request path by a batching writer, and the sums behind
// /api/stats and `cco stats`. It is the only package that sees SQL.
//
// The database is a SQLite file by default, or PostgreSQL (Options.URL,
// through pgx's database/sql driver) for several replicas: the same SQL,
// with engine.go holding what differs (placeholders, schema version,
// migration lock, migrations/ and postgres/migrations/).
//
// It imports the standard library and the database drivers only. The SQLite
// driver is the pure-Go modernc.org/sqlite by default and
// github.com/mattn/go-sqlite3 (cgo) when built with the tag cgosqlite;
// driver_*.go hold the difference and everything else behaves the same on
// both.
//
// The schema is a list of embedded migrations (migrations/NNNN_*.sql, and
// the same steps for PostgreSQL), tracked in SQLite's PRAGMA user_version or
// PostgreSQL's cco_schema table. SQLite runs in WAL mode with
// synchronous=NORMAL: a killed process loses at most the rows it had not yet
// committed (one flush interval) and never corrupts the file.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Record is one proxied request.
type Record struct {
	Time      time.Time // when the request started; zero means when Record was called
	RequestID string    // upstream's request-id
	MessageID string    // the answer's message.id
	Model     string
	Path      string // e.g. /v1/messages
	Status    int
	Stream    bool

	Input, Output, CacheWrite5m, CacheWrite1h, CacheRead int64 // tokens

	CostNano  int64 // what the request cost in nano-USD (0 for a cache hit)
	CostKnown bool  // false when the model has no price (the row is still recorded)
	CacheHit  bool  // answered from cco's response cache
	SavedNano int64 // for a cache hit: what it would have cost

	// PromptCacheSavedNano is the saving from Anthropic prompt caching:
	// cache reads priced as plain input, minus their price.
	PromptCacheSavedNano int64

	Latency, TTFB time.Duration
	ErrorType     string
	UserAgent     string
	SessionID     string // x-claude-code-session-id

	// Who asked, and who answered: the client's x-cco-user header; a hash
	// of the credential it sent (never the secret itself); the replica
	// that served it (server.replica).
	User, Credential, Replica string

	// Imported marks a row read from Claude Code's session logs (Import),
	// not proxied by cco.
	Imported bool

	// Upstream is the time the upstream took (see proxy.Done.Upstream). It
	// is NOT stored in the database: it is only for the metrics, which
	// observe the row as it is queued.
	Upstream time.Duration
}

// Options configure Open. Zero values take the defaults noted.
type Options struct {
	Path string // the SQLite database file; its folder is created 0700, the file 0600
	// URL, when set, is a PostgreSQL database (postgres://...) to use
	// instead of the SQLite file at Path; Name is how messages call it
	// (the URL without its password; "the PostgreSQL database" when
	// empty), since the store never prints the URL itself.
	URL, Name string

	QueueSize     int           // rows waiting for the writer; default 10000
	BatchSize     int           // rows per transaction; default 500
	FlushInterval time.Duration // longest a queued row waits to be committed; default 1s

	// Retention: rows older than this are deleted at Open and hourly after.
	// 0 keeps everything.
	Retention time.Duration

	Now func() time.Time // default time.Now

	// OnError receives background write errors (the caller logs them); nil
	// ignores them. It runs on the writer goroutine: it must return promptly
	// and must not call Flush or Close.
	OnError func(error)

	// pruneEvery is how often retention runs after Open; tests shorten it.
	pruneEvery time.Duration
	// retryFirst and retryMax bound the writer's wait between attempts
	// while the database is unreachable; tests shorten them.
	retryFirst, retryMax time.Duration
}

// Defaults for the zero Options fields.
const (
	DefaultQueueSize     = 10000
	DefaultBatchSize     = 500
	DefaultFlushInterval = time.Second
)

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("analytics store closed")

// Store is an open analytics database and its writer. Its methods are safe
// for concurrent use.
type Store struct {
	path string // the SQLite file, or the PostgreSQL URL without its password: for messages
	opts Options
	eng  *engine
	db   *sql.DB

	insert     *sql.Stmt // one row
	insertMany *sql.Stmt // rowsPerInsert rows

	// mu guards the rows waiting for the writer, and orders Record
	// against Close: no row is queued after the writer's final drain.
	mu      sync.Mutex
	closed  bool
	pending []Record
	// wake tells the writer that the queue got its first row (it then arms
	// the flush timer) or a full batch. Record sends nothing otherwise: a
	// row is an append under a lock, not a hand-off that wakes the writer
	// goroutine (and, on an idle machine, a thread) for every request.
	wake chan struct{}

	flushes chan chan error
	stop    chan struct{}
	done    chan struct{}

	dropped, written, batches atomic.Int64

	// failing is the error of the last attempt to write, while the
	// database cannot be reached (nil once a write succeeds again), and
	// since when; guarded by mu.
	failing      error
	failingSince time.Time

	closeOnce sync.Once
	closeErr  error // the writer's last commit, then db.Close; read after done
}

const (
	insertColumns = `INSERT INTO requests (
	time_ms, request_id, model, path, status, stream,
	input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
	cost_nano, cost_known, cache_hit, saved_nano, prompt_cache_saved_nano,
	latency_us, ttfb_us, error_type, user_agent, session_id,
	user_name, credential, replica, message_id, imported
) VALUES `
	rowParams = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	rowArgs   = 26

	// rowsPerInsert rows go in one INSERT statement: far fewer statement
	// executions (and driver round trips) than one per row, and well under
	// SQLite's limit on bound parameters.
	rowsPerInsert = 50

	defaultPruneEvery = time.Hour
)

// insertSQL inserts n rows.
func insertSQL(n int) string {
	return insertColumns + strings.TrimSuffix(strings.Repeat(rowParams+", ", n), ", ")
}

// Open opens (creating it if needed) the analytics database at o.Path,
// brings its schema up to date, deletes rows older than o.Retention and
// starts the writer. A database written by a newer cco is refused with
// ErrSchemaTooNew. ctx bounds the opening only; Close stops the writer.
func Open(ctx context.Context, o Options) (*Store, error) {
	eng, path, source := sqliteEngine, o.Path, ""
	switch {
	case o.URL != "":
		path = o.Name
		if path == "" {
			path = "the PostgreSQL database"
		}
		if !isPostgresURL(o.URL) {
			return nil, fmt.Errorf("open analytics db %s: not a postgres:// URL", path)
		}
		eng, source = postgresEngine, o.URL
	case o.Path == "":
		return nil, errors.New("open analytics db: no path")
	default:
		var err error
		if path, err = filepath.Abs(o.Path); err != nil {
			return nil, fmt.Errorf("open analytics db %s: %w", o.Path, err)
		}
		if strings.ContainsRune(path, '?') {
			// Both drivers read options after the first '?' of the DSN.
			return nil, fmt.Errorf("open analytics db %s: the path must not contain '?'", path)
		}
		if err := createFile(path); err != nil {
			return nil, fmt.Errorf("open analytics db %s: %w", path, err)
		}
		source = dsn(path)
	}
	if o.Retention < 0 {
		return nil, fmt.Errorf("open analytics db %s: negative retention %v", path, o.Retention)
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.pruneEvery <= 0 {
		o.pruneEvery = defaultPruneEvery
	}
	if o.retryFirst <= 0 {
		o.retryFirst = 250 * time.Millisecond
	}
	if o.retryMax <= 0 {
		o.retryMax = 15 * time.Second
	}
	ms, err := loadMigrations(eng.migrations)
	if err != nil {
		return nil, fmt.Errorf("open analytics db %s: %w", path, err)
	}
	db, err := eng.open(source)
	if err != nil {
		return nil, fmt.Errorf("open analytics db %s: %w", path, err)
	}
	// One connection writes (the writer, or a migration); the others serve
	// stats queries, which WAL lets read alongside it.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	s := &Store{path: path, opts: o, eng: eng, db: db}
	if err := s.init(ctx, ms); err != nil {
		db.Close()
		return nil, fmt.Errorf("open analytics db %s: %w", path, err)
	}
	s.pending = make([]Record, 0, min(o.QueueSize, 4*o.BatchSize))
	s.wake = make(chan struct{}, 1)
	s.flushes = make(chan chan error)
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go s.run()
	return s, nil
}

// createFile makes path's folder (0700) and the empty database file (0600)
// when they do not exist, so SQLite never creates them with the umask's
// permissions; its -wal and -shm files copy the database file's mode.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

func (s *Store) init(ctx context.Context, ms []migration) error {
	if err := s.eng.setup(ctx, s.db); err != nil {
		return err
	}
	if err := migrate(ctx, s.eng, s.db, ms); err != nil {
		return err
	}
	if err := s.prune(ctx); err != nil {
		return err
	}
	var err error
	if s.insert, err = s.db.PrepareContext(ctx, s.eng.rebind(insertSQL(1))); err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	if s.insertMany, err = s.db.PrepareContext(ctx, s.eng.rebind(insertSQL(rowsPerInsert))); err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	return nil
}

// Record queues r for the writer. It never blocks: when the queue is full
// (or the store is closed) the row is dropped, counted in Dropped, and
// Record returns false.
func (s *Store) Record(r Record) bool {
	if r.Time.IsZero() {
		r.Time = s.opts.Now()
	}
	s.mu.Lock()
	ok := !s.closed && len(s.pending) < s.opts.QueueSize
	if ok {
		s.pending = append(s.pending, r)
	}
	n := len(s.pending)
	s.mu.Unlock()
	if !ok {
		s.dropped.Add(1)
		return false
	}
	if n == 1 || n == s.opts.BatchSize {
		select {
		case s.wake <- struct{}{}:
		default: // the writer has a wake-up coming already
		}
	}
	return true
}

// take moves up to max queued rows, oldest first, into batch.
func (s *Store) take(batch []Record, max int) (_ []Record, left int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(s.pending), max)
	batch = append(batch, s.pending[:n]...)
	rest := copy(s.pending, s.pending[n:])
	clear(s.pending[rest:]) // drop the strings for the collector
	s.pending = s.pending[:rest]
	return batch, rest
}

// requeue puts rows back at the front of the queue, oldest first, after a
// write that may succeed later. They may take the queue one batch over
// QueueSize: what was accepted is kept; Record refuses new rows meanwhile.
func (s *Store) requeue(rows []Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(rows, s.pending...)
}

// WriteError reports why rows are waiting: the error of the last attempt
// to write them while the database cannot be reached, and since when; nil
// when the last write succeeded. Rows wait in the queue meanwhile (see
// Queued) and are written when it comes back.
func (s *Store) WriteError() (error, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failing, s.failingSince
}

func (s *Store) setFailing(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && s.failing == nil {
		s.failingSince = s.opts.Now()
	}
	s.failing = err
}

// Dropped reports the rows that were lost: refused by a full queue or a
// closed store, or in a batch whose commit failed (reported to OnError).
func (s *Store) Dropped() int64 { return s.dropped.Load() }

// Queued is the number of rows waiting for the writer.
func (s *Store) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Written reports the rows committed so far.
func (s *Store) Written() int64 { return s.written.Load() }

// Flush returns once every row queued before the call is committed, with the
// error of a failed commit among them. It returns ErrClosed once Close has
// started (Close writes the queue itself).
func (s *Store) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.flushes <- reply:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("flush analytics db %s: %w", s.path, ctx.Err())
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("flush analytics db %s: %w", s.path, ctx.Err())
	}
}

// Close writes what is queued, stops the writer and closes the database.
// Later calls do nothing and return nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		<-s.done // the writer's last commit set closeErr
		s.insert.Close()
		s.insertMany.Close()
		if cerr := s.db.Close(); cerr != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("close analytics db %s: %w", s.path, cerr)
		}
		err = s.closeErr
	})
	return err
}

// run is the writer goroutine. It commits a batch when BatchSize rows are
// queued, when FlushInterval has passed since the first of the queued rows
// arrived, on Flush, and at Close; it also runs retention.
func (s *Store) run() {
	defer close(s.done)
	ctx := context.Background()
	batch := make([]Record, 0, s.opts.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false
	var prune <-chan time.Time
	if s.opts.Retention > 0 {
		t := time.NewTicker(s.opts.pruneEvery)
		defer t.Stop()
		prune = t.C
	}
	// While the database cannot be reached, rows stay queued and the
	// writer tries again after retry (doubling up to retryMax), not before.
	var retry time.Duration
	var retryAt time.Time
	// commit writes up to a batch of queued rows, every queued row when
	// all is set, and reports the first error. With Go 1.23 timers, Stop
	// leaves no stale tick behind.
	commit := func(all bool) error {
		if retry > 0 && time.Now().Before(retryAt) {
			err, _ := s.WriteError()
			return err
		}
		var first error
		for {
			var left int
			batch, left = s.take(batch[:0], s.opts.BatchSize)
			if len(batch) > 0 {
				err := s.writeBatch(ctx, batch)
				switch {
				case err == nil:
					if retry > 0 {
						retry = 0
						s.setFailing(nil)
					}
				case s.eng.unreachable(err):
					s.requeue(slices.Clone(batch))
					clear(batch)
					if retry == 0 {
						s.report(fmt.Errorf("%w; %d rows wait in the queue and are written when it is back", err, s.Queued()))
					}
					s.setFailing(err)
					retry = min(max(2*retry, s.opts.retryFirst), s.opts.retryMax)
					retryAt = time.Now().Add(retry)
					timer.Reset(retry)
					armed = true
					return err
				default:
					s.dropped.Add(int64(len(batch)))
					s.report(err)
					if first == nil {
						first = err
					}
				}
				clear(batch)
			}
			if left == 0 {
				timer.Stop()
				armed = false
				return first
			}
			if !all && left < s.opts.BatchSize {
				return first
			}
		}
	}
	for {
		select {
		case <-s.wake:
			if s.Queued() >= s.opts.BatchSize {
				commit(false) //nolint:errcheck // reported by commit
			}
			if !armed && s.Queued() > 0 {
				timer.Reset(s.opts.FlushInterval)
				armed = true
			}
		case <-timer.C:
			armed = false
			commit(true) //nolint:errcheck // reported by commit
		case reply := <-s.flushes:
			// Every row recorded before Flush was called is queued.
			reply <- commit(true)
		case <-prune:
			if err := s.prune(ctx); err != nil {
				s.report(err)
			}
		case <-s.stop:
			// Record no longer queues: what is queued is all there is. One
			// last attempt, even while waiting to retry; what it cannot
			// write is lost, and counted.
			retry = 0
			if err := commit(true); err != nil && s.closeErr == nil {
				s.closeErr = err
			}
			if n := s.Queued(); n > 0 {
				s.dropped.Add(int64(n))
			}
			return
		}
	}
}

func (s *Store) report(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}

// writeBatch commits rows in one transaction.
func (s *Store) writeBatch(ctx context.Context, rows []Record) error {
	if err := s.insertRows(ctx, rows); err != nil {
		return fmt.Errorf("write %d rows to analytics db %s: %w", len(rows), s.path, err)
	}
	s.written.Add(int64(len(rows)))
	s.batches.Add(1)
	return nil
}

func (s *Store) insertRows(ctx context.Context, rows []Record) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := s.insertTx(ctx, tx, rows); err != nil {
		return err
	}
	return tx.Commit()
}

// insertTx inserts rows and adds them to the rollups, in tx.
func (s *Store) insertTx(ctx context.Context, tx *sql.Tx, rows []Record) error {
	all := rows
	many, one := tx.StmtContext(ctx, s.insertMany), tx.StmtContext(ctx, s.insert)
	args := make([]any, 0, rowsPerInsert*rowArgs)
	for len(rows) > 0 {
		n, stmt := rowsPerInsert, many
		if len(rows) < rowsPerInsert {
			n, stmt = 1, one
		}
		args = args[:0]
		for i := range n {
			r := &rows[i]
			args = append(args,
				r.Time.UnixMilli(), text(r.RequestID), text(r.Model), text(r.Path), int64(r.Status), boolInt(r.Stream),
				r.Input, r.Output, r.CacheWrite5m, r.CacheWrite1h, r.CacheRead,
				r.CostNano, boolInt(r.CostKnown), boolInt(r.CacheHit), r.SavedNano, r.PromptCacheSavedNano,
				r.Latency.Microseconds(), r.TTFB.Microseconds(), text(r.ErrorType), text(r.UserAgent), text(r.SessionID),
				text(r.User), text(r.Credential), text(r.Replica), text(r.MessageID), boolInt(r.Imported))
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return s.addRollups(ctx, tx, all)
}

// prune deletes the rows older than the retention period; the rollups stay.
func (s *Store) prune(ctx context.Context) error {
	if s.opts.Retention <= 0 {
		return nil
	}
	cutoff := s.opts.Now().Add(-s.opts.Retention).UnixMilli()
	if _, err := s.db.ExecContext(ctx, s.eng.rebind("DELETE FROM requests WHERE time_ms < ?"), cutoff); err != nil {
		return fmt.Errorf("delete analytics rows older than %v from %s: %w", s.opts.Retention, s.path, err)
	}
	return nil
}

// text is s as every engine stores it alike: PostgreSQL's text takes
// neither invalid UTF-8 nor NUL, and one such row must not cost its batch.
func text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

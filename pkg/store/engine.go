package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers "pgx" for database/sql
)

// An engine is what differs between the databases the store runs on. The
// store's SQL is written once, with ? placeholders and portable functions;
// an engine says how to open the database, where its migrations are, how
// it records the schema version and how it keeps two processes from
// migrating at once.
type engine struct {
	name   string // for messages
	driver string // database/sql's name
	// open opens the database at source (a DSN or URL).
	open       func(source string) (*sql.DB, error)
	migrations fs.FS // migrations/NNNN_*.sql

	// unreachable says a failed write may succeed later (the database
	// cannot be reached, or is restarting): the writer keeps the rows and
	// tries again. Any other failure drops the batch.
	unreachable func(error) bool
	// rebind writes the store's ? placeholders as the engine takes them.
	rebind func(string) string
	// setup checks the connection once it is open.
	setup func(ctx context.Context, db *sql.DB) error
	// version reads the schema version (0 for an empty database); lock,
	// taken on a migration's connection before its transaction, makes
	// other processes' migrations wait until unlock; setVersion records v
	// in the transaction.
	version    func(ctx context.Context, q querier) (int, error)
	lock       func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
	setVersion func(ctx context.Context, tx *sql.Tx, v int) error
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// sqliteEngine keeps the schema version in PRAGMA user_version; its
// transactions begin IMMEDIATE (see dsn), which already serialises them.
var sqliteEngine = &engine{
	name:       "SQLite",
	driver:     driverName,
	open:       func(source string) (*sql.DB, error) { return sql.Open(driverName, source) },
	migrations: migrationFiles,
	rebind:     func(q string) string { return q },
	// A file that cannot be written now (disk full, a lock held too long)
	// is not waited for: rows are dropped and counted, as before there
	// were other engines.
	unreachable: func(error) bool { return false },
	setup: func(ctx context.Context, db *sql.DB) error {
		var mode string
		// The first connection switches the file to WAL, which takes an
		// exclusive lock: two processes opening a new file at once can
		// find it busy whatever busy_timeout says. Try again for a while.
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; {
			err = db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
			if err == nil || !strings.Contains(err.Error(), "database is locked") || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("read journal mode: %w", err)
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("journal mode is %q, want wal", mode)
		}
		return nil
	},
	version: func(ctx context.Context, q querier) (int, error) {
		var v int
		if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return 0, fmt.Errorf("read schema version: %w", err)
		}
		return v, nil
	},
	lock: func(context.Context, *sql.Conn) (func(), error) { return func() {}, nil },
	setVersion: func(ctx context.Context, tx *sql.Tx, v int) error {
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v))
		return err
	},
}

//go:embed postgres/migrations/*.sql
var postgresFiles embed.FS

// migrationsLock is the key of the advisory lock PostgreSQL migrations
// hold, one per database ("cco" in ASCII).
const migrationsLock = 0x63636f

// postgresEngine keeps the schema version in a table of its own,
// cco_schema, and serialises migrations with an advisory lock, so that
// replicas starting at once apply each migration once. The lock is taken
// before the migration's transaction begins: a transaction that began
// before the previous holder committed would not see its tables.
var postgresEngine = &engine{
	name:       "PostgreSQL",
	driver:     "pgx",
	open:       openPostgres,
	migrations: mustSub(postgresFiles, "postgres"),
	rebind:     dollarPlaceholders,
	unreachable: func(err error) bool {
		var pg *pgconn.PgError
		if !errors.As(err, &pg) {
			return true // no answer from the server: the connection failed
		}
		// The server answered: retry only what it says will pass later
		// (connection exceptions, shutting down or starting, too many
		// connections, serialization failures and deadlocks).
		switch {
		case strings.HasPrefix(pg.Code, "08"), pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03",
			pg.Code == "53300", pg.Code == "40001", pg.Code == "40P01":
			return true
		}
		return false
	},
	setup: func(ctx context.Context, db *sql.DB) error { return db.PingContext(ctx) },
	version: func(ctx context.Context, q querier) (int, error) {
		var exists bool
		if err := q.QueryRowContext(ctx, "SELECT to_regclass('cco_schema') IS NOT NULL").Scan(&exists); err != nil {
			return 0, fmt.Errorf("read schema version: %w", err)
		}
		if !exists {
			return 0, nil
		}
		var v int
		if err := q.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM cco_schema").Scan(&v); err != nil {
			return 0, fmt.Errorf("read schema version: %w", err)
		}
		return v, nil
	},
	lock: func(ctx context.Context, conn *sql.Conn) (func(), error) {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationsLock)); err != nil {
			return nil, err
		}
		return func() {
			// A lock that cannot be released goes with the connection.
			if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrationsLock)); err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // marks the connection for closing
			}
		}, nil
	},
	setVersion: func(ctx context.Context, tx *sql.Tx, v int) error {
		for _, q := range []string{"CREATE TABLE IF NOT EXISTS cco_schema (version BIGINT NOT NULL)", "DELETE FROM cco_schema"} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO cco_schema (version) VALUES ($1)", v)
		return err
	},
}

// openPostgres opens the database at url with two settings of the
// store's own sessions: no parallel workers and no JIT compilation. The
// store's queries read rollups, thousands of rows: starting workers or
// compiling a plan costs more than it saves (parallel workers took a
// 7 ms query to 40 ms in BenchmarkStatsMillion).
func openPostgres(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	cfg.RuntimeParams["jit"] = "off"
	return stdlib.OpenDB(*cfg), nil
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// dollarPlaceholders numbers the ? placeholders of q as $1, $2, ...
// (the store's SQL has no ? inside a string).
func dollarPlaceholders(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for _, c := range []byte(q) {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isPostgresURL reports whether u names a PostgreSQL database
// (postgres:// or postgresql://); config decides the same way.
func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew is returned (wrapped) by Open for a database whose schema
// version is newer than this binary knows: a newer cco wrote it, and an older
// one must not guess at its meaning.
var ErrSchemaTooNew = errors.New("analytics db schema is newer than this cco")

// A migration is one embedded file: migrations/NNNN_name.sql takes the schema
// from version NNNN-1 to NNNN.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations in fsys's migrations folder, in
// version order, and checks that they number 1, 2, 3, ... without gaps.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []migration
	for _, name := range names { // fs.Glob returns names sorted
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || len(num) != 4 || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", name)
		}
		if want := len(ms) + 1; v != want {
			return nil, fmt.Errorf("migration %s: want version %d, the versions must count up from 1", name, want)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations")
	}
	return ms, nil
}

// migrate brings db up to the last of ms, each migration in its own
// transaction together with its user_version bump, so a failed migration
// leaves the schema as the previous one left it. A database newer than ms
// is refused before anything is touched.
func migrate(ctx context.Context, eng *engine, db *sql.DB, ms []migration) error {
	v, err := eng.version(ctx, db)
	if err != nil {
		return err
	}
	if latest := ms[len(ms)-1].version; v > latest {
		return fmt.Errorf("%w: it is at version %d, this cco knows up to %d; upgrade cco", ErrSchemaTooNew, v, latest)
	}
	for _, m := range ms {
		if m.version <= v {
			continue
		}
		if err := applyMigration(ctx, eng, db, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, eng *engine, db *sql.DB, m migration) error {
	// The version is read under the engine's lock (SQLite: BeginTx is
	// BEGIN IMMEDIATE, see dsn; PostgreSQL: an advisory lock taken before
	// the transaction begins, so that the transaction sees the schema the
	// lock's previous holder committed), so two processes opening the same
	// database apply each migration once.
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer conn.Close()
	unlock, err := eng.lock(ctx, conn)
	if err != nil {
		return fmt.Errorf("migration %s: lock: %w", m.name, err)
	}
	defer unlock()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	v, err := eng.version(ctx, tx)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	switch {
	case v >= m.version:
		return nil // another process got there first
	case v != m.version-1:
		return fmt.Errorf("migration %s: schema is at version %d, want %d", m.name, v, m.version-1)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if err := eng.setVersion(ctx, tx, m.version); err != nil {
		return fmt.Errorf("migration %s: set schema version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return nil
}

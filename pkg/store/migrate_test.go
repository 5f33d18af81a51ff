package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestMigrateFromEmpty(t *testing.T) {
	s := openStore(t, testOptions(t))
	if got := queryInt(t, s.db, "PRAGMA user_version"); got != 4 {
		t.Errorf("user_version = %d, want 4", got)
	}
	rows, err := s.db.Query("SELECT name FROM pragma_table_info('requests') ORDER BY cid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	want := []string{"id", "time_ms", "request_id", "model", "path", "status", "stream",
		"input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens",
		"cost_nano", "cost_known", "cache_hit", "saved_nano", "latency_us", "ttfb_us", "error_type",
		"prompt_cache_saved_nano", "user_agent", "session_id", "replica", "credential", "user_name",
		"message_id", "imported"}
	if !slices.Equal(cols, want) {
		t.Errorf("columns\n got %v\nwant %v", cols, want)
	}
	if queryInt(t, s.db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'rollups'") != 1 {
		t.Error("table rollups missing")
	}
	for _, idx := range []string{"requests_time", "requests_model_time"} {
		if queryInt(t, s.db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?", idx) != 1 {
			t.Errorf("index %s missing", idx)
		}
	}
}

// TestMigrateFromV1 builds a database as the first release left it: schema
// 0001 only, rows written with its columns.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "analytics.db")
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := createFile(path); err != nil {
		t.Fatal(err)
	}
	old := rawDB(t, path)
	if err := migrate(ctx, sqliteEngine, old, ms[:1]); err != nil {
		t.Fatal(err)
	}
	_, err = old.Exec(`INSERT INTO requests (time_ms, request_id, model, path, status, input_tokens, output_tokens, cost_nano, cost_known)
		VALUES (?, 'req_old', 'claude-3-opus', '/v1/messages', 200, 100, 50, 12345, 1), (?, 'req_old2', 'x', '/v1/messages', 500, 0, 0, 0, 0)`,
		t0.UnixMilli(), t0.UnixMilli()+1)
	if err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, old, "PRAGMA user_version"); got != 1 {
		t.Fatalf("user_version = %d, want 1", got)
	}
	old.Close()

	s := openStore(t, Options{Path: path})
	if got := queryInt(t, s.db, "PRAGMA user_version"); got != int64(len(ms)) {
		t.Errorf("user_version = %d, want %d", got, len(ms))
	}
	var (
		n             int64
		saved         int64
		ua, sessionID string
	)
	err = s.db.QueryRow(`SELECT count(*), sum(prompt_cache_saved_nano), max(user_agent), max(session_id) FROM requests`).
		Scan(&n, &saved, &ua, &sessionID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || saved != 0 || ua != "" || sessionID != "" {
		t.Errorf("old rows: n=%d saved=%d ua=%q session=%q; want 2 rows, new columns defaulted", n, saved, ua, sessionID)
	}
	st, err := s.Stats(ctx, t0, t0.AddDate(0, 0, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Totals{Requests: 2, Errors: 1, UnknownCost: 1, Input: 100, Output: 50, CostNano: 12345}
	if st.Totals != want {
		t.Errorf("totals of the old rows = %+v, want %+v", st.Totals, want)
	}
	// New rows go in next to the old ones.
	s.Record(Record{Time: t0, Model: "m", SessionID: "s"})
	flush(t, s)
	if got := rowCount(t, s); got != 3 {
		t.Errorf("rows = %d, want 3", got)
	}
}

func TestMigrateRefusesNewer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "analytics.db")
	if err := createFile(path); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), Options{Path: path})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer cco")
	}
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("error = %v; want ErrSchemaTooNew naming the file and the version", err)
	}
	if got := queryInt(t, db, "PRAGMA user_version"); got != 99 {
		t.Errorf("user_version = %d after the refusal, want 99", got)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM sqlite_master"); got != 0 {
		t.Errorf("the refused database gained %d schema objects", got)
	}
}

// TestMigrationRollsBack: a migration that fails halfway leaves nothing of
// itself behind, and the version where it was.
func TestMigrationRollsBack(t *testing.T) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	bad := append(ms[:1:1], migration{version: 2, name: "0002_bad.sql", sql: "CREATE TABLE partial (x);\nCREATE TABLE broken (;"})
	path := filepath.Join(t.TempDir(), "analytics.db")
	db := rawDB(t, path)
	err = migrate(context.Background(), sqliteEngine, db, bad)
	if err == nil || !strings.Contains(err.Error(), "0002_bad.sql") {
		t.Fatalf("migrate = %v, want an error naming 0002_bad.sql", err)
	}
	if got := queryInt(t, db, "PRAGMA user_version"); got != 1 {
		t.Errorf("user_version = %d, want 1", got)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM sqlite_master WHERE name = 'partial'"); got != 0 {
		t.Error("the failed migration's first statement survived")
	}
	// The real 0002 still applies afterwards.
	if err := migrate(context.Background(), sqliteEngine, db, ms); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, db, "PRAGMA user_version"); got != int64(len(ms)) {
		t.Errorf("user_version = %d, want %d", got, len(ms))
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, tc := range []struct {
		name     string
		fs       fstest.MapFS
		versions []int
		err      string
	}{
		{"embedded", nil, []int{1, 2, 3, 4}, ""},
		{"ordered", fstest.MapFS{"migrations/0002_b.sql": file("b"), "migrations/0001_a.sql": file("a"), "migrations/README": file("")}, []int{1, 2}, ""},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": file("a"), "migrations/0003_c.sql": file("c")}, nil, "want version 2"},
		{"not from 1", fstest.MapFS{"migrations/0002_b.sql": file("b")}, nil, "want version 1"},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": file("a"), "migrations/0001_b.sql": file("b")}, nil, "want version 2"},
		{"bad name", fstest.MapFS{"migrations/1_a.sql": file("a")}, nil, "NNNN_what.sql"},
		{"no underscore", fstest.MapFS{"migrations/0001.sql": file("a")}, nil, "NNNN_what.sql"},
		{"none", fstest.MapFS{}, nil, "no migrations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ms []migration
			var err error
			if tc.fs == nil {
				ms, err = loadMigrations(migrationFiles)
			} else {
				ms, err = loadMigrations(tc.fs)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var vs []int
			for _, m := range ms {
				vs = append(vs, m.version)
				if m.sql == "" {
					t.Errorf("%s is empty", m.name)
				}
			}
			if !slices.Equal(vs, tc.versions) {
				t.Errorf("versions %v, want %v", vs, tc.versions)
			}
		})
	}
}

// Two processes starting on a new file at once (cco run twice, as the
// instances script does) both open it: the switch to WAL may find the
// file busy, and Open waits for it.
func TestOpenNewFileConcurrently(t *testing.T) {
	for i := range 20 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("a%d.db", i))
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				s, err := Open(context.Background(), Options{Path: path})
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
	}
}

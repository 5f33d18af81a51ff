package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/realdb"
)

// The contract tests run on every engine: the same rows must give the same
// answers, to the nano-dollar, on SQLite and on PostgreSQL.

// testEngine opens stores of one engine for a test.
type testEngine struct {
	name    string
	options func(t *testing.T) Options // a new, empty database
}

var engines = []testEngine{
	{"sqlite", testOptions},
	{"postgres", postgresOptions},
}

// eachEngine runs test once per engine, as subtests named after them.
func eachEngine(t *testing.T, test func(t *testing.T, e testEngine)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { test(t, e) })
	}
}

// sharedPG is the package's PostgreSQL server, started by the first test
// that wants it and removed by TestMain.
var sharedPG struct {
	once sync.Once
	p    *realdb.Postgres
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range benchCleanup {
		f()
	}
	if sharedPG.p != nil {
		sharedPG.p.Remove()
	}
	os.Exit(code)
}

// postgresOptions is testOptions for a database of the test's own on the
// shared server.
func postgresOptions(t *testing.T) Options {
	t.Helper()
	realdb.RequirePostgres(t)
	sharedPG.once.Do(func() { sharedPG.p, sharedPG.err = realdb.NewPostgres() })
	if sharedPG.err != nil {
		t.Fatal(sharedPG.err)
	}
	return Options{
		URL:     sharedPG.p.NewDatabase(t),
		OnError: func(err error) { t.Errorf("background write: %v", err) },
	}
}

func TestDollarPlaceholders(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":        "SELECT 1",
		"a = ? AND b < ?": "a = $1 AND b < $2",
	} {
		if got := dollarPlaceholders(in); got != want {
			t.Errorf("dollarPlaceholders(%q) = %q, want %q", in, got, want)
		}
	}
	if got := dollarPlaceholders(insertSQL(2)); !strings.HasSuffix(got, "$51, $52)") || strings.Contains(got, "?") {
		t.Errorf("two rows' insert numbered as %q", got)
	}
}

// A PostgreSQL store that cannot be reached, or a URL of another kind,
// fails Open naming the database as the caller does, never by its URL.
func TestOpenPostgresRefuses(t *testing.T) {
	for _, u := range []string{"postgres://cco:s3cret@127.0.0.1:1/cco?connect_timeout=2", "mysql://cco:s3cret@db/cco"} {
		for _, name := range []string{"", "postgres://cco:xxxxx@db/cco"} {
			_, err := Open(context.Background(), Options{URL: u, Name: name})
			if err == nil {
				t.Fatalf("Open(%s) succeeded", u)
			}
			want := name
			if want == "" {
				want = "the PostgreSQL database"
			}
			if msg := fmt.Sprint(err); !strings.Contains(msg, want) || strings.Contains(msg, "s3cret") {
				t.Errorf("Open(%s) with Name %q: %v; want it named %q, no password", u, name, err, want)
			}
		}
	}
}

// PostgreSQL's migrations: from an empty database, from the previous
// schema with rows kept, several replicas opening one database at once
// (each migration applied once, under the advisory lock), and a database
// from a newer cco refused.
func TestPostgresMigrations(t *testing.T) {
	ctx := context.Background()
	pgMigrations, err := loadMigrations(postgresEngine.migrations)
	if err != nil {
		t.Fatal(err)
	}
	sqliteMigrations, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(pgMigrations) != len(sqliteMigrations) {
		t.Fatalf("%d PostgreSQL migrations for %d SQLite ones: the versions must mean the same schema", len(pgMigrations), len(sqliteMigrations))
	}
	latest := int64(len(pgMigrations))

	t.Run("from empty", func(t *testing.T) {
		o := postgresOptions(t)
		openStore(t, o)
		db := rawDBFor(t, o)
		if v := queryInt(t, db, "SELECT max(version) FROM cco_schema"); v != latest {
			t.Errorf("schema version %d, want %d", v, latest)
		}
		if n := queryInt(t, db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'requests' AND column_name = 'session_id'"); n != 1 {
			t.Error("requests has no session_id column")
		}
	})
	t.Run("from the previous schema", func(t *testing.T) {
		o := postgresOptions(t)
		db := rawDBFor(t, o)
		// Schema 2, before the rollups: its rows are summed into them.
		if err := migrate(ctx, postgresEngine, db, pgMigrations[:2]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("INSERT INTO requests (time_ms, model, cost_nano) VALUES (1, 'old', 42)"); err != nil {
			t.Fatal(err)
		}
		s := openStore(t, o)
		if v := queryInt(t, db, "SELECT max(version) FROM cco_schema"); v != latest {
			t.Errorf("schema version %d, want %d", v, latest)
		}
		st, err := s.Stats(ctx, time.Time{}, time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Totals.Requests != 1 || st.Totals.CostNano != 42 {
			t.Errorf("after migrating, the old row sums to %+v", st.Totals)
		}
	})
	t.Run("replicas at once", func(t *testing.T) {
		o := postgresOptions(t)
		const replicas = 6
		errs := make(chan error, replicas)
		var start sync.WaitGroup
		start.Add(1)
		for range replicas {
			go func() {
				start.Wait()
				s, err := Open(ctx, o)
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		start.Done()
		for range replicas {
			if err := <-errs; err != nil {
				t.Errorf("a replica's Open: %v", err)
			}
		}
		db := rawDBFor(t, o)
		if n := queryInt(t, db, "SELECT count(*) FROM cco_schema"); n != 1 {
			t.Errorf("cco_schema has %d rows, want 1", n)
		}
		if v := queryInt(t, db, "SELECT max(version) FROM cco_schema"); v != latest {
			t.Errorf("schema version %d, want %d", v, latest)
		}
	})
	t.Run("newer", func(t *testing.T) {
		o := postgresOptions(t)
		openStore(t, o).Close()
		if _, err := rawDBFor(t, o).Exec("UPDATE cco_schema SET version = 99"); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, o); !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("Open of a newer database: %v, want ErrSchemaTooNew", err)
		}
	})
}

// PostgreSQL going away, stopped or killed, is survived: Record never
// waits for it, rows queue up to QueueSize (the rest dropped and counted),
// WriteError says what is wrong meanwhile, and every queued row is written
// once it is back. A row the server would refuse (invalid UTF-8, NUL)
// costs nothing.
func TestPostgresOutage(t *testing.T) {
	for _, halt := range []string{"stop", "kill"} {
		t.Run(halt, func(t *testing.T) {
			pg := realdb.StartPostgres(t)
			o := Options{URL: pg.URL(""), FlushInterval: 20 * time.Millisecond, QueueSize: 300, BatchSize: 50,
				retryFirst: 20 * time.Millisecond, retryMax: 200 * time.Millisecond}
			var reported atomic.Int64
			o.OnError = func(error) { reported.Add(1) }
			s := openStore(t, o)
			for i := range 100 {
				s.Record(row(i))
			}
			flush(t, s)

			if halt == "stop" {
				pg.Stop()
			} else {
				pg.Kill()
			}
			r := row(100)
			r.UserAgent, r.SessionID = "bad \xff byte", "nul\x00here"
			s.Record(r)
			waitFor(t, "the writer to see the database gone", func() bool { err, _ := s.WriteError(); return err != nil })
			start := time.Now()
			accepted := 1
			for i := 101; i < 600; i++ {
				if s.Record(row(i)) {
					accepted++
				}
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("499 Records took %v with the database down", d)
			}
			if accepted < 300-50 || accepted > 300 {
				t.Errorf("%d rows accepted while down, want the queue's 300 less what the writer held", accepted)
			}
			if err, since := s.WriteError(); err == nil || since.IsZero() {
				t.Errorf("WriteError = %v, %v while the database is down", err, since)
			}
			if err := flush2(s); err == nil {
				t.Error("Flush succeeded with the database down")
			}

			if err := pg.Start(); err != nil {
				t.Fatal(err)
			}
			want := int64(100 + accepted)
			waitFor(t, "the queued rows to be written", func() bool { return s.Written() == want })
			if err, _ := s.WriteError(); err != nil {
				t.Errorf("WriteError = %v after the database came back", err)
			}
			if got := queryInt(t, rawDBFor(t, o), "SELECT count(*) FROM requests"); got != want {
				t.Errorf("%d rows in the database, want %d", got, want)
			}
			if got := s.Dropped(); got != int64(600-100-accepted) {
				t.Errorf("Dropped = %d, want the %d the full queue refused", got, 600-100-accepted)
			}
			if reported.Load() < 1 {
				t.Error("the outage was never reported")
			}
		})
	}
}

// flush2 is Flush with a short deadline, for a database that is down.
func flush2(s *Store) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Flush(ctx)
}

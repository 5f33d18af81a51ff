package realdb

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func query(t *testing.T, url, sql string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, sql).Scan(&s)
	return s, err
}

// A server of the test's own listens on loopback only, keeps what was
// committed across a stop and a crash, and refuses connections while down.
func TestPostgres(t *testing.T) {
	p := StartPostgres(t)
	if err := p.Exec("", "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	if got, err := query(t, p.URL(""), "SHOW listen_addresses"); err != nil || got != "127.0.0.1" {
		t.Errorf("listen_addresses = %q, %v; want 127.0.0.1", got, err)
	}
	for _, halt := range []struct {
		name string
		do   func()
	}{{"stop", p.Stop}, {"kill", p.Kill}} {
		halt.do()
		if _, err := query(t, p.URL(""), "SELECT 'up'"); err == nil {
			t.Fatalf("after %s the server still answers", halt.name)
		}
		if err := p.Start(); err != nil {
			t.Fatalf("start after %s: %v", halt.name, err)
		}
		if got, err := query(t, p.URL(""), "SELECT v FROM t"); err != nil || got != "kept" {
			t.Fatalf("after %s and a start: %q, %v; want the committed row", halt.name, got, err)
		}
	}
}

// Each call gives a database of its own.
func TestNewDatabase(t *testing.T) {
	p := StartPostgres(t)
	a, b := p.NewDatabase(t), p.NewDatabase(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	got, err := query(t, a, "SELECT current_database()")
	if err != nil || got == "" {
		t.Fatalf("current_database: %q, %v", got, err)
	}
}

func TestRedis(t *testing.T) {
	r := StartRedis(t)
	if err := r.ping(); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if conn, err := net.DialTimeout("tcp", r.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatal("redis still listens after Stop")
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if err := r.ping(); err != nil {
		t.Fatal(err)
	}
}

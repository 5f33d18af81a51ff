// Package realdb starts real database servers for tests: PostgreSQL (from
// Debian's postgresql package: initdb and postgres) and Redis (redis-server),
// each in a temporary folder, listening on a free port of 127.0.0.1 only, and
// stopped when the test ends or, should the test binary die first, with it
// (a parent-death signal). A test that wants several databases makes them
// on one server (NewDatabase): a server takes about a second to start.
//
// Without the programs a test fails on Linux when the environment variable
// CI is set (.ci/run installs them) and is skipped otherwise (and always on
// other systems), with a message naming
// the missing package. PostgreSQL refuses to run as root: as root, the server
// runs as the unprivileged user "ccotest", made on first use.
//
// It imports pgx (to create databases and to wait for the server) and the
// standard library; no cco package.
package realdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// need fails or skips t (see the package doc) unless ok.
func need(t testing.TB, ok bool, what string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		// CI's macOS and Windows jobs run everything else; .ci/run, on
		// Debian, runs these.
		t.Skip("the real PostgreSQL and Redis are Debian's packages: Linux only")
	}
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(what)
	}
	t.Skip(what + "; skipped because CI is unset")
}

// freePort returns a port of 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// server is a running server process and the channel closed when it exits.
type server struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startServer(cmd *exec.Cmd) (*server, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait() //nolint:errcheck // the exit is what matters, not its status
		close(s.done)
	}()
	return s, nil
}

// stop sends sig and waits up to 30 s for the exit, then kills.
func (s *server) stop(sig os.Signal) {
	s.cmd.Process.Signal(sig) //nolint:errcheck // it may have exited already
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck // as above
		<-s.done
	}
}

// waitReady calls ready until it succeeds, the server exits, or a minute
// passes; log is where the server writes, shown on failure.
func (s *server) waitReady(what, log string, ready func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			out, _ := os.ReadFile(log)
			return fmt.Errorf("%s exited at start: %v\n%s", what, err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(os.Kill)
			out, _ := os.ReadFile(log)
			return fmt.Errorf("%s did not take connections in a minute: %v\n%s", what, err, out)
		}
	}
}

// pgBin is the folder with initdb and postgres: on PATH, or Debian's
// /usr/lib/postgresql/VERSION/bin (newest first); "" when neither has them.
func pgBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d
		}
	}
	return ""
}

// Postgres is a PostgreSQL server of the test's own.
type Postgres struct {
	bin  string
	dir  string // the socket's folder, with the data in dir/data
	log  string
	port int
	cred *credential // nil: the test's own user

	dbs atomic.Int64 // databases made by NewDatabase

	mu  sync.Mutex
	srv *server // nil while stopped
}

// RequirePostgres fails or skips t (see the package doc) unless
// PostgreSQL's programs are installed.
func RequirePostgres(t testing.TB) {
	t.Helper()
	need(t, pgBin() != "", "cannot start PostgreSQL: no initdb and postgres (Debian package postgresql)")
}

// StartPostgres starts a server for t alone (one a test may stop, kill and
// start again), with a database "cco" that the user "cco" owns, reached
// without a password over 127.0.0.1. It is removed when t ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	RequirePostgres(t)
	p, err := NewPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Remove)
	return p
}

// NewPostgres is StartPostgres for a server that outlives a test (a
// TestMain's, shared by a package's tests): the caller removes it.
func NewPostgres() (*Postgres, error) {
	if pgBin() == "" {
		return nil, errors.New("no initdb and postgres (Debian package postgresql)")
	}
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	return newPostgres(cred)
}

func newPostgres(cred *credential) (*Postgres, error) {
	// A short folder: the socket's path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{bin: pgBin(), dir: dir, log: filepath.Join(dir, "server.log"), cred: cred}
	if p.port, err = freePort(); err == nil && cred != nil {
		err = os.Chown(dir, int(cred.uid), int(cred.gid))
	}
	if err == nil {
		initdb := p.command("initdb", "--pgdata", filepath.Join(dir, "data"), "--username", "cco",
			"--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync")
		if out, ierr := initdb.CombinedOutput(); ierr != nil {
			err = fmt.Errorf("initdb: %v\n%s", ierr, out)
		}
	}
	if err == nil {
		err = p.Start()
	}
	if err == nil {
		err = p.Exec("postgres", "CREATE DATABASE cco")
	}
	if err != nil {
		p.Remove()
		return nil, err
	}
	return p, nil
}

// command is one of the server's programs, run as the server's user, and
// sent SIGQUIT (an immediate stop) should the test binary die.
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	cmd.SysProcAttr = procAttr(p.cred, quitSignal)
	return cmd
}

// URL is the address of database db (the server's "cco" when empty).
func (p *Postgres) URL(db string) string {
	if db == "" {
		db = "cco"
	}
	return fmt.Sprintf("postgres://cco@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// Exec runs sql in database db.
func (p *Postgres) Exec(db, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// Start starts the server (again, after Stop or Kill, on the same port)
// and waits until it takes connections.
func (p *Postgres) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		return errors.New("postgres: already running")
	}
	log, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := p.command("postgres", "-D", filepath.Join(p.dir, "data"), "-p", strconv.Itoa(p.port),
		"-k", p.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = log, log
	srv, err := startServer(cmd)
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	err = srv.waitReady("postgres", p.log, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
	if err != nil {
		return err
	}
	p.srv = srv
	return nil
}

// Stop shuts the server down as an administrator would (fast shutdown:
// sessions ended, everything committed kept).
func (p *Postgres) Stop() { p.halt(os.Interrupt) }

// Kill ends the server with SIGKILL, as a crash would.
func (p *Postgres) Kill() { p.halt(os.Kill) }

func (p *Postgres) halt(sig os.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		p.srv.stop(sig)
		p.srv = nil
	}
}

// PID is the server's main process (its backends are its children); 0
// while it is stopped.
func (p *Postgres) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil {
		return 0
	}
	return p.srv.cmd.Process.Pid
}

// Remove stops the server and deletes its folder.
func (p *Postgres) Remove() {
	p.Stop()
	os.RemoveAll(p.dir)
}

// NewDatabase returns the address of a new, empty database on the server,
// for a test that wants one of its own, and drops it when t ends.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("cco_test_%d", p.dbs.Add(1))
	if err := p.Exec("postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Exec("postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }) //nolint:errcheck // best effort; the server goes too
	return p.URL(name)
}

// Redis is a Redis server of the test's own, keeping nothing on disk.
type Redis struct {
	dir  string
	log  string
	port int

	mu  sync.Mutex
	srv *server
}

// StartRedis starts a server for t, stopped when t ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	_, err := exec.LookPath("redis-server")
	need(t, err == nil, "cannot start Redis: no redis-server (Debian package redis-server)")
	r, err := NewRedis()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Remove)
	return r
}

// NewRedis is StartRedis for a server that outlives a test (a benchmark
// tool's): the caller removes it.
func NewRedis() (*Redis, error) {
	dir, err := os.MkdirTemp("", "redis-")
	if err != nil {
		return nil, err
	}
	r := &Redis{dir: dir, log: filepath.Join(dir, "server.log")}
	if r.port, err = freePort(); err == nil {
		err = r.Start()
	}
	if err != nil {
		r.Remove()
		return nil, err
	}
	return r, nil
}

// PID is the server's process; 0 while it is stopped.
func (r *Redis) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv == nil {
		return 0
	}
	return r.srv.cmd.Process.Pid
}

// Remove stops the server and deletes its folder.
func (r *Redis) Remove() {
	r.Stop()
	os.RemoveAll(r.dir)
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the server's address as cache.url takes it.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Start starts the server (again, after Stop, on the same port) and waits
// until it answers PING.
func (r *Redis) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		return errors.New("redis: already running")
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", r.log)
	cmd.SysProcAttr = procAttr(nil, os.Kill)
	srv, err := startServer(cmd)
	if err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	if err := srv.waitReady("redis-server", r.log, r.ping); err != nil {
		return err
	}
	r.srv = srv
	return nil
}

// ping sends PING in Redis's protocol and wants +PONG back.
func (r *Redis) ping() error {
	conn, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second)) //nolint:errcheck // a failed read reports it
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 16)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if got := string(buf[:n]); !strings.HasPrefix(got, "+PONG") {
		return fmt.Errorf("PING answered %q", got)
	}
	return nil
}

// Stop stops the server; what it held is gone.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.stop(os.Interrupt)
		r.srv = nil
	}
}

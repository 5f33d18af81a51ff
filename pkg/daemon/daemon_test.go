package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccotest"
	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/runstate"
	"github.com/visiquate/cco/pkg/version"
)

type instance struct {
	paths  config.Paths
	stdout *ccotest.Buffer
	stderr *ccotest.Buffer
	sigs   chan os.Signal
	done   chan error
	state  runstate.State
}

func start(t *testing.T, mutate func(*config.Config), wrap func(http.Handler) http.Handler) *instance {
	t.Helper()
	dir := t.TempDir()
	paths := config.Paths{ConfigFile: filepath.Join(dir, "config.toml"), DataDir: filepath.Join(dir, "data"), CacheDir: filepath.Join(dir, "cache")}
	r, err := config.Resolve(config.Input{Paths: paths, Flags: []config.Flag{{Key: "server.port", Name: "--port", Value: "0"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.Config
	if mutate != nil {
		mutate(&cfg)
	}
	in := &instance{paths: paths, stdout: &ccotest.Buffer{}, stderr: &ccotest.Buffer{}, sigs: make(chan os.Signal, 2), done: make(chan error, 1)}
	go func() {
		in.done <- Run(context.Background(), Options{
			Config: cfg, Paths: paths, Info: version.Info{Version: "2025.11.2"}, PID: os.Getpid(), Now: time.Now,
			Stdout: in.stdout, Stderr: in.stderr, Signals: in.sigs, wrap: wrap,
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, _ := os.ReadDir(paths.PidDir())
		if len(entries) == 1 {
			st, err := runstate.Read(filepath.Join(paths.PidDir(), entries[0].Name()))
			if err == nil {
				in.state = st
				return in
			}
		}
		select {
		case err := <-in.done:
			t.Fatalf("Run returned early: %v\n%s", err, in.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("instance did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (in *instance) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-in.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// slowRoute answers /slow only after the test releases it, so a request can
// be held in flight across a stop.
type slowRoute struct {
	entered chan struct{}
	release chan struct{}
}

func (s *slowRoute) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			next.ServeHTTP(w, r)
			return
		}
		close(s.entered)
		<-s.release
		io.WriteString(w, "finished")
	})
}

// A request being handled when the stop signal arrives is answered in
// full; new connections are refused meanwhile; Run returns nil afterwards.
func TestGracefulStopFinishesInFlight(t *testing.T) {
	slow := &slowRoute{entered: make(chan struct{}), release: make(chan struct{})}
	in := start(t, nil, slow.wrap)
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(in.state.BaseURL() + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		got <- resp.Status + " " + string(body)
	}()
	<-slow.entered
	in.sigs <- os.Interrupt
	// The listener closes at once: new connections are refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(in.state.Port), 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections while stopping")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-in.done:
		t.Fatalf("Run returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(slow.release)
	if answer := <-got; answer != "200 OK finished" {
		t.Errorf("in-flight request got %q", answer)
	}
	if err := in.wait(t); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(in.state.Path); !os.IsNotExist(err) {
		t.Error("state file left behind")
	}
	if log := in.stderr.String(); !strings.Contains(log, `reason="signal interrupt"`) || !strings.Contains(log, "cco stopped") {
		t.Errorf("log:\n%s", log)
	}
}

// holdInFlight starts a request that stays in its handler until the test ends.
func holdInFlight(t *testing.T, mutate func(*config.Config)) (*instance, chan error) {
	t.Helper()
	slow := &slowRoute{entered: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(slow.release) })
	in := start(t, mutate, slow.wrap)
	clientErr := make(chan error, 1)
	go func() {
		resp, err := http.Get(in.state.BaseURL() + "/slow")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-slow.entered
	return in, clientErr
}

// A request that does not finish within the shutdown timeout is cut off;
// the instance still stops cleanly.
func TestShutdownTimeoutCutsOff(t *testing.T) {
	in, clientErr := holdInFlight(t, func(c *config.Config) { c.Server.ShutdownTimeout = 300 * time.Millisecond })
	in.sigs <- syscall.SIGTERM
	if err := in.wait(t); err != nil {
		t.Fatal(err)
	}
	if err := <-clientErr; err == nil {
		t.Error("the held request was answered, not cut off")
	}
	if _, err := os.Stat(in.state.Path); !os.IsNotExist(err) {
		t.Error("state file left behind")
	}
	if !strings.Contains(in.stderr.String(), "in-flight requests cut off") {
		t.Errorf("log:\n%s", in.stderr)
	}
}

// A second signal while stopping cuts in-flight requests off at once,
// without waiting out the (30 s) shutdown timeout.
func TestSecondSignalForcesStop(t *testing.T) {
	in, clientErr := holdInFlight(t, nil)
	in.sigs <- os.Interrupt
	select {
	case err := <-in.done:
		t.Fatalf("stopped before the second signal: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	in.sigs <- os.Interrupt
	if err := in.wait(t); err != nil {
		t.Fatal(err)
	}
	if err := <-clientErr; err == nil {
		t.Error("the held request was answered, not cut off")
	}
	if !strings.Contains(in.stderr.String(), "second signal") {
		t.Errorf("log:\n%s", in.stderr)
	}
}

func TestListenErrors(t *testing.T) {
	dir := t.TempDir()
	paths := config.Paths{DataDir: dir}
	r, _ := config.Resolve(config.Input{Paths: paths})
	cfg := r.Config
	cfg.Server.Host = "203.0.113.7" // TEST-NET-3: not an address of this machine
	cfg.Server.Port = 0
	err := Run(context.Background(), Options{Config: cfg, Paths: paths, Info: version.Info{Version: "x"}, Now: time.Now, Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "cannot listen on 203.0.113.7:0") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(paths.PidDir()); err == nil {
		if entries, _ := os.ReadDir(paths.PidDir()); len(entries) != 0 {
			t.Errorf("state file written for a failed start: %v", entries)
		}
	}
}

// The user's price file overrides and extends the built-in table; a broken
// one is a configuration error naming the file.
func TestLoadPrices(t *testing.T) {
	dir := t.TempDir()
	if table, err := loadPrices(filepath.Join(dir, "missing.json")); err != nil || table == nil {
		t.Fatalf("missing file: %v", err)
	}
	path := filepath.Join(dir, "prices.json")
	os.WriteFile(path, []byte(`{"models":[
		{"id":"claude-haiku-4-5","input":2,"output":10,"cache_write_5m":2.5,"cache_write_1h":4,"cache_read":0.2},
		{"id":"claude-sonnet-5-5","input":3,"output":15,"cache_write_5m":3.75,"cache_write_1h":6,"cache_read":0.3}]}`), 0o600)
	table, err := loadPrices(path)
	if err != nil {
		t.Fatal(err)
	}
	tok := pricing.Tokens{Input: 1000}
	if c, known := table.Cost("claude-haiku-4-5-20251001", tok); !known || c != 2_000_000 {
		t.Errorf("overridden price: %d %v", c, known)
	}
	if c, known := table.Cost("claude-sonnet-5-5", tok); !known || c != 3_000_000 {
		t.Errorf("added model: %d %v", c, known)
	}
	if c, known := table.Cost("claude-opus-4-5", tok); !known || c != 5_000_000 {
		t.Errorf("built-in price lost: %d %v", c, known)
	}
	os.WriteFile(path, []byte(`{"models":[{"id":"claude-x","input":-1}]}`), 0o600)
	_, err = loadPrices(path)
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "prices.json") {
		t.Errorf("broken file: %v", err)
	}
}

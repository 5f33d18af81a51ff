package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/runstate"
	"github.com/visiquate/cco/pkg/secret"
	"github.com/visiquate/cco/pkg/version"
)

type instance struct {
	*Instance
	paths  config.Paths
	stdout *ccoproc.Buffer
	stderr *ccoproc.Buffer
	sigs   chan os.Signal
	done   chan error // Run's result
}

func testConfig(t *testing.T, mutate func(*config.Config)) (config.Config, config.Paths) {
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
	return cfg, paths
}

func testOptions(cfg config.Config, paths config.Paths, stdout, stderr io.Writer) Options {
	return Options{Config: cfg, Paths: paths, Info: version.Info{Version: "2025.11.2"}, PID: os.Getpid(), Now: time.Now, Stdout: stdout, Stderr: stderr}
}

// start starts an instance and serves it the way Run does, stopping on the
// test's signals.
func start(t *testing.T, mutate func(*config.Config)) *instance {
	t.Helper()
	cfg, paths := testConfig(t, mutate)
	in := &instance{paths: paths, stdout: &ccoproc.Buffer{}, stderr: &ccoproc.Buffer{}, sigs: make(chan os.Signal, 2), done: make(chan error, 1)}
	var err error
	in.Instance, err = Start(context.Background(), testOptions(cfg, paths, in.stdout, in.stderr))
	if err != nil {
		t.Fatalf("Start: %v\n%s", err, in.stderr)
	}
	go func() { in.done <- in.serveUntil(context.Background(), in.sigs) }()
	return in
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

// heldUpstream is a fake Anthropic API whose answers wait until the test
// releases them, so a request can be held in flight across a stop.
type heldUpstream struct {
	*fakeapi.Upstream
	entered chan struct{}
	release chan struct{}
}

func holdUpstream(t *testing.T) *heldUpstream {
	h := &heldUpstream{entered: make(chan struct{}, 16), release: make(chan struct{})}
	h.Upstream = fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		h.entered <- struct{}{}
		<-h.release
		return fakeapi.Scenario{}
	}})
	return h
}

// send posts a message through the instance and reports "STATUS BODY-OK"
// or the client's error.
func send(url string) string {
	body := `{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest("POST", url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", "sk-ant-test")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "error: " + err.Error()
	}
	if !strings.Contains(string(data), `"type":"message"`) {
		return resp.Status + " " + string(data)
	}
	return resp.Status + " message"
}

// A request being handled when the stop signal arrives is answered in
// full; new connections are refused meanwhile; Run returns nil afterwards.
func TestGracefulStopFinishesInFlight(t *testing.T) {
	up := holdUpstream(t)
	in := start(t, func(c *config.Config) { c.Upstream.URL = up.URL })
	got := make(chan string, 1)
	go func() { got <- send(in.URL()) }()
	<-up.entered
	in.sigs <- os.Interrupt
	// The listener closes at once: new connections are refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(in.State().Port), 200*time.Millisecond)
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
	close(up.release)
	if answer := <-got; answer != "200 OK message" {
		t.Errorf("in-flight request got %q", answer)
	}
	if err := in.wait(t); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(in.State().Path); !os.IsNotExist(err) {
		t.Error("state file left behind")
	}
	if log := in.stderr.String(); !strings.Contains(log, `reason="signal interrupt"`) || !strings.Contains(log, "cco stopped") {
		t.Errorf("log:\n%s", log)
	}
}

// holdInFlight starts a request that stays in flight until the test ends.
func holdInFlight(t *testing.T, mutate func(*config.Config)) (*instance, chan string) {
	t.Helper()
	up := holdUpstream(t)
	t.Cleanup(func() { close(up.release) })
	in := start(t, func(c *config.Config) {
		c.Upstream.URL = up.URL
		if mutate != nil {
			mutate(c)
		}
	})
	got := make(chan string, 1)
	go func() { got <- send(in.URL()) }()
	<-up.entered
	return in, got
}

// A request that does not finish within the shutdown timeout is cut off;
// the instance still stops cleanly.
func TestShutdownTimeoutCutsOff(t *testing.T) {
	in, got := holdInFlight(t, func(c *config.Config) { c.Server.ShutdownTimeout = 300 * time.Millisecond })
	in.sigs <- syscall.SIGTERM
	if err := in.wait(t); err != nil {
		t.Fatal(err)
	}
	if answer := <-got; !strings.HasPrefix(answer, "error:") {
		t.Errorf("the held request was answered (%s), not cut off", answer)
	}
	if _, err := os.Stat(in.State().Path); !os.IsNotExist(err) {
		t.Error("state file left behind")
	}
	if !strings.Contains(in.stderr.String(), "in-flight requests cut off") {
		t.Errorf("log:\n%s", in.stderr)
	}
}

// A second signal while stopping cuts in-flight requests off at once,
// without waiting out the (30 s) shutdown timeout.
func TestSecondSignalForcesStop(t *testing.T) {
	in, got := holdInFlight(t, nil)
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
	if answer := <-got; !strings.HasPrefix(answer, "error:") {
		t.Errorf("the held request was answered (%s), not cut off", answer)
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
	_, err := Start(context.Background(), Options{Config: cfg, Paths: paths, Info: version.Info{Version: "x"}, Now: time.Now, Stdout: io.Discard, Stderr: io.Discard,
		AccessToken: secret.New("cco_test")})
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
	if table, err := LoadPrices(filepath.Join(dir, "missing.json")); err != nil || table == nil {
		t.Fatalf("missing file: %v", err)
	}
	path := filepath.Join(dir, "prices.json")
	os.WriteFile(path, []byte(`{"models":[
		{"id":"claude-haiku-4-5","input":2,"output":10,"cache_write_5m":2.5,"cache_write_1h":4,"cache_read":0.2},
		{"id":"claude-sonnet-5-5","input":3,"output":15,"cache_write_5m":3.75,"cache_write_1h":6,"cache_read":0.3}]}`), 0o600)
	table, err := LoadPrices(path)
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
	_, err = LoadPrices(path)
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "prices.json") {
		t.Errorf("broken file: %v", err)
	}
}

// Start returns a serving instance; Stop stops it, cleans up and can be
// called again; Wait reports the clean stop.
func TestStartStopWait(t *testing.T) {
	cfg, paths := testConfig(t, nil)
	stdout := &ccoproc.Buffer{}
	in, err := Start(context.Background(), testOptions(cfg, paths, stdout, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "listening on "+in.URL()) {
		t.Errorf("stdout: %q", stdout)
	}
	resp, err := http.Get(in.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st, err := runstate.Read(in.State().Path); err != nil || st.PID != os.Getpid() || st.Port != in.State().Port {
		t.Fatalf("state file: %+v %v", st, err)
	}
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.Done():
	default:
		t.Fatal("Stop returned before the instance was done")
	}
	if err := in.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := in.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(in.State().Path); !os.IsNotExist(err) {
		t.Error("state file left behind")
	}
	if _, err := http.Get(in.URL() + "/health"); err == nil {
		t.Error("still serving after Stop")
	}
}

// Stop's context bounds the wait for in-flight requests: when it is done
// they are cut off and the instance still cleans up.
func TestStopContextCutsOff(t *testing.T) {
	in, got := holdInFlight(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := in.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if answer := <-got; !strings.HasPrefix(answer, "error:") {
		t.Errorf("held request answered (%s), not cut off", answer)
	}
	if _, err := os.Stat(in.State().Path); !os.IsNotExist(err) {
		t.Error("state file left behind")
	}
}

// A stop asked for over the control API ends the instance; Run returns nil.
func TestControlRequestStops(t *testing.T) {
	in := start(t, nil)
	req, _ := http.NewRequest("POST", in.URL()+"/api/control/shutdown", nil)
	req.Header.Set(control.TokenHeader, in.State().Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("shutdown answered %s", resp.Status)
	}
	if err := in.wait(t); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.stderr.String(), `reason="control request"`) {
		t.Errorf("log:\n%s", in.stderr)
	}
}

// A state file left by an earlier process with this very pid (a restarted
// container's PID 1) or by a process that started after it was written
// does not stop an instance from taking its port.
func TestStartIgnoresLeftoverStateFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  func(t *testing.T) int
	}{
		{"own pid", func(*testing.T) int { return os.Getpid() }},
		{"pid of a newer process", func(t *testing.T) int {
			cmd := exec.Command("sleep", "30")
			if err := cmd.Start(); err != nil {
				t.Skip("no sleep binary")
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			return cmd.Process.Pid
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			cfg, paths := testConfig(t, func(c *config.Config) { c.Server.Port = port })
			if _, err := runstate.Write(paths.PidDir(), runstate.State{PID: tc.pid(t), Host: "127.0.0.1", Port: port, StartedAt: time.Now().Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}
			in, err := Start(context.Background(), testOptions(cfg, paths, io.Discard, io.Discard))
			if err != nil {
				t.Fatalf("Start refused a leftover state file: %v", err)
			}
			defer in.Stop(context.Background())
			if st, err := runstate.Read(in.State().Path); err != nil || st.StartedAt.Before(time.Now().Add(-time.Minute)) {
				t.Errorf("state file not replaced: %+v %v", st, err)
			}
		})
	}
}

// Listening beyond loopback without an access token is refused before
// anything is bound or written, as a configuration error.
func TestRemoteNeedsToken(t *testing.T) {
	cfg, paths := testConfig(t, func(c *config.Config) { c.Server.Host, c.Server.AllowRemote = "0.0.0.0", true })
	_, err := Start(context.Background(), testOptions(cfg, paths, io.Discard, io.Discard))
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "cco credentials new-token") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(paths.PidDir()); !os.IsNotExist(err) {
		t.Error("state folder made for a refused start")
	}
}

// Behind a trusted proxy clients count as remote: no start without an
// access token.
func TestTrustedProxiesNeedToken(t *testing.T) {
	cfg, paths := testConfig(t, func(c *config.Config) {
		c.Server.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	_, err := Start(context.Background(), testOptions(cfg, paths, io.Discard, io.Discard))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "server.trusted_proxies" || !strings.Contains(err.Error(), "cco credentials new-token") {
		t.Fatalf("err = %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

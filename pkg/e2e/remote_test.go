package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// remoteNetnsEnv marks the copy of this test binary that runs inside the
// network namespace TestRemoteAccess makes for itself.
const remoteNetnsEnv = "CCO_E2E_REMOTE_NETNS"

// remoteIP is the address of a dummy interface inside that namespace, from
// the documentation range (RFC 5737). A client that connects to it does so
// from it: for cco, a client on another machine.
const remoteIP = "192.0.2.1"

// A client that is not on loopback must send the access token in
// x-cco-token, on every route; with it, its own API key reaches the
// upstream and the token does not. Loopback clients need no token. With
// remote access on and no token, cco refuses to start.
//
// A real non-loopback client needs an address of this machine other than
// loopback: the test runs itself again in a network namespace of its own
// (unshare --net), where it adds a dummy interface, so nothing outside the
// namespace is touched or reached. Without root, a user namespace is
// tried; if that is not possible either, the test skips, unless CI is set.
func TestRemoteAccess(t *testing.T) {
	if os.Getenv(remoteNetnsEnv) == "1" {
		testRemoteAccessInNamespace(t)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces are Linux's")
	}
	unshare, why := unshareCommand()
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set, but this test cannot make a network namespace: %s", why)
		}
		t.Skipf("cannot make a network namespace: %s", why)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	args := append(append([]string(nil), unshare[1:]...), os.Args[0], "-test.run=^TestRemoteAccess$", "-test.v", "-test.count=1", "-test.timeout=4m")
	cmd := exec.CommandContext(ctx, unshare[0], args...)
	cmd.Env = append(os.Environ(), remoteNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in the namespace (%s):\n%s", strings.Join(unshare, " "), out)
	if err != nil {
		t.Fatalf("the test in the namespace failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestRemoteAccess") {
		t.Fatal("the test in the namespace did not pass")
	}
}

// unshareCommand returns the command that runs another in a new network
// namespace, or why there is none.
func unshareCommand() ([]string, string) {
	if _, err := ipCommand(); err != nil {
		return nil, err.Error()
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, "no unshare (util-linux) on PATH"
	}
	candidates := [][]string{{unshare, "--user", "--map-root-user", "--net"}}
	if os.Geteuid() == 0 {
		candidates = append([][]string{{unshare, "--net"}}, candidates...)
	}
	var whys []string
	for _, c := range candidates {
		out, err := exec.Command(c[0], append(c[1:], "true")...).CombinedOutput()
		if err == nil {
			return c, ""
		}
		whys = append(whys, strings.Join(c, " ")+": "+strings.TrimSpace(err.Error()+" "+string(out)))
	}
	return nil, strings.Join(whys, "; ")
}

// ipCommand finds iproute2's ip, which is often outside a user's PATH.
func ipCommand() (string, error) {
	if p, err := exec.LookPath("ip"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no ip (iproute2) found")
}

func testRemoteAccessInNamespace(t *testing.T) {
	setUpNamespace(t)

	random := make([]byte, 16)
	rand.Read(random)
	token := "cco_e2e_" + hex.EncodeToString(random)
	const clientKey = "sk-ant-api03-remote-client-key"

	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	cco := ccoproc.StartCCO(t, ccoBin, []string{"CCO_SERVER_TOKEN=" + token, "CCO_CREDENTIALS_BACKEND=file"},
		"--upstream", u.URL, "--host", "0.0.0.0", "--allow-remote")
	base, err := url.Parse(cco.URL)
	if err != nil {
		t.Fatal(err)
	}
	remoteURL := "http://" + net.JoinHostPort(remoteIP, base.Port())
	remote := newSourceRecordingClient()

	type call struct{ method, path, body string }
	// Each request that should reach the upstream asks something else, so
	// that cco's response cache answers none of them.
	message := func(what string) string {
		return `{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"` + what + `"}]}`
	}
	calls := []call{
		{"POST", "/v1/messages", message("from another machine")},
		{"GET", "/health", ""},
		{"GET", "/", ""},
		{"GET", "/api/stats", ""},
		{"GET", "/ready", ""},
		{"GET", "/no/such/route", ""},
	}

	t.Run("refused without the right token", func(t *testing.T) {
		for _, tok := range []string{"", "cco_e2e_" + strings.Repeat("0", 32), "short", token + "x"} {
			for _, c := range calls {
				hdr := map[string]string{"X-Api-Key": clientKey}
				if tok != "" {
					hdr["X-Cco-Token"] = tok
				}
				status, body, resp := send(t, remote.http, c.method, remoteURL+c.path, c.body, hdr)
				var env struct {
					Type  string `json:"type"`
					Error struct{ Type, Message string }
				}
				json.Unmarshal(body, &env)
				if status != 401 || env.Type != "error" || env.Error.Type != "authentication_error" ||
					!strings.Contains(env.Error.Message, "x-cco-token") || resp.Get("x-should-retry") != "false" {
					t.Errorf("%s %s with token %q: %d %s", c.method, c.path, tok, status, body)
				}
				if tok != "" && strings.Contains(string(body), tok) {
					t.Errorf("%s %s: the answer echoes the token sent: %s", c.method, c.path, body)
				}
			}
		}
		if n := len(u.Requests()); n != 0 {
			t.Errorf("refused requests reached the upstream: %d", n)
		}
	})

	t.Run("served with the token", func(t *testing.T) {
		hdr := map[string]string{"X-Api-Key": clientKey, "X-Cco-Token": token, "Anthropic-Version": "2023-06-01"}
		for _, c := range calls[:5] {
			if status, body, _ := send(t, remote.http, c.method, remoteURL+c.path, c.body, hdr); status != 200 {
				t.Errorf("%s %s: %d %s", c.method, c.path, status, body)
			}
		}
		reqs := u.Requests()
		if len(reqs) != 1 {
			t.Fatalf("upstream saw %d requests, want 1", len(reqs))
		}
		if got := reqs[0].Header.Values("X-Api-Key"); len(got) != 1 || got[0] != clientKey {
			t.Errorf("upstream got x-api-key %q, want the client's own", got)
		}
		checkNoTokenHeader(t, reqs[0].Header)
	})

	t.Run("loopback clients need no token", func(t *testing.T) {
		loopback := newSourceRecordingClient()
		calls[0].body = message("from loopback")
		for _, c := range calls[:5] {
			if status, body, _ := send(t, loopback.http, c.method, cco.URL+c.path, c.body, map[string]string{"X-Api-Key": clientKey}); status != 200 {
				t.Errorf("%s %s from loopback: %d %s", c.method, c.path, status, body)
			}
		}
		// A token a loopback client sends is not passed on either.
		send(t, loopback.http, "POST", cco.URL+"/v1/messages", message("from loopback, with a token"), map[string]string{"X-Api-Key": clientKey, "X-Cco-Token": token})
		reqs := u.Requests()
		if len(reqs) != 3 {
			t.Fatalf("upstream saw %d requests, want 3", len(reqs))
		}
		for _, r := range reqs[1:] {
			if r.Header.Get("X-Api-Key") != clientKey {
				t.Errorf("upstream got x-api-key %q", r.Header.Get("X-Api-Key"))
			}
			checkNoTokenHeader(t, r.Header)
		}
		for _, src := range loopback.sources() {
			if !net.ParseIP(src).IsLoopback() {
				t.Errorf("loopback client connected from %s", src)
			}
		}
	})

	// The remote client really was one: it never connected from loopback.
	for _, src := range remote.sources() {
		if src != remoteIP {
			t.Errorf("remote client connected from %s, want %s", src, remoteIP)
		}
	}
	if len(remote.sources()) == 0 {
		t.Error("the remote client never connected")
	}

	// Refusals are logged with the client's address, never with a token.
	log := cco.Log()
	if !strings.Contains(log, "refused a client on another machine") || !strings.Contains(log, remoteIP) {
		t.Errorf("no refusal of %s logged:\n%s", remoteIP, log)
	}
	for _, leak := range []string{token, strings.Repeat("0", 32), clientKey} {
		if strings.Contains(log, leak) {
			t.Errorf("the log holds %q:\n%s", leak, log)
		}
	}

	t.Run("one address beyond loopback", func(t *testing.T) {
		// cco also listens on loopback then, so that its own commands
		// (status, shutdown) need no token.
		home := t.TempDir()
		env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "XDG_CACHE_HOME=", "ANTHROPIC_API_KEY=",
			"NO_BROWSER=1", "CCO_NO_UPDATE_CHECK=1", "CCO_SERVER_TOKEN="+token, "CCO_CREDENTIALS_BACKEND=file")
		run := exec.Command(ccoBin, "run", "--host", remoteIP, "--allow-remote", "--port", "0", "--upstream", u.URL)
		run.Env = env
		stdout, err := run.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr ccoproc.Buffer
		run.Stderr = &stderr
		if err := run.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- run.Wait() }()
		defer func() { run.Process.Kill() }()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || !strings.Contains(line, "listening on http://"+remoteIP+":") {
			t.Fatalf("first line %q (%v)\n%s", line, err, stderr.String())
		}
		go io.Copy(io.Discard, stdout)
		addr := strings.Fields(line[strings.Index(line, "http://"):])[0]
		if status, body, _ := send(t, remote.http, "GET", addr+"/health", "", nil); status != 401 {
			t.Errorf("remote client without the token: %d %s", status, body)
		}
		if status, body, _ := send(t, remote.http, "GET", addr+"/health", "", map[string]string{"X-Cco-Token": token}); status != 200 {
			t.Errorf("remote client with the token: %d %s", status, body)
		}
		cli := func(args ...string) (string, error) {
			c := exec.Command(ccoBin, args...)
			c.Env = env
			out, err := c.CombinedOutput()
			return string(out), err
		}
		if out, err := cli("status", "--json"); err != nil || !strings.Contains(out, `"healthy": true`) {
			t.Errorf("cco status: %v\n%s", err, out)
		}
		if out, err := cli("shutdown"); err != nil || strings.Contains(out, "signal") {
			t.Errorf("cco shutdown: %v\n%s", err, out)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("cco run: %v\n%s", err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("cco did not stop after cco shutdown")
		}
	})

	t.Run("no token, no start", func(t *testing.T) {
		for _, host := range []string{remoteIP, "0.0.0.0"} {
			code, stderr := runCCO(t, []string{"CCO_SERVER_TOKEN=", "CCO_CREDENTIALS_BACKEND=file"},
				"run", "--host", host, "--allow-remote", "--port", "0", "--no-browser", "--upstream", u.URL)
			if code != 2 || !strings.Contains(stderr, "cco credentials new-token") {
				t.Errorf("--host %s --allow-remote without a token: exit %d\n%s", host, code, stderr)
			}
		}
	})
}

// setUpNamespace brings up loopback and the dummy interface with remoteIP,
// after making sure this is a namespace of its own: one with nothing but
// loopback in it.
func setUpNamespace(t *testing.T) {
	t.Helper()
	ip, err := ipCommand()
	if err != nil {
		t.Fatal(err)
	}
	links, err := exec.Command(ip, "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show: %v\n%s", err, links)
	}
	if lines := strings.Split(strings.TrimSpace(string(links)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], ": lo:") {
		t.Fatalf("%s=1, but this is not a fresh network namespace; its links:\n%s", remoteNetnsEnv, links)
	}
	run := func(args ...string) error {
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return nil
	}
	if err := run("link", "set", "lo", "up"); err != nil {
		t.Fatal(err)
	}
	// A dummy interface is the simplest; some kernels (containers' among
	// them) have no dummy driver but do have veth, so a veth pair stands in.
	errDummy := run("link", "add", "cco0", "type", "dummy")
	if errDummy != nil {
		if err := run("link", "add", "cco0", "type", "veth", "peer", "name", "cco1"); err != nil {
			t.Fatalf("%v; and %v", errDummy, err)
		}
		if err := run("link", "set", "cco1", "up"); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"addr", "add", remoteIP + "/24", "dev", "cco0"},
		{"link", "set", "cco0", "up"},
	} {
		if err := run(args...); err != nil {
			t.Fatal(err)
		}
	}
}

// sourceRecordingClient is an HTTP client that notes the local address of
// every connection it makes.
type sourceRecordingClient struct {
	http *http.Client
	mu   sync.Mutex
	srcs []string
}

func newSourceRecordingClient() *sourceRecordingClient {
	c := &sourceRecordingClient{}
	var d net.Dialer
	c.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err == nil {
				c.mu.Lock()
				c.srcs = append(c.srcs, conn.LocalAddr().(*net.TCPAddr).IP.String())
				c.mu.Unlock()
			}
			return conn, err
		},
	}}
	return c
}

func (c *sourceRecordingClient) sources() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.srcs...)
}

func send(t *testing.T, c *http.Client, method, url, body string, hdr map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, b, resp.Header
}

func checkNoTokenHeader(t *testing.T, h http.Header) {
	t.Helper()
	for k, v := range h {
		if strings.EqualFold(k, "x-cco-token") {
			t.Errorf("the upstream got %s (%d values)", k, len(v))
		}
	}
}

// runCCO runs cco to its end in a fresh HOME, bounded in time (a cco that
// should have refused to start would otherwise serve forever), and returns
// its exit code and standard error.
func runCCO(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ccoBin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "USERPROFILE="+home,
		"APPDATA="+filepath.Join(home, "AppData", "Roaming"), "LOCALAPPDATA="+filepath.Join(home, "AppData", "Local"),
		"XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "XDG_CACHE_HOME=", "ANTHROPIC_API_KEY=", "NO_BROWSER=1", "CCO_NO_UPDATE_CHECK=1")
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, "still running after 20s (killed):\n" + stderr.String()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("cco %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

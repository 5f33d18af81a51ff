//go:build linux

package e2e

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/realdb"
)

// readmeBlock returns the code block after the README's marker <!-- name: ... -->.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	root, err := ccoproc.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- " + name + ":[^>]*-->\n```[a-z]*\n(.*?)```").FindSubmatch(data)
	if m == nil {
		t.Fatalf("README.md has no %s block", name)
	}
	return string(m[1])
}

// startNginx runs Debian's nginx with the README's server block, its
// replica ports and listen address replaced, everything else in a
// temporary folder. It returns the balancer's base URL.
func startNginx(t *testing.T, block string, replicas []string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the team recipe needs nginx (Debian package nginx)")
		}
		t.Skip("no nginx (Debian package nginx); skipped because CI is unset")
	}
	for i, r := range replicas {
		block = strings.Replace(block, fmt.Sprintf("127.0.0.1:%d;", 3001+i), strings.TrimPrefix(r, "http://")+";", 1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	block = strings.Replace(block, "listen 127.0.0.1:8080;", "listen "+addr+";", 1)
	if strings.Contains(block, ":300") || strings.Contains(block, ":8080") {
		t.Fatalf("the README's nginx block no longer has the ports this test replaces:\n%s", block)
	}
	dir, err := os.MkdirTemp("", "nginx-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // workers may run as nobody
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %[1]s/client_body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, block)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &ccoproc.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		cmd.Wait()
		os.RemoveAll(dir)
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen: %s\n%s", out, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// totals reads /api/stats from a replica.
func totals(t *testing.T, replica string) control.Totals {
	t.Helper()
	return stats(t, replica, "").Totals
}

// stats reads /api/stats?range=all from a replica, grouped by by.
func stats(t *testing.T, replica, by string) control.Stats {
	t.Helper()
	var st control.Stats
	getJSON(t, replica+"/api/stats?range=all&by="+by, &st)
	return st
}

// groups are the requests per group of /api/stats?by=.
func groups(t *testing.T, replica, by string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, g := range stats(t, replica, by).Groups {
		out[g.Key] = g.Requests
	}
	return out
}

// replicaName is the name a replica at url gives itself by default:
// server.replica unset, host name:port.
func replicaName(t *testing.T, url string) string {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(host, url[strings.LastIndexByte(url, ':')+1:])
}

// answeredByMetrics sums a replica's cco_requests_total: the rows it
// queued for the database since it started.
func answeredByMetrics(t *testing.T, replica string) int64 {
	t.Helper()
	resp, err := http.Get(replica + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "cco_requests_total{"); ok {
			v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			n += v
		}
	}
	return int64(n)
}

// TestTeamRecipe (Linux: Debian's servers) runs the README's "For a team" recipe: three replicas on
// one PostgreSQL and one Redis behind nginx, under a known load and the
// faults the README names.
func TestTeamRecipe(t *testing.T) {
	pg := realdb.StartPostgres(t)
	rd := realdb.StartRedis(t)
	up := fakeapi.NewUpstream(t, fakeapi.Options{})

	conf := readmeBlock(t, "team-config")
	for _, want := range []string{"postgres://cco@db.internal:5432/cco?sslmode=disable", "redis://cache.internal:6379/0"} {
		if !strings.Contains(conf, want) {
			t.Fatalf("the README's team config no longer says %s:\n%s", want, conf)
		}
	}
	conf = strings.NewReplacer("postgres://cco@db.internal:5432/cco?sslmode=disable", pg.URL(""),
		"redis://cache.internal:6379/0", rd.URL()).Replace(conf)
	confPath := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &teamClient{token: "cco-access-team0123456789abcdef0123456789"}
	env := []string{"CCO_CONFIG=" + confPath, "CCO_SERVER_TOKEN=" + c.token}
	var replicas []*ccoproc.Instance
	var urls []string
	for range 3 {
		in := ccoproc.StartCCO(t, ccoBin, env, "--upstream", up.URL)
		replicas = append(replicas, in)
		urls = append(urls, in.URL)
	}
	lb := startNginx(t, readmeBlock(t, "team-nginx"), urls)

	// Wait until every replica's figures reach want (rows are written
	// off the request path, within a second).
	agree := func(what string, want func(control.Totals) bool, among []string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for _, r := range among {
			for !want(totals(t, r)) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s says %+v", what, r, totals(t, r))
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}

	t.Run("one set of figures, one cache", func(t *testing.T) {
		// Three users, JSON and streams, each question asked twice: the
		// second time it is a hit, whichever replica nginx picks.
		for round := range 2 {
			for u := range 3 {
				for q := range 6 {
					code, state, err := c.ask(lb, fmt.Sprintf("203.0.113.%d", u+1), fmt.Sprintf("user %d question %d", u, q), q%2 == 1)
					if err != nil || code != 200 {
						t.Fatalf("round %d: %d %v", round, code, err)
					}
					if want := map[int]string{0: "MISS", 1: "HIT"}[round]; state != want {
						t.Errorf("round %d, user %d, question %d: %s, want %s", round, u, q, state, want)
					}
				}
			}
		}
		// Asked of replica 1, then of replica 3 directly.
		if _, state, _ := c.ask(urls[0], "", "direct", false); state != "MISS" {
			t.Errorf("replica 1: %s, want MISS", state)
		}
		if _, state, _ := c.ask(urls[2], "", "direct", false); state != "HIT" {
			t.Errorf("replica 3 after replica 1: %s, want HIT", state)
		}
		sent, hits := c.sent.Load(), c.hits.Load()
		if sent != 38 || hits != 19 {
			t.Fatalf("sent %d, %d hits; want 38 and 19", sent, hits)
		}
		agree("totals", func(tt control.Totals) bool { return tt.Requests == sent && tt.CacheHits == hits }, urls)
		if n := int64(len(up.Requests())); n != sent-hits {
			t.Errorf("the upstream was asked %d times, want %d", n, sent-hits)
		}
		// Who asked: each user's twelve through any replica, under the
		// x-cco-user they sent; the two direct ones under their key. The
		// header stays with cco.
		byUser := groups(t, urls[2], "user")
		for u := range 3 {
			if n := byUser[fmt.Sprintf("203.0.113.%d", u+1)]; n != 12 {
				t.Errorf("user %d: %d requests, want 12 (%v)", u+1, n, byUser)
			}
		}
		var keyed int64
		for k, n := range byUser {
			if strings.HasPrefix(k, "key:") {
				keyed += n
			}
		}
		if keyed != 2 || len(byUser) != 4 {
			t.Errorf("by user %v: want the three users and one key with 2", byUser)
		}
		for _, r := range up.Requests() {
			if r.Header.Get("X-Cco-User") != "" {
				t.Fatal("x-cco-user reached the upstream")
			}
		}
		// Which replica served them: every replica's own count, the same
		// from any of them.
		byReplica := groups(t, urls[0], "replica")
		var all int64
		for i, u := range urls {
			n := byReplica[replicaName(t, u)]
			if m := answeredByMetrics(t, u); n != m {
				t.Errorf("replica %d: %d rows, %d answered (%v)", i+1, n, m, byReplica)
			}
			all += n
		}
		if all != sent || !maps.Equal(byReplica, groups(t, urls[1], "replica")) {
			t.Errorf("by replica %v: want %d in all, the same from every replica", byReplica, sent)
		}
	})

	t.Run("one set of limits", func(t *testing.T) {
		// rate_limit.api_rpm (100 by default) per client, across replicas:
		// a bucket of 100 that refills at 100 a minute.
		allowed, refused := 0, 0
		start := time.Now()
		for i := range 110 {
			code, _, err := c.ask(lb, "203.0.113.77", fmt.Sprintf("limit %d", i%3), false)
			if err != nil {
				t.Fatal(err)
			}
			switch code {
			case http.StatusOK:
				allowed++
			case http.StatusTooManyRequests:
				refused++
			}
		}
		refill := int(time.Since(start).Seconds()*100/60) + 1
		if refused == 0 || allowed > 100+refill {
			t.Errorf("110 requests in %v: %d allowed, %d refused; want at most %d allowed (100 a minute across three replicas)", time.Since(start), allowed, refused, 100+refill)
		}
		sent := c.sent.Load()
		agree("totals after the limit", func(tt control.Totals) bool { return tt.Requests == sent }, urls)
	})

	// load sends requests through the balancer until stop is closed; each
	// answered one is counted by c, and its completion time kept. Each
	// request comes from one of a thousand addresses of its own (net), so
	// that the limit of 100 a minute per client does not slow the load.
	load := func(stop chan struct{}, tag string, net int) (wait func(), done func() []time.Time) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var times []time.Time
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					code, _, err := c.ask(lb, fmt.Sprintf("10.%d.%d.%d", net, w, i%250), fmt.Sprintf("%s %d %d", tag, w, i), i%2 == 0)
					if err == nil && code == 200 {
						mu.Lock()
						times = append(times, time.Now())
						mu.Unlock()
					}
				}
			}()
		}
		return wg.Wait, func() []time.Time { mu.Lock(); defer mu.Unlock(); return times }
	}

	t.Run("PostgreSQL restarted mid-load loses nothing", func(t *testing.T) {
		stop := make(chan struct{})
		wait, _ := load(stop, "pg", 1)
		time.Sleep(500 * time.Millisecond)
		pg.Stop()
		time.Sleep(time.Second)
		if err := pg.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		close(stop)
		wait()
		sent := c.sent.Load()
		agree("totals after the restart", func(tt control.Totals) bool { return tt.Requests == sent }, urls)
	})

	t.Run("a replica killed mid-load loses at most its own last rows", func(t *testing.T) {
		before := c.sent.Load()
		stop := make(chan struct{})
		wait, answered := load(stop, "kill", 2)
		// Long enough that a replica losing all it served would lose more
		// than the bound below allows: it serves a third of five seconds.
		time.Sleep(5 * time.Second)
		killed := time.Now()
		replicas[0].Cmd.Process.Signal(syscall.SIGKILL)
		time.Sleep(time.Second)
		close(stop)
		wait()
		sent := c.sent.Load()
		// What the killed replica can have lost: requests answered in the
		// last flush interval before the kill (a second, with 100 ms of
		// slack; any replica's, an upper bound on its share) and those in
		// flight at the kill (4 at most, one per client).
		window := int64(0)
		for _, at := range answered() {
			if at.After(killed.Add(-1100*time.Millisecond)) && at.Before(killed.Add(100*time.Millisecond)) {
				window++
			}
		}
		survivors := urls[1:]
		deadline := time.Now().Add(30 * time.Second)
		var got control.Totals
		for {
			got = totals(t, survivors[0])
			if got.Requests >= sent-window-4 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // the survivors' last flushes
		got = totals(t, survivors[0])
		lost := sent - got.Requests
		t.Logf("answered %d during the kill test; rows %d; lost %d; answered within the kill's window %d", sent-before, got.Requests, lost, window)
		if lost < 0 || lost > window+4 {
			t.Errorf("lost %d rows, want between 0 and %d (the window's answers and 4 in flight)", lost, window+4)
		}
		if other := totals(t, survivors[1]); other.Requests != got.Requests {
			t.Errorf("the survivors disagree: %d and %d", other.Requests, got.Requests)
		}
		// Nothing of the others': each survivor's rows are all it answered.
		byReplica := groups(t, survivors[0], "replica")
		for _, u := range survivors {
			if n, m := byReplica[replicaName(t, u)], answeredByMetrics(t, u); n != m {
				t.Errorf("survivor %s: %d rows of %d answered", u, n, m)
			}
		}
		t.Logf("rows of the killed replica: %d", byReplica[replicaName(t, urls[0])])
	})

	t.Run("Redis stopped: requests still succeed, as BYPASS", func(t *testing.T) {
		rd.Stop()
		for i := range 6 {
			code, state, err := c.ask(lb, "203.0.113.50", fmt.Sprintf("no redis %d", i%2), false)
			if err != nil || code != 200 || state != "BYPASS" {
				t.Errorf("with Redis stopped: %d %s %v, want 200 BYPASS", code, state, err)
			}
		}
	})
}

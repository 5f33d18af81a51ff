// Command ccobench measures cco at the defaults users run against a bare
// httputil.ReverseProxy and, when `nginx` is on PATH, against nginx as a
// plain reverse proxy, in one run on this machine, and prints ratios. It is
// a development tool, not shipped: `task bench` builds cco and runs it.
//
// It starts the fake Anthropic upstream (pkg/fakeapi, in this process), a bare
// ReverseProxy (a child process: `ccobench baseline`), nginx (keep-alive
// upstream, HTTP/1.1, proxy_buffering off, its default access log, all
// paths in a temporary folder), and `cco run` at its defaults (log level
// info; its console log drained through a pipe) twice: with the response
// cache off ("cco": the load repeats one request, which the cache would
// answer) and on ("+cache"). With -compare, a second cco binary ("before")
// joins the same rounds. For 1 KB JSON, 60 KB JSON and 1 KB streams, at
// each -clients count (8 and 1), it reports:
//
//   - throughput, and its ratio to the bare proxy's and to nginx's;
//   - the proxy process's CPU time per request (user and system, from
//     /proc, nginx's workers included), and its ratio to the bare proxy's:
//     on a machine whose cores the load saturates, this is what decides
//     throughput, and it moves far less between runs than throughput does;
//   - latency (p50, p99) and the p50 added over a direct request, with its
//     ratio to nginx's added p50;
//   - failed requests, and streams cut before message_stop;
//
// then, on one line each: the delay from the upstream's flush of a stream
// event to its arrival at the client (p50, p99), the time from starting
// `cco run` to its first successful /ready, and cco's resident memory idle
// and at its peak under 100 concurrent streams.
//
// With -team it also starts a PostgreSQL and a Redis (Debian's, through
// pkg/realdb, on loopback in temporary folders) and measures cco as a team
// replica runs it: "team" with database.url and cache.url pointing at them
// (the response cache off, as for "cco"), "team+limits" the same with a
// per-client limit that is never reached but counted in Redis for every
// request (as a team's remote clients are), and "team+cache" answering from
// the Redis cache (to compare with "+cache"); a second table gives their
// ratios to cco's single-user defaults.
//
// Rounds alternate between the targets so that drift on a shared machine
// hits each of them alike; throughput is the median round's, latencies are
// over all rounds, failures and cuts are summed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/realdb"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := runBaseline(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "ccobench baseline:", err)
			os.Exit(1)
		}
		return
	}
	cfg := config{}
	flag.StringVar(&cfg.cco, "cco", "bin/cco", "the cco binary to measure")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of each load measurement")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds per measurement (the median is reported)")
	clients := flag.String("clients", "8,1", "closed-loop clients for the throughput runs, comma-separated")
	flag.StringVar(&cfg.compare, "compare", "", "another cco binary to measure in the same rounds (shown as \"before\")")
	flag.BoolVar(&cfg.noNginx, "no-nginx", false, "leave nginx out even when it is installed")
	flag.BoolVar(&cfg.team, "team", false, "also measure cco on PostgreSQL and Redis (started here) against its SQLite and in-process cache")
	flag.StringVar(&cfg.only, "only", "", "measure only the loads whose name contains this (\"json\", \"60KB\", \"stream\")")
	flag.Parse()
	for f := range strings.SplitSeq(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "ccobench: -clients: not a list of positive numbers:", *clients)
			os.Exit(2)
		}
		cfg.clients = append(cfg.clients, n)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ccobench:", err)
		os.Exit(1)
	}
}

type config struct {
	cco      string
	duration time.Duration
	rounds   int
	clients  []int
	compare  string
	noNginx  bool
	only     string
	team     bool
}

// runBaseline serves a bare ReverseProxy to the upstream and prints its
// address on stdout.
func runBaseline(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: ccobench baseline UPSTREAM_URL")
	}
	target, err := url.Parse(args[0])
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	// The same connection pool as cco's, so that the comparison measures
	// the proxies, not http.DefaultTransport's two idle connections per host.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	rp.Transport = tr
	fmt.Printf("listening on http://%s\n", ln.Addr())
	return http.Serve(ln, rp)
}

// process is a child process serving HTTP.
type process struct {
	cmd  *exec.Cmd
	base string
}

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:\[\]]+)`)

// startProcess runs cmd, waits for its "listening on URL" line, then for an
// answer to /ready (200 when must200 is set; any answer otherwise).
func startProcess(cmd *exec.Cmd, must200 bool) (*process, time.Duration, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, out)
			p := &process{cmd: cmd, base: m[1]}
			ready, err := p.waitReady(start, must200)
			return p, ready, err
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, 0, fmt.Errorf("%s exited without saying where it listens", cmd.Path)
}

// waitReady polls /ready and returns the time since start.
func (p *process) waitReady(start time.Time, must200 bool) (time.Duration, error) {
	c := &http.Client{Timeout: time.Second}
	for time.Since(start) < 10*time.Second {
		resp, err := c.Get(p.base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 || !must200 {
				return time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after 10s", p.base)
}

func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// rssKiB reads a field (VmRSS, VmHWM) of /proc/PID/status in KiB.
func rssKiB(pid int, field string) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// ccoCommand runs cco at its defaults (log level info included) with env
// added. Its console log goes to a pipe this process drains, as a terminal
// or journald would take it.
func ccoCommand(bin, home, upstream string, env ...string) *exec.Cmd {
	cmd := exec.Command(bin, "run", "--port", "0", "--upstream", upstream, "--no-browser")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "XDG_CACHE_HOME=", "ANTHROPIC_API_KEY=", "CCO_NO_UPDATE_CHECK=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = io.Discard
	return cmd
}

// findNginx returns nginx's path: on PATH, or in /usr/sbin, where Debian
// puts it and where a user's PATH often does not look; "" if neither.
func findNginx() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	return ""
}

// startNginx runs Debian's nginx as a plain reverse proxy to upstream:
// keep-alive upstream connections, HTTP/1.1, no response buffering, its
// default access log, everything in a temporary folder.
func startNginx(bin, upstream string) (*process, func(), error) {
	dir, err := os.MkdirTemp("", "ccobench-nginx-")
	if err != nil {
		return nil, nil, err
	}
	os.Chmod(dir, 0o755) // workers may run as nobody
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	u, _ := url.Parse(upstream)
	conf := fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/client_body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	client_max_body_size 32m;
	client_body_buffer_size 128k;
	upstream anthropic {
		server %[2]s;
		keepalive 256;
	}
	server {
		listen %[3]s;
		location / {
			proxy_pass http://anthropic;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering off;
		}
	}
}
`, dir, u.Host, addr)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	p := &process{cmd: cmd, base: "http://" + addr}
	cleanup := func() { p.stop(); os.RemoveAll(dir) }
	if _, err := p.waitReady(start, false); err != nil {
		cleanup()
		return nil, nil, err
	}
	return p, cleanup, nil
}

func run(cfg config) error {
	if _, err := os.Stat(cfg.cco); err != nil {
		return fmt.Errorf("cco binary: %w (build it with `task bench` or `task build`)", err)
	}
	flushes := &flushLog{sent: map[string][]time.Time{}}
	up, err := fakeapi.Start(fakeapi.Options{NoRecord: true, OnFlush: flushes.record, Scenario: benchScenario})
	if err != nil {
		return err
	}
	defer up.Close()

	var dirs []string
	defer func() {
		for _, d := range dirs {
			os.RemoveAll(d)
		}
	}()
	home := func() (string, error) {
		d, err := os.MkdirTemp("", "ccobench-home-")
		dirs = append(dirs, d)
		return d, err
	}

	// Start-up: time from exec to the first successful /ready, fresh each time.
	readyHome, err := home()
	if err != nil {
		return err
	}
	var readies []time.Duration
	for range 7 {
		p, ready, err := startProcess(ccoCommand(cfg.cco, readyHome, up.URL), true)
		if err != nil {
			return err
		}
		readies = append(readies, ready)
		p.stop()
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	targets := []target{{name: "direct", base: up.URL}}
	bare, _, err := startProcess(exec.Command(self, "baseline", up.URL), false)
	if err != nil {
		return err
	}
	defer bare.stop()
	targets = append(targets, target{name: "bare", base: bare.base, pid: bare.cmd.Process.Pid})
	if nginx := findNginx(); nginx != "" && !cfg.noNginx {
		ngx, stop, err := startNginx(nginx, up.URL)
		if err != nil {
			return fmt.Errorf("nginx: %w", err)
		}
		defer stop()
		targets = append(targets, target{name: "nginx", base: ngx.base, pid: ngx.cmd.Process.Pid})
	}
	// The load repeats one request: with the response cache on, cco would
	// answer from it, so the proxy rows switch it off; "+cache" is cco at
	// every default, answering from its cache.
	type ccoTarget struct {
		name, bin string
		env       []string
	}
	ccos := []ccoTarget{{"cco", cfg.cco, []string{"CCO_CACHE_ENABLED=false"}}}
	if cfg.compare != "" {
		ccos = append(ccos, ccoTarget{"before", cfg.compare, []string{"CCO_CACHE_ENABLED=false"}})
	}
	ccos = append(ccos, ccoTarget{"+cache", cfg.cco, nil})
	var servers []int // the team targets' database servers
	if cfg.team {
		pg, err := realdb.NewPostgres()
		if err != nil {
			return fmt.Errorf("PostgreSQL: %w", err)
		}
		defer pg.Remove()
		rd, err := realdb.NewRedis()
		if err != nil {
			return fmt.Errorf("Redis: %w", err)
		}
		defer rd.Remove()
		team := []string{"CCO_DATABASE_URL=" + pg.URL(""), "CCO_CACHE_URL=" + rd.URL()}
		servers = []int{pg.PID(), rd.PID()}
		ccos = append(ccos,
			ccoTarget{"team", cfg.cco, append([]string{"CCO_CACHE_ENABLED=false"}, team...)},
			ccoTarget{"team+limits", cfg.cco, append([]string{"CCO_CACHE_ENABLED=false", "CCO_RATE_LIMIT_RPM=1000000000"}, team...)},
			ccoTarget{"team+cache", cfg.cco, team})
	}
	var ccoProc *process
	for _, c := range ccos {
		h, err := home()
		if err != nil {
			return err
		}
		p, _, err := startProcess(ccoCommand(c.bin, h, up.URL, c.env...), true)
		if err != nil {
			return err
		}
		defer p.stop()
		if c.name == "cco" {
			ccoProc = p
		}
		t := target{name: c.name, base: p.base, pid: p.cmd.Process.Pid}
		if strings.HasPrefix(c.name, "team") {
			t.servers = servers
		}
		targets = append(targets, t)
	}
	time.Sleep(time.Second)
	idleRSS, err := rssKiB(ccoProc.cmd.Process.Pid, "VmRSS")
	if err != nil {
		return err
	}

	var names []string
	for _, t := range targets {
		names = append(names, t.name)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("ccobench: %d rounds of %s; %s; load average %s\n", cfg.rounds, cfg.duration, cfg.cco, strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	if cfg.compare != "" {
		fmt.Printf("before = %s\n", cfg.compare)
	}
	fmt.Println()

	var rows []row
	for _, l := range loads {
		if !strings.Contains(l.name, cfg.only) {
			continue
		}
		body := requestBody(l.size, l.stream)
		for _, n := range cfg.clients {
			// Warm each target's connections and the cache.
			for _, t := range targets {
				closedLoop(t.base, body, l.kind, n, 50*time.Millisecond)
			}
			res := measureRounds(cfg, targets, func(t target) loadResult {
				return closedLoop(t.base, body, l.kind, n, cfg.duration)
			})
			rows = append(rows, row{load: l.name, clients: n, res: res})
		}
	}
	report(os.Stdout, names, rows)
	if cfg.team {
		fmt.Println()
		reportTeam(os.Stdout, rows)
	}

	// Event delay: streams with 5 ms between events, 4 clients.
	streamBody := requestBody(1024, true)
	var delayTargets []target
	for _, t := range targets {
		if !strings.HasSuffix(t.name, "+cache") { // a hit has no upstream flush to time
			delayTargets = append(delayTargets, t)
		}
	}
	delays := measureRounds(cfg, delayTargets, func(t target) loadResult {
		flushes.reset()
		return streamLoad(t.base, streamBody, 4, cfg.duration, flushes)
	})
	fmt.Println()
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Microseconds())/1000) }
	var parts []string
	for _, t := range delayTargets {
		d := delays[t.name]
		parts = append(parts, fmt.Sprintf("%s %s/%s", t.name, ms(d.percentile(0.5)), ms(d.percentile(0.99))))
	}
	fmt.Printf("stream event delay p50/p99 ms (4 clients, 5 ms gaps): %s\n", strings.Join(parts, ", "))

	// Memory under 100 concurrent streams through cco.
	streamLoad(ccoProc.base, requestBody(0, true), 100, cfg.duration, nil)
	peakRSS, err := rssKiB(ccoProc.cmd.Process.Pid, "VmHWM")
	if err != nil {
		return err
	}
	slices.Sort(readies)
	fmt.Printf("start to /ready: median %s ms, worst %s ms of %d; resident memory idle %.1f MiB, peak with 100 concurrent streams %.1f MiB\n",
		ms(readies[len(readies)/2]), ms(readies[len(readies)-1]), len(readies), float64(idleRSS)/1024, float64(peakRSS)/1024)
	return nil
}

// loads are the measured request kinds: JSON answers with a small and a
// Claude-Code-sized request body, and 1 KB streams whose 20 events the
// upstream sends without pause (so that relaying them is the cost).
var loads = []struct {
	name   string
	size   int
	stream bool
	kind   string
}{
	{"1KB json", 1024, false, "json"},
	{"60KB json", 60 * 1024, false, "json"},
	{"1KB stream", 1024, true, "stream-fast"},
}

type row struct {
	load    string
	clients int
	res     map[string]loadResult
}

// target is one thing measured; pid, when set, is its process, whose CPU
// time (with its children's, for nginx's workers) is counted per request.
type target struct {
	name, base string
	pid        int
	// servers are the database servers it uses (PostgreSQL, Redis), whose
	// CPU time in its rounds is kept apart (loadResult.serverCPU).
	servers []int
}

// benchScenario picks the fake's answer from the x-bench header.
func benchScenario(r *fakeapi.Request) fakeapi.Scenario {
	switch r.Header.Get("X-Bench") {
	case "stream":
		return fakeapi.Scenario{Deltas: 20, EventGap: 5 * time.Millisecond, Text: strings.Repeat("word ", 40)}
	case "stream-fast":
		return fakeapi.Scenario{Deltas: 20, Text: strings.Repeat("word ", 40)}
	case "stream-long":
		return fakeapi.Scenario{Deltas: 40, EventGap: 25 * time.Millisecond, Text: strings.Repeat("word ", 40)}
	}
	return fakeapi.Scenario{}
}

// requestBody is a Messages request with a user message padded to size.
func requestBody(size int, stream bool) []byte {
	pad := strings.Repeat("a", max(size-100, 1))
	return fmt.Appendf(nil, `{"model":"claude-haiku-4-5","max_tokens":256,"stream":%t,"messages":[{"role":"user","content":"%s"}]}`, stream, pad)
}

type loadResult struct {
	requests  int
	cpu       time.Duration // the target's CPU time over all rounds (0: not measured)
	serverCPU time.Duration // its database servers' CPU time over all rounds
	counted   int           // requests over all rounds
	failures  int           // errors and non-200 answers
	cut       int           // streams that ended before message_stop
	elapsed   time.Duration
	latencies []time.Duration // per request, or per event for streams
}

func (r loadResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// cpuPerRequest is the target's CPU time per request, in microseconds.
func (r loadResult) cpuPerRequest() float64 {
	if r.counted == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.counted)
}

// serversCPU is cpuTime summed over pids.
func serversCPU(pids []int) time.Duration {
	var d time.Duration
	for _, p := range pids {
		d += cpuTime(p)
	}
	return d
}

// cpuTime is the CPU time (user and system) that process pid and its
// children (nginx's workers) have used so far; 0 for pid 0 or where /proc
// cannot tell.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	ticks := func(stat string) (ppid int, t int64) {
		// The command name, in parentheses, may hold spaces: fields count from after it.
		f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
		if len(f) < 13 {
			return 0, 0
		}
		ppid, _ = strconv.Atoi(f[1])
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		return ppid, u + s
	}
	var total int64
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if ppid, t := ticks(string(b)); n == pid || ppid == pid {
			total += t
		}
	}
	return time.Duration(total) * time.Second / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's times.
const clockTicks = 100

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// measureRounds runs f for every target, round after round, and keeps for
// each target the round with the median throughput, with the latencies,
// failures and cut streams of every round.
func measureRounds(cfg config, targets []target, f func(target) loadResult) map[string]loadResult {
	all := map[string][]loadResult{}
	for range cfg.rounds {
		for _, t := range targets {
			before, sbefore := cpuTime(t.pid), serversCPU(t.servers)
			r := f(t)
			r.cpu = cpuTime(t.pid) - before
			r.serverCPU = serversCPU(t.servers) - sbefore
			all[t.name] = append(all[t.name], r)
		}
	}
	out := map[string]loadResult{}
	for name, rs := range all {
		var lat []time.Duration
		failures, cut, counted := 0, 0, 0
		var cpu, serverCPU time.Duration
		for _, r := range rs {
			serverCPU += r.serverCPU
			lat = append(lat, r.latencies...)
			failures += r.failures
			cut += r.cut
			cpu += r.cpu
			counted += r.requests
		}
		slices.SortFunc(rs, func(a, b loadResult) int { return int(a.rps()*1000 - b.rps()*1000) })
		med := rs[len(rs)/2]
		med.latencies, med.failures, med.cut, med.cpu, med.counted, med.serverCPU = lat, failures, cut, cpu, counted, serverCPU
		out[name] = med
	}
	return out
}

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}}
}

// closedLoop keeps n clients busy with requests for d and records each
// request's latency. A stream counts as done only when it reaches
// message_stop; one that ends before is cut.
func closedLoop(base string, body []byte, kind string, n int, d time.Duration) loadResult {
	client := newClient(n)
	defer client.CloseIdleConnections()
	stream := strings.HasPrefix(kind, "stream")
	var mu sync.Mutex
	res := loadResult{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var lat []time.Duration
			failures, cut := 0, 0
			for ctx.Err() == nil {
				t0 := time.Now()
				req, _ := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Bench", kind)
				req.Header.Set("X-Api-Key", "sk-ant-bench")
				resp, err := client.Do(req)
				if err != nil {
					failures++
					continue
				}
				complete := true
				if stream {
					_, complete = readEvents(resp.Body)
				} else {
					_, err = io.Copy(io.Discard, resp.Body)
				}
				resp.Body.Close()
				switch {
				case err != nil || resp.StatusCode != 200:
					failures++
					continue
				case !complete:
					cut++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.failures += failures
			res.cut += cut
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.latencies)
	return res
}

// flushLog records when the upstream flushed each event of each stream.
type flushLog struct {
	mu   sync.Mutex
	sent map[string][]time.Time
}

func (f *flushLog) record(requestID string, event int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sent[requestID]
	for len(s) <= event {
		s = append(s, time.Time{})
	}
	s[event] = at
	f.sent[requestID] = s
}

func (f *flushLog) get(requestID string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[requestID]
}

func (f *flushLog) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = map[string][]time.Time{}
}

// streamLoad runs n clients of streaming requests for d. With flushes, it
// records for every event the delay between the upstream's flush and its
// arrival here.
func streamLoad(base string, body []byte, n int, d time.Duration, flushes *flushLog) loadResult {
	kind := "stream"
	if flushes == nil {
		kind = "stream-long"
	}
	client := newClient(n)
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	res := loadResult{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Bench", kind)
				req.Header.Set("X-Api-Key", "sk-ant-bench")
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					res.failures++
					mu.Unlock()
					continue
				}
				arrivals, complete := readEvents(resp.Body)
				resp.Body.Close()
				var lat []time.Duration
				if flushes != nil {
					sent := flushes.get(resp.Header.Get("Request-Id"))
					for i, at := range arrivals {
						if i < len(sent) && !sent[i].IsZero() {
							lat = append(lat, at.Sub(sent[i]))
						}
					}
				}
				mu.Lock()
				if complete {
					res.requests++
				} else {
					res.failures++
				}
				res.latencies = append(res.latencies, lat...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// readEvents reads an SSE body and returns the arrival time of each event,
// and whether the stream reached message_stop.
func readEvents(r io.Reader) ([]time.Time, bool) {
	br := bufio.NewReaderSize(r, 64*1024)
	var arrivals []time.Time
	complete := false
	for {
		line, err := br.ReadSlice('\n')
		if len(line) == 1 && line[0] == '\n' {
			arrivals = append(arrivals, time.Now())
		}
		if bytes.HasPrefix(line, []byte("event: message_stop")) {
			complete = true
		}
		if err != nil {
			return arrivals, complete
		}
	}
}

// report prints one line per load, clients and target: throughput and its
// ratio to the bare proxy and to nginx, latency and the latency added over
// a direct request (and its ratio to nginx's), failures and cut streams.
func report(w io.Writer, names []string, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Microseconds())/1000) }
	ratio := func(a, b float64) string {
		if !(b > 0) { // no such target, or nothing measured
			return "-"
		}
		return fmt.Sprintf("%.2f", a/b)
	}
	fmt.Fprintln(tw, "load\tclients\ttarget\treq/s\t/bare\t/nginx\tcpu us/req\t/bare\tp50 ms\t+p50 ms\t+p50/nginx\tp99 ms\tfailed\tcut\t")
	for _, r := range rows {
		direct, bare, ngx := r.res["direct"], r.res["bare"], r.res["nginx"]
		added := func(l loadResult) time.Duration { return l.percentile(0.5) - direct.percentile(0.5) }
		for _, name := range names {
			l := r.res[name]
			rb, rn, an := "", "", ""
			if name != "direct" && name != "bare" {
				rb = ratio(l.rps(), bare.rps())
			}
			if name != "direct" && name != "nginx" {
				rn = ratio(l.rps(), ngx.rps())
				if ngx.requests > 0 && name != "bare" {
					an = ratio(float64(added(l)), float64(max(added(ngx), time.Microsecond)))
				}
			}
			plus, cpu, cb := "", "", ""
			if name != "direct" {
				plus = ms(added(l))
				cpu = fmt.Sprintf("%.1f", l.cpuPerRequest())
				if name != "bare" {
					cb = ratio(l.cpuPerRequest(), bare.cpuPerRequest())
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n",
				r.load, r.clients, name, l.rps(), rb, rn, cpu, cb, ms(l.percentile(0.5)), plus, an, ms(l.percentile(0.99)), l.failures, l.cut)
		}
	}
	tw.Flush()
}

// reportTeam gives the team targets' throughput and CPU per request as
// ratios to cco's single-user defaults: team and team+limits to cco (the
// cache off in both), team+cache to +cache. "cco cpu" is cco's process
// alone; "+servers" adds PostgreSQL's and Redis's CPU in the same rounds
// (SQLite's work is in cco's own process), which on a machine that runs
// them beside cco comes out of the same cores.
func reportTeam(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "load\tclients\ttarget\tagainst\treq/s ratio\tcco cpu/req ratio\t+servers cpu/req ratio\tservers us/req\tfailed\t")
	for _, r := range rows {
		for _, p := range [][2]string{{"team", "cco"}, {"team+limits", "cco"}, {"team+cache", "+cache"}} {
			a, b := r.res[p[0]], r.res[p[1]]
			if b.rps() == 0 {
				continue
			}
			srv := float64(a.serverCPU.Microseconds()) / float64(max(a.counted, 1))
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.1f\t%d\t\n", r.load, r.clients, p[0], p[1],
				a.rps()/b.rps(), a.cpuPerRequest()/b.cpuPerRequest(), (a.cpuPerRequest()+srv)/b.cpuPerRequest(), srv, a.failures)
		}
	}
	tw.Flush()
}

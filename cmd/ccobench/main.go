// Command ccobench measures cco against a bare httputil.ReverseProxy in
// one run, on this machine, and prints ratios. It is a development tool,
// not shipped: `task bench` builds cco and runs it.
//
// It starts the fake Anthropic upstream (in this process), a bare
// ReverseProxy (a child process: `ccobench baseline`) and `cco run` (a child
// process), drives the same load through each, and reports:
//
//   - throughput for small and 60 KB request bodies, and the ratio cco/bare;
//   - latency added over a direct request at p50 and p99, and the ratio of
//     cco's added latency to the bare proxy's;
//   - for streams, the delay from the upstream's flush of an event to its
//     arrival at the client (p50, p99);
//   - time from starting `cco run` to its first successful /ready;
//   - cco's resident memory idle and at its peak under 100 concurrent streams.
//
// Rounds alternate between the targets so that drift on a shared machine
// hits each of them alike; each figure is the median over rounds.
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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/visiquate/cco/pkg/ccotest"
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
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "concurrent clients for the throughput runs")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ccobench:", err)
		os.Exit(1)
	}
}

type config struct {
	cco         string
	duration    time.Duration
	rounds      int
	concurrency int
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
	cmd.Stderr = os.Stderr
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

func ccoCommand(cfg config, home, upstream string, env ...string) *exec.Cmd {
	cmd := exec.Command(cfg.cco, "run", "--port", "0", "--upstream", upstream, "--no-browser", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "XDG_CACHE_HOME=", "ANTHROPIC_API_KEY=", "CCO_NO_UPDATE_CHECK=1")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func run(cfg config) error {
	if _, err := os.Stat(cfg.cco); err != nil {
		return fmt.Errorf("cco binary: %w (build it with `task build`)", err)
	}
	flushes := &flushLog{sent: map[string][]time.Time{}}
	up, err := ccotest.Start(ccotest.Options{NoRecord: true, OnFlush: flushes.record, Scenario: benchScenario})
	if err != nil {
		return err
	}
	defer up.Close()

	home, err := os.MkdirTemp("", "ccobench-home-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)

	// Start-up: time from exec to the first successful /ready, fresh each time.
	var readies []time.Duration
	for range 7 {
		p, ready, err := startProcess(ccoCommand(cfg, home, up.URL), true)
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
	bare, _, err := startProcess(exec.Command(self, "baseline", up.URL), false)
	if err != nil {
		return err
	}
	defer bare.stop()
	// The proxy comparison sends the same request over and over: with the
	// response cache on, cco would answer from it.
	cco, _, err := startProcess(ccoCommand(cfg, home, up.URL, "CCO_CACHE_ENABLED=false"), true)
	if err != nil {
		return err
	}
	defer cco.stop()
	time.Sleep(time.Second)
	idleRSS, err := rssKiB(cco.cmd.Process.Pid, "VmRSS")
	if err != nil {
		return err
	}

	targets := []target{{"direct", up.URL}, {"bare", bare.base}, {"cco", cco.base}}
	fmt.Printf("ccobench: %d rounds of %s, %d clients; upstream %s; %s\n\n", cfg.rounds, cfg.duration, cfg.concurrency, up.URL, cfg.cco)

	small := requestBody(0, false)
	large := requestBody(60*1024, false)
	results := map[string]map[string]loadResult{}
	for _, load := range []struct {
		name string
		body []byte
	}{{"small", small}, {"60KB", large}} {
		results[load.name] = measureRounds(cfg, targets, func(t target) loadResult {
			return closedLoop(t.base, load.body, "json", cfg.concurrency, cfg.duration)
		})
	}
	streamBody := requestBody(0, true)
	streams := measureRounds(cfg, targets, func(t target) loadResult {
		flushes.reset()
		return streamLoad(t.base, streamBody, 4, cfg.duration, flushes)
	})

	// Cache hits: a second cco, cache on, warmed with one request, against
	// the fake upstream answering directly (which does no work to speak of).
	cachedHome, err := os.MkdirTemp("", "ccobench-cached-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cachedHome)
	cached, _, err := startProcess(ccoCommand(cfg, cachedHome, up.URL), true)
	if err != nil {
		return err
	}
	defer cached.stop()
	hits := map[string]map[string]loadResult{}
	for _, kind := range []struct {
		name string
		body []byte
	}{{"json", small}, {"stream", requestBody(0, true)}} {
		closedLoop(cached.base, kind.body, "plain", 1, 100*time.Millisecond) // stores the answer
		hits[kind.name] = measureRounds(cfg, []target{{"direct", up.URL}, {"cco-hit", cached.base}}, func(t target) loadResult {
			return closedLoop(t.base, kind.body, "plain", cfg.concurrency, cfg.duration)
		})
	}

	// Memory under 100 concurrent streams through cco.
	flushes.reset()
	streamLoad(cco.base, requestBody(0, true), 100, cfg.duration, nil)
	peakRSS, err := rssKiB(cco.cmd.Process.Pid, "VmHWM")
	if err != nil {
		return err
	}

	report(os.Stdout, results, streams, readies, idleRSS, peakRSS)
	reportHits(os.Stdout, hits)
	return nil
}

func reportHits(w io.Writer, hits map[string]map[string]loadResult) {
	fmt.Fprintln(w)
	for _, kind := range []string{"json", "stream"} {
		d, c := hits[kind]["direct"], hits[kind]["cco-hit"]
		ratio := float64(c.percentile(0.5)) / float64(d.percentile(0.5))
		verdict := "ok"
		if ratio >= 1 {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "cache hit %-6s p50 %.3f ms vs upstream directly %.3f ms: ratio %.2f (target < 1) %s; %.0f vs %.0f req/s\n",
			kind, float64(c.percentile(0.5).Microseconds())/1000, float64(d.percentile(0.5).Microseconds())/1000, ratio, verdict, c.rps(), d.rps())
	}
}

type target struct{ name, base string }

// benchScenario picks the fake's answer from the x-bench header.
func benchScenario(r *ccotest.Request) ccotest.Scenario {
	switch r.Header.Get("X-Bench") {
	case "stream":
		return ccotest.Scenario{Deltas: 20, EventGap: 5 * time.Millisecond, Text: strings.Repeat("word ", 40)}
	case "stream-long":
		return ccotest.Scenario{Deltas: 40, EventGap: 25 * time.Millisecond, Text: strings.Repeat("word ", 40)}
	}
	return ccotest.Scenario{}
}

// requestBody is a Messages request with a user message padded to size.
func requestBody(size int, stream bool) []byte {
	pad := strings.Repeat("a", max(size-200, 1))
	return fmt.Appendf(nil, `{"model":"claude-haiku-4-5","max_tokens":256,"stream":%t,"messages":[{"role":"user","content":"%s"}]}`, stream, pad)
}

type loadResult struct {
	requests  int
	failures  int
	elapsed   time.Duration
	latencies []time.Duration // per request, or per event for streams
}

func (r loadResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// measureRounds runs f for every target, round after round, and keeps for
// each target the round with the median throughput.
func measureRounds(cfg config, targets []target, f func(target) loadResult) map[string]loadResult {
	all := map[string][]loadResult{}
	for range cfg.rounds {
		for _, t := range targets {
			all[t.name] = append(all[t.name], f(t))
		}
	}
	out := map[string]loadResult{}
	for name, rs := range all {
		slices.SortFunc(rs, func(a, b loadResult) int { return int(a.rps()*1000 - b.rps()*1000) })
		med := rs[len(rs)/2]
		// Latency percentiles over all rounds are steadier than one round's.
		var lat []time.Duration
		for _, r := range rs {
			lat = append(lat, r.latencies...)
		}
		med.latencies = lat
		out[name] = med
	}
	return out
}

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}}
}

// closedLoop keeps n clients busy with requests for d and records each
// request's latency.
func closedLoop(base string, body []byte, kind string, n int, d time.Duration) loadResult {
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
			var lat []time.Duration
			failures := 0
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
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					failures++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.failures += failures
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

func report(w io.Writer, loads map[string]map[string]loadResult, streams map[string]loadResult, readies []time.Duration, idleKiB, peakKiB int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintln(tw, "load\ttarget\treq/s\tp50\tp99\tfailures\t")
	for _, name := range []string{"small", "60KB"} {
		for _, t := range []string{"direct", "bare", "cco"} {
			r := loads[name][t]
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%d\t\n", name, t, r.rps(), ms(r.percentile(0.5)), ms(r.percentile(0.99)), r.failures)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	check := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	for _, name := range []string{"small", "60KB"} {
		l := loads[name]
		thr := l["cco"].rps() / l["bare"].rps()
		fmt.Fprintf(w, "%-5s throughput cco/bare            %5.2f  (target >= 0.80) %s\n", name, thr, check(thr >= 0.8))
		for _, p := range []float64{0.5, 0.99} {
			addCCO := l["cco"].percentile(p) - l["direct"].percentile(p)
			addBare := l["bare"].percentile(p) - l["direct"].percentile(p)
			ratio := float64(addCCO) / float64(max(addBare, time.Microsecond))
			fmt.Fprintf(w, "%-5s added latency p%-2.0f cco/bare       %5.2f  (cco +%s, bare +%s; target <= 1.50) %s\n",
				name, p*100, ratio, ms(addCCO), ms(addBare), check(ratio <= 1.5))
		}
	}
	fmt.Fprintln(w)
	for _, t := range []string{"direct", "bare", "cco"} {
		s := streams[t]
		fmt.Fprintf(w, "stream event delay %-6s p50 %s  p99 %s  (%d events, %d streams, %d failed)\n",
			t, ms(s.percentile(0.5)), ms(s.percentile(0.99)), len(s.latencies), s.requests, s.failures)
	}
	p99 := streams["cco"].percentile(0.99)
	fmt.Fprintf(w, "stream event delay through cco p99 %s (target <= 1 ms) %s\n\n", ms(p99), check(p99 <= time.Millisecond))
	slices.Sort(readies)
	med, worst := readies[len(readies)/2], readies[len(readies)-1]
	fmt.Fprintf(w, "start to /ready: median %s, worst %s of %d (target <= 100 ms) %s\n", ms(med), ms(worst), len(readies), check(worst <= 100*time.Millisecond))
	fmt.Fprintf(w, "resident memory: idle %.1f MiB (target <= 20) %s; peak with 100 concurrent streams %.1f MiB (target <= 64) %s\n",
		float64(idleKiB)/1024, check(idleKiB <= 20*1024), float64(peakKiB)/1024, check(peakKiB <= 64*1024))
}

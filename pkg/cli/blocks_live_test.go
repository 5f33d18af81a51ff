package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/golden"
)

// liveZone and liveNow are the golden view's clock: 15 January 2026,
// 17:03:05 in UTC+1, two hours and three minutes into the block that
// started at 14:00 UTC.
var (
	liveZone = time.FixedZone("UTC+1", 3600)
	liveNow  = time.Date(2026, 1, 15, 17, 3, 5, 0, liveZone)
)

// liveReport is /api/stats/blocks as the view reads it, made 30 s before
// liveNow: an older block and the active one, whose first request was at
// 14:10 UTC, burning 9,000 tokens and $0.021 a minute over the last ten.
func liveReport() *control.Blocks {
	f := func(h, m int) string {
		return time.Date(2026, 1, 15, h, m, 0, 0, time.UTC).In(liveZone).Format(time.RFC3339)
	}
	return &control.Blocks{Blocks: []control.Block{
		{Start: f(6, 0), End: f(11, 0), First: f(6, 5), Last: f(9, 0), Models: []string{"claude-haiku-4-5-20251001"},
			Totals: control.Totals{Requests: 3, CostNanoUSD: 4_000_000}, Tokens: 9_000},
		{Start: f(14, 0), End: f(19, 0), First: f(14, 10), Last: f(16, 0), Active: true,
			Models: []string{"claude-opus-4-1-20250805", "claude-sonnet-4-5-20250929"},
			Totals: control.Totals{Requests: 41, Errors: 2, CacheHits: 5, InputTokens: 52_300, OutputTokens: 18_450,
				CacheWrite5mTokens: 30_000, CacheWrite1hTokens: 4_096, CacheReadTokens: 1_250_000, CostNanoUSD: 3_218_400_000,
				CacheSavingsNanoUSD: 412_000_000, PromptCacheSavingsNanoUSD: 3_375_000_000},
			Tokens:         52_300 + 18_450 + 30_000 + 4_096 + 1_250_000,
			ElapsedMinutes: 122.5 + 5/60.0, RemainingMinutes: 177.5 - 5/60.0, BurnTokensPerMinute: 9000, BurnUSDPerMinute: 0.021},
	}}
}

// liveRequest is a finished request as /api/events carries it.
func liveRequest(at time.Time, model string, in, out int64, costNano int64) control.Request {
	return control.Request{Time: at.UTC(), Model: model, Path: "/v1/messages", Status: 200, InputTokens: in, OutputTokens: out,
		CostNanoUSD: costNano, CostUSD: float64(costNano) / 1e9, CostKnown: true}
}

// The view at 80 and 40 columns (the box and the compact lines), with one
// request the report does not have yet, without an active block, and with
// the instance gone; and the plain lines.
func TestLiveRenderGolden(t *testing.T) {
	pending := []liveEvent{{req: liveRequest(liveNow.Add(-time.Minute), "claude-haiku-4-5-20251001", 1000, 200, 2_000_000)}}
	active := liveViewOf(liveReport(), pending, liveNow, liveZone)
	active.Where = "127.0.0.1:3000"
	b := active.Block
	if b == nil || b.Requests != 42 || b.Tokens != 1_356_046 || b.CostNanoUSD != 3_220_400_000 || len(b.Models) != 3 {
		t.Fatalf("the active block with the event added: %+v", b)
	}
	idle := liveViewOf(liveReport(), nil, liveNow.Add(3*time.Hour), liveZone)
	idle.Where = "127.0.0.1:3000"
	if idle.Block != nil || !idle.LastEnd.Equal(time.Date(2026, 1, 15, 19, 0, 0, 0, time.UTC)) {
		t.Fatalf("after the block's end: %+v", idle)
	}
	stopped := active
	stopped.Status = liveStopped

	for _, c := range []struct {
		name          string
		v             liveView
		width, height int
	}{
		{"active-80", active, 80, 30},
		{"active-40", active, 40, 30},
		{"active-80x12", active, 80, 12}, // too short for the box: compact
		{"idle-80", idle, 80, 30},
		{"idle-40", idle, 40, 30},
		{"stopped-80", stopped, 80, 30},
		{"stopped-40", stopped, 40, 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := renderLive(c.v, c.width, c.height)
			if len(lines) > c.height {
				t.Errorf("%d lines for a height of %d", len(lines), c.height)
			}
			for _, l := range lines {
				if n := runes(l); n > c.width {
					t.Errorf("%d columns for a width of %d: %q", n, c.width, l)
				}
				if strings.Contains(l, "\x1b") {
					t.Errorf("an escape sequence in %q", l)
				}
			}
			golden.Check(t, filepath.Join("testdata", "live", c.name+".golden"), []byte(strings.Join(lines, "\n")+"\n"))
		})
	}
	if lines := renderLive(active, 240, 30); runes(lines[0]) != liveMaxWidth {
		t.Errorf("at 240 columns the box is %d wide, want %d", runes(lines[0]), liveMaxWidth)
	}
	plain := strings.Join([]string{plainLine(active), plainLine(idle), plainLine(stopped)}, "\n") + "\n"
	golden.Check(t, filepath.Join("testdata", "live", "plain.golden"), []byte(plain))
}

// The figures that depend on time are worked out at each moment: a
// minute later the block has a minute less left; the burn rate is the
// report's over the last ten minutes with the events since added, or,
// when the block's first request is more recent, the block's own.
func TestLiveViewTime(t *testing.T) {
	v := liveViewOf(liveReport(), nil, liveNow, liveZone).Block
	later := liveViewOf(liveReport(), nil, liveNow.Add(time.Minute), liveZone).Block
	if v.Left-later.Left != time.Minute || later.Elapsed-v.Elapsed != time.Minute {
		t.Errorf("left %v then %v, elapsed %v then %v", v.Left, later.Left, v.Elapsed, later.Elapsed)
	}
	if v.TokensPerMinute != 9000 || math.Abs(v.USDPerHour-1.26) > 1e-9 ||
		v.ProjectedCostNano != v.CostNanoUSD+int64(21_000_000*v.Left.Minutes()) {
		t.Errorf("the report's rate: %v tokens a minute, $%v an hour, projected %d", v.TokensPerMinute, v.USDPerHour, v.ProjectedCostNano)
	}
	pending := []liveEvent{{req: liveRequest(liveNow.Add(-time.Minute), "m", 1000, 200, 2_000_000)}}
	if v := liveViewOf(liveReport(), pending, liveNow, liveZone).Block; v.TokensPerMinute != 9120 || math.Abs(v.USDPerHour-1.272) > 1e-9 {
		t.Errorf("with an event: %v tokens a minute, $%v an hour", v.TokensPerMinute, v.USDPerHour)
	}
	recent := liveReport()
	b := &recent.Blocks[1]
	b.First = liveNow.Add(-4 * time.Minute).Format(time.RFC3339)
	if v := liveViewOf(recent, nil, liveNow, liveZone).Block; v.TokensPerMinute != float64(b.Tokens)/4 ||
		v.ProjectedCostNano != b.CostNanoUSD+int64(float64(b.CostNanoUSD)/4*v.Left.Minutes()) {
		t.Errorf("first request 4 minutes ago: %v tokens a minute, projected %d", v.TokensPerMinute, v.ProjectedCostNano)
	}

	// With no block yet, an event starts one at its UTC hour; one at or
	// after the active block's end starts the next.
	first := liveNow.Add(-20 * time.Minute)
	nv := liveViewOf(&control.Blocks{}, []liveEvent{{req: liveRequest(first, "m", 10, 1, 5)}}, liveNow, liveZone)
	if b := nv.Block; b == nil || !b.Start.Equal(first.UTC().Truncate(time.Hour)) || b.Requests != 1 || !b.First.Equal(first) {
		t.Errorf("the first request's block: %+v", nv.Block)
	}
	after := time.Date(2026, 1, 15, 19, 30, 0, 0, time.UTC)
	nv = liveViewOf(liveReport(), []liveEvent{{req: liveRequest(after, "m", 10, 1, 5)}}, after.Add(time.Minute), liveZone)
	if b := nv.Block; b == nil || !b.Start.Equal(time.Date(2026, 1, 15, 19, 0, 0, 0, time.UTC)) || b.Requests != 1 || b.Tokens != 11 {
		t.Errorf("a request after the block's end: %+v", nv.Block)
	}
}

// fakeInstance serves /api/stats/blocks and /api/events as a running cco
// does: Publish finishes a request (its event at once, its row in the
// report a little later, as the store commits it).
type fakeInstance struct {
	*httptest.Server
	mu      sync.Mutex
	report  control.Blocks
	subs    []chan control.Request
	fetches int // reports served
}

func newFakeInstance(t *testing.T) *fakeInstance {
	f := &fakeInstance{report: *liveReport()}
	mux := http.NewServeMux()
	mux.HandleFunc(control.BlocksPath, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.fetches++
		json.NewEncoder(w).Encode(f.report) //nolint:errcheck
	})
	mux.HandleFunc(control.EventsPath, func(w http.ResponseWriter, r *http.Request) {
		c := make(chan control.Request, 8)
		f.mu.Lock()
		f.subs = append(f.subs, c)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 5000\n: connected\n\n")
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case req, ok := <-c:
				if !ok {
					return
				}
				data, _ := json.Marshal(req)
				fmt.Fprintf(w, "event: request\ndata: %s\n\n", data)
				w.(http.Flusher).Flush()
			}
		}
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// publish sends req's event and, after a pause, adds it to the report's
// last block.
func (f *fakeInstance) publish(req control.Request) {
	f.mu.Lock()
	for _, c := range f.subs {
		c <- req
	}
	f.mu.Unlock()
	time.AfterFunc(300*time.Millisecond, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		b := &f.report.Blocks[len(f.report.Blocks)-1]
		b.Requests++
		b.InputTokens += req.InputTokens
		b.OutputTokens += req.OutputTokens
		b.Tokens += req.InputTokens + req.OutputTokens
		b.CostNanoUSD += req.CostNanoUSD
	})
}

// served is how many reports were served.
func (f *fakeInstance) served() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

// subscribers is how many streams are open.
func (f *fakeInstance) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// syncBuffer is a bytes.Buffer the loop writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until cond holds, failing after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
	}
}

func newTestLoop(f *fakeInstance, out *syncBuffer) *liveLoop {
	return &liveLoop{
		find:   func() (string, error) { return f.URL, nil },
		http:   f.Client(),
		stream: f.Client(),
		now:    func() time.Time { return liveNow },
		loc:    liveZone,
		out:    out,
		base:   f.URL,
		report: liveReport(),
	}
}

// Not on a terminal: a plain line at the start and one as soon as a
// request's event arrives, none when the report that follows has the same
// figures (the event is not counted twice), no escape sequences, and the
// end of the context (a signal) is a normal end.
func TestLivePlainLines(t *testing.T) {
	f := newFakeInstance(t)
	var out syncBuffer
	l := newTestLoop(f, &out)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // before the server closes, which waits for the stream
	done := make(chan error, 1)
	go func() { done <- l.run(ctx) }()
	waitFor(t, "stream", func() bool { return f.subscribers() == 1 })
	waitFor(t, "first line", func() bool { return strings.Contains(out.String(), ": 41 requests,") })
	f.publish(liveRequest(liveNow, "claude-haiku-4-5-20251001", 1000, 200, 2_000_000))
	waitFor(t, "line with the request", func() bool { return strings.Contains(out.String(), ": 42 requests,") })
	// The report asked for after the event has its row; the loop takes it
	// at once (the pause only lets it, it is no deadline).
	n := f.served()
	waitFor(t, "report after the event", func() bool { return f.served() > n })
	time.Sleep(200 * time.Millisecond)
	if got := out.String(); strings.Count(got, "\n") != 2 {
		t.Fatalf("a line for the report that has the request's row:\n%s", got)
	}
	f.publish(liveRequest(liveNow, "claude-haiku-4-5-20251001", 1000, 200, 2_000_000))
	waitFor(t, "line with the second request", func() bool { return strings.Contains(out.String(), ": 43 requests,") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	got := out.String()
	if strings.Contains(got, "\x1b") {
		t.Errorf("escape sequences in plain output:\n%q", got)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], ": 41 requests,") || !strings.Contains(lines[1], ": 42 requests,") ||
		!strings.Contains(lines[2], ": 43 requests,") {
		t.Errorf("want a line each for 41, 42 and 43 requests, got:\n%s", got)
	}
}

// On a terminal: frames drawn in place, a request shown as soon as its
// event arrives, the instance stopping shown and followed again when it
// is back, and q or Ctrl-C (byte 3 in raw mode) ending the view.
func TestLiveTerminalLoop(t *testing.T) {
	for _, key := range []byte{'q', 3} {
		t.Run(fmt.Sprintf("key %d", key), func(t *testing.T) {
			f := newFakeInstance(t)
			var out syncBuffer
			l := newTestLoop(f, &out)
			keys := make(chan byte, 1)
			l.tty, l.keys = true, keys
			l.size = func() (int, int) { return 80, 24 }
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel) // before the server closes, which waits for the stream
			done := make(chan error, 1)
			go func() { done <- l.run(ctx) }()
			waitFor(t, "stream", func() bool { return f.subscribers() == 1 })
			waitFor(t, "first frame", func() bool { return strings.Contains(out.String(), "│ Requests   41 · 2 errors") })
			if !strings.HasPrefix(out.String(), "\x1b[H┌─ cco · active 5-hour block") {
				t.Errorf("the frame does not start at the top left: %q", out.String()[:min(len(out.String()), 60)])
			}
			f.publish(liveRequest(liveNow, "claude-haiku-4-5-20251001", 1000, 200, 2_000_000))
			waitFor(t, "frame with the request", func() bool { return strings.Contains(out.String(), "│ Requests   42 · 2 errors") })
			if key == 'q' {
				f.CloseClientConnections()
				waitFor(t, "stopped status", func() bool { return strings.Contains(out.String(), "! "+liveStopped) })
				waitFor(t, "stream again", func() bool { return f.subscribers() == 2 })
				waitFor(t, "live again", func() bool {
					s := out.String()
					return strings.LastIndex(s, "live · ") > strings.LastIndex(s, "! "+liveStopped)
				})
			}
			keys <- 'x'
			select {
			case err := <-done:
				t.Fatalf("x ended the view: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
			keys <- key
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the key did not end the view")
			}
		})
	}
}

// --live takes no range nor --json; with no instance it says how to start
// one and exits 3, as other commands that need one do.
func TestLiveFlags(t *testing.T) {
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		sys := &System{Stdout: &stdout, Stderr: &stderr, Home: t.TempDir(), GOOS: "linux",
			LookupEnv: func(string) (string, bool) { return "", false }, Environ: func() []string { return nil },
			Now: func() time.Time { return liveNow }, Location: liveZone}
		code := Run(context.Background(), testInfo, sys, append([]string{"stats", "blocks", "--live"}, args...))
		return code, stderr.String()
	}
	for _, args := range [][]string{{"--since", "2026-01-01"}, {"--json"}, {"extra"}} {
		if code, errOut := run(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
	}
	code, errOut := run()
	if code != exitNotRunning || !strings.Contains(errOut, "no cco instance is running; the live view needs one: start it with `cco run`") {
		t.Errorf("no instance: exit %d: %s", code, errOut)
	}
}

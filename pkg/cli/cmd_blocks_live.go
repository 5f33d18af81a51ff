package cli

// `cco stats blocks --live`: the active 5-hour block, redrawn every second.
//
// The figures come from the running instance, never from the database: the
// view starts with /api/stats/blocks and follows /api/events, the stream of
// finished requests the dashboard reads. A request's event arrives before
// its row is committed (the store writes within a second), so the view adds
// the event's tokens and cost to the report at once, then asks for the
// report again liveRefetch later (at most every liveMinGap: the dashboard
// and the status line share the instance's /api/ rate limit), which is
// exact; an event that arrived liveSettle before such a report was asked
// for is in it and is let go. The report is also asked for every
// liveResync, which catches what no event says (another replica's requests
// in a shared database, a stream that fell behind, requests leaving the
// burn rate's window).
//
// What depends on time (elapsed, left, burn rate, projection) is worked out
// at each redraw from the block's start, end and first request and the
// burn window's sums, by liveViewOf and renderLive, which are pure and
// golden-tested. The loop (liveLoop.run) owns the state; goroutines only
// fetch, read the stream and read keys, and hand what they get to it on
// channels.
//
// With no instance the command exits 3 like every command that needs one;
// once running, the view outlives the instance: it says it stopped and
// follows it again when it is back.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/visiquate/cco/pkg/analytics"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/runstate"
	"github.com/visiquate/cco/pkg/store"
)

// Timing of the live view.
const (
	liveRedraw  = time.Second             // the terminal view's refresh
	liveSettle  = 1500 * time.Millisecond // an event's row is committed this long after it (the store: within a second)
	liveRefetch = 2 * time.Second         // the report is asked for again this long after an event
	liveMinGap  = 5 * time.Second         // but not more often than this: the dashboard and the status line share the /api/ rate limit
	liveResync  = 30 * time.Second        // and at least this often (the burn rate's window moves on)
	livePlain   = time.Minute             // not on a terminal: a line at least this often
	liveRetry   = 2 * time.Second         // between attempts to reach a stopped instance (10 s after other errors)
	liveStall   = 45 * time.Second        // a stream silent this long (the instance pings every 15 s) is opened again
)

// liveUsage is --live's help; the command's description says more.
const liveUsage = "follow the active block live on the running instance (q or Ctrl-C quits)"

// liveOptions are `cco stats blocks --live`'s.
type liveOptions struct {
	configPath string
	port       int
	zone       *time.Location // --timezone: the zone times are shown in; nil means the machine's
	compact    bool           // --compact: the narrow layout at any width
}

// liveFlags are the blocks flags that mean something to the live view; a
// range, an order or --json do not.
var liveFlags = []string{"live", "config", "port", "timezone", "compact", "help"}

// blocksLive is `cco stats blocks --live`.
func blocksLive(c *cli.Context, sys *System) error {
	if err := noArgs(c); err != nil {
		return err
	}
	o, err := liveOptionsFrom(c)
	if err != nil {
		return err
	}
	return runBlocksLive(c.Context, sys, o)
}

func liveOptionsFrom(c *cli.Context) (liveOptions, error) {
	for _, f := range c.Command.Flags {
		if name := f.Names()[0]; !slices.Contains(liveFlags, name) && c.IsSet(name) {
			return liveOptions{}, usagef("--live shows the active block: it takes no --%s", name)
		}
	}
	o := liveOptions{configPath: c.String("config"), port: c.Int("port"), compact: c.Bool("compact")}
	if z := c.String("timezone"); z != "" {
		loc, err := time.LoadLocation(z)
		if err != nil {
			return o, usagef("--timezone %q: %v", z, err)
		}
		o.zone = loc
	}
	return o, nil
}

// runBlocksLive finds the instance, reads the report once (so that a
// missing or broken instance is an error before anything is drawn), then
// runs the view on the terminal or as plain lines.
func runBlocksLive(ctx context.Context, sys *System, o liveOptions) error {
	lc, err := loadConfig(sys, o.configPath, nil, false)
	if err != nil {
		return err
	}
	find := func() (string, error) {
		running, _, err := runstate.List(lc.paths.PidDir())
		if err != nil {
			return "", err
		}
		st, err := instanceFlags{port: o.port}.one(running)
		return st.BaseURL(), err
	}
	base, err := find()
	if notRunning(err) {
		return exitStatus{code: exitNotRunning, msg: err.Error() + "; the live view needs one: start it with `cco run`"}
	}
	if err != nil {
		return err
	}
	hc := sys.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	loc := sys.location()
	if o.zone != nil {
		loc = o.zone
	}
	l := &liveLoop{
		find:    find,
		http:    hc,
		stream:  &http.Client{Transport: hc.Transport}, // no timeout: the stream stays open
		now:     sys.Now,
		loc:     loc,
		out:     sys.Stdout,
		compact: o.compact,
		base:    base,
	}
	report, err := l.fetch(ctx, base)
	if err != nil {
		return fmt.Errorf("ask the instance at %s for its blocks: %w", base, err)
	}
	l.report = &report

	ctx, stop := signal.NotifyContext(ctx, quitSignals()...)
	defer stop()
	stdout, _ := sys.Stdout.(*os.File)
	if stdout == nil || !term.IsTerminal(int(stdout.Fd())) || isDumb(sys) {
		return l.run(ctx)
	}
	stdin, _ := sys.Stdin.(*os.File)
	t, err := enterTerminal(stdin, stdout)
	if err != nil {
		return err
	}
	defer t.leave() // on every way out, a panic of the loop's included
	l.tty = true
	l.size = func() (int, int) {
		w, h, err := term.GetSize(int(stdout.Fd()))
		if err != nil || w <= 0 || h <= 0 {
			return 80, 24
		}
		return w, h
	}
	if t.raw != nil {
		keys := make(chan byte, 16)
		l.keys = keys
		go readKeys(stdin, keys)
	}
	resize := make(chan os.Signal, 1)
	if sigs := resizeSignals(); len(sigs) > 0 {
		signal.Notify(resize, sigs...)
		defer signal.Stop(resize)
	}
	l.resize = resize
	return l.run(ctx)
}

// isDumb says the terminal takes no escape sequences (TERM=dumb, as in
// Emacs's shell).
func isDumb(sys *System) bool {
	if sys.LookupEnv == nil {
		return false
	}
	v, _ := sys.LookupEnv("TERM")
	return v == "dumb"
}

// liveTerminal is the terminal while the view is on it: the alternate
// screen, the cursor hidden, stdin raw (so that q needs no Enter; Ctrl-C
// then arrives as byte 3, not as a signal).
type liveTerminal struct {
	out   *os.File
	inFd  int
	raw   *term.State // nil when stdin is not a terminal (keys are not read)
	vt    func()      // puts back the console mode (Windows)
	leave func()
}

func enterTerminal(stdin, stdout *os.File) (*liveTerminal, error) {
	t := &liveTerminal{out: stdout, vt: enableVT(stdout)}
	if stdin != nil && term.IsTerminal(int(stdin.Fd())) {
		st, err := term.MakeRaw(int(stdin.Fd()))
		if err != nil {
			t.vt()
			return nil, fmt.Errorf("put the terminal in raw mode: %w", err)
		}
		t.raw, t.inFd = st, int(stdin.Fd())
	}
	t.leave = sync.OnceFunc(func() {
		io.WriteString(t.out, "\x1b[?25h\x1b[?1049l") //nolint:errcheck // nothing better to do on the way out
		if t.raw != nil {
			term.Restore(t.inFd, t.raw) //nolint:errcheck
		}
		t.vt()
	})
	io.WriteString(stdout, "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J") //nolint:errcheck
	return t, nil
}

// readKeys hands each byte typed to keys until stdin ends.
func readKeys(in io.Reader, keys chan<- byte) {
	buf := make([]byte, 64)
	for {
		n, err := in.Read(buf)
		for _, b := range buf[:n] {
			keys <- b
		}
		if err != nil {
			close(keys)
			return
		}
	}
}

// isQuitKey: q, or Ctrl-C as raw mode delivers it.
func isQuitKey(b byte) bool { return b == 'q' || b == 'Q' || b == 3 }

// liveLoop is the view's state and the loop that keeps it.
type liveLoop struct {
	find   func() (string, error) // the instance's base URL
	http   *http.Client           // for the report
	stream *http.Client           // for /api/events, without a timeout
	now    func() time.Time       // the clock the view shows
	loc    *time.Location
	out    io.Writer

	tty     bool              // draw frames; else print plain lines
	compact bool              // the narrow layout at any width
	size    func() (w, h int) // the terminal's, when tty
	keys    <-chan byte       // typed bytes, when stdin is a terminal
	resize  <-chan os.Signal  // SIGWINCH, where there is one

	base      string
	report    *control.Blocks
	pending   []liveEvent
	status    string // "" while connected; else why not
	lastFrame string
	lastLine  string    // the plain line's figures, to see a change
	lastPrint time.Time // when a plain line was printed
}

// liveEvent is a request the report may not have yet.
type liveEvent struct {
	req     control.Request
	arrived time.Time
}

// Messages to the loop from its goroutines.
type (
	liveUp      struct{ base string } // the stream is open
	liveDown    struct{ why string }  // the instance cannot be reached
	liveFetched struct {
		report  control.Blocks
		started time.Time
		err     error
	}
)

// liveStopped is the status while the instance is not there.
const liveStopped = "instance stopped, retrying…"

func (l *liveLoop) fetch(ctx context.Context, base string) (control.Blocks, error) {
	since := l.now().Add(-analytics.BlockLookback).In(l.loc).Format(time.DateOnly)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return control.Client{HTTP: l.http, BaseURL: base}.Blocks(ctx, since, "")
}

// run keeps the view until ctx ends (a signal), q or Ctrl-C; both are a
// normal end.
func (l *liveLoop) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan any, 64)
	panics := make(chan any, 1)
	// spawn runs f on a goroutine whose panic the loop re-raises, so that
	// the terminal is restored by run's caller on the way out.
	spawn := func(f func()) {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					panics <- r
				}
			}()
			f()
		}()
	}
	spawn(func() { l.follow(ctx, msgs) })

	fetchTimer := time.NewTimer(liveResync)
	defer fetchTimer.Stop()
	var due time.Time // when the next fetch is due (the real clock)
	fetching := false
	var lastFetch time.Time
	schedule := func(at time.Time) {
		if !due.IsZero() && !at.Before(due) {
			return
		}
		due = at
		fetchTimer.Reset(max(time.Until(at), 0))
	}
	schedule(time.Now().Add(liveResync))
	tick := time.NewTicker(liveRedraw)
	defer tick.Stop()

	l.show(true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-panics:
			panic(r)
		case k, ok := <-l.keys:
			if !ok {
				l.keys = nil
				continue
			}
			if isQuitKey(k) {
				return nil
			}
			continue
		case <-l.resize:
			l.lastFrame = ""
		case <-tick.C:
		case <-fetchTimer.C:
			if fetching || l.base == "" {
				due = time.Time{}
				schedule(time.Now().Add(liveRetry))
				continue
			}
			if gap := time.Since(lastFetch); gap < liveMinGap {
				due = time.Time{}
				schedule(time.Now().Add(liveMinGap - gap))
				continue
			}
			fetching, due = true, time.Time{}
			base, started := l.base, time.Now()
			lastFetch = started
			spawn(func() {
				b, err := l.fetch(ctx, base)
				select {
				case msgs <- liveFetched{report: b, started: started, err: err}:
				case <-ctx.Done():
				}
			})
			continue
		case m := <-msgs:
			switch m := m.(type) {
			case liveUp:
				l.base, l.status = m.base, ""
				schedule(time.Now().Add(liveRefetch))
			case liveDown:
				l.status = m.why
			case control.Event:
				switch m.Type {
				case control.EventRequest:
					l.pending = append(l.pending, liveEvent{req: m.Request, arrived: time.Now()})
					schedule(time.Now().Add(liveRefetch))
				case control.EventDropped:
					schedule(time.Now().Add(liveRefetch))
				}
			case liveFetched:
				fetching = false
				if m.err != nil {
					if ctx.Err() != nil {
						return nil
					}
					if l.status == "" {
						l.status = "cannot read the report: " + m.err.Error()
					}
					schedule(time.Now().Add(liveMinGap))
					break
				}
				l.report = &m.report
				l.pending = slices.DeleteFunc(l.pending, func(e liveEvent) bool {
					return e.arrived.Before(m.started.Add(-liveSettle))
				})
				if strings.HasPrefix(l.status, "cannot read the report") {
					l.status = ""
				}
				if len(l.pending) > 0 {
					schedule(time.Now().Add(liveRefetch))
				}
				schedule(time.Now().Add(liveResync))
			}
		}
		l.show(false)
	}
}

// follow keeps /api/events open, finding the instance again (perhaps on
// another port) whenever the stream ends.
func (l *liveLoop) follow(ctx context.Context, msgs chan<- any) {
	send := func(m any) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}
	base := l.base
	for ctx.Err() == nil {
		if base == "" {
			var err error
			if base, err = l.find(); err != nil {
				base = ""
				why := liveStopped
				if !notRunning(err) {
					why = err.Error() + "; retrying…"
				}
				send(liveDown{why})
				sleepCtx(ctx, liveRetry)
				continue
			}
		}
		sctx, cancel := context.WithCancel(ctx)
		stall := time.AfterFunc(liveStall, cancel)
		err := control.Client{HTTP: l.stream, BaseURL: base}.Events(sctx, func(ev control.Event) {
			stall.Reset(liveStall)
			switch ev.Type {
			case control.EventOpen:
				send(liveUp{base})
			case control.EventRequest, control.EventDropped:
				send(ev)
			}
		})
		stall.Stop()
		cancel()
		if ctx.Err() != nil {
			return
		}
		var op *net.OpError
		wait := liveRetry
		switch {
		case err == nil, errors.As(err, &op), errors.Is(err, io.ErrUnexpectedEOF):
			send(liveDown{liveStopped}) // closed, refused or cut: stopped, or stopping
		case errors.Is(err, context.Canceled):
			send(liveDown{"the stream stalled; reconnecting…"})
		default: // such as 429, the live streams all taken
			send(liveDown{err.Error() + "; retrying…"})
			wait = 5 * liveRetry
		}
		base = ""
		sleepCtx(ctx, wait)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// show draws a frame (only when it changed) or prints a plain line (at the
// start, when the figures or the status changed, and every minute).
func (l *liveLoop) show(first bool) {
	now := l.now()
	v := liveViewOf(l.report, l.pending, now, l.loc)
	v.Where, v.Status = strings.TrimPrefix(l.base, "http://"), l.status
	if l.tty {
		w, h := l.size()
		if l.compact {
			w = min(w, liveWide-1)
		}
		frame := "\x1b[H" + strings.Join(renderLive(v, w, h), "\x1b[K\r\n") + "\x1b[K\x1b[J"
		if frame != l.lastFrame {
			io.WriteString(l.out, frame) //nolint:errcheck // a terminal that went away ends with a signal
			l.lastFrame = frame
		}
		return
	}
	key := plainKey(v)
	if first || key != l.lastLine || time.Since(l.lastPrint) >= livePlain {
		fmt.Fprintln(l.out, plainLine(v))
		l.lastLine, l.lastPrint = key, time.Now()
	}
}

// liveView is what the view shows at one moment.
type liveView struct {
	Now     time.Time
	Loc     *time.Location
	Where   string // the instance, 127.0.0.1:3000
	Status  string // "" while connected, else why not
	Block   *liveBlock
	LastEnd time.Time // the last block's end, when none is active
}

// liveBlock is the active block with its figures at Now.
type liveBlock struct {
	Start, End, First time.Time
	control.Totals
	Tokens int64
	Models []string

	Elapsed, Left     time.Duration
	TokensPerMinute   float64
	USDPerHour        float64
	ProjectedCostNano int64
	ProjectedTokens   int64
	ElapsedFraction   float64

	// The tokens and nano-dollars of the burn window (analytics.BurnWindow)
	// when the report was made, worked back from its rates, and the events
	// since; used when the block's first request is older than the window.
	recentTokens, recentCost float64
}

// liveViewOf works out the active block at now from the last report and
// the events it may not have: the report's last block, with each event
// added to it or, at or after its end, starting the next block at the
// event's UTC hour (as store.Blocks does).
func liveViewOf(report *control.Blocks, pending []liveEvent, now time.Time, loc *time.Location) liveView {
	v := liveView{Now: now, Loc: loc}
	var cur *liveBlock
	if report != nil && len(report.Blocks) > 0 {
		b := report.Blocks[len(report.Blocks)-1]
		cur = &liveBlock{Totals: b.Totals, Tokens: b.Tokens, Models: slices.Clone(b.Models)}
		cur.Start, _ = time.Parse(time.RFC3339, b.Start)
		cur.End, _ = time.Parse(time.RFC3339, b.End)
		cur.First, _ = time.Parse(time.RFC3339, b.First)
		if b.Active {
			made := cur.Start.Add(time.Duration(b.ElapsedMinutes * float64(time.Minute)))
			span := burnSpan(cur.First, made)
			cur.recentTokens, cur.recentCost = b.BurnTokensPerMinute*span, b.BurnUSDPerMinute*1e9*span
		}
	}
	events := slices.Clone(pending)
	slices.SortStableFunc(events, func(a, b liveEvent) int { return a.req.Time.Compare(b.req.Time) })
	for _, e := range events {
		r := e.req
		if cur != nil && r.Time.Before(cur.Start) {
			continue // an earlier block's
		}
		if cur == nil || !r.Time.Before(cur.End) {
			start := r.Time.UTC().Truncate(time.Hour)
			cur = &liveBlock{Start: start, End: start.Add(store.BlockLength), First: r.Time, Models: []string{}}
		}
		cur.add(r)
	}
	if cur == nil {
		return v
	}
	if now.Before(cur.Start) || !now.Before(cur.End) {
		v.LastEnd = cur.End
		return v
	}
	b := cur
	b.Elapsed, b.Left = now.Sub(b.Start), b.End.Sub(now)
	b.ElapsedFraction = float64(b.Elapsed) / float64(b.End.Sub(b.Start))
	// The pace of the last analytics.BurnWindow, or since the block's
	// first request when that is more recent, as /api/stats/blocks works it
	// out: with the first request inside the window, the block's totals are
	// the window's; else the report's window and the events since (the
	// report is asked for again every liveResync, as requests leave it).
	span := burnSpan(b.First, now)
	recentTokens, recentCost := float64(b.Tokens), float64(b.CostNanoUSD)
	if now.Sub(b.First) > analytics.BurnWindow {
		recentTokens, recentCost = b.recentTokens, b.recentCost
	}
	left := b.Left.Minutes()
	b.TokensPerMinute = recentTokens / span
	b.USDPerHour = recentCost / 1e9 / span * 60
	b.ProjectedCostNano = b.CostNanoUSD + int64(recentCost/span*left)
	b.ProjectedTokens = b.Tokens + int64(recentTokens/span*left)
	v.Block = b
	return v
}

// burnSpan is the minutes the burn rate at now is over: since the block's
// first request or the window's start, whichever is later, and at least a
// minute (one request a second ago is no rate).
func burnSpan(first, now time.Time) float64 {
	since := now.Add(-analytics.BurnWindow)
	if first.After(since) {
		since = first
	}
	return max(now.Sub(since).Minutes(), 1)
}

// add counts one finished request as the store's sums do.
func (b *liveBlock) add(r control.Request) {
	t := &b.Totals
	t.Requests++
	if r.Status >= 400 || r.ErrorType != "" {
		t.Errors++
	}
	if r.CacheHit {
		t.CacheHits++
	}
	if !r.CostKnown {
		t.UnknownCost++
	}
	t.InputTokens += r.InputTokens
	t.OutputTokens += r.OutputTokens
	t.CacheWrite5mTokens += r.CacheWrite5mTokens
	t.CacheWrite1hTokens += r.CacheWrite1hTokens
	t.CacheReadTokens += r.CacheReadTokens
	t.CostNanoUSD += r.CostNanoUSD
	t.CacheSavingsNanoUSD += int64(math.Round(r.CacheSavingsUSD * 1e9))
	tokens := r.InputTokens + r.OutputTokens + r.CacheWrite5mTokens + r.CacheWrite1hTokens + r.CacheReadTokens
	b.Tokens += tokens
	b.recentTokens += float64(tokens)
	b.recentCost += float64(r.CostNanoUSD)
	if r.Time.Before(b.First) || b.First.IsZero() {
		b.First = r.Time
	}
	if r.Model != "" && !slices.Contains(b.Models, r.Model) {
		b.Models = append(b.Models, r.Model)
	}
}

// Widths of the view: a box from liveWide columns up to liveMaxWidth,
// compact lines below.
const (
	liveWide     = 60
	liveMaxWidth = 100
	liveLabel    = 11 // the label column of the box
)

// renderLive lays the view out in at most height lines of at most width
// columns: a box when there is room, else compact lines.
func renderLive(v liveView, width, height int) []string {
	width = min(max(width, 10), liveMaxWidth)
	var lines []string
	if width >= liveWide {
		lines = renderBox(v, width)
	}
	if lines == nil || len(lines) > height {
		lines = renderCompact(v, width)
	}
	if len(lines) > height {
		lines = lines[:max(height, 1)]
	}
	return lines
}

func renderBox(v liveView, width int) []string {
	inner := width - 4
	hm := func(t time.Time) string { return t.In(v.Loc).Format("15:04") }
	var rows []string
	row := func(label, value string) { rows = append(rows, fmt.Sprintf("%-*s%s", liveLabel, label, value)) }
	if v.Status != "" {
		rows = append(rows, "! "+v.Status, "")
	}
	if b := v.Block; b != nil {
		row("Block", fmt.Sprintf("%s – %s", hm(b.Start), hm(b.End)))
		barWidth := inner - liveLabel - 6
		row("Time", fmt.Sprintf("%s %4.0f%%", bar(barWidth, b.ElapsedFraction), 100*b.ElapsedFraction))
		row("", fmt.Sprintf("%s elapsed · %s left", duration(b.Elapsed), duration(b.Left)))
		rows = append(rows, "")
		row("Tokens", thousands(b.Tokens))
		row("", fmt.Sprintf("in %s · out %s · cache write %s · read %s", thousands(b.InputTokens), thousands(b.OutputTokens),
			thousands(b.CacheWrite5mTokens+b.CacheWrite1hTokens), thousands(b.CacheReadTokens)))
		row("Cost", pricing.FormatUSD(b.CostNanoUSD))
		row("Burn rate", fmt.Sprintf("%s tokens/min · %s/h", thousands(int64(math.Round(b.TokensPerMinute))), usdFloat(b.USDPerHour)))
		row("Projected", fmt.Sprintf("%s · %s tokens by %s", pricing.FormatUSD(b.ProjectedCostNano), thousands(b.ProjectedTokens), hm(b.End)))
		row("Models", modelList(b.Models, false))
		rows = append(rows, "")
		row("Requests", requestsLine(b.Totals, false))
		row("Saved", fmt.Sprintf("%s by cco's cache · %s by prompt caching",
			pricing.FormatUSD(b.CacheSavingsNanoUSD), pricing.FormatUSD(b.PromptCacheSavingsNanoUSD)))
	} else {
		rows = append(rows, "No active block: the next request through cco starts one.")
		if !v.LastEnd.IsZero() {
			rows = append(rows, "The last one ended at "+v.LastEnd.In(v.Loc).Format("2006-01-02 15:04")+".")
		}
	}
	out := []string{border("┌─ ", "cco · active 5-hour block", liveState(v)+" · "+v.Now.In(v.Loc).Format("15:04:05"), " ─┐", width)}
	out = append(out, "│"+strings.Repeat(" ", width-2)+"│")
	for _, r := range rows {
		out = append(out, "│ "+pad(fit(r, inner), inner)+" │")
	}
	out = append(out, "│"+strings.Repeat(" ", width-2)+"│")
	return append(out, border("└─ ", "q or Ctrl-C quits", v.Where, " ─┘", width))
}

// liveState is the word at the top: live while the stream is open.
func liveState(v liveView) string {
	if v.Status != "" {
		return "offline"
	}
	return "live"
}

// border is a box's top or bottom line: left and a title, a rule, right
// text and the corner; the right text is cut first when space is short.
func border(left, title, right, corner string, width int) string {
	l := left + title + " "
	room := width - runes(l) - runes(corner) - 2
	if right = fit(right, room); right != "" {
		right = " " + right
	}
	fill := width - runes(l) - runes(right) - runes(corner)
	if fill < 1 {
		return fit(l, width)
	}
	return l + strings.Repeat("─", fill) + right + corner
}

func renderCompact(v liveView, width int) []string {
	lines := []string{"cco block · " + liveState(v) + " · " + v.Now.In(v.Loc).Format("15:04:05")}
	if v.Status != "" {
		lines = append(lines, "! "+v.Status)
	}
	if b := v.Block; b != nil {
		hm := func(t time.Time) string { return t.In(v.Loc).Format("15:04") }
		lines = append(lines,
			fmt.Sprintf("%s–%s · %s left", hm(b.Start), hm(b.End), duration(b.Left)),
			fmt.Sprintf("%s %3.0f%%", bar(width-5, b.ElapsedFraction), 100*b.ElapsedFraction),
			"tokens "+thousands(b.Tokens),
			"cost   "+pricing.FormatUSD(b.CostNanoUSD),
			fmt.Sprintf("burn   %s tok/min · %s/h", thousands(int64(math.Round(b.TokensPerMinute))), usdFloat(b.USDPerHour)),
			fmt.Sprintf("proj.  %s · %s tok", pricing.FormatUSD(b.ProjectedCostNano), thousands(b.ProjectedTokens)),
			"models "+modelList(b.Models, true),
			"reqs   "+requestsLine(b.Totals, true),
			fmt.Sprintf("saved  %s cache · %s prompt", pricing.FormatUSD(b.CacheSavingsNanoUSD), pricing.FormatUSD(b.PromptCacheSavingsNanoUSD)),
		)
	} else {
		lines = append(lines, "no active block")
		if !v.LastEnd.IsZero() {
			lines = append(lines, "last ended "+v.LastEnd.In(v.Loc).Format("01-02 15:04"))
		}
	}
	lines = append(lines, "q quits")
	for i, l := range lines {
		lines[i] = fit(l, width)
	}
	return lines
}

// plainLine is the line printed when stdout is not a terminal.
func plainLine(v liveView) string {
	at := v.Now.In(v.Loc).Format(time.DateTime)
	if v.Status != "" {
		return at + " " + v.Status
	}
	b := v.Block
	if b == nil {
		return at + " no active block"
	}
	hm := func(t time.Time) string { return t.In(v.Loc).Format("15:04") }
	return fmt.Sprintf("%s block %s-%s, %s elapsed, %s left: %d %s, %s tokens, %s; %s tokens/min, %s/h; projected %s",
		at, hm(b.Start), hm(b.End), duration(b.Elapsed), duration(b.Left), b.Requests, plural(b.Requests, "request", "requests"), thousands(b.Tokens),
		pricing.FormatUSD(b.CostNanoUSD), thousands(int64(math.Round(b.TokensPerMinute))), usdFloat(b.USDPerHour),
		pricing.FormatUSD(b.ProjectedCostNano))
}

// plainKey is what a new plain line is printed for when it changes.
func plainKey(v liveView) string {
	if v.Status != "" || v.Block == nil {
		return v.Status
	}
	b := v.Block
	return fmt.Sprint(b.Start.Unix(), b.Requests, b.Tokens, b.CostNanoUSD)
}

func requestsLine(t control.Totals, short bool) string {
	if short {
		return fmt.Sprintf("%d · %d err · %d cached", t.Requests, t.Errors, t.CacheHits)
	}
	s := fmt.Sprintf("%d · %d %s · %d from cco's cache", t.Requests, t.Errors, plural(t.Errors, "error", "errors"), t.CacheHits)
	if t.UnknownCost > 0 {
		s += fmt.Sprintf(" · %d without a price", t.UnknownCost)
	}
	return s
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// modelList names the models without their date suffix (and, short,
// without "claude-").
func modelList(models []string, short bool) string {
	if len(models) == 0 {
		return "none"
	}
	out := make([]string, len(models))
	for i, m := range models {
		out[i] = modelName(m)
		if short {
			out[i] = shortModel(m)
		}
	}
	return strings.Join(out, ", ")
}

// bar is a progress bar of width cells, frac of them full.
func bar(width int, frac float64) string {
	width = max(width, 1)
	full := int(math.Round(min(max(frac, 0), 1) * float64(width)))
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}

// duration is d in whole minutes: 4h03m, 57m.
func duration(d time.Duration) string {
	m := int64(max(d, 0) / time.Minute)
	if m < 60 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

// usdFloat is a dollar amount given as a float.
func usdFloat(usd float64) string { return pricing.FormatUSD(int64(math.Round(usd * 1e9))) }

// thousands writes n with commas: 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func runes(s string) int { return len([]rune(s)) }

// fit cuts s to width columns, marking the cut with "…" (every character
// the view uses takes one column).
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

func pad(s string, width int) string { return s + strings.Repeat(" ", max(width-runes(s), 0)) }

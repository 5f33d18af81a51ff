package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/fakegithub"
	"github.com/visiquate/cco/pkg/store"
)

// The dashboard in a real browser (Debian's headless chromium) against a
// real cco on a database seeded with a known month of rows: the figures on
// screen are /api/stats's for every range, a request sent through the proxy
// appears without a reload, a sixth live session is refused, dark mode and
// a phone's width work, nothing is logged to the console and nothing is
// fetched from anywhere but cco.
//
// Screenshots (light, dark, phone) go to $CCO_SCREENSHOTS when set (the
// README's come from `CCO_SCREENSHOTS=$PWD/docs go test -run
// TestDashboardInBrowser ./pkg/e2e`), else to a temporary folder.

var models = []string{"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-sonnet-4-5-20250929"}

// seedMonth writes 35 days of requests, ending now, into a new database.
func seedMonth(t *testing.T, path string, now time.Time) int {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 2026))
	// Claude Code's session ids are UUIDs.
	var sessions [9]string
	for i := range sessions {
		sessions[i] = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()>>16)
	}
	n := 0
	for day := 34; day >= 0; day-- {
		for k := range 4 + day%6 {
			at := now.AddDate(0, 0, -day).Add(-time.Duration(k*53+rng.IntN(40)) * time.Minute)
			if day == 0 && k == 0 {
				// Today's row, whatever the hour: two minutes ago, or
				// halfway since midnight just after it (CI16 ran at 00:01).
				midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
				at = now.Add(-2 * time.Minute)
				if at.Before(midnight) {
					at = midnight.Add(now.Sub(midnight) / 2)
				}
			}
			m := models[rng.IntN(len(models))]
			r := store.Record{Time: at, RequestID: fmt.Sprintf("req_seed_%04d", n), Model: m, Path: "/v1/messages", Status: 200,
				Stream: rng.IntN(2) == 0, CostKnown: true, SessionID: sessions[rng.IntN(len(sessions))],
				Input: int64(200 + rng.IntN(5000)), Output: int64(50 + rng.IntN(3000)), CacheWrite5m: int64(rng.IntN(4) * 1000),
				CacheWrite1h: int64(rng.IntN(2) * 2000), CacheRead: int64(rng.IntN(50000)),
				Latency: time.Duration(300+rng.IntN(20000)) * time.Millisecond, TTFB: time.Duration(100+rng.IntN(900)) * time.Millisecond}
			r.CostNano = r.Input*3000 + r.Output*15000 + r.CacheWrite5m*3750 + r.CacheWrite1h*6000 + r.CacheRead*300
			r.PromptCacheSavedNano = r.CacheRead * 2700
			switch {
			case n%17 == 5:
				r.CacheHit, r.SavedNano, r.CostNano, r.PromptCacheSavedNano = true, r.CostNano, 0, 0
				r.Input, r.Output, r.CacheWrite5m, r.CacheWrite1h, r.CacheRead = 0, 0, 0, 0, 0
			case n%13 == 7:
				r.Status, r.ErrorType, r.CostNano, r.PromptCacheSavedNano = 529, "overloaded_error", 0, 0
				r.Input, r.Output, r.CacheWrite5m, r.CacheWrite1h, r.CacheRead = 0, 0, 0, 0, 0
			}
			if !s.Record(r) {
				t.Fatal("seed row refused")
			}
			n++
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

// The page's number formats (pkg/dashboard/web/app.js), for comparing what
// is on screen with /api/stats.
func fmtUSD(x float64) string {
	switch {
	case x == 0:
		return "$0.00"
	case math.Abs(x) < 0.01:
		return "<$0.01"
	}
	return "$" + thousands(strconv.FormatFloat(x, 'f', 2, 64))
}

func fmtTokens(n int64) string {
	x := float64(n)
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 1e6:
		return strconv.FormatFloat(x/1e3, 'f', 1, 64) + "k"
	case n < 1e9:
		return strconv.FormatFloat(x/1e6, 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(x/1e9, 'f', 1, 64) + "B"
}

func fmtCount(n int64) string { return thousands(strconv.FormatInt(n, 10)) }

func fmtPct(r float64) string { return strconv.FormatFloat(r*100, 'f', 1, 64) + "%" }

// thousands puts commas into the whole part of a decimal number.
func thousands(s string) string {
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// shown is what the page shows for a figure: its text and its raw value.
type shown struct {
	Text string `json:"text"`
	Raw  string `json:"raw"`
}

// wantKPIs are the figures the page must show for a range's stats.
func wantKPIs(st control.Stats) map[string]string {
	t := st.Totals
	return map[string]string{
		"cost_usd": fmtUSD(t.CostUSD), "requests": fmtCount(t.Requests), "errors": fmtCount(t.Errors),
		"input_tokens": fmtTokens(t.InputTokens), "output_tokens": fmtTokens(t.OutputTokens),
		"cache_write_5m_tokens": fmtTokens(t.CacheWrite5mTokens), "cache_write_1h_tokens": fmtTokens(t.CacheWrite1hTokens),
		"cache_read_tokens": fmtTokens(t.CacheReadTokens), "cache_hit_rate": fmtPct(st.CacheHitRate),
		"cache_savings_usd": fmtUSD(t.CacheSavingsUSD), "prompt_cache_savings_usd": fmtUSD(t.PromptCacheSavingsUSD),
	}
}

func getStats(t *testing.T, base, rangeName string) control.Stats {
	t.Helper()
	var st control.Stats
	getJSON(t, base+"/api/stats?range="+rangeName, &st)
	return st
}

// getJSON decodes a 200 answer's JSON into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
}

func getInstance(t *testing.T, base string) control.Instance {
	t.Helper()
	resp, err := http.Get(base + control.InstancePath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var in control.Instance
	if err := json.NewDecoder(resp.Body).Decode(&in); err != nil {
		t.Fatal(err)
	}
	return in
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tabWatch collects what a tab logs and fetches.
type tabWatch struct {
	mu       sync.Mutex
	console  []string
	requests []string
}

func watchTab(ctx context.Context, w *tabWatch) {
	messages := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	collect := func(add func()) {
		w.mu.Lock()
		defer w.mu.Unlock()
		add()
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			collect(func() { w.console = append(w.console, fmt.Sprintf("%s %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)) })
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			collect(func() { w.requests = append(w.requests, ev.Request.URL) })
		}
	}()
}

func (w *tabWatch) seen() (console, requests []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.console...), append([]string(nil), w.requests...)
}

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitUntil polls a JavaScript condition in the page.
func waitUntil(t *testing.T, ctx context.Context, cond string, within time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		t.Fatalf("waiting %s for %s: %v", within, cond, err)
	}
}

func TestDashboardInBrowser(t *testing.T) {
	chromium := chromiumPath()
	need(t, chromium != "", "Debian's chromium (apt-get install chromium)")
	dir := t.TempDir()
	db := filepath.Join(dir, "analytics.db")
	seeded := seedMonth(t, db, time.Now())
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	// A release cco, whose background check finds a newer one on the fake
	// GitHub: the page shows the notice.
	key := fakegithub.NewCosignKey(t)
	bin, err := ccoproc.BuildCCOWith(filepath.Join(dir, "bin"), ccoproc.BuildOptions{Version: "2026.11.3", UpdateKey: key.PublicBase64()})
	if err != nil {
		t.Fatal(err)
	}
	gh := fakegithub.NewGitHub(t, fakegithub.BuildRelease(t, fakegithub.ReleaseOptions{Version: "2026.12.1", Key: key, Binary: ccoBin}))
	// Six tabs and the test's own checks read /api/* far faster than a
	// person does: the per-client limit (100 a minute, shared by every tab
	// on 127.0.0.1) is raised so that only the limit under test, five live
	// streams, refuses anything.
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte("[rate_limit]\napi_rpm = 2000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cco := ccoproc.StartCCO(t, bin, []string{"CCO_DATABASE_URL=sqlite://" + db, "CCO_NO_UPDATE_CHECK=", "CCO_GITHUB_API_URL=" + gh.URL},
		"--upstream", u.URL, "--config", conf)
	if st := getStats(t, cco.URL, "all"); st.Totals.Requests != int64(seeded) {
		t.Fatalf("cco sees %d of the %d seeded rows", st.Totals.Requests, seeded)
	}
	for in := getInstance(t, cco.URL); in.Update == nil || in.Update.CheckedAt.IsZero(); in = getInstance(t, cco.URL) {
		time.Sleep(20 * time.Millisecond) // the test's deadline bounds this
	}
	if in := getInstance(t, cco.URL); !in.Update.Available {
		t.Fatalf("the update check found nothing: %+v", in.Update)
	}
	shots := os.Getenv("CCO_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "en-US"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	do(t, tab, "start chromium")
	watches := []*tabWatch{{}}
	watchTab(tab, watches[0])

	do(t, tab, "open the dashboard", chromedp.Navigate(cco.URL+"/"))
	waitUntil(t, tab, `document.body.dataset.range === "today"`, 10*time.Second)
	waitUntil(t, tab, `document.querySelector("#live")?.dataset.state === "live"`, 10*time.Second)

	// Every range's figures, as /api/stats gives them.
	for _, r := range []string{"today", "7d", "30d", "all"} {
		if r != "today" {
			do(t, tab, "pick "+r, chromedp.Click(chromedp.CSS(`button[data-range="`+r+`"]`)))
			waitUntil(t, tab, `document.body.dataset.range === "`+r+`"`, 5*time.Second)
		}
		st := getStats(t, cco.URL, r)
		if st.Totals.Requests == 0 {
			t.Fatalf("range %s has no rows: the seed does not cover it", r)
		}
		got := eval[map[string]shown](t, tab, `Object.fromEntries([...document.querySelectorAll("[data-kpi]")].map(e => [e.dataset.kpi, {text: e.textContent.trim(), raw: e.dataset.raw}]))`)
		for name, want := range wantKPIs(st) {
			if got[name].Text != want {
				t.Errorf("range %s: %s shows %q, want %q (raw %s)", r, name, got[name].Text, want, got[name].Raw)
			}
		}
		if raw := got["cost_usd"].Raw; raw != strconv.FormatFloat(st.Totals.CostUSD, 'f', -1, 64) {
			t.Errorf("range %s: cost raw %s, want %v", r, raw, st.Totals.CostUSD)
		}
		pressed := eval[string](t, tab, `document.querySelector('button[data-range][aria-pressed="true"]')?.dataset.range ?? ""`)
		if pressed != r {
			t.Errorf("range %s: pressed button is %q", r, pressed)
		}
		rows := eval[[]string](t, tab, `[...document.querySelectorAll("#by-model tbody tr[data-model]")].map(e => e.dataset.model)`)
		if len(rows) != len(st.ByModel) {
			t.Errorf("range %s: %d model rows, want %d (%v)", r, len(rows), len(st.ByModel), rows)
		}
		sessions := eval[[]string](t, tab, `[...document.querySelectorAll("#by-session tbody tr[data-session]")].map(e => e.dataset.session)`)
		if len(sessions) != len(st.BySession) || (len(sessions) > 0 && sessions[0] != st.BySession[0].SessionID) {
			t.Errorf("range %s: sessions %v, want %+v", r, sessions, st.BySession)
		}
	}
	for _, r := range []string{"today", "7d", "30d"} {
		want := fmtUSD(getStats(t, cco.URL, r).Totals.CostUSD)
		if got := eval[string](t, tab, `document.querySelector('[data-spend="`+r+`"]')?.textContent.trim() ?? ""`); got != want {
			t.Errorf("spend card %s shows %q, want %q", r, got, want)
		}
	}
	// The keyboard picks a range too.
	do(t, tab, "pick 7d by keyboard", chromedp.Focus(chromedp.CSS(`button[data-range="7d"]`)), chromedp.KeyEvent("\r"))
	waitUntil(t, tab, `document.body.dataset.range === "7d"`, 5*time.Second)

	// The update notice, with the command that applies it.
	notice := eval[string](t, tab, `(e => e && !e.hidden && getComputedStyle(e).display !== "none" ? e.textContent : "")(document.querySelector("#update"))`)
	if !strings.Contains(notice, "2026.12.1") || !strings.Contains(notice, "cco update") {
		t.Errorf("update notice %q", notice)
	}

	// The recent requests are the newest stored ones.
	first := eval[string](t, tab, `document.querySelector("#recent tbody tr[data-request-id]")?.dataset.requestId ?? ""`)
	if first != fmt.Sprintf("req_seed_%04d", seeded-1) && first != fmt.Sprintf("req_seed_%04d", seeded-2) {
		t.Errorf("newest row on screen is %q", first)
	}

	// A request through the proxy shows up without a reload, within a second.
	resp := post(t, cco.URL+"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"live"}]}`,
		map[string]string{"x-api-key": "sk-ant-api03-dashboard", "x-claude-code-session-id": "live-session-1"})
	resp.Body.Close()
	id := resp.Header.Get("request-id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("proxied request: %d, request-id %q", resp.StatusCode, id)
	}
	waitUntil(t, tab, `!!document.querySelector('#recent tbody tr[data-request-id="`+id+`"]')`, time.Second)
	if got := eval[string](t, tab, `document.querySelector("#recent tbody tr")?.dataset.requestId`); got != id {
		t.Errorf("the live row is not on top: %q", got)
	}

	// The usage reports: each tab's rows are /api/stats/NAME's, newest
	// first, once the live request is in the database.
	for deadline := time.Now().Add(10 * time.Second); getStats(t, cco.URL, "all").Totals.Requests != int64(seeded)+1; {
		if time.Now().After(deadline) {
			t.Fatal("the live request never reached the database")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, name := range []string{"daily", "weekly", "monthly", "session", "blocks"} {
		do(t, tab, "pick the "+name+" report", chromedp.Click(chromedp.CSS(`button[data-report="`+name+`"]`)))
		var keys []string
		var newest float64
		var active *control.Block
		if name == "blocks" {
			var b control.Blocks
			getJSON(t, cco.URL+control.BlocksPath, &b)
			for i, x := range b.Blocks {
				keys = append(keys, x.Start)
				if x.Active {
					active = &b.Blocks[i]
				}
			}
			newest = b.Blocks[len(b.Blocks)-1].CostUSD
		} else {
			var r control.Report
			getJSON(t, cco.URL+control.ReportsPath+name, &r)
			for _, x := range r.Rows {
				keys = append(keys, x.Key)
			}
			newest = r.Rows[len(r.Rows)-1].CostUSD
		}
		slices.Reverse(keys)
		waitUntil(t, tab, `[...document.querySelectorAll("#report tbody tr")].map(e => e.dataset.key).join(",") === `+strconv.Quote(strings.Join(keys, ",")), 5*time.Second)
		if got := eval[string](t, tab, `document.querySelector("#report tbody tr td:nth-child(6)").textContent`); got != fmtUSD(newest) {
			t.Errorf("%s report: the newest row costs %q, want %q", name, got, fmtUSD(newest))
		}
		shown := eval[bool](t, tab, `!document.querySelector("#rep-active").hidden`)
		if shown != (active != nil) {
			t.Errorf("%s report: the active block's line shown %v, an active block %v", name, shown, active != nil)
		}
	}
	do(t, tab, "back to the daily report", chromedp.Click(chromedp.CSS(`button[data-report="daily"]`)))

	// Light screenshot, then dark mode (following the system) and a phone.
	screenshot(t, tab, filepath.Join(shots, "dashboard-light.png"), true)
	light := eval[string](t, tab, `getComputedStyle(document.body).backgroundColor`)
	if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	dark := eval[string](t, tab, `getComputedStyle(document.body).backgroundColor`)
	if luminance(t, light) < 0.7 || luminance(t, dark) > 0.3 {
		t.Errorf("background light %s, dark %s", light, dark)
	}
	do(t, tab, "scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	screenshot(t, tab, filepath.Join(shots, "dashboard-dark.png"), false)
	do(t, tab, "phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	// A phone widens its layout viewport to fit content that does not fit.
	// The charts redraw for the new width when the page hears of it, which
	// on a busy machine is a moment after the emulation changes: the page
	// has two seconds to fit.
	width := `Math.max(innerWidth, document.documentElement.scrollWidth)`
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](width+` === 390`, chromedp.WithPollingTimeout(2*time.Second), chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		t.Errorf("on a 390 px phone the page is %d px wide (it scrolls sideways)", eval[int](t, tab, width))
	}
	screenshot(t, tab, filepath.Join(shots, "dashboard-phone.png"), false)

	// The page clears the response cache with the page token it fetches
	// (the confirmation dialog is the browser's own; the test says yes).
	if in := getInstance(t, cco.URL); in.Cache == nil || in.Cache.Entries == 0 {
		t.Fatalf("the live request was not cached: %+v", in.Cache)
	}
	do(t, tab, "clear the cache from the page",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS("#cache-clear")))
	deadline := time.Now().Add(5 * time.Second)
	for getInstance(t, cco.URL).Cache.Entries != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the page's Clear did not clear the cache")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Five live sessions at once: four more tabs are live, a sixth is refused.
	var tabs []context.Context
	for i := range control.MaxLiveSessions {
		c, cancel := chromedp.NewContext(tab)
		defer cancel()
		w := &tabWatch{}
		watches = append(watches, w)
		watchTab(c, w)
		do(t, c, "open another dashboard", chromedp.Navigate(cco.URL+"/"))
		state := "live"
		if i == control.MaxLiveSessions-1 {
			state = "refused"
		}
		waitUntil(t, c, `document.querySelector("#live")?.dataset.state === "`+state+`"`, 10*time.Second)
		tabs = append(tabs, c)
	}
	refusedText := eval[string](t, tabs[len(tabs)-1], `document.querySelector("#live").textContent`)
	if !strings.Contains(refusedText, "5") {
		t.Errorf("the refused tab says %q; it should say that 5 live sessions are open", refusedText)
	}

	// Nothing logged, nothing fetched from anywhere else. The refused tab's
	// browser logs the 429 of /api/events; that one line is expected.
	for i, w := range watches {
		console, requests := w.seen()
		for _, c := range console {
			if i == len(watches)-1 && strings.Contains(c, "429") && strings.Contains(c, control.EventsPath) {
				continue
			}
			t.Errorf("tab %d console: %s", i, c)
		}
		if len(requests) == 0 {
			t.Errorf("tab %d: no requests seen", i)
		}
		for _, r := range requests {
			if !strings.HasPrefix(r, cco.URL+"/") && !strings.HasPrefix(r, "data:") {
				t.Errorf("tab %d fetched %s", i, r)
			}
		}
	}
	// Only the one request the test sent went upstream.
	if n := len(u.Requests()); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

// screenshot saves the page as a PNG: the whole page, or only what the
// viewport shows.
func screenshot(t *testing.T, ctx context.Context, path string, whole bool) {
	t.Helper()
	shot := chromedp.CaptureScreenshot()
	if whole {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG (%d bytes)", path, len(png))
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// luminance of a CSS rgb()/rgba() colour, 0 (black) to 1 (white).
func luminance(t *testing.T, css string) float64 {
	t.Helper()
	inner := css[strings.IndexByte(css, '(')+1 : strings.IndexByte(css, ')')]
	var c [3]float64
	for i, part := range strings.FieldsFunc(inner, func(r rune) bool { return r == ',' || r == ' ' })[:3] {
		v, err := strconv.ParseFloat(part, 64)
		if err != nil {
			t.Fatalf("colour %q", css)
		}
		c[i] = v / 255
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

package limits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/control"
)

// clock is a fake clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no time zone %s: %v", name, err)
	}
	return loc
}

func newLimiter(t *testing.T, ls Limits, loc *time.Location, now time.Time) (*Limiter, *clock, *logtest.Hook) {
	t.Helper()
	logger, hook := logtest.NewNullLogger()
	c := &clock{t: now}
	return New(Options{Limits: ls, Location: loc, Now: c.Now, Logger: logger}), c, hook
}

const usd = int64(1e9)

// messages are the log lines so far at level lv.
func messages(hook *logtest.Hook, lv logrus.Level) []string {
	var out []string
	for _, e := range hook.AllEntries() {
		if e.Level == lv {
			out = append(out, fmt.Sprint(e.Data["limit"])+": "+e.Message)
		}
	}
	return out
}

func refusalOf(t *testing.T, e *apierror.Error) (msg, retryAfter, shouldRetry string) {
	t.Helper()
	if e == nil {
		t.Fatal("admitted; want a refusal")
	}
	rec := httptest.NewRecorder()
	apierror.Write(rec, e)
	var env apierror.Envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 429 || env.Type != "error" || env.Error.Type != "rate_limit_error" {
		t.Errorf("answer %d %s", rec.Code, rec.Body)
	}
	return env.Error.Message, rec.Header().Get("retry-after"), rec.Header().Get("x-should-retry")
}

// A day's spend crosses 80% (one warning, however many requests follow)
// and 100% (one more; requests refused with the exact message), and the
// count starts again at local midnight.
func TestDailyCrossing(t *testing.T) {
	ny := zone(t, "America/New_York")
	l, c, hook := newLimiter(t, Limits{DailyUSD: 10}, ny, time.Date(2026, 6, 10, 20, 0, 0, 0, ny))
	add := func(nano int64) { l.Add(c.Now(), nano) }

	add(7*usd + 900_000_000) // 79%
	if w := messages(hook, logrus.WarnLevel); len(w) != 0 || l.Status()["daily"].State != control.LimitOK {
		t.Fatalf("at 79%%: warnings %v, status %+v", w, l.Status())
	}
	add(100_000_000) // 80%
	for range 5 {
		add(10_000_000)
		if e := l.Admit(); e != nil {
			t.Fatalf("refused at 80%%: %v", e)
		}
	}
	if w := messages(hook, logrus.WarnLevel); len(w) != 1 || w[0] != "daily: spend limit: 80% spent" {
		t.Errorf("warnings after 80%%: %q", w)
	}
	if st := l.Status()["daily"]; st.State != control.LimitWarn || st.Percent != 80.5 || st.SpentNanoUSD != 8_050_000_000 || st.USD != 10 {
		t.Errorf("status at 80.5%%: %+v", st)
	}

	add(1*usd + 970_000_000) // $10.02
	c.Set(time.Date(2026, 6, 10, 20, 48, 0, 0, ny))
	msg, retry, shouldRetry := refusalOf(t, l.Admit())
	if want := "cco: daily spend limit reached ($10.02 of $10.00); resets at 00:00 (in 3h12m). Raise limits.daily_usd to continue."; msg != want {
		t.Errorf("message\n got %q\nwant %q", msg, want)
	}
	if retry != "11520" || shouldRetry != "false" {
		t.Errorf("retry-after %q, x-should-retry %q", retry, shouldRetry)
	}
	l.Admit()
	add(0)
	w := messages(hook, logrus.WarnLevel)
	if len(w) != 2 || w[1] != "daily: spend limit reached: new /v1/messages requests are refused until it resets or is raised" {
		t.Errorf("warnings after 100%%: %q", w)
	}
	st := l.Status()["daily"]
	if want := time.Date(2026, 6, 11, 0, 0, 0, 0, ny); st.State != control.LimitBlocked || st.ResetsAt == nil || !st.ResetsAt.Equal(want) {
		t.Errorf("status when blocked: %+v", st)
	}

	c.Set(time.Date(2026, 6, 10, 23, 59, 59, 999_000_000, ny))
	if l.Admit() == nil {
		t.Error("admitted a millisecond before midnight")
	}
	c.Set(time.Date(2026, 6, 11, 0, 0, 0, 0, ny))
	if e := l.Admit(); e != nil {
		t.Errorf("refused at midnight: %v", e)
	}
	l.evaluate() // the loop's tick
	if st := l.Status()["daily"]; st.State != control.LimitOK || st.SpentNanoUSD != 0 || !st.ResetsAt.Equal(time.Date(2026, 6, 12, 0, 0, 0, 0, ny)) {
		t.Errorf("status the next day: %+v", st)
	}
	if info := messages(hook, logrus.InfoLevel); len(info) != 1 || info[0] != "daily: spend limit no longer reached: new requests pass again" {
		t.Errorf("info lines: %q", info)
	}
	// A request that started yesterday and finished today is yesterday's.
	l.Add(time.Date(2026, 6, 10, 23, 59, 0, 0, ny), 50*usd)
	if st := l.Status()["daily"]; st.SpentNanoUSD != 0 {
		t.Errorf("yesterday's request counted today: %+v", st)
	}
	// The next crossing warns again: a new period.
	add(9 * usd)
	if w := messages(hook, logrus.WarnLevel); len(w) != 3 {
		t.Errorf("warnings on the second day: %q", w)
	}
}

// The day ends at local midnight also on the days clocks change: 23 and
// 25 hours long.
func TestDayAcrossDST(t *testing.T) {
	ny := zone(t, "America/New_York")
	for _, tt := range []struct {
		name       string
		at         time.Time
		wantIn     string
		end        time.Time
		dayLength  time.Duration
		dayStarted time.Time
	}{
		{"spring forward", time.Date(2026, 3, 8, 20, 0, 0, 0, ny), "4h", time.Date(2026, 3, 9, 0, 0, 0, 0, ny), 23 * time.Hour, time.Date(2026, 3, 8, 0, 0, 0, 0, ny)},
		{"fall back", time.Date(2026, 11, 1, 0, 30, 0, 0, ny), "24h30m", time.Date(2026, 11, 2, 0, 0, 0, 0, ny), 25 * time.Hour, time.Date(2026, 11, 1, 0, 0, 0, 0, ny)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, c, _ := newLimiter(t, Limits{DailyUSD: 1}, ny, tt.at)
			l.Add(tt.at, 2*usd)
			msg, _, _ := refusalOf(t, l.Admit())
			if !strings.Contains(msg, "resets at 00:00 (in "+tt.wantIn+")") {
				t.Errorf("message %q, want it to reset in %s", msg, tt.wantIn)
			}
			if got := tt.end.Sub(tt.dayStarted); got != tt.dayLength {
				t.Fatalf("the day is %s long, want %s", got, tt.dayLength)
			}
			c.Set(tt.end.Add(-time.Nanosecond))
			if l.Admit() == nil {
				t.Error("admitted before local midnight")
			}
			c.Set(tt.end)
			if e := l.Admit(); e != nil {
				t.Errorf("refused at local midnight: %v", e)
			}
		})
	}
}

// The month ends at local midnight on the 1st; its reset names the date.
func TestMonthly(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	l, c, hook := newLimiter(t, Limits{MonthlyUSD: 100}, berlin, time.Date(2026, 1, 20, 12, 0, 0, 0, berlin))
	l.Add(time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), 60*usd)
	l.Add(c.Now(), 40*usd)
	msg, retry, _ := refusalOf(t, l.Admit())
	if want := "cco: monthly spend limit reached ($100.00 of $100.00); resets at 00:00 on Feb 1 (in 11d12h). Raise limits.monthly_usd to continue."; msg != want {
		t.Errorf("message\n got %q\nwant %q", msg, want)
	}
	if retry != "993600" {
		t.Errorf("retry-after %s", retry)
	}
	if w := messages(hook, logrus.WarnLevel); len(w) != 1 || !strings.HasPrefix(w[0], "monthly: spend limit reached") {
		t.Errorf("warnings %q", w) // 80% and 100% crossed by one request: the one line says the limit is reached
	}
	c.Set(time.Date(2026, 1, 31, 23, 59, 59, 0, berlin))
	if l.Admit() == nil {
		t.Error("admitted on the 31st")
	}
	c.Set(time.Date(2026, 2, 1, 0, 0, 0, 0, berlin))
	if e := l.Admit(); e != nil {
		t.Errorf("refused on the 1st: %v", e)
	}
}

// The block limit holds for the active 5-hour block, which starts at the
// UTC hour of its first request; the next request after it ends starts a
// new one.
func TestBlock(t *testing.T) {
	kolkata := zone(t, "Asia/Kolkata") // +05:30: the block's UTC hours are local half hours
	first := time.Date(2026, 5, 4, 10, 17, 0, 0, time.UTC)
	l, c, _ := newLimiter(t, Limits{BlockUSD: 5}, kolkata, first)
	l.Add(first, 3*usd)
	c.Set(first.Add(2 * time.Hour))
	l.Add(c.Now(), 2*usd+100_000_000)
	msg, _, _ := refusalOf(t, l.Admit())
	// The block: 10:00-15:00 UTC, 15:30-20:30 in Kolkata; now is 12:17 UTC.
	if want := "cco: 5-hour block spend limit reached ($5.10 of $5.00); resets at 20:30 (in 2h43m). Raise limits.block_usd to continue."; msg != want {
		t.Errorf("message\n got %q\nwant %q", msg, want)
	}
	end := time.Date(2026, 5, 4, 15, 0, 0, 0, time.UTC)
	if st := l.Status()["block"]; st.State != control.LimitBlocked || !st.ResetsAt.Equal(end) {
		t.Errorf("status %+v", st)
	}
	c.Set(end)
	if e := l.Admit(); e != nil {
		t.Errorf("refused when the block ended: %v", e)
	}
	if st := l.Status()["block"]; st.State != control.LimitOK || st.SpentNanoUSD != 0 || st.ResetsAt != nil {
		t.Errorf("status with no block running: %+v", st)
	}
	// The next block starts at its first request's hour; a late row of the
	// old block stays the old one's.
	c.Set(end.Add(95 * time.Minute))
	l.Add(c.Now(), 1*usd)
	l.Add(end.Add(-time.Minute), 9*usd)
	if st := l.Status()["block"]; st.SpentNanoUSD != usd || !st.ResetsAt.Equal(end.Add(time.Hour+BlockLength)) {
		t.Errorf("the next block: %+v", st)
	}
}

// Of several limits reached, the message names the one that resets last.
func TestLatestResetNamed(t *testing.T) {
	now := time.Date(2026, 7, 30, 9, 0, 0, 0, time.UTC)
	l, _, _ := newLimiter(t, Limits{DailyUSD: 1, MonthlyUSD: 2, BlockUSD: 1}, time.UTC, now)
	l.Add(now, 3*usd)
	msg, _, _ := refusalOf(t, l.Admit())
	if !strings.HasPrefix(msg, "cco: monthly spend limit reached ($3.00 of $2.00); resets at 00:00 on Aug 1 (in 39h)") {
		t.Errorf("message %q", msg)
	}
	if len(l.Status()) != 3 {
		t.Errorf("status %+v", l.Status())
	}
}

// Raising a limit lets requests through at once; so does a raise that
// Reload reads while the loop runs. A configuration that no longer reads
// keeps the limits and is logged once.
func TestRaiseUnblocks(t *testing.T) {
	now := time.Date(2026, 7, 3, 9, 0, 0, 0, time.UTC)
	l, _, hook := newLimiter(t, Limits{DailyUSD: 1}, time.UTC, now)
	l.Add(now, 1*usd+1)
	if l.Admit() == nil {
		t.Fatal("admitted over the limit")
	}
	if !l.SetLimits(Limits{DailyUSD: 2}) || l.Admit() != nil {
		t.Fatal("still refused after the raise")
	}
	if st := l.Status()["daily"]; st.State != control.LimitOK || st.Percent != 50 {
		t.Errorf("status after the raise: %+v", st)
	}
	if info := messages(hook, logrus.InfoLevel); len(info) != 2 || info[0] != "<nil>: spend limits changed" || info[1] != "daily: spend limit no longer reached: new requests pass again" {
		t.Errorf("info lines %q", info)
	}

	var mu sync.Mutex
	next, nextErr := Limits{DailyUSD: 0.5}, error(nil)
	c := &clock{t: now}
	logger, hook := logtest.NewNullLogger()
	l = New(Options{Limits: Limits{DailyUSD: 2}, Location: time.UTC, Now: c.Now, Logger: logger, Tick: time.Millisecond,
		Reload: func() (Limits, error) { mu.Lock(); defer mu.Unlock(); return next, nextErr }})
	l.Add(now, usd)
	l.Start(context.Background())
	defer l.Stop()
	waitFor(t, "the lowered limit", func() bool { return l.Admit() != nil })
	mu.Lock()
	next, nextErr = Limits{}, errors.New("config c.toml:3: limits.daily_usd: \"-5\": a spend limit cannot be negative")
	mu.Unlock()
	time.Sleep(20 * time.Millisecond) // twenty ticks
	if l.Admit() == nil {
		t.Error("a configuration that does not read lifted the limit")
	}
	mu.Lock()
	next, nextErr = Limits{}, nil // the limit taken out
	mu.Unlock()
	waitFor(t, "no limit", func() bool { return l.Admit() == nil && l.Status() == nil })
	bad := 0
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "does not read") {
			bad++
		}
	}
	if bad != 1 {
		t.Errorf("the bad configuration logged %d times, want once", bad)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// fakeSource is the database's view: what other replicas spent too.
type fakeSource struct {
	mu         sync.Mutex
	day, month int64
	block      time.Time
	blockCost  int64
	asked      []string
}

func (f *fakeSource) Spent(_ context.Context, from, to time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, from.Format(time.DateTime)+" - "+to.Format(time.DateTime))
	if to.Sub(from) > 48*time.Hour {
		return f.month, nil
	}
	return f.day, nil
}

func (f *fakeSource) Block(_ context.Context, at time.Time) (time.Time, int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.block, f.blockCost, !f.block.IsZero() && at.Before(f.block.Add(BlockLength)), nil
}

// The spend so far comes from the database at start; a refresh takes the
// larger of the database's figure and the limiter's own.
func TestSeedAndRefresh(t *testing.T) {
	now := time.Date(2026, 7, 3, 9, 30, 0, 0, time.UTC)
	src := &fakeSource{day: 9 * usd, month: 40 * usd, block: time.Date(2026, 7, 3, 8, 0, 0, 0, time.UTC), blockCost: 4 * usd}
	logger, hook := logtest.NewNullLogger()
	c := &clock{t: now}
	l := New(Options{Limits: Limits{DailyUSD: 10, MonthlyUSD: 100, BlockUSD: 5}, Source: src, Location: time.UTC, Now: c.Now, Logger: logger, Tick: time.Hour})
	l.Start(context.Background())
	defer l.Stop()
	st := l.Status()
	if st["daily"].SpentNanoUSD != 9*usd || st["monthly"].SpentNanoUSD != 40*usd || st["block"].SpentNanoUSD != 4*usd ||
		!st["block"].ResetsAt.Equal(time.Date(2026, 7, 3, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("seeded %+v", st)
	}
	if w := messages(hook, logrus.WarnLevel); len(w) != 2 || w[0] != "daily: spend limit: 80% spent" || w[1] != "block: spend limit: 80% spent" {
		t.Errorf("warnings at start: %q", w)
	}
	if want := []string{"2026-07-03 00:00:00 - 2026-07-04 00:00:00", "2026-07-01 00:00:00 - 2026-08-01 00:00:00"}; strings.Join(src.asked, ",") != strings.Join(want, ",") {
		t.Errorf("asked for %q", src.asked)
	}
	l.Add(now, usd/2) // here, not yet in the database
	src.mu.Lock()
	src.month = 40*usd + usd/4 // another replica's quarter
	src.mu.Unlock()
	if err := l.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = l.Status()
	if st["daily"].SpentNanoUSD != 9*usd+usd/2 || st["monthly"].SpentNanoUSD != 40*usd+usd/2 {
		t.Errorf("after a refresh: %+v", st)
	}
	// Another replica started a block the database knows and this one
	// does not.
	c.Set(time.Date(2026, 7, 3, 14, 10, 0, 0, time.UTC))
	src.mu.Lock()
	src.block, src.blockCost = time.Date(2026, 7, 3, 14, 0, 0, 0, time.UTC), 6*usd
	src.mu.Unlock()
	if err := l.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e := l.Admit(); e == nil || !strings.Contains(e.Message, "5-hour block spend limit reached ($6.00 of $5.00); resets at 19:00 (in 4h50m)") {
		t.Errorf("after another replica's block: %v", e)
	}
}

// With no limit set nothing is counted or refused, and Admit allocates
// nothing; with limits set and not reached it allocates nothing either.
func TestNoLimits(t *testing.T) {
	now := time.Date(2026, 7, 3, 9, 0, 0, 0, time.UTC)
	l, _, hook := newLimiter(t, Limits{}, time.UTC, now)
	l.Add(now, 1000*usd)
	if l.Admit() != nil || l.Status() != nil || len(hook.AllEntries()) != 0 {
		t.Errorf("no limits: %v %v %v", l.Admit(), l.Status(), hook.AllEntries())
	}
	if n := testing.AllocsPerRun(100, func() { l.Admit() }); n != 0 {
		t.Errorf("Admit with no limit allocates %v times", n)
	}
	l.SetLimits(Limits{DailyUSD: 10, BlockUSD: 5})
	l.Add(now, usd)
	if n := testing.AllocsPerRun(100, func() { l.Admit() }); n != 0 {
		t.Errorf("Admit under the limits allocates %v times", n)
	}
}

func TestUntil(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "1m", 10 * time.Second: "1m", time.Minute: "1m", 61 * time.Second: "2m", 45 * time.Minute: "45m",
		time.Hour: "1h", 3*time.Hour + 11*time.Minute + 30*time.Second: "3h12m", 23*time.Hour + 59*time.Minute: "23h59m",
		24 * time.Hour: "24h", 24*time.Hour + 30*time.Minute: "24h30m", 48 * time.Hour: "2d", 48*time.Hour + time.Minute: "2d1h",
		12*24*time.Hour + 3*time.Hour: "12d3h",
	} {
		if got := Until(d); got != want {
			t.Errorf("Until(%s) = %q, want %q", d, got, want)
		}
	}
}

func BenchmarkAdmit(b *testing.B) {
	now := time.Date(2026, 7, 3, 9, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		ls   Limits
	}{{"unset", Limits{}}, {"set", Limits{DailyUSD: 10, MonthlyUSD: 100, BlockUSD: 5}}} {
		b.Run(bc.name, func(b *testing.B) {
			logger, _ := logtest.NewNullLogger()
			l := New(Options{Limits: bc.ls, Location: time.UTC, Now: func() time.Time { return now }, Logger: logger})
			l.Add(now, usd)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if l.Admit() != nil {
						b.Fatal("refused")
					}
				}
			})
		})
	}
}

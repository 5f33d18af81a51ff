// Package limits enforces the spend limits a user sets for themselves:
// limits.daily_usd (a local calendar day), limits.monthly_usd (a local
// calendar month) and limits.block_usd (Claude's active 5-hour block). At
// 80% of a limit it logs a warning, once per limit and period; at 100% new
// /v1/messages requests are refused with a 429 rate_limit_error that names
// the limit, the spend and when it resets, until the period ends or the
// limit is raised.
//
// How the spend is known. The Limiter keeps each period's spend in memory:
// seeded from the analytics store when it starts (through Source), then
// kept current by Add, which the daemon calls with each row analytics
// records (its start time and cost), so a check on the request path is a
// lock and a few comparisons, never a query. Every Refresh (10 s) it reads
// the store again and takes the larger of its own figure and the store's:
// with several replicas sharing PostgreSQL, each sees the others' spend
// within that interval plus their writers' flush, and a figure never runs
// backwards within a period (the store lags this replica's own newest rows,
// which the larger figure keeps). Replicas can therefore pass a limit
// together by what they spend in one interval; one instance on SQLite
// counts exactly.
//
// What is checked. Only POST /v1/messages is refused, after the response
// cache has had its turn: an answer from the cache costs nothing and is
// still served over the limit; count_tokens and the rest cost nothing
// either. A refusal carries x-should-retry: false (Claude Code shows the
// message instead of retrying ten times) and retry-after in seconds until
// the reset. Requests already in flight finish, so the spend can pass a
// limit by what they cost. With no limit set the check is one atomic load
// and Add returns at once.
//
// Raising a limit. The daemon gives Options.Reload, which reads the
// configuration again (config.toml < CCO_* < flags, as at start); the
// Limiter calls it every Tick (a second) and applies a change at once, so
// `cco config set limits.daily_usd 20` (or an edit of config.toml) lifts a
// block within a second, without a restart. A file that no longer reads
// keeps the limits as they were and is logged once.
//
// It imports apierror, control, pricing (to print dollars) and logrus.
package limits

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/control"
)

// Kind names one of the three limits.
type Kind int

// The limits, in display order.
const (
	Daily Kind = iota
	Monthly
	Block
	kinds
)

// Name is the limit's name in /health and the status line: daily, monthly
// or block.
func (k Kind) Name() string { return control.LimitNames[k] }

// Key is the configuration key that sets the limit.
func (k Kind) Key() string {
	return [...]string{"limits.daily_usd", "limits.monthly_usd", "limits.block_usd"}[k]
}

// BlockLength is the length of Claude's usage window (store.BlockLength).
const BlockLength = 5 * time.Hour

// Defaults of Options.
const (
	DefaultTick    = time.Second
	DefaultRefresh = 10 * time.Second
	// refreshTimeout bounds one reading of the store.
	refreshTimeout = 5 * time.Second
)

// Limits are the limits in USD; 0 is none. Its fields are config.Limits',
// so one converts to the other.
type Limits struct {
	DailyUSD   float64
	MonthlyUSD float64
	BlockUSD   float64
}

func (ls Limits) nano() [kinds]int64 {
	return [kinds]int64{toNano(ls.DailyUSD), toNano(ls.MonthlyUSD), toNano(ls.BlockUSD)}
}

func toNano(usd float64) int64 {
	if usd <= 0 || math.IsNaN(usd) {
		return 0
	}
	return int64(math.Round(usd * 1e9))
}

// Source is where the spend so far is read from; the daemon adapts the
// analytics store.
type Source interface {
	// Spent is the cost, in nano-USD, of the requests that started in
	// [from, to).
	Spent(ctx context.Context, from, to time.Time) (int64, error)
	// Block is the 5-hour block that holds at, if there is one: its start
	// and its cost so far in nano-USD.
	Block(ctx context.Context, at time.Time) (start time.Time, costNano int64, ok bool, err error)
}

// Options configure a Limiter.
type Options struct {
	Limits Limits
	// Source seeds the spend at Start and refreshes it; nil counts only
	// what Add reports.
	Source Source
	// Reload reads the limits configured now; nil never re-reads them.
	Reload   func() (Limits, error)
	Location *time.Location // of days and months; nil means time.Local
	Now      func() time.Time
	Logger   *logrus.Logger
	Tick     time.Duration // how often Reload is called and periods end; 0 means DefaultTick
	Refresh  time.Duration // how often Source is read while a limit is set; 0 means DefaultRefresh
}

// levels of a limit, as logged.
const (
	levelOK = iota
	levelWarn
	levelBlocked
)

// period is one limit's current period and its spend.
type period struct {
	start, end time.Time // [start, end); a zero end is none yet (or no block running)
	spent      int64     // nano-USD
	logged     int       // the level last logged for it
}

// Limiter tracks spend against the limits. Its methods are safe for
// concurrent use.
type Limiter struct {
	opts Options
	loc  *time.Location
	set  atomic.Bool // some limit is set: Admit's one load when none is

	mu        sync.Mutex
	limit     [kinds]int64 // nano-USD; 0 is none
	p         [kinds]period
	reloadErr string // the last Reload error logged, so it is logged once

	startOnce sync.Once
	stopOnce  sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// New builds a Limiter; Start seeds it and starts its loop.
func New(o Options) *Limiter {
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	l := &Limiter{opts: o, loc: o.Location, stop: make(chan struct{}), done: make(chan struct{})}
	l.limit = o.Limits.nano()
	l.set.Store(l.limit != [kinds]int64{})
	return l
}

// Start reads the spend so far from the Source (within ctx; a failure is
// logged and the count starts from zero) and starts the loop that re-reads
// the limits every Tick and the spend every Refresh. Stop ends it.
func (l *Limiter) Start(ctx context.Context) {
	l.startOnce.Do(func() {
		if err := l.Refresh(ctx); err != nil {
			l.opts.Logger.WithError(err).Warn("spend limits: could not read the spend so far; counting from now")
		}
		l.evaluate()
		go l.loop()
	})
}

// Stop ends the loop Start started and waits for it.
func (l *Limiter) Stop() {
	l.stopOnce.Do(func() { close(l.stop) })
	started := true
	l.startOnce.Do(func() { started = false })
	if started {
		<-l.done
	}
}

func (l *Limiter) loop() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.Tick)
	defer tick.Stop()
	lastRefresh := l.opts.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		changed := l.reload()
		if now := l.opts.Now(); changed || now.Sub(lastRefresh) >= l.opts.Refresh {
			lastRefresh = now
			ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
			if err := l.Refresh(ctx); err != nil {
				l.opts.Logger.WithError(err).Warn("spend limits: could not read the spend from the analytics database")
			}
			cancel()
		}
		l.evaluate()
	}
}

// reload applies the limits Reload reads, and reports whether they changed.
func (l *Limiter) reload() bool {
	if l.opts.Reload == nil {
		return false
	}
	ls, err := l.opts.Reload()
	l.mu.Lock()
	if err != nil {
		logIt := err.Error() != l.reloadErr
		l.reloadErr = err.Error()
		l.mu.Unlock()
		if logIt {
			l.opts.Logger.WithError(err).Warn("spend limits: the configuration does not read; the limits stay as they were")
		}
		return false
	}
	l.reloadErr = ""
	l.mu.Unlock()
	return l.SetLimits(ls)
}

// SetLimits replaces the limits and reports whether they changed. A
// raised limit lifts a block at once.
func (l *Limiter) SetLimits(ls Limits) bool {
	n := ls.nano()
	l.mu.Lock()
	changed := n != l.limit
	l.limit = n
	l.set.Store(n != [kinds]int64{})
	l.mu.Unlock()
	if changed {
		l.opts.Logger.WithFields(logrus.Fields{
			"daily_usd": ls.DailyUSD, "monthly_usd": ls.MonthlyUSD, "block_usd": ls.BlockUSD,
		}).Info("spend limits changed")
		l.evaluate()
	}
	return changed
}

// Add counts a finished request that started at t and cost costNano. The
// daemon calls it for every row analytics records, free ones included: any
// request starts a 5-hour block.
func (l *Limiter) Add(t time.Time, costNano int64) {
	if !l.set.Load() {
		return
	}
	l.mu.Lock()
	for k := range kinds {
		l.addTo(k, t, costNano)
	}
	l.mu.Unlock()
	l.evaluate()
}

func (l *Limiter) addTo(k Kind, t time.Time, cost int64) {
	p := &l.p[k]
	switch {
	case k == Block && (p.end.IsZero() || !t.Before(p.end)):
		// The first request after a block ended starts the next at its
		// UTC hour.
		start := t.UTC().Truncate(time.Hour)
		p.start, p.end, p.spent = start, start.Add(BlockLength), cost
	case k != Block && (p.end.IsZero() || !t.Before(p.end)):
		p.start, p.end = l.periodOf(k, t)
		p.spent = cost
	case t.Before(p.start):
		// A request of an earlier period that finished late: that period's.
	default:
		p.spent += cost
	}
}

// periodOf is the day or month that holds t, in the Limiter's zone.
func (l *Limiter) periodOf(k Kind, t time.Time) (start, end time.Time) {
	lt := t.In(l.loc)
	y, m, d := lt.Date()
	if k == Monthly {
		return time.Date(y, m, 1, 0, 0, 0, 0, l.loc), time.Date(y, m+1, 1, 0, 0, 0, 0, l.loc)
	}
	return time.Date(y, m, d, 0, 0, 0, 0, l.loc), time.Date(y, m, d+1, 0, 0, 0, 0, l.loc)
}

// roll moves the day and month on to the ones that hold now (with nothing
// spent yet) once theirs has ended. A block that has ended stays as it was
// until a request starts the next (current says whether it runs).
func (l *Limiter) roll(now time.Time) {
	for _, k := range []Kind{Daily, Monthly} {
		if p := &l.p[k]; p.end.IsZero() || !now.Before(p.end) {
			p.start, p.end = l.periodOf(k, now)
			p.spent = 0
		}
	}
}

// current is the spend of k's period at now and when it ends; a block
// not running has spent nothing and no end.
func (l *Limiter) current(k Kind, now time.Time) (spent int64, end time.Time) {
	p := l.p[k]
	if k == Block && (p.end.IsZero() || !now.Before(p.end) || now.Before(p.start)) {
		return 0, time.Time{}
	}
	return p.spent, p.end
}

func level(spent, limit int64) int {
	switch {
	case limit <= 0:
		return levelOK
	case spent >= limit:
		return levelBlocked
	case spent >= limit-limit/5:
		return levelWarn
	}
	return levelOK
}

// Admit is asked before a POST /v1/messages goes upstream: nil lets it
// pass; otherwise the 429 to answer. With no limit set it is one atomic
// load and allocates nothing.
func (l *Limiter) Admit() *apierror.Error {
	if !l.set.Load() {
		return nil
	}
	now := l.opts.Now()
	l.mu.Lock()
	l.roll(now)
	// Of the limits reached, the one that resets last: the user must wait
	// for it, or raise it.
	worst, spent, limit, end := Kind(-1), int64(0), int64(0), time.Time{}
	for k := range kinds {
		s, e := l.current(k, now)
		if l.limit[k] > 0 && s >= l.limit[k] && (worst < 0 || e.After(end)) {
			worst, spent, limit, end = k, s, l.limit[k], e
		}
	}
	l.mu.Unlock()
	if worst < 0 {
		return nil
	}
	return refusal(worst, spent, limit, end, now, l.loc)
}

// Refresh reads the spend of the current periods from the Source and keeps
// the larger of each figure and its own (see the package doc).
func (l *Limiter) Refresh(ctx context.Context) error {
	if l.opts.Source == nil || !l.set.Load() {
		return nil
	}
	now := l.opts.Now()
	var spent [2]int64
	var starts [2]time.Time
	for _, k := range []Kind{Daily, Monthly} {
		from, to := l.periodOf(k, now)
		s, err := l.opts.Source.Spent(ctx, from, to)
		if err != nil {
			return err
		}
		spent[k], starts[k] = s, from
	}
	bStart, bCost, bOK, err := l.opts.Source.Block(ctx, now)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.roll(now)
	for _, k := range []Kind{Daily, Monthly} {
		if p := &l.p[k]; p.start.Equal(starts[k]) {
			p.spent = max(p.spent, spent[k])
		}
	}
	if p := &l.p[Block]; bOK {
		switch {
		case p.start.Equal(bStart):
			p.spent = max(p.spent, bCost)
		default:
			// None here, an older one, or one that the rows of every
			// replica place elsewhere: the database's holds.
			p.start, p.end, p.spent = bStart, bStart.Add(BlockLength), bCost
		}
	}
	l.mu.Unlock()
	return nil
}

// Status is the state of each set limit at now, for /health, the status
// line and cco stats; nil when none is set.
func (l *Limiter) Status() control.Limits {
	if !l.set.Load() {
		return nil
	}
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	out := control.Limits{}
	for k := range kinds {
		if l.limit[k] > 0 {
			s, e := l.current(k, now)
			out[k.Name()] = status(s, l.limit[k], e)
		}
	}
	return out
}

func status(spent, limit int64, end time.Time) control.Limit {
	st := control.Limit{
		USD: float64(limit) / 1e9, SpentUSD: float64(spent) / 1e9, SpentNanoUSD: spent,
		Percent: math.Round(float64(spent)/float64(limit)*1000) / 10,
		State:   [...]string{control.LimitOK, control.LimitWarn, control.LimitBlocked}[level(spent, limit)],
	}
	if !end.IsZero() {
		e := end.UTC()
		st.ResetsAt = &e
	}
	return st
}

// event is a change of level to log.
type event struct {
	kind         Kind
	from, to     int
	spent, limit int64
	end          time.Time
}

// evaluate logs each limit whose level rose (80%, 100%: once per period)
// or that no longer blocks.
func (l *Limiter) evaluate() {
	now := l.opts.Now()
	var events []event
	l.mu.Lock()
	l.roll(now)
	for k := range kinds {
		s, e := l.current(k, now)
		lv := level(s, l.limit[k])
		p := &l.p[k]
		if lv > p.logged || (lv < levelBlocked && p.logged == levelBlocked) {
			events = append(events, event{kind: k, from: p.logged, to: lv, spent: s, limit: l.limit[k], end: e})
		}
		p.logged = lv
	}
	l.mu.Unlock()
	for _, ev := range events {
		l.log(ev, now)
	}
}

func (l *Limiter) log(ev event, now time.Time) {
	f := logrus.Fields{"limit": ev.kind.Name(), "key": ev.kind.Key(), "usd": float64(ev.limit) / 1e9, "spent_usd": float64(ev.spent) / 1e9}
	if ev.limit > 0 {
		f["percent"] = math.Round(float64(ev.spent)/float64(ev.limit)*1000) / 10
	}
	if !ev.end.IsZero() {
		f["resets_at"] = ev.end.In(l.loc).Format(time.RFC3339)
	}
	log := l.opts.Logger.WithFields(f)
	switch ev.to {
	case levelBlocked:
		log.Warn("spend limit reached: new /v1/messages requests are refused until it resets or is raised")
	case levelWarn:
		if ev.from == levelBlocked {
			log.Info("spend limit no longer reached: new requests pass again (80% or more spent)")
		} else {
			log.Warn("spend limit: 80% spent")
		}
	default:
		log.Info("spend limit no longer reached: new requests pass again")
	}
}

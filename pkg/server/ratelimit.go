package server

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter enforces per-client-IP limits: requests per minute (a token
// bucket that holds a minute's worth) and requests at once. Zero turns a
// limit off. With a shared counter the per-minute budget is counted there,
// across replicas (the local bucket stands in while it cannot be asked);
// requests at once are always this replica's.
type limiter struct {
	name       string // "api" or "proxy": the shared counter's key prefix
	perMinute  int
	concurrent int
	now        func() time.Time
	shared     RateCounter

	mu        sync.Mutex
	clients   map[string]*client
	lastSweep time.Time
}

// RateCounter counts requests per client across replicas (the shared
// Redis: cache.Shared). An error means it could not be asked.
type RateCounter interface {
	CountRequest(key string, perMinute int) (ok bool, retryAfter time.Duration, err error)
}

type client struct {
	bucket   *rate.Limiter
	active   int
	lastSeen time.Time
}

func newLimiter(name string, perMinute, concurrent int, now func() time.Time, shared RateCounter) *limiter {
	return &limiter{name: name, perMinute: perMinute, concurrent: concurrent, now: now, shared: shared, clients: map[string]*client{}}
}

// acquire admits one request from ip, or says how long to wait. release
// must be called when an admitted request is done. The shared counter is
// asked without the lock held.
func (l *limiter) acquire(ip string) (release func(), retryAfter time.Duration, ok bool) {
	if l == nil || (l.perMinute <= 0 && l.concurrent <= 0) {
		return func() {}, 0, true
	}
	now := l.now()
	l.mu.Lock()
	l.sweep(now)
	c := l.clients[ip]
	if c == nil {
		c = &client{}
		if l.perMinute > 0 {
			c.bucket = rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)
		}
		l.clients[ip] = c
	}
	c.lastSeen = now
	if l.concurrent > 0 && c.active >= l.concurrent {
		l.mu.Unlock()
		return nil, time.Second, false
	}
	shared := l.shared != nil && l.perMinute > 0
	if !shared {
		if wait := takeToken(c.bucket, now); wait > 0 {
			l.mu.Unlock()
			return nil, wait, false
		}
	}
	c.active++
	l.mu.Unlock()
	if shared {
		allowed, wait, err := l.shared.CountRequest(l.name+":"+ip, l.perMinute)
		if err != nil { // counted here while the shared counter is away
			l.mu.Lock()
			wait = takeToken(c.bucket, now)
			l.mu.Unlock()
			allowed = wait == 0
		}
		if !allowed {
			l.mu.Lock()
			c.active--
			l.mu.Unlock()
			return nil, max(wait, time.Second), false
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			c.active--
			l.mu.Unlock()
		})
	}, 0, true
}

// takeToken takes one request from bucket (nil: no per-minute limit), or
// says how long until one is there.
func takeToken(bucket *rate.Limiter, now time.Time) time.Duration {
	if bucket == nil {
		return 0
	}
	r := bucket.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// sweep forgets clients that are idle and whose bucket has refilled, at
// most once a minute, so the map stays as small as the set of recent
// clients.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for ip, c := range l.clients {
		if c.active == 0 && now.Sub(c.lastSeen) > time.Minute {
			delete(l.clients, ip)
		}
	}
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

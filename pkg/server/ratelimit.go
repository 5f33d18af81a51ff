package server

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter enforces per-client-IP limits: requests per minute (a token
// bucket that holds a minute's worth) and requests at once. Zero turns a
// limit off.
type limiter struct {
	perMinute  int
	concurrent int
	now        func() time.Time

	mu        sync.Mutex
	clients   map[string]*client
	lastSweep time.Time
}

type client struct {
	bucket   *rate.Limiter
	active   int
	lastSeen time.Time
}

func newLimiter(perMinute, concurrent int, now func() time.Time) *limiter {
	return &limiter{perMinute: perMinute, concurrent: concurrent, now: now, clients: map[string]*client{}}
}

// acquire admits one request from ip, or says how long to wait. release
// must be called when an admitted request is done.
func (l *limiter) acquire(ip string) (release func(), retryAfter time.Duration, ok bool) {
	if l == nil || (l.perMinute <= 0 && l.concurrent <= 0) {
		return func() {}, 0, true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
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
		return nil, time.Second, false
	}
	if c.bucket != nil {
		r := c.bucket.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			return nil, d, false
		}
	}
	c.active++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			c.active--
			l.mu.Unlock()
		})
	}, 0, true
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

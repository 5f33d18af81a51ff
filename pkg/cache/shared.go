package cache

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Result is what a lookup found.
type Result uint8

const (
	Miss        Result = iota // no entry: the answer is fetched and may be stored
	Hit                       // an entry to answer with
	Unavailable               // the cache could not be asked (Redis down): bypass it
)

// Responses is what the proxy asks of a response cache: the in-process
// Cache, or Shared, in Redis, for several replicas.
type Responses interface {
	Lookup(k Key) (*Entry, Result)
	Put(k Key, e *Entry)
	CountBypass()
	Stats() Stats
	Clear()
	Close()
}

// Lookup is Get as Responses has it: the in-process cache is always there.
func (c *Cache) Lookup(k Key) (*Entry, Result) {
	if e, ok := c.Get(k); ok {
		return e, Hit
	}
	return nil, Miss
}

// SharedOptions configure a Shared cache.
type SharedOptions struct {
	URL      string        // redis://[user:password@]host:port/db (or rediss://)
	TTL      time.Duration // each entry's time to live, Redis's own expiry
	MaxEntry int64         // the largest entry kept (bytes of body and headers)
	// OnError hears that Redis could not be reached, at most once a minute
	// (the caller logs it). nil ignores it.
	OnError func(error)
	Now     func() time.Time // nil means time.Now
}

// sharedPrefix namespaces cco's keys in a Redis that may hold others, and
// versions their layout: a change of the entry's encoding takes a new one.
const sharedPrefix = "cco:v1:response:"

// Timeouts for one Redis command, and how long the cache is bypassed
// after a failure before Redis is asked again: a Redis that is down costs
// a request nothing (it is not even dialled), and one that is back is
// used again within a few seconds.
const (
	sharedDialTimeout = 500 * time.Millisecond
	sharedIOTimeout   = 500 * time.Millisecond
	sharedPause       = 2 * time.Second
	sharedWarnEvery   = time.Minute
)

// Shared is the response cache kept in Redis, so that an answer stored
// through one replica is a hit through the others. Keys are the in-process
// cache's (KeyFor), hex-encoded under sharedPrefix; entries expire with the
// TTL; what Redis keeps in all is bounded by its own maxmemory and an LRU
// policy (allkeys-lru), which the README's team recipe sets. When Redis
// cannot be reached, lookups answer Unavailable and stores are skipped.
type Shared struct {
	rdb  *redis.Client
	rate *redis_rate.Limiter
	opts SharedOptions

	pausedUntil atomic.Int64 // unix ns: bypass Redis until then after a failure
	lastWarn    atomic.Int64 // unix ns of the last OnError call

	hits, misses, bypasses, stores, unavailable atomic.Int64

	// leases are the requests each client may still make through this
	// replica without asking Redis (see CountRequest); guarded by leaseMu.
	leaseMu sync.Mutex
	leases  map[string]*lease
}

// A lease is part of a client's budget taken from Redis ahead of use.
type lease struct {
	left  int
	until time.Time // unused requests lapse then
}

// leaseFor is how long a lease lasts, and so the most a lease can hold is
// this long's worth of the limit; maxLeases bounds the clients remembered.
const (
	leaseFor  = time.Second
	maxLeases = 4096
)

// NewShared connects to the Redis at o.URL; it does not wait for it (a
// Redis that is down at start is bypassed like one that goes down later).
func NewShared(o SharedOptions) (*Shared, error) {
	if o.TTL <= 0 || o.MaxEntry <= 0 {
		return nil, errors.New("cache: TTL and entry bound must be positive")
	}
	ro, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("cache.url: %w", err)
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = sharedDialTimeout, sharedIOTimeout, sharedIOTimeout
	ro.MaxRetries = -1 // the cache is bypassed instead
	ro.DisableIdentity = true
	if o.Now == nil {
		o.Now = time.Now
	}
	rdb := redis.NewClient(ro)
	return &Shared{rdb: rdb, rate: redis_rate.NewLimiter(rdb), opts: o, leases: map[string]*lease{}}, nil
}

func sharedKey(k Key) string { return sharedPrefix + hex.EncodeToString(k[:]) }

// usable reports whether Redis may be asked now, counting a request that
// may not.
func (s *Shared) usable() bool {
	if s.opts.Now().UnixNano() < s.pausedUntil.Load() {
		s.unavailable.Add(1)
		return false
	}
	return true
}

// failed pauses the use of Redis and tells OnError, once a minute.
func (s *Shared) failed(err error) {
	now := s.opts.Now()
	s.pausedUntil.Store(now.Add(sharedPause).UnixNano())
	s.unavailable.Add(1)
	last := s.lastWarn.Load()
	if s.opts.OnError != nil && now.UnixNano()-last >= int64(sharedWarnEvery) && s.lastWarn.CompareAndSwap(last, now.UnixNano()) {
		s.opts.OnError(fmt.Errorf("response cache in Redis unreachable, bypassed: %w", err))
	}
}

func (s *Shared) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), sharedDialTimeout+sharedIOTimeout)
}

// Lookup asks Redis for k.
func (s *Shared) Lookup(k Key) (*Entry, Result) {
	if !s.usable() {
		return nil, Unavailable
	}
	ctx, cancel := s.ctx()
	defer cancel()
	data, err := s.rdb.Get(ctx, sharedKey(k)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		s.misses.Add(1)
		return nil, Miss
	case err != nil:
		s.failed(err)
		return nil, Unavailable
	}
	e, err := decodeEntry(data)
	if err != nil { // not ours to read (another layout): a miss, overwritten
		s.misses.Add(1)
		return nil, Miss
	}
	s.hits.Add(1)
	return e, Hit
}

// Put stores e under k with the TTL, unless it is larger than MaxEntry.
func (s *Shared) Put(k Key, e *Entry) {
	if int64(e.weight()) > s.opts.MaxEntry || !s.usable() {
		return
	}
	data, err := encodeEntry(e)
	if err != nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.rdb.Set(ctx, sharedKey(k), data, s.opts.TTL).Err(); err != nil {
		s.failed(err)
		return
	}
	s.stores.Add(1)
}

// CountBypass counts a request that skipped the cache on the client's word.
func (s *Shared) CountBypass() { s.bypasses.Add(1) }

// errUnavailable is CountRequest's answer while Redis is not asked.
var errUnavailable = errors.New("redis unavailable")

// CountRequest counts a request of the client named key against a limit of
// perMinute requests a minute (a bucket that holds a minute's worth, as the
// in-process limiter's), in Redis, so that every replica counts against
// the same budget: GCRA, by go-redis/redis_rate, keyed
// rate:cco:v1:KEY. ok says whether it may go on, retryAfter when the next
// may. An error means Redis could not be asked; the caller then counts
// locally, so an outage never lifts the limits.
//
// Redis is not asked for every request: each time, this replica takes up
// to a second's worth of the limit (perMinute/60, at least one) and spends
// it here for up to a second, so a busy client costs about one round trip
// a second per replica, not one a request. Nothing is granted that Redis
// did not grant; what a replica took and did not spend lapses, so a
// client moving between replicas may be refused up to a second's worth
// early, never let through late.
func (s *Shared) CountRequest(key string, perMinute int) (ok bool, retryAfter time.Duration, err error) {
	now := s.opts.Now()
	s.leaseMu.Lock()
	if l := s.leases[key]; l != nil && l.left > 0 && now.Before(l.until) {
		l.left--
		s.leaseMu.Unlock()
		return true, 0, nil
	}
	s.leaseMu.Unlock()
	if !s.usable() {
		return false, 0, errUnavailable
	}
	ctx, cancel := s.ctx()
	defer cancel()
	chunk := max(1, (perMinute+59)/60)
	res, err := s.rate.AllowAtMost(ctx, "cco:v1:"+key, redis_rate.PerMinute(perMinute), chunk)
	if err != nil {
		s.failed(err)
		return false, 0, err
	}
	if res.Allowed <= 0 {
		return false, res.RetryAfter, nil
	}
	if res.Allowed > 1 {
		s.lease(key, res.Allowed-1, now)
	}
	return true, 0, nil
}

// lease keeps n requests of key's budget for this replica until leaseFor
// from now (with what is left of an earlier lease, which a request asking
// at the same time may have taken).
func (s *Shared) lease(key string, n int, now time.Time) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	l := s.leases[key]
	if l == nil || !now.Before(l.until) {
		if len(s.leases) >= maxLeases {
			for k, old := range s.leases {
				if !now.Before(old.until) {
					delete(s.leases, k)
				}
			}
			if len(s.leases) >= maxLeases {
				return // too many clients at once: they ask Redis each time
			}
		}
		l = &lease{}
		s.leases[key] = l
	}
	l.left += n
	l.until = now.Add(leaseFor)
}

// Clear deletes cco's entries (and nothing else of the Redis).
func (s *Shared) Clear() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	iter := s.rdb.Scan(ctx, 0, sharedPrefix+"*", 1000).Iterator()
	var batch []string
	flush := func() {
		if len(batch) > 0 {
			s.rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			flush()
		}
	}
	flush()
}

// Close closes the connections.
func (s *Shared) Close() { s.rdb.Close() }

// Stats returns the figures of this replica's use of the cache; Entries,
// Bytes and MaxBytes are Redis's to tell (INFO, maxmemory), not this
// process's, and stay 0.
func (s *Shared) Stats() Stats {
	st := Stats{
		Backend: "redis", TTL: s.opts.TTL.String(),
		Hits: s.hits.Load(), Misses: s.misses.Load(), Bypasses: s.bypasses.Load(), Stores: s.stores.Load(),
		Unavailable: s.unavailable.Load(),
	}
	if n := st.Hits + st.Misses; n > 0 {
		st.HitRate = float64(st.Hits) / float64(n)
	}
	return st
}

// An entry in Redis: a 4-byte length, the JSON of everything but the
// body, then the body as it is.
type entryHead struct {
	Status      int             `json:"status"`
	ContentType string          `json:"content_type"`
	RequestID   string          `json:"request_id,omitempty"`
	Stream      bool            `json:"stream,omitempty"`
	Stored      time.Time       `json:"stored"`
	Meta        json.RawMessage `json:"meta,omitempty"`
}

func encodeEntry(e *Entry) ([]byte, error) {
	h := entryHead{Status: e.Status, ContentType: e.ContentType, RequestID: e.RequestID, Stream: e.Stream, Stored: e.Stored}
	if e.Meta != nil {
		m, err := json.Marshal(e.Meta)
		if err != nil {
			return nil, err
		}
		h.Meta = m
	}
	head, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 4, 4+len(head)+len(e.Body))
	binary.BigEndian.PutUint32(out, uint32(len(head)))
	return append(append(out, head...), e.Body...), nil
}

// decodeEntry reads what encodeEntry wrote. Meta comes back as the JSON it
// was (json.RawMessage), for the caller to decode into its own type.
func decodeEntry(data []byte) (*Entry, error) {
	if len(data) < 4 {
		return nil, errors.New("short entry")
	}
	n := int(binary.BigEndian.Uint32(data))
	if n > len(data)-4 {
		return nil, errors.New("entry head longer than the entry")
	}
	var h entryHead
	if err := json.Unmarshal(data[4:4+n], &h); err != nil {
		return nil, err
	}
	e := &Entry{Status: h.Status, ContentType: h.ContentType, RequestID: h.RequestID, Stream: h.Stream, Stored: h.Stored,
		Body: data[4+n:]}
	if len(h.Meta) > 0 {
		e.Meta = h.Meta
	}
	return e, nil
}

// Package cache is cco's response cache: the key that decides when two
// requests are the same, and a store bounded in bytes with a time to live
// (on otter, a well-kept concurrent cache library).
//
// A key covers the method, path, query, the JSON body without
// metadata.user_id (which differs between otherwise identical Claude Code
// runs), anthropic-version, anthropic-beta and a hash of the credential, so
// that two API keys never share an entry. Entries hold decoded (identity)
// bodies; what may be stored is decided by the proxy.
//
// The cache lives in this process (Cache, on otter), or in Redis (Shared,
// through go-redis) for several replicas; the proxy asks either through
// Responses. The shared Redis also keeps the per-client rate limits' counts
// for the server (Shared.CountRequest), with the same handling of an
// outage.
//
// It imports the standard library, otter, tidwall/sjson, go-redis and
// go-redis/redis_rate.
package cache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/tidwall/sjson"
)

// Key identifies a request's answer.
type Key [sha256.Size]byte

// Cacheable reports whether cco caches answers to method and path: the
// Messages API, where the money is.
func Cacheable(method, path string) bool {
	return method == http.MethodPost && path == "/v1/messages"
}

// KeyFor builds the key of a request. credential is what authenticates it
// upstream (the client's x-api-key or authorization, or the key cco adds);
// only its hash enters the key. ok is false when the body is not a JSON
// object (whose validity the upstream judges; errors are never cached).
func KeyFor(method, path, rawQuery string, h http.Header, body []byte, credential string) (k Key, ok bool) {
	if len(body) == 0 || body[firstNonSpace(body)] != '{' {
		return Key{}, false
	}
	// Only the session identifier is dropped; every other byte counts.
	if trimmed, err := sjson.DeleteBytes(body, "metadata.user_id"); err == nil {
		body = trimmed
	}
	credHash := sha256.Sum256([]byte(credential))
	d := sha256.New()
	for _, part := range []string{method, path, rawQuery, h.Get("Anthropic-Version"), strings.Join(h.Values("Anthropic-Beta"), ",")} {
		fmt.Fprintf(d, "%d:%s\n", len(part), part)
	}
	d.Write(credHash[:])
	d.Write(body)
	copy(k[:], d.Sum(nil))
	return k, true
}

func firstNonSpace(b []byte) int {
	for i, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return i
		}
	}
	return 0
}

// Credential returns what authenticates a request: its x-api-key, else its
// authorization, else fallback (the key cco would add).
func Credential(h http.Header, fallback string) string {
	if v := h.Get("X-Api-Key"); v != "" {
		return "x-api-key:" + v
	}
	if v := h.Get("Authorization"); v != "" {
		return "authorization:" + v
	}
	return "cco:" + fallback
}

// Entry is a stored answer.
type Entry struct {
	Status      int
	ContentType string
	RequestID   string // the upstream's request-id of the original answer
	Body        []byte // decoded: replayed without Content-Encoding
	Stream      bool
	Stored      time.Time
	Meta        any // what the caller keeps with the answer (the proxy: its usage)
}

func (e *Entry) weight() uint32 {
	return uint32(min(len(e.Body)+len(e.ContentType)+len(e.RequestID)+128, 1<<31))
}

// Options configure a Cache.
type Options struct {
	MaxBytes int64         // bound on the stored bodies
	TTL      time.Duration // time an entry lives after it is stored
	Clock    otter.Clock   // nil means the real clock
}

// Cache stores answers by Key.
type Cache struct {
	c         *otter.Cache[Key, *Entry]
	opts      Options
	hits      atomic.Int64
	misses    atomic.Int64
	bypasses  atomic.Int64
	stores    atomic.Int64
	evictions atomic.Int64
}

// New builds a Cache.
func New(o Options) (*Cache, error) {
	if o.MaxBytes <= 0 || o.TTL <= 0 {
		return nil, errors.New("cache: size and TTL must be positive")
	}
	cc := &Cache{opts: o}
	c, err := otter.New(&otter.Options[Key, *Entry]{
		MaximumWeight:    uint64(o.MaxBytes),
		Weigher:          func(_ Key, e *Entry) uint32 { return e.weight() },
		ExpiryCalculator: otter.ExpiryWriting[Key, *Entry](o.TTL),
		Clock:            o.Clock,
		// Synchronous, under otter's bucket lock: an atomic add is all it
		// may do, and the count is current as soon as the removal is.
		OnAtomicDeletion: func(e otter.DeletionEvent[Key, *Entry]) {
			if e.WasEvicted() {
				cc.evictions.Add(1)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create response cache: %w", err)
	}
	cc.c = c
	return cc, nil
}

// Get looks k up and counts a hit or a miss.
func (c *Cache) Get(k Key) (*Entry, bool) {
	e, ok := c.c.GetIfPresent(k)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return e, ok
}

// Put stores e under k. An entry larger than the whole cache is not kept.
func (c *Cache) Put(k Key, e *Entry) {
	if int64(e.weight()) > c.opts.MaxBytes {
		return
	}
	c.c.Set(k, e)
	c.stores.Add(1)
}

// CountBypass counts a request that skipped the cache on the client's word.
func (c *Cache) CountBypass() { c.bypasses.Add(1) }

// Clear drops every entry.
func (c *Cache) Clear() { c.c.InvalidateAll() }

// Close stops the cache's background work.
func (c *Cache) Close() { c.c.StopAllGoroutines() }

// Stats are the cache's figures since start.
type Stats struct {
	Backend  string  `json:"backend"` // "memory" (this process) or "redis" (shared)
	Entries  int     `json:"entries"`
	Bytes    int64   `json:"bytes"`
	MaxBytes int64   `json:"max_bytes"`
	TTL      string  `json:"ttl"`
	Hits     int64   `json:"hits"`
	Misses   int64   `json:"misses"`
	Bypasses int64   `json:"bypasses"`
	Stores   int64   `json:"stores"`
	HitRate  float64 `json:"hit_rate"` // hits / (hits + misses)

	// Evictions counts entries the cache dropped on its own: to stay
	// within MaxBytes (otter's CauseOverflow) or because their TTL had
	// passed (CauseExpiration). Entries removed on request are not
	// evictions: Clear (otter's CauseInvalidation) and a Put that replaces
	// a key's live entry (CauseReplacement) are left out, since they say
	// nothing about whether the cache is too small or the TTL too short.
	// One exception follows from how otter reports removals: an entry
	// whose TTL had already passed when Clear or a Put of its key removed
	// it counts, as an expiry, because it had expired (Get no longer
	// returned it) before Clear or Put reached it.
	Evictions int64 `json:"evictions"`

	// Unavailable counts lookups and stores that bypassed a shared cache
	// because Redis could not be reached (always 0 in memory).
	Unavailable int64 `json:"unavailable"`
}

// Stats returns the figures.
func (c *Cache) Stats() Stats {
	s := Stats{
		Backend:   "memory",
		Entries:   c.c.EstimatedSize(),
		Bytes:     int64(c.c.WeightedSize()),
		MaxBytes:  c.opts.MaxBytes,
		TTL:       c.opts.TTL.String(),
		Hits:      c.hits.Load(),
		Misses:    c.misses.Load(),
		Bypasses:  c.bypasses.Load(),
		Stores:    c.stores.Load(),
		Evictions: c.evictions.Load(),
	}
	if n := s.Hits + s.Misses; n > 0 {
		s.HitRate = float64(s.Hits) / float64(n)
	}
	return s
}

package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/realdb"
)

type testMeta struct {
	Model  string
	Tokens int64
}

func newShared(t *testing.T, r *realdb.Redis, o SharedOptions) *Shared {
	t.Helper()
	o.URL = r.URL()
	if o.TTL == 0 {
		o.TTL = time.Minute
	}
	if o.MaxEntry == 0 {
		o.MaxEntry = 1 << 20
	}
	s, err := NewShared(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func key(s string) Key {
	k, _ := KeyFor("POST", "/v1/messages", "", nil, []byte(`{"m":"`+s+`"}`), "sk-ant-test")
	return k
}

// An answer stored through one replica is a hit through another, whole:
// status, headers, body and the caller's metadata (as its JSON); under
// cco's versioned prefix, with Redis's own expiry set to the TTL.
func TestSharedAcrossReplicas(t *testing.T) {
	r := realdb.StartRedis(t)
	a, b := newShared(t, r, SharedOptions{}), newShared(t, r, SharedOptions{})
	e := &Entry{Status: 200, ContentType: "text/event-stream", RequestID: "req_1", Body: []byte("event: ping\ndata: {}\n\n"),
		Stream: true, Stored: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC), Meta: testMeta{"claude-haiku-4-5", 42}}
	if _, got := b.Lookup(key("x")); got != Miss {
		t.Fatalf("empty cache: %v, want Miss", got)
	}
	a.Put(key("x"), e)
	got, res := b.Lookup(key("x"))
	if res != Hit {
		t.Fatalf("through the other replica: %v, want Hit", res)
	}
	var meta testMeta
	if err := json.Unmarshal(got.Meta.(json.RawMessage), &meta); err != nil || meta != e.Meta {
		t.Errorf("Meta = %s (%v), want %+v", got.Meta, err, e.Meta)
	}
	got.Meta = e.Meta
	if got.Status != e.Status || got.ContentType != e.ContentType || got.RequestID != e.RequestID ||
		!bytes.Equal(got.Body, e.Body) || got.Stream != e.Stream || !got.Stored.Equal(e.Stored) {
		t.Errorf("entry through Redis\n got %+v\nwant %+v", got, e)
	}
	keys, err := a.rdb.Keys(context.Background(), "*").Result()
	if err != nil || len(keys) != 1 || !strings.HasPrefix(keys[0], "cco:v1:response:") {
		t.Errorf("keys in Redis: %v %v", keys, err)
	}
	if ttl := a.rdb.PTTL(context.Background(), keys[0]).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("the entry's TTL in Redis is %v, want up to a minute", ttl)
	}
	if st := b.Stats(); st.Hits != 1 || st.Misses != 1 || st.Backend != "redis" {
		t.Errorf("stats: %+v", st)
	}
}

// Entries expire with the TTL; one larger than MaxEntry is not stored;
// Clear deletes cco's entries only.
func TestSharedBounds(t *testing.T) {
	r := realdb.StartRedis(t)
	s := newShared(t, r, SharedOptions{TTL: 300 * time.Millisecond, MaxEntry: 1000})
	s.Put(key("short"), &Entry{Status: 200, Body: []byte("a")})
	if _, res := s.Lookup(key("short")); res != Hit {
		t.Fatalf("fresh entry: %v", res)
	}
	time.Sleep(600 * time.Millisecond)
	if _, res := s.Lookup(key("short")); res != Miss {
		t.Errorf("after its TTL: %v, want Miss", res)
	}
	s.Put(key("big"), &Entry{Status: 200, Body: make([]byte, 2000)})
	if _, res := s.Lookup(key("big")); res != Miss {
		t.Errorf("an entry over MaxEntry was stored: %v", res)
	}
	if err := s.rdb.Set(context.Background(), "someone-else", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	long := newShared(t, r, SharedOptions{})
	long.Put(key("kept?"), &Entry{Status: 200, Body: []byte("b")})
	long.Clear()
	if _, res := long.Lookup(key("kept?")); res != Miss {
		t.Error("Clear left an entry")
	}
	if v := s.rdb.Get(context.Background(), "someone-else").Val(); v != "v" {
		t.Error("Clear deleted a key that is not cco's")
	}
}

// Redis down: lookups answer Unavailable at once (the first after a
// failure within the dial timeout, the rest without dialling), stores are
// skipped, one warning is given; once Redis is back it is used again.
func TestSharedRedisDown(t *testing.T) {
	r := realdb.StartRedis(t)
	var warnings atomic.Int64
	s := newShared(t, r, SharedOptions{OnError: func(err error) {
		if !strings.Contains(err.Error(), "Redis unreachable") {
			t.Errorf("warning: %v", err)
		}
		warnings.Add(1)
	}})
	r.Stop()
	start := time.Now()
	for range 50 {
		if _, res := s.Lookup(key("x")); res != Unavailable {
			t.Fatalf("Redis down: %v, want Unavailable", res)
		}
		s.Put(key("x"), &Entry{Status: 200})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("100 calls with Redis down took %v", d)
	}
	if n := warnings.Load(); n != 1 {
		t.Errorf("%d warnings, want 1 (at most one a minute)", n)
	}
	if st := s.Stats(); st.Unavailable != 100 || st.Stores != 0 {
		t.Errorf("stats with Redis down: %+v", st)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.Put(key("back"), &Entry{Status: 200, Body: []byte("b")})
		if _, res := s.Lookup(key("back")); res == Hit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis never used again after it came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSharedBadURL(t *testing.T) {
	_, err := NewShared(SharedOptions{URL: "http://x", TTL: time.Minute, MaxEntry: 1})
	if err == nil {
		t.Fatal("NewShared took an http:// URL")
	}
}

// decodeEntry refuses what encodeEntry did not write.
func TestDecodeEntry(t *testing.T) {
	for _, data := range [][]byte{nil, {0, 0}, {0, 0, 0, 9, '{'}, {0, 0, 0, 1, 'x'}} {
		if _, err := decodeEntry(data); err == nil {
			t.Errorf("decodeEntry(%q) accepted it", data)
		}
	}
}

// Two replicas count one client's requests against one budget in Redis;
// another client has its own; with Redis down the caller is told to count
// locally.
func TestSharedCountRequest(t *testing.T) {
	r := realdb.StartRedis(t)
	a, b := newShared(t, r, SharedOptions{}), newShared(t, r, SharedOptions{})
	var got []bool
	for i := range 4 {
		s := a
		if i%2 == 1 {
			s = b
		}
		ok, wait, err := s.CountRequest("api:203.0.113.1", 3)
		if err != nil {
			t.Fatal(err)
		}
		if !ok && (wait <= 0 || wait > 30*time.Second) {
			t.Errorf("refused with retry after %v, want about 20 s", wait)
		}
		got = append(got, ok)
	}
	if want := []bool{true, true, true, false}; !slices.Equal(got, want) {
		t.Errorf("a client's 4 requests at 3 a minute across two replicas: %v, want %v", got, want)
	}
	if ok, _, err := b.CountRequest("api:203.0.113.2", 3); !ok || err != nil {
		t.Errorf("another client: %v %v, want allowed", ok, err)
	}
	r.Stop()
	if _, _, err := a.CountRequest("api:203.0.113.1", 3); err == nil {
		t.Error("Redis down, and CountRequest did not say so")
	}
}

// TestSharedLeases: a replica takes a second's worth of a client's budget
// from Redis at a time and spends it without asking again; what it took
// lapses after a second; across replicas no more is granted than Redis
// granted.
func TestSharedLeases(t *testing.T) {
	r := realdb.StartRedis(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := newShared(t, r, SharedOptions{Now: clock})

	// 600 a minute: ten a second. The first request takes ten; with Redis
	// gone, the other nine still pass, the eleventh needs Redis.
	if ok, _, err := a.CountRequest("api:203.0.113.9", 600); !ok || err != nil {
		t.Fatalf("first request: %v %v", ok, err)
	}
	r.Stop()
	for i := range 9 {
		if ok, _, err := a.CountRequest("api:203.0.113.9", 600); !ok || err != nil {
			t.Fatalf("request %d of the lease: %v %v", i+2, ok, err)
		}
	}
	if _, _, err := a.CountRequest("api:203.0.113.9", 600); err == nil {
		t.Error("the eleventh request was granted without Redis")
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(3 * time.Second) // past the pause after the failure, too
	mu.Unlock()
	if ok, _, err := a.CountRequest("api:203.0.113.9", 600); !ok || err != nil {
		t.Fatalf("after the outage: %v %v", ok, err)
	}
	// The new lease lapses: a second later the next request asks Redis.
	r.Stop()
	mu.Lock()
	now = now.Add(1100 * time.Millisecond)
	mu.Unlock()
	if _, _, err := a.CountRequest("api:203.0.113.9", 600); err == nil {
		t.Error("a lapsed lease was spent")
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}

	// Two replicas, 120 a minute (two a request to Redis), 200 requests at
	// once alternating: about the bucket's 120 pass, never more than Redis
	// granted.
	b, c := newShared(t, r, SharedOptions{}), newShared(t, r, SharedOptions{})
	start := time.Now()
	allowed := 0
	for i := range 200 {
		s := b
		if i%2 == 1 {
			s = c
		}
		ok, _, err := s.CountRequest("api:198.51.100.1", 120)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		}
	}
	refill := int(time.Since(start).Seconds()*2) + 1
	if allowed > 120+refill || allowed < 120-2*2 {
		t.Errorf("%d of 200 allowed at 120 a minute across two replicas, want 116 to %d", allowed, 120+refill)
	}
}

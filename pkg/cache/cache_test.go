package cache

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

const body = `{"model":"claude-haiku-4-5","max_tokens":64,"metadata":{"user_id":"{\"device_id\":\"d1\",\"account_uuid\":\"\",\"session_id\":\"s-1111\"}"},"messages":[{"role":"user","content":"hi"}],"stream":true}`

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestKeys(t *testing.T) {
	base := header("Anthropic-Version", "2023-06-01", "Anthropic-Beta", "claude-code-20250219,interleaved-thinking-2025-05-14")
	key := func(method, path, query string, h http.Header, b, cred string) Key {
		t.Helper()
		k, ok := KeyFor(method, path, query, h, []byte(b), cred)
		if !ok {
			t.Fatalf("not cacheable: %s", b)
		}
		return k
	}
	k0 := key("POST", "/v1/messages", "beta=true", base, body, "x-api-key:A")
	otherSession := bytes.Replace([]byte(body), []byte("s-1111"), []byte("s-2222"), 1)
	noMetadataUser := `{"model":"claude-haiku-4-5","max_tokens":64,"metadata":{},"messages":[{"role":"user","content":"hi"}],"stream":true}`
	same := []struct {
		name string
		k    Key
	}{
		{"another session (metadata.user_id)", key("POST", "/v1/messages", "beta=true", base, string(otherSession), "x-api-key:A")},
		{"session header does not count", key("POST", "/v1/messages", "beta=true", header("Anthropic-Version", "2023-06-01", "Anthropic-Beta", "claude-code-20250219,interleaved-thinking-2025-05-14", "X-Claude-Code-Session-Id", "zzz"), body, "x-api-key:A")},
		{"user_id absent", key("POST", "/v1/messages", "beta=true", base, noMetadataUser, "x-api-key:A")},
	}
	for _, s := range same {
		if s.k != k0 {
			t.Errorf("%s: key differs, want a hit", s.name)
		}
	}
	differ := []struct {
		name string
		k    Key
	}{
		{"another API key", key("POST", "/v1/messages", "beta=true", base, body, "x-api-key:B")},
		{"bearer instead of key", key("POST", "/v1/messages", "beta=true", base, body, "authorization:Bearer A")},
		{"beta header", key("POST", "/v1/messages", "beta=true", header("Anthropic-Version", "2023-06-01", "Anthropic-Beta", "claude-code-20250219"), body, "x-api-key:A")},
		{"no beta header", key("POST", "/v1/messages", "beta=true", header("Anthropic-Version", "2023-06-01"), body, "x-api-key:A")},
		{"version", key("POST", "/v1/messages", "beta=true", header("Anthropic-Version", "2026-10-21", "Anthropic-Beta", "claude-code-20250219,interleaved-thinking-2025-05-14"), body, "x-api-key:A")},
		{"query", key("POST", "/v1/messages", "", base, body, "x-api-key:A")},
		{"path", key("POST", "/v1/messages/count_tokens", "beta=true", base, body, "x-api-key:A")},
		{"body", key("POST", "/v1/messages", "beta=true", base, string(bytes.Replace([]byte(body), []byte(`"hi"`), []byte(`"ho"`), 1)), "x-api-key:A")},
		{"other metadata", key("POST", "/v1/messages", "beta=true", base, string(bytes.Replace([]byte(body), []byte(`"metadata":{`), []byte(`"metadata":{"x":1,`), 1)), "x-api-key:A")},
	}
	for _, d := range differ {
		if d.k == k0 {
			t.Errorf("%s: same key, want a miss", d.name)
		}
	}
	for _, b := range []string{"", "[1,2]", "not json", "  "} {
		if _, ok := KeyFor("POST", "/v1/messages", "", base, []byte(b), "x"); ok {
			t.Errorf("body %q counted as cacheable", b)
		}
	}
}

func TestCacheableAndCredential(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         bool
	}{{"POST", "/v1/messages", true}, {"POST", "/v1/messages/count_tokens", false}, {"GET", "/v1/models", false}, {"POST", "/v1/messages/batches", false}, {"GET", "/v1/messages", false}} {
		if Cacheable(c.method, c.path) != c.want {
			t.Errorf("Cacheable(%s %s) != %v", c.method, c.path, c.want)
		}
	}
	if Credential(header("X-Api-Key", "k"), "env") != "x-api-key:k" || Credential(header("Authorization", "Bearer t"), "env") != "authorization:Bearer t" || Credential(header(), "env") != "cco:env" {
		t.Error("Credential")
	}
}

type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) NowNano() int64                      { return c.now.Load() }
func (c *fakeClock) Tick(time.Duration) <-chan time.Time { return nil }
func (c *fakeClock) advance(d time.Duration)             { c.now.Add(int64(d)) }

func TestTTLAndBytes(t *testing.T) {
	clk := &fakeClock{}
	clk.now.Store(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC).UnixNano())
	c, err := New(Options{MaxBytes: 500 << 10, TTL: time.Hour, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := Key{1}
	c.Put(k, &Entry{Status: 200, Body: []byte("answer")})
	if e, ok := c.Get(k); !ok || string(e.Body) != "answer" {
		t.Fatal("fresh entry missing")
	}
	clk.advance(59 * time.Minute)
	if _, ok := c.Get(k); !ok {
		t.Fatal("entry gone before its TTL")
	}
	clk.advance(2 * time.Minute)
	if _, ok := c.Get(k); ok {
		t.Fatal("entry outlived its TTL")
	}

	// Bounded in bytes, not entries: ten 100 KiB answers in 500 KiB.
	for i := range 10 {
		c.Put(Key{byte(i + 10)}, &Entry{Status: 200, Body: make([]byte, 100<<10)})
		c.c.CleanUp()
	}
	st := c.Stats()
	if st.Bytes > 500<<10 || st.Entries > 5 || st.Entries == 0 {
		t.Errorf("after ten 100 KiB entries: %d entries, %d bytes (max %d)", st.Entries, st.Bytes, st.MaxBytes)
	}
	// Too big for the whole cache: not kept.
	c.Put(Key{99}, &Entry{Body: make([]byte, 600<<10)})
	if _, ok := c.c.GetIfPresent(Key{99}); ok {
		t.Error("an entry larger than the cache was kept")
	}
	c.Clear()
	if _, ok := c.Get(Key{10}); ok || c.Stats().Entries != 0 {
		t.Error("Clear left entries")
	}
	st = c.Stats()
	if st.Hits != 2 || st.Misses != 2 || st.Stores != 11 || st.HitRate != 0.5 {
		t.Errorf("stats %+v", st)
	}
}

// Evictions counts what the byte bound and the TTL drop, and not what Clear
// or a replacing Put removes.
func TestEvictions(t *testing.T) {
	clk := &fakeClock{}
	clk.now.Store(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC).UnixNano())
	// Each entry weighs 1000 (872 bytes of body and 128 of overhead), so
	// ten fit in 10 000 bytes.
	c, err := New(Options{MaxBytes: 10_000, TTL: time.Hour, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	entry := func() *Entry { return &Entry{Status: 200, Body: make([]byte, 872)} }
	if w := entry().weight(); w != 1000 {
		t.Fatalf("weight %d, want 1000", w)
	}
	evictions := func() int64 { t.Helper(); c.c.CleanUp(); return c.Stats().Evictions }

	c.Put(Key{1}, entry())
	c.Put(Key{1}, entry()) // replaces a live entry
	c.Clear()
	if n := evictions(); n != 0 {
		t.Fatalf("a replacing Put and Clear counted %d evictions", n)
	}

	// Twenty-five entries where ten fit: fifteen go for size.
	for i := range 25 {
		c.Put(Key{byte(i + 10)}, entry())
		c.c.CleanUp()
	}
	st := c.Stats()
	if st.Evictions != 15 || st.Entries != 10 || st.Bytes != 10_000 {
		t.Errorf("after 25 entries in room for 10: %d evictions, %d entries, %d bytes", st.Evictions, st.Entries, st.Bytes)
	}

	// The ten left expire.
	clk.advance(time.Hour + time.Minute)
	if n := evictions(); n != 25 {
		t.Errorf("after the TTL: %d evictions, want 25", n)
	}
	if st := c.Stats(); st.Entries != 0 {
		t.Errorf("after the TTL: %d entries left", st.Entries)
	}
}

func BenchmarkKey60KB(b *testing.B) {
	big := bytes.Replace([]byte(body), []byte(`"hi"`), []byte(`"`+string(bytes.Repeat([]byte("a"), 60<<10))+`"`), 1)
	h := header("Anthropic-Version", "2023-06-01", "Anthropic-Beta", "claude-code-20250219")
	b.SetBytes(int64(len(big)))
	for b.Loop() {
		KeyFor("POST", "/v1/messages", "beta=true", h, big, "x-api-key:A")
	}
}

package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/visiquate/cco/pkg/store"
)

// Scrape serves the metrics and parses them back with Prometheus's own
// text parser.
func Scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, rec.Body)
	}
	return families
}

// value is the sum of a family's counters or gauges whose labels include
// want.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
	sum := 0.0
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func TestObserveAndScrape(t *testing.T) {
	m := New(Build{Version: "2025.11.2", Commit: "abc1234", GoVersion: "go1.26"}, Sources{
		InFlight: func() int64 { return 3 },
		Cache: func() CacheFigures {
			return CacheFigures{Hits: 5, Misses: 7, Evictions: 6, Unavailable: 9, Entries: 2, Bytes: 4096, MaxBytes: 1 << 30}
		},
		Queued:  func() int { return 1 },
		Dropped: func() int64 { return 4 },
	})
	for range 3 {
		m.Observe(store.Record{Model: "claude-haiku-4-5", Status: 200, Input: 100, Output: 20, CacheRead: 50, CostNano: 250_000,
			Latency: 1200 * time.Millisecond, TTFB: 300 * time.Millisecond, Upstream: 1160 * time.Millisecond})
	}
	m.Observe(store.Record{Model: "claude-haiku-4-5", Status: 200, CacheHit: true, SavedNano: 250_000, Latency: 2 * time.Millisecond})
	m.Observe(store.Record{Model: "unknown", Status: 529, Latency: 40 * time.Millisecond, Upstream: 38 * time.Millisecond})
	m.Refused("proxy")
	m.Refused("proxy")

	f := Scrape(t, m)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"cco_requests_total", nil, 5},
		{"cco_requests_total", map[string]string{"status": "200", "cache": "miss", "model": "claude-haiku-4-5"}, 3},
		{"cco_requests_total", map[string]string{"cache": "hit"}, 1},
		{"cco_requests_total", map[string]string{"status": "529"}, 1},
		{"cco_request_duration_seconds", nil, 5},
		{"cco_time_to_first_byte_seconds", nil, 3},
		{"cco_upstream_duration_seconds", nil, 4}, // not the cache hit
		{"cco_upstream_duration_seconds", map[string]string{"model": "claude-haiku-4-5"}, 3},
		{"cco_upstream_duration_seconds", map[string]string{"model": "unknown"}, 1},
		{"cco_added_seconds", nil, 5},
		{"cco_tokens_total", map[string]string{"kind": "input"}, 300},
		{"cco_tokens_total", map[string]string{"kind": "output"}, 60},
		{"cco_tokens_total", map[string]string{"kind": "cache_read"}, 150},
		{"cco_cost_usd_total", nil, 0.00075},
		{"cco_cache_saved_usd_total", nil, 0.00025},
		{"cco_rate_limit_refusals_total", map[string]string{"route": "proxy"}, 2},
		{"cco_requests_in_flight", nil, 3},
		{"cco_cache_hits_total", nil, 5},
		{"cco_cache_misses_total", nil, 7},
		{"cco_cache_evictions_total", nil, 6},
		{"cco_cache_unavailable_total", nil, 9},
		{"cco_cache_bytes", nil, 4096},
		{"cco_analytics_queue_length", nil, 1},
		{"cco_analytics_dropped_total", nil, 4},
		{"cco_build_info", map[string]string{"version": "2025.11.2", "commit": "abc1234", "goversion": "go1.26"}, 1},
	} {
		if got := value(f, c.name, c.labels); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Of claude-haiku-4-5's four, the cache hit (2 ms) is at most 1 s, the
	// three 1.2 s requests fall in (1, 2.5].
	h := f["cco_request_duration_seconds"].Metric[0]
	if h.Label[0].GetValue() != "claude-haiku-4-5" {
		t.Fatalf("first series: %v", h.Label)
	}
	for _, b := range h.Histogram.Bucket {
		if b.GetUpperBound() == 1 && b.GetCumulativeCount() != 1 || b.GetUpperBound() == 2.5 && b.GetCumulativeCount() != 4 {
			t.Errorf("bucket le=%v has %d", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
	// Upstream: three of 1.16 s and one of 38 ms.
	if u := histogram(t, f, "cco_upstream_duration_seconds"); u.GetSampleCount() != 4 || !near(u.GetSampleSum(), 3*1.16+0.038) {
		t.Errorf("upstream: %d samples, sum %v", u.GetSampleCount(), u.GetSampleSum())
	}
	// Added: 40 ms for each of the three, 2 ms for the 529 and the whole
	// 2 ms of the cache hit.
	added := histogram(t, f, "cco_added_seconds")
	if added.GetSampleCount() != 5 || !near(added.GetSampleSum(), 3*0.04+0.002+0.002) {
		t.Errorf("added: %d samples, sum %v", added.GetSampleCount(), added.GetSampleSum())
	}
	for _, b := range added.Bucket {
		want := map[float64]uint64{0.0001: 0, 0.001: 0, 0.0025: 2, 0.025: 2, 0.05: 5, 1: 5}
		if n, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != n {
			t.Errorf("cco_added_seconds bucket le=%v has %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), n)
		}
	}
	if f["go_goroutines"] == nil || f["process_resident_memory_bytes"] == nil {
		t.Error("runtime and process metrics missing")
	}
}

// histogram is a family's histograms summed (their buckets are the same).
func histogram(t *testing.T, families map[string]*dto.MetricFamily, name string) *dto.Histogram {
	t.Helper()
	f := families[name]
	if f == nil || len(f.Metric) == 0 || f.Metric[0].Histogram == nil {
		t.Fatalf("%s: no histogram", name)
	}
	var count uint64
	var sum float64
	buckets := make([]uint64, len(f.Metric[0].Histogram.Bucket))
	for _, m := range f.Metric {
		count += m.Histogram.GetSampleCount()
		sum += m.Histogram.GetSampleSum()
		for i, b := range m.Histogram.Bucket {
			buckets[i] += b.GetCumulativeCount()
		}
	}
	h := &dto.Histogram{SampleCount: &count, SampleSum: &sum}
	for i, b := range f.Metric[0].Histogram.Bucket {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: b.UpperBound, CumulativeCount: &buckets[i]})
	}
	return h
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// Observe allocates nothing once a model's series exist: it runs on every
// proxied request.
func TestObserveDoesNotAllocate(t *testing.T) {
	m := New(Build{}, Sources{})
	miss := store.Record{Model: "claude-haiku-4-5", Status: 200, Input: 100, Output: 20, CostNano: 250_000,
		Latency: time.Second, TTFB: time.Millisecond, Upstream: 990 * time.Millisecond}
	hit := store.Record{Model: "claude-haiku-4-5", Status: 200, CacheHit: true, SavedNano: 250_000, Latency: time.Millisecond}
	m.Observe(miss)
	m.Observe(hit)
	if n := testing.AllocsPerRun(1000, func() { m.Observe(miss); m.Observe(hit) }); n != 0 {
		t.Errorf("Observe allocates %v times per call pair", n)
	}
}

// Without a cache the cache's figures are left out, not reported as zero.
func TestNoCache(t *testing.T) {
	f := Scrape(t, New(Build{}, Sources{}))
	if f["cco_cache_hits_total"] != nil || f["cco_requests_in_flight"] != nil {
		t.Error("figures of absent sources were exported")
	}
}

// Observe is what every proxied request pays.
func BenchmarkObserve(b *testing.B) {
	m := New(Build{}, Sources{})
	r := store.Record{Model: "claude-haiku-4-5", Status: 200, Input: 100, Output: 20, CostNano: 250_000, Latency: time.Second, TTFB: time.Millisecond,
		Upstream: 990 * time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(r)
		}
	})
}

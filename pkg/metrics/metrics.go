// Package metrics exports cco's figures in the Prometheus text format
// through client_golang (which lives only here): requests by status, model
// and cache result, latency, time to first byte, tokens, cost, the response
// cache, the analytics queue and rate-limit refusals, and build info.
//
// A request's latency is split in two: the time the upstream took
// (cco_upstream_duration_seconds) and the rest, cco's own added time
// (cco_added_seconds), which is what cco costs a client.
//
// Per-request figures are counted as each request finishes (Observe, a few
// atomic adds); figures that already exist elsewhere (requests in flight,
// the cache's counters, the queue) are read when Prometheus scrapes, so
// they cost the hot path nothing.
//
// It imports client_golang and pkg/store (the row type it observes).
package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/visiquate/cco/pkg/store"
)

// Buckets fit LLM calls: from 50 ms to 10 minutes, in seconds.
var Buckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// AddedBuckets fit the time cco adds to a request: from 100 us to 1 s, in
// seconds.
var AddedBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

// Build describes the binary, for cco_build_info.
type Build struct {
	Version, Commit, GoVersion string
}

// Sources are figures read at scrape time; nil ones are left out.
type Sources struct {
	// InFlight is the number of proxied requests being answered.
	InFlight func() int64
	// Cache reports the response cache's counters; nil when it is off.
	Cache func() CacheFigures
	// Queued and Dropped report the analytics queue.
	Queued  func() int
	Dropped func() int64
}

// CacheFigures are the response cache's figures.
type CacheFigures struct {
	Hits, Misses, Bypasses, Stores int64
	// Unavailable counts lookups and stores that bypassed a shared cache
	// whose Redis could not be reached.
	Unavailable int64
	// Evictions are entries the cache dropped for size or expiry (see
	// cache.Stats.Evictions).
	Evictions       int64
	Entries         int
	Bytes, MaxBytes int64
}

// Metrics holds the collectors. Its methods are safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ttfb     *prometheus.HistogramVec
	upstream *prometheus.HistogramVec
	added    prometheus.Histogram
	tokens   *prometheus.CounterVec
	cost     *prometheus.CounterVec
	saved    *prometheus.CounterVec
	refusals *prometheus.CounterVec
	perModel sync.Map // model -> *modelSeries

	mu        sync.RWMutex
	perStatus map[statusKey]prometheus.Counter // children of requests, looked up once
}

type statusKey struct {
	status int
	hit    bool
	model  string
}

// modelSeries are a model's children, looked up once.
type modelSeries struct {
	latency, ttfb, upstream                              prometheus.Observer
	input, output, cacheWrite5m, cacheWrite1h, cacheRead prometheus.Counter
	cost, saved                                          prometheus.Counter
}

// New registers cco's metrics, the Go runtime's and the process's.
func New(b Build, src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), perStatus: map[statusKey]prometheus.Counter{}}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cco_requests_total", Help: "Proxied requests answered, by status, model and cache result (hit, miss).",
	}, []string{"status", "model", "cache"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cco_request_duration_seconds", Help: "Time from a request's arrival to the end of its answer.", Buckets: Buckets,
	}, []string{"model"})
	m.ttfb = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cco_time_to_first_byte_seconds", Help: "Time from a request's arrival to the first byte of its answer's body.", Buckets: Buckets,
	}, []string{"model"})
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cco_upstream_duration_seconds", Buckets: Buckets,
		Help: "Time from handing a request to the upstream until the upstream's answer ended (or the upstream failed); cache hits and requests that never went upstream are not counted.",
	}, []string{"model"})
	m.added = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "cco_added_seconds", Buckets: AddedBuckets,
		Help: "Time cco itself added to a request: its duration minus its upstream time (the whole duration for a cache hit); buckets 100 us to 1 s.",
	})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cco_tokens_total", Help: "Tokens used, by kind (input, output, cache_write_5m, cache_write_1h, cache_read) and model.",
	}, []string{"kind", "model"})
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cco_cost_usd_total", Help: "What the proxied requests cost, in US dollars, by model.",
	}, []string{"model"})
	m.saved = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cco_cache_saved_usd_total", Help: "What answers from cco's response cache would have cost, in US dollars, by model.",
	}, []string{"model"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cco_rate_limit_refusals_total", Help: "Requests refused by cco's own rate limits, by route kind (api, proxy).",
	}, []string{"route"})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cco_build_info", Help: "The running cco's version, commit and Go version; always 1.",
	}, []string{"version", "commit", "goversion"})
	info.WithLabelValues(b.Version, b.Commit, b.GoVersion).Set(1)
	m.reg.MustRegister(m.requests, m.latency, m.ttfb, m.upstream, m.added, m.tokens, m.cost, m.saved, m.refusals, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(sourceCollector{src})
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Observe counts one finished request, from the row analytics records.
func (m *Metrics) Observe(r store.Record) {
	ms := m.model(r.Model)
	m.requestCounter(statusKey{r.Status, r.CacheHit, r.Model}).Inc()
	ms.latency.Observe(r.Latency.Seconds())
	if r.TTFB > 0 {
		ms.ttfb.Observe(r.TTFB.Seconds())
	}
	added := r.Latency
	if r.Upstream > 0 && !r.CacheHit {
		ms.upstream.Observe(r.Upstream.Seconds())
		added = max(r.Latency-r.Upstream, 0)
	}
	m.added.Observe(added.Seconds())
	add := func(c prometheus.Counter, n int64) {
		if n > 0 {
			c.Add(float64(n))
		}
	}
	add(ms.input, r.Input)
	add(ms.output, r.Output)
	add(ms.cacheWrite5m, r.CacheWrite5m)
	add(ms.cacheWrite1h, r.CacheWrite1h)
	add(ms.cacheRead, r.CacheRead)
	if r.CostNano > 0 {
		ms.cost.Add(float64(r.CostNano) / 1e9)
	}
	if r.SavedNano > 0 {
		ms.saved.Add(float64(r.SavedNano) / 1e9)
	}
}

// Refused counts a request refused by a rate limit; route is "api" or
// "proxy".
func (m *Metrics) Refused(route string) { m.refusals.WithLabelValues(route).Inc() }

func (m *Metrics) requestCounter(k statusKey) prometheus.Counter {
	m.mu.RLock()
	c, ok := m.perStatus[k]
	m.mu.RUnlock()
	if ok {
		return c
	}
	cache := "miss"
	if k.hit {
		cache = "hit"
	}
	c = m.requests.WithLabelValues(strconv.Itoa(k.status), k.model, cache)
	m.mu.Lock()
	m.perStatus[k] = c
	m.mu.Unlock()
	return c
}

func (m *Metrics) model(name string) *modelSeries {
	if s, ok := m.perModel.Load(name); ok {
		return s.(*modelSeries)
	}
	s := &modelSeries{
		latency:      m.latency.WithLabelValues(name),
		ttfb:         m.ttfb.WithLabelValues(name),
		upstream:     m.upstream.WithLabelValues(name),
		input:        m.tokens.WithLabelValues("input", name),
		output:       m.tokens.WithLabelValues("output", name),
		cacheWrite5m: m.tokens.WithLabelValues("cache_write_5m", name),
		cacheWrite1h: m.tokens.WithLabelValues("cache_write_1h", name),
		cacheRead:    m.tokens.WithLabelValues("cache_read", name),
		cost:         m.cost.WithLabelValues(name),
		saved:        m.saved.WithLabelValues(name),
	}
	actual, _ := m.perModel.LoadOrStore(name, s)
	return actual.(*modelSeries)
}

// sourceCollector reads the figures kept elsewhere at scrape time.
type sourceCollector struct{ src Sources }

var (
	descInFlight  = prometheus.NewDesc("cco_requests_in_flight", "Proxied requests being answered now.", nil, nil)
	descHits      = prometheus.NewDesc("cco_cache_hits_total", "Requests answered from cco's response cache.", nil, nil)
	descMisses    = prometheus.NewDesc("cco_cache_misses_total", "Cacheable requests the response cache did not have.", nil, nil)
	descBypasses  = prometheus.NewDesc("cco_cache_bypasses_total", "Requests that asked not to use the response cache.", nil, nil)
	descUnavail   = prometheus.NewDesc("cco_cache_unavailable_total", "Lookups and stores that bypassed the shared response cache because Redis could not be reached.", nil, nil)
	descStores    = prometheus.NewDesc("cco_cache_stores_total", "Answers stored in the response cache.", nil, nil)
	descEvictions = prometheus.NewDesc("cco_cache_evictions_total", "Answers the response cache dropped to stay within cache.size or because their TTL passed (not those cleared on request).", nil, nil)
	descEntries   = prometheus.NewDesc("cco_cache_entries", "Answers in the response cache.", nil, nil)
	descBytes     = prometheus.NewDesc("cco_cache_bytes", "Bytes held by the response cache.", nil, nil)
	descMaxBytes  = prometheus.NewDesc("cco_cache_max_bytes", "The response cache's bound in bytes (cache.size).", nil, nil)
	descQueued    = prometheus.NewDesc("cco_analytics_queue_length", "Analytics rows waiting to be written.", nil, nil)
	descDropped   = prometheus.NewDesc("cco_analytics_dropped_total", "Analytics rows dropped because the queue was full.", nil, nil)
	sourceMetrics = []*prometheus.Desc{descInFlight, descHits, descMisses, descBypasses, descUnavail, descStores, descEvictions, descEntries, descBytes, descMaxBytes, descQueued, descDropped}
)

func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range sourceMetrics {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	if c.src.InFlight != nil {
		gauge(descInFlight, float64(c.src.InFlight()))
	}
	if c.src.Cache != nil {
		f := c.src.Cache()
		counter(descHits, float64(f.Hits))
		counter(descMisses, float64(f.Misses))
		counter(descBypasses, float64(f.Bypasses))
		counter(descUnavail, float64(f.Unavailable))
		counter(descStores, float64(f.Stores))
		counter(descEvictions, float64(f.Evictions))
		gauge(descEntries, float64(f.Entries))
		gauge(descBytes, float64(f.Bytes))
		gauge(descMaxBytes, float64(f.MaxBytes))
	}
	if c.src.Queued != nil {
		gauge(descQueued, float64(c.src.Queued()))
	}
	if c.src.Dropped != nil {
		counter(descDropped, float64(c.src.Dropped()))
	}
}

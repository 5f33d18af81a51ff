package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/analytics"
	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/cache"
	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/limits"
	"github.com/visiquate/cco/pkg/live"
	"github.com/visiquate/cco/pkg/metrics"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/proxy"
	"github.com/visiquate/cco/pkg/store"
)

// components are what an instance serves with, behind its HTTP server: the
// upstream, the analytics store, the response cache, the proxy, metrics and
// the live hub.
type components struct {
	upstream *url.URL
	store    *store.Store
	cache    cache.Responses // nil when the cache is off
	shared   *cache.Shared   // the Redis of cache.url: the cache, when on, and the rate limits' counts
	proxy    *proxy.Proxy
	metrics  *metrics.Metrics
	live     *live.Hub
	limits   *limits.Limiter // the spend limits
	dbPath   string          // the SQLite file, or the PostgreSQL URL without its password
}

// openComponents opens the analytics database, loads the prices, builds the
// response cache and the proxy. close releases what was opened; call it
// after the server has stopped, so that in-flight requests are recorded.
// replica names this instance in the analytics rows.
func openComponents(ctx context.Context, cfg config.Config, o Options, logger *logrus.Logger, replica string) (*components, func(), error) {
	c := &components{}
	var err error
	if c.upstream, err = url.Parse(cfg.Upstream.URL); err != nil {
		return nil, nil, fmt.Errorf("upstream URL: %w", err)
	}
	prices, err := LoadPrices(cfg.Pricing.File)
	if err != nil {
		return nil, nil, err
	}
	dbOpts := store.Options{
		Retention: cfg.Database.Retention,
		Now:       o.Now,
		OnError:   func(err error) { logger.WithError(err).Warn("analytics write failed") },
	}
	if config.IsPostgresURL(cfg.Database.URL) {
		dbOpts.URL, dbOpts.Name = cfg.Database.URL, config.RedactURL(cfg.Database.URL)
		c.dbPath = dbOpts.Name
	} else if dbOpts.Path, err = config.SQLitePath(cfg.Database.URL); err != nil {
		return nil, nil, &config.Error{Key: "database.url", Msg: err.Error()}
	} else {
		c.dbPath = dbOpts.Path
	}
	c.store, err = store.Open(ctx, dbOpts)
	if err != nil {
		return nil, nil, err
	}
	closers := []func(){func() {
		if err := c.store.Close(); err != nil {
			logger.WithError(err).Warn("closing the analytics database")
		}
	}}
	on := cfg.Cache.Enabled && cfg.Cache.Size > 0
	switch {
	case cfg.Cache.URL != "":
		// The shared Redis also counts the rate limits, cache on or off.
		bound := int64(maxSharedEntry)
		if cfg.Cache.Size > 0 {
			bound = min(cfg.Cache.Size, bound)
		}
		if c.shared, err = cache.NewShared(cache.SharedOptions{
			URL: cfg.Cache.URL, TTL: cfg.Cache.TTL, MaxEntry: bound,
			OnError: func(err error) { logger.WithError(err).Warn("response cache bypassed") },
		}); err != nil {
			closers[0]()
			return nil, nil, &config.Error{Key: "cache.url", Msg: err.Error()}
		}
		closers = append(closers, c.shared.Close)
		if on {
			c.cache = c.shared
		}
	case on:
		if c.cache, err = cache.New(cache.Options{MaxBytes: cfg.Cache.Size, TTL: cfg.Cache.TTL}); err != nil {
			closers[0]()
			return nil, nil, err
		}
		closers = append(closers, c.cache.Close)
	}
	src := metrics.Sources{Queued: c.store.Queued, Dropped: c.store.Dropped}
	if c.cache != nil {
		src.Cache = func() metrics.CacheFigures {
			s := c.cache.Stats()
			return metrics.CacheFigures{Hits: s.Hits, Misses: s.Misses, Bypasses: s.Bypasses, Unavailable: s.Unavailable,
				Stores: s.Stores, Evictions: s.Evictions, Entries: s.Entries, Bytes: s.Bytes, MaxBytes: s.MaxBytes}
		}
	}
	src.InFlight = func() int64 { return c.proxy.Stats().InFlight }
	c.metrics = metrics.New(metrics.Build{Version: o.Info.Version, Commit: o.Info.Commit, GoVersion: o.Info.GoVersion}, src)
	c.live = live.New(control.MaxLiveSessions)
	c.limits = newLimiter(cfg, o, logger, c.store)
	c.limits.Start(ctx)
	closers = append(closers, c.limits.Stop)
	recorder := &analytics.Recorder{Prices: prices, Queue: c.store, Replica: replica, Observe: func(r store.Record) {
		c.limits.Add(r.Time, r.CostNano)
		c.metrics.Observe(r)
		if c.live.Subscribers() > 0 { // convert the row only when a dashboard listens
			c.live.Publish(analytics.Request(r, 0))
		}
	}}
	c.proxy = proxy.New(proxy.Options{
		Upstream:      c.upstream,
		APIKey:        o.APIKey,
		MaxBodyBytes:  cfg.Server.MaxBodySize,
		BodyTimeout:   cfg.Server.BodyTimeout,
		HeaderTimeout: cfg.Upstream.HeaderTimeout,
		IdleTimeout:   cfg.Upstream.IdleTimeout,
		RootCAs:       o.UpstreamRoots,
		Logger:        logger,
		Now:           o.Now,
		Cache:         c.cache,
		CacheMaxEntry: int(min(cfg.Cache.Size, 64<<20)),
		OnDone:        recorder.Record,
		Admit:         c.limits.Admit,
	})
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	return c, closeAll, nil
}

// LoadPrices is the built-in table with the user's file on top, if any
// (pricing.file); `cco stats import` prices with it too.
func LoadPrices(path string) (*pricing.Table, error) {
	table := pricing.Default()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || path == "" {
		return table, nil
	}
	if err != nil {
		return nil, &config.Error{Key: "pricing.file", Msg: err.Error()}
	}
	override, err := pricing.Parse(data)
	if err != nil {
		return nil, &config.Error{Path: path, Msg: err.Error()}
	}
	return table.With(override), nil
}

// stats answers /api/stats.
func (c *components) stats(now func() time.Time) func(ctx context.Context, name, by string) (*control.Stats, error) {
	return func(ctx context.Context, name, by string) (*control.Stats, error) {
		if _, _, err := analytics.Range(name, now(), time.Local); err != nil {
			return nil, apierror.New(http.StatusBadRequest, "%s", err.Error())
		}
		if err := analytics.CheckBy(by); err != nil {
			return nil, apierror.New(http.StatusBadRequest, "%s", err.Error())
		}
		var cs *cache.Stats
		if c.cache != nil {
			s := c.cache.Stats()
			cs = &s
		}
		st, err := analytics.Report(ctx, c.store, name, by, now(), time.Local, c.store.Dropped(), cs)
		if st != nil {
			st.Limits = c.limits.Status()
		}
		return st, err
	}
}

// blocks answers /api/stats/blocks.
func (c *components) blocks(now func() time.Time) func(ctx context.Context, q control.ReportQuery) (*control.Blocks, error) {
	return func(ctx context.Context, q control.ReportQuery) (*control.Blocks, error) {
		t := now()
		sp, err := analytics.Resolve(q, t, time.Local)
		if err != nil {
			return nil, apierror.New(http.StatusBadRequest, "%s", err.Error())
		}
		return analytics.BlocksReport(ctx, c.store, sp.From, sp.To, t, sp.Loc)
	}
}

// report answers /api/stats/{daily,weekly,monthly,session}.
func (c *components) report(now func() time.Time) func(ctx context.Context, name string, q control.ReportQuery) (*control.Report, error) {
	return func(ctx context.Context, name string, q control.ReportQuery) (*control.Report, error) {
		sp, err := analytics.Resolve(q, now(), time.Local)
		if err != nil {
			return nil, apierror.New(http.StatusBadRequest, "%s", err.Error())
		}
		return analytics.PeriodReport(ctx, c.store, name, sp)
	}
}

// statusLine answers /api/statusline.
func (c *components) statusLine(now func() time.Time) func(ctx context.Context, session string) (*control.StatusLine, error) {
	return func(ctx context.Context, session string) (*control.StatusLine, error) {
		st, err := analytics.StatusLine(ctx, c.store, session, now(), time.Local)
		if st != nil {
			st.Limits = c.limits.Status()
		}
		return st, err
	}
}

// requests answers /api/requests.
func (c *components) requests(ctx context.Context, limit int, before int64) (*control.Requests, error) {
	return analytics.Requests(ctx, c.store, limit, before)
}

// instance is what /api/instance needs of the components; listen is the base
// URL clients use.
func (c *components) instance(listen, service string) func() control.Instance {
	return func() control.Instance {
		return control.Instance{Listen: listen, Upstream: c.upstream.Redacted(), Database: c.dbPath,
			Cache: c.cacheStats(), Service: service}
	}
}

// maxSharedEntry bounds one entry in Redis (cache.size bounds it too):
// far above any answer the API gives, far below Redis's 512 MB limit on a
// value.
const maxSharedEntry = 32 << 20

// database reports the analytics database's state for /health and /ready.
func (c *components) database() control.DatabaseStatus {
	d := control.DatabaseStatus{Name: c.dbPath, OK: true, Queued: c.store.Queued(), Dropped: c.store.Dropped()}
	if err, since := c.store.WriteError(); err != nil {
		d.OK, d.Error, d.Since = false, err.Error(), &since
	}
	return d
}

// cacheStats answers the control API's cache route.
func (c *components) cacheStats() *control.CacheStats {
	if c.cache == nil {
		return analytics.CacheReport(nil)
	}
	s := c.cache.Stats()
	return analytics.CacheReport(&s)
}

func (c *components) clearCache() {
	if c.cache != nil {
		c.cache.Clear()
	}
}

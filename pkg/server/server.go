// Package server is cco's HTTP face: the one echo route table, its
// middleware (Host and Origin checks against DNS rebinding and web pages,
// per-client rate limits, the access token for other machines, the control
// token), the error handler that answers in Anthropic's error envelope, and
// the health, readiness and control handlers. /v1/* goes to the proxy.
//
// Every request passes, in this order: panic recovery, the request log,
// the rate limit, the access-token gate, the Host check, the Origin check
// (which also refuses what Fetch Metadata marks cross-site or same-site, on
// every route, /v1/* included: an <img> or <script> tag on any page must
// not spend the injected API key), then the route (and, for control
// routes, their own guards).
//
//   - The rate limit comes before the gate so that refused requests spend
//     the client's budget too: a flood of guessed tokens from one address
//     is cut to APILimit (every client not on loopback is limited on every
//     route), and so is the warning the gate logs for each refusal.
//   - The gate comes before the Host and Origin checks so that a client on
//     another machine without the token learns nothing but "send
//     x-cco-token", and so that x-cco-token is off the request before
//     anything else looks at it.
//
// Remote access (Options.Remote): a client whose TCP peer address is not
// loopback must send the access token in x-cco-token on every route,
// unknown ones included; it is compared by SHA-256 digest in constant time.
// The header is removed from every request, also from loopback clients and
// when no token is configured, so neither handlers nor the upstream ever
// see it; the client's own x-api-key and authorization pass untouched. A
// loopback client keeps the old rules: x-cco-token is, for it, the control
// token of the control routes. Those routes refuse other machines
// outright, since their x-cco-token is the access token. Loopback is judged
// by the peer address, except for a request from one of
// Options.TrustedProxies carrying X-Forwarded-For: its client is the one
// the header names (for the rate limits too), and it counts as remote
// wherever cco listens, so a reverse proxy on the same machine does not
// make every client look local.
//
// It imports echo, logrus, x/time/rate and the apierror, control,
// dashboard, live, proxy, secret and version packages.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/dashboard"
	"github.com/visiquate/cco/pkg/live"
	"github.com/visiquate/cco/pkg/proxy"
	"github.com/visiquate/cco/pkg/secret"
	"github.com/visiquate/cco/pkg/version"
)

// Options wire a Server to its instance.
type Options struct {
	Info      version.Info
	PID       int
	StartedAt time.Time
	Now       func() time.Time
	Logger    *logrus.Logger
	// Token authorises control requests; it comes from the state file.
	Token string
	// Shutdown is called, once, when a control request asks the instance
	// to stop. It must not block.
	Shutdown func()
	// Database reports the analytics database's state for /health and
	// /ready; nil leaves it out.
	Database func() control.DatabaseStatus
	// Update reports the background update check; nil, or a nil result,
	// leaves it out of /health.
	Update func() *control.UpdateStatus
	// Limits reports the spend limits for /health; nil, or none set,
	// leaves them out.
	Limits func() control.Limits
	// Proxy serves /v1/*; nil leaves those routes out.
	Proxy Proxy
	// AllowedHosts are Host names accepted besides loopback ones.
	AllowedHosts []string
	// Remote says the instance listens beyond loopback: other machines'
	// clients are then rate-limited on every route, and IP-literal Hosts
	// are accepted.
	Remote bool
	// SharedLimits, when set, counts the per-minute limits across
	// replicas (in Redis); nil counts them in this process.
	SharedLimits RateCounter
	// TrustedProxies are reverse proxies whose X-Forwarded-For names the
	// client. A request from one of them that carries the header is
	// attributed and rate-limited by that client's address, and counts as
	// remote: it needs AccessToken, and never reaches the control routes.
	TrustedProxies []netip.Prefix
	// AccessToken, when Remote (or behind TrustedProxies), must be
	// presented in x-cco-token by every client that is not on loopback.
	AccessToken secret.Secret
	// APILimit applies per client to /api/* (control included) and to
	// every request from a client that is not on this machine.
	APILimit Limit
	// ProxyLimit applies per loopback client to /v1/*.
	ProxyLimit Limit
	// Stats answers /api/stats for a range name; nil leaves the route out.
	// An *apierror.Error it returns is answered as is (a bad range).
	Stats func(ctx context.Context, rangeName, by string) (*control.Stats, error)
	// Blocks answers /api/stats/blocks for since and until dates; nil
	// leaves the route out. An *apierror.Error it returns is answered as is.
	Blocks func(ctx context.Context, q control.ReportQuery) (*control.Blocks, error)
	// Report answers /api/stats/{daily,weekly,monthly,session}; nil
	// leaves them out.
	Report func(ctx context.Context, name string, q control.ReportQuery) (*control.Report, error)
	// StatusLine answers /api/statusline for a session id; nil leaves the
	// route out. The server adds update_available.
	StatusLine func(ctx context.Context, session string) (*control.StatusLine, error)
	// Metrics serves /metrics; nil leaves the route out.
	Metrics http.Handler
	// OnRateLimited, when set, is told of each request a rate limit refused,
	// with the limit's kind ("api" or "proxy").
	OnRateLimited func(kind string)
	// CacheStats and ClearCache serve the token-protected cache routes;
	// nil CacheStats leaves them out.
	CacheStats func() *control.CacheStats
	ClearCache func()
	// Requests answers /api/requests (limit 0 means the default, before 0
	// the newest); nil leaves the route out.
	Requests func(ctx context.Context, limit int, before int64) (*control.Requests, error)
	// Live feeds /api/events; nil leaves the route out.
	Live *live.Hub
	// Instance answers /api/instance with what only the daemon knows; the
	// server fills in version, pid, uptime and update. nil leaves it out.
	Instance func() control.Instance
}

// Limit is a per-client rate limit; zero values are no limit.
type Limit struct {
	PerMinute  int
	Concurrent int
}

// Proxy is what the server needs of the /v1/* proxy.
type Proxy interface {
	http.Handler
	Stats() proxy.Stats
}

// Server serves one cco instance.
type Server struct {
	opts         Options
	echo         *echo.Echo
	apiLimiter   *limiter
	proxyLimiter *limiter
	access       tokenGate
	stopping     atomic.Bool
	stopOnce     atomic.Bool
	stopped      chan struct{} // closed by SetStopping: live streams end
	stoppedOnce  sync.Once
	pageTok      string
	fromXFF      echo.IPExtractor // nil without TrustedProxies
}

// New builds the route table.
func New(opts Options) *Server {
	s := &Server{
		opts:         opts,
		echo:         echo.New(),
		apiLimiter:   newLimiter("api", opts.APILimit.PerMinute, opts.APILimit.Concurrent, opts.Now, opts.SharedLimits),
		proxyLimiter: newLimiter("proxy", opts.ProxyLimit.PerMinute, opts.ProxyLimit.Concurrent, opts.Now, opts.SharedLimits),
		access:       newTokenGate(opts.AccessToken),
		stopped:      make(chan struct{}),
		pageTok:      newPageToken(),
	}
	if len(opts.TrustedProxies) > 0 {
		// Only the ranges given: echo's extractor otherwise trusts every
		// loopback, link-local and private address.
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, p := range opts.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
		}
		s.fromXFF = echo.ExtractIPFromXFFHeader(trust...)
	}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// The order matters; the package doc says why.
	e.Use(s.recoverPanics, s.logRequests, s.rateLimit, s.checkAccessToken, s.checkHost, s.checkOrigin)

	getOrHead := []string{http.MethodGet, http.MethodHead}
	e.Match(getOrHead, control.HealthPath, s.health)
	e.Match(getOrHead, control.ReadyPath, s.ready)
	page := echo.WrapHandler(dashboard.Handler())
	e.Match(getOrHead, "/", page)
	e.Match(getOrHead, dashboard.AssetsPrefix+"*", page)
	if s.opts.Metrics != nil {
		e.Match(getOrHead, "/metrics", echo.WrapHandler(s.opts.Metrics))
	}

	guard := []echo.MiddlewareFunc{s.loopbackClientOnly, loopbackHostOnly, noBrowserOrigin, s.requireToken}
	e.POST(control.ShutdownPath, s.shutdown, guard...)
	if opts.CacheStats != nil {
		e.GET(control.CachePath, func(c echo.Context) error { return c.JSON(http.StatusOK, opts.CacheStats()) }, guard...)
		e.POST(control.CacheClearPath, s.clearCache, guard...)
	}
	if opts.Stats != nil {
		e.GET(control.StatsPath, s.stats)
	}
	if opts.Blocks != nil {
		e.GET(control.BlocksPath, func(c echo.Context) error {
			b, err := opts.Blocks(c.Request().Context(), control.QueryFrom(c.QueryParams()))
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, b)
		})
	}
	if opts.Report != nil {
		for _, name := range control.Reports {
			e.GET(control.ReportsPath+name, func(c echo.Context) error {
				r, err := opts.Report(c.Request().Context(), name, control.QueryFrom(c.QueryParams()))
				if err != nil {
					return err
				}
				return c.JSON(http.StatusOK, r)
			})
		}
	}
	if opts.StatusLine != nil {
		e.GET(control.StatusLinePath, s.statusLine)
	}
	if opts.Requests != nil {
		e.GET(control.RequestsPath, s.requests)
	}
	if opts.Live != nil {
		e.GET(control.EventsPath, s.events)
	}
	if opts.Instance != nil {
		e.GET(control.InstancePath, s.instance)
	}
	e.POST(control.PageTokenPath, s.pageToken, sameOriginPage)
	if opts.ClearCache != nil {
		e.POST(control.PageCacheClearPath, s.clearCache, sameOriginPage, s.requirePageToken)
	}

	if opts.Proxy != nil {
		e.Any("/v1/*", echo.WrapHandler(opts.Proxy))
	}
	return s
}

// Handler is the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.echo }

// SetStopping marks the instance as shutting down: /ready then answers 503
// so that nothing new is routed here while in-flight requests finish, and
// live event streams end (a graceful shutdown waits for every connection).
func (s *Server) SetStopping() {
	s.stopping.Store(true)
	s.stoppedOnce.Do(func() { close(s.stopped) })
}

func (s *Server) health(c echo.Context) error {
	status := "ok"
	if s.stopping.Load() {
		status = "stopping"
	}
	h := control.Health{
		Status:    status,
		Uptime:    int64(s.opts.Now().Sub(s.opts.StartedAt) / time.Second),
		Version:   s.opts.Info.Version,
		PID:       s.opts.PID,
		StartedAt: s.opts.StartedAt.UTC(),
	}
	if s.opts.Proxy != nil {
		st := s.opts.Proxy.Stats()
		h.Proxy = &control.ProxyStats{Requests: st.Requests, InFlight: st.InFlight, UpstreamErrors: st.UpstreamErrors}
	}
	if s.opts.Update != nil {
		if u := s.opts.Update(); u != nil {
			h.Update = u
			h.UpdateAvailable = u.Available
		}
	}
	if s.opts.Limits != nil {
		h.Limits = s.opts.Limits()
	}
	if s.opts.Database != nil {
		db := s.opts.Database()
		h.Database = &db
		if !db.OK && h.Status == "ok" {
			h.Status = "degraded"
		}
	}
	return c.JSON(http.StatusOK, h)
}

func (s *Server) ready(c echo.Context) error {
	r := control.Ready{Ready: !s.stopping.Load(), Timestamp: s.opts.Now().UTC().Format(time.RFC3339)}
	if s.opts.Database != nil {
		if db := s.opts.Database(); !db.OK {
			r.Problems = append(r.Problems, fmt.Sprintf("analytics database %s: %s (%d rows waiting)", db.Name, db.Error, db.Queued))
		}
	}
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
	}
	return c.JSON(code, r)
}

func (s *Server) stats(c echo.Context) error {
	st, err := s.opts.Stats(c.Request().Context(), c.QueryParam("range"), c.QueryParam("by"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) statusLine(c echo.Context) error {
	st, err := s.opts.StatusLine(c.Request().Context(), c.QueryParam("session"))
	if err != nil {
		return err
	}
	if s.opts.Update != nil {
		if u := s.opts.Update(); u != nil {
			st.UpdateAvailable = u.Available
		}
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) clearCache(c echo.Context) error {
	s.opts.ClearCache()
	s.opts.Logger.Info("response cache cleared over the control API")
	return c.JSON(http.StatusOK, map[string]string{"status": "cleared"})
}

func (s *Server) shutdown(c echo.Context) error {
	if s.stopOnce.CompareAndSwap(false, true) {
		s.opts.Logger.WithField("remote", c.RealIP()).Info("shutdown requested over the control API")
		// After the answer is written: the caller then waits for the exit.
		defer s.opts.Shutdown()
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "stopping"})
}

// loopbackHostOnly refuses requests whose Host is not a loopback name, so a
// web page that rebinds its own DNS name to 127.0.0.1 cannot reach the route.
func loopbackHostOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !isLoopbackName(hostOnly(c.Request().Host)) {
			return &apierror.Error{Status: http.StatusForbidden, Type: "permission_error", Message: "this route answers only to a loopback Host (127.0.0.1, ::1 or localhost)"}
		}
		return next(c)
	}
}

// noBrowserOrigin refuses anything a browser sends on behalf of a page:
// control requests come from the cco CLI, which sends no Origin.
func noBrowserOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if h.Get("Origin") != "" || (h.Get("Sec-Fetch-Site") != "" && h.Get("Sec-Fetch-Site") != "none") {
			return &apierror.Error{Status: http.StatusForbidden, Type: "permission_error", Message: "control requests from web pages are refused"}
		}
		return next(c)
	}
}

// requireToken asks for the control token, which checkAccessToken has taken
// off the request and left in the context.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		got, _ := c.Get(controlTokenKey).(string)
		if got == "" || !equalSecret(got, s.opts.Token) {
			return &apierror.Error{Status: http.StatusUnauthorized, Type: "authentication_error", Message: "missing or wrong " + control.TokenHeader, NoRetry: true}
		}
		return next(c)
	}
}

// checkHost refuses requests whose Host is not this machine's loopback
// name or address, a configured name, or (when listening beyond loopback)
// an IP address: a web page that points its own DNS name at 127.0.0.1 must
// not reach cco, let alone spend the user's API key through it.
func (s *Server) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		host := hostOnly(c.Request().Host)
		ok := isLoopbackName(host) || slices.Contains(s.opts.AllowedHosts, strings.ToLower(host)) ||
			(s.opts.Remote && net.ParseIP(host) != nil)
		if !ok {
			return &apierror.Error{Status: http.StatusForbidden, Type: "permission_error", NoRetry: true,
				Message: "Host " + c.Request().Host + " is not allowed; add it to server.allowed_hosts if it is yours"}
		}
		return next(c)
	}
}

// checkOrigin refuses what a browser sends on behalf of another site (see
// browserRefusal): a page may talk to cco only if cco served it. No CORS
// headers are ever sent.
func (s *Server) checkOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if why := browserRefusal(r.Method, r.Host, r.Header); why != "" {
			return &apierror.Error{Status: http.StatusForbidden, Type: "permission_error", NoRetry: true, Message: why}
		}
		return next(c)
	}
}

// browserRefusal says why a request must be refused as one a browser made
// for another site, or "" when it may pass. Clients that are not browsers
// (Claude Code, the SDKs, curl) send neither Origin nor Sec-Fetch-Site and
// always pass.
//
//   - An Origin other than cco's own (http:// and the Host) is refused.
//   - Sec-Fetch-Site (Fetch Metadata, which browsers send to loopback and
//     https origins, also for <img>, <script> and form posts that carry no
//     Origin) must be same-origin; "none", a URL the user typed or
//     bookmarked, is accepted for GET and HEAD only. cross-site, same-site
//     (another port of localhost is the same site) and unknown values are
//     refused.
func browserRefusal(method, host string, h http.Header) string {
	if o := h.Get("Origin"); o != "" && !strings.EqualFold(o, "http://"+host) {
		return "cross-origin requests are refused"
	}
	switch site := h.Get("Sec-Fetch-Site"); site {
	case "", "same-origin":
		return ""
	case "none":
		if method == http.MethodGet || method == http.MethodHead {
			return ""
		}
		return "a browser request the user started may only GET a page"
	default:
		return "requests a browser sends for another site (Sec-Fetch-Site: " + site + ") are refused"
	}
}

// rateLimit applies the per-client limits that fit the route and client.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cl := s.clientOf(c.Request())
		l := s.limiterFor(c.Request().URL.Path, cl.local)
		release, wait, ok := l.acquire(cl.ip)
		if !ok {
			if s.opts.OnRateLimited != nil {
				kind := "api"
				if l == s.proxyLimiter {
					kind = "proxy"
				}
				s.opts.OnRateLimited(kind)
			}
			return &apierror.Error{Status: http.StatusTooManyRequests, Type: "rate_limit_error", RetryAfter: retryAfterSeconds(wait),
				Message: "cco's own rate limit for this client was reached; retry after the retry-after header's seconds"}
		}
		if c.Request().URL.Path == control.EventsPath {
			// A live stream stays open for hours: it counts against the
			// per-minute budget only; the hub caps how many are open.
			release()
		}
		defer release()
		return next(c)
	}
}

func (s *Server) limiterFor(path string, loopbackClient bool) *limiter {
	switch {
	case strings.HasPrefix(path, "/api/") || !loopbackClient:
		return s.apiLimiter
	case strings.HasPrefix(path, "/v1/"):
		return s.proxyLimiter
	}
	return nil
}

// sender is who sent a request, as far as cco can tell.
type sender struct {
	ip      string // the TCP peer's address, or the one a trusted proxy names
	proxied bool   // it came through a trusted proxy (with X-Forwarded-For)
	local   bool   // on this machine: a loopback peer, not proxied
}

// clientOf tells who sent r. Only a peer among the trusted proxies is
// believed about X-Forwarded-For (echo's extractor, walking the header
// from the right past trusted addresses); a trusted proxy's own requests,
// without the header, are its own.
func (s *Server) clientOf(r *http.Request) sender {
	peer := clientIP(r.RemoteAddr)
	if s.fromXFF != nil && len(r.Header.Values(echo.HeaderXForwardedFor)) > 0 {
		if a, err := netip.ParseAddr(peer); err == nil && s.trusted(a.Unmap()) {
			return sender{ip: s.fromXFF(r), proxied: true}
		}
	}
	ip := net.ParseIP(peer)
	return sender{ip: peer, local: ip != nil && ip.IsLoopback()}
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func clientIP(remoteAddr string) string {
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return h
	}
	return remoteAddr
}

// hostOnly strips the port and IPv6 brackets from a Host header.
func hostOnly(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

func isLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logRequests logs each request at debug level; /v1/* requests the proxy
// has handled are logged by the proxy, at info level.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.opts.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // writes the response, so the status below is final
		}
		req := c.Request()
		if !s.opts.Logger.IsLevelEnabled(logrus.DebugLevel) || (err == nil && strings.HasPrefix(req.URL.Path, "/v1/")) {
			return nil
		}
		s.opts.Logger.WithFields(logrus.Fields{
			"method":   req.Method,
			"path":     req.URL.Path,
			"status":   c.Response().Status,
			"duration": s.opts.Now().Sub(start).String(),
		}).Debug("request done")
		return nil
	}
}

func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.opts.Logger.WithField("panic", r).Error("handler panicked")
				err = errors.New("internal error")
			}
		}()
		return next(c)
	}
}

// Package proxy forwards /v1/* to the Anthropic API without changing what
// the client sends or receives, except for adding the API key to requests
// that carry no credentials. Streams (text/event-stream) are relayed event by
// event as they arrive.
//
// It forwards with an http.Transport directly (forward.go says what that
// does and why it is not httputil.ReverseProxy), with five things around
// it:
//
//   - The path is cleaned (forwardPath says how); one that leaves /v1/ once
//     cleaned gets 400 and never reaches the upstream, which would otherwise
//     get the injected API key on a path outside the API.
//   - The request body is read in full (bounded by MaxBodyBytes, within
//     BodyTimeout, into a buffer that grows as bytes arrive; body.go says
//     how slow and oversized bodies are refused) before the upstream
//     request starts. A proxy that hands the server's body to
//     the Transport races with the server: once the response headers are
//     written, net/http discards and closes the rest of the request body,
//     while the Transport's write loop may still read it (to check for bytes
//     past Content-Length); that read fails with "invalid Read on closed
//     Body", the Transport closes the upstream connection, and the stream the
//     client is reading is cut short ("use of closed network connection").
//     With the body in memory the Transport never touches the server's
//     reader, and over-limit bodies get a 413 before any upstream traffic.
//     (ReverseProxy was used until the hot path was measured; the race is
//     net/http's and holds for any Transport.)
//   - A response body that goes silent for IdleTimeout is cut off; a stream
//     as a whole has no time limit.
//   - Failures cco makes itself are answered in Anthropic's error envelope;
//     one that happens mid-stream ends the stream with an SSE error event, as
//     the API itself does.
//   - Counters for /health, and the timings of each request: its latency,
//     time to first byte, and the part of its latency spent upstream.
//
// The upstream's part is timed from the moment the request is handed to
// the Transport to the end of the upstream's response body as the relay
// reads it, or to the Transport's error. What is
// left of the latency is cco's own: reading the request body, the cache,
// relaying the last write, the books. During a stream the relay reads the
// next event only after writing the last one, so a slow client's
// back-pressure counts as upstream time, not cco's.
//
// It imports apierror, cache, logging (the access log line), secret and
// usage.
package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/cache"
	"github.com/visiquate/cco/pkg/secret"
	"github.com/visiquate/cco/pkg/usage"
)

// Options configure a Proxy.
type Options struct {
	Upstream     *url.URL
	APIKey       secret.Secret // sent as x-api-key when a request has no credentials
	MaxBodyBytes int64
	// BodyTimeout bounds the time to read a request body (408 after); 0
	// means no bound.
	BodyTimeout time.Duration
	// MaxArrivingBytes bounds the bytes held by request bodies still
	// arriving, together (503 for a body that would pass it); 0 means the
	// larger of 256 MiB and 4 x MaxBodyBytes.
	MaxArrivingBytes int64
	HeaderTimeout    time.Duration
	IdleTimeout      time.Duration
	RootCAs          *x509.CertPool    // trusted roots; nil means the system's
	Transport        http.RoundTripper // nil means NewTransport(HeaderTimeout, RootCAs)
	Logger           *logrus.Logger
	Now              func() time.Time

	// Cache, when set, answers repeated requests to /v1/messages.
	Cache cache.Responses
	// CacheMaxEntry bounds the size of one stored answer.
	CacheMaxEntry int
	// OnDone, when set, is told about every finished request, on the
	// request's goroutine: it must be quick (analytics enqueue a row).
	OnDone func(Done)
	// Admit, when set, is asked before a POST /v1/messages goes upstream,
	// after the cache has had its turn (an answer from the cache costs
	// nothing): an error it returns is the answer instead (the spend
	// limits). It runs on every such request and must be cheap.
	Admit func() *apierror.Error
}

// Done describes a finished request, for analytics.
type Done struct {
	Start     time.Time
	Method    string
	Path      string
	Status    int
	RequestID string      // the upstream's request-id (for a hit, the original's)
	Usage     usage.Usage // read from the response as it passed (for a hit, from the stored answer)
	CacheHit  bool
	Latency   time.Duration
	TTFB      time.Duration // until the first byte of the response body
	// Upstream is the time from handing the request to the upstream
	// Transport until the upstream's response body ended (or the Transport
	// failed). It is 0 for a cache hit and for a request that never went
	// upstream (a refused body). Latency - Upstream is cco's added time.
	Upstream  time.Duration
	ErrorType string // Anthropic's type of the error answered, if any
	UserAgent string
	SessionID string // x-claude-code-session-id
	// User is the client's x-cco-user (UserHeader); Credential names the
	// API key or token that authenticated the request (or the one cco
	// added) by a hash, "" when there was none.
	User, Credential string
}

// Stats are the proxy's counters since start.
type Stats struct {
	Requests       int64 `json:"requests"`
	InFlight       int64 `json:"in_flight"`
	UpstreamErrors int64 `json:"upstream_errors"`
	// ArrivingBodyBytes are the bytes held now by request bodies still
	// arriving (their buffers' capacity).
	ArrivingBodyBytes int64 `json:"arriving_body_bytes"`
}

// Proxy is the /v1/* handler.
type Proxy struct {
	opts           Options
	buffers        *bodyPool
	arriving       atomic.Int64 // bytes held by bodies still arriving
	maxArriving    int64
	requests       atomic.Int64
	inFlight       atomic.Int64
	upstreamErrors atomic.Int64
	credentials    credentials
}

// New builds a Proxy.
func New(opts Options) *Proxy {
	if opts.Transport == nil {
		opts.Transport = NewTransport(opts.HeaderTimeout, opts.RootCAs)
	}
	p := &Proxy{opts: opts, buffers: &bodyPool{}, maxArriving: opts.MaxArrivingBytes}
	if p.maxArriving <= 0 {
		p.maxArriving = max(minArrivingBytes, 4*opts.MaxBodyBytes)
	}
	return p
}

// NewTransport returns the upstream transport: pooled keep-alive
// connections, HTTP/2 where the upstream offers it, TLS always verified,
// and compression left to the client and upstream (bytes pass unchanged).
func NewTransport(headerTimeout time.Duration, roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: headerTimeout,
		DisableCompression:    true,
		// Headers and a Claude-Code-sized body (50-80 KB) leave in one
		// write instead of a 4 KB one and 32 KB ones (HTTP/1.1 upstreams;
		// HTTP/2 frames its own).
		WriteBufferSize: 128 << 10,
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
	}
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{Requests: p.requests.Load(), InFlight: p.inFlight.Load(), UpstreamErrors: p.upstreamErrors.Load(),
		ArrivingBodyBytes: p.arriving.Load()}
}

// exchange is the state of one request.
type exchange struct {
	start     time.Time
	status    int
	requestID string // upstream's request-id
	failure   string // what went wrong, for the log
	errorType string // Anthropic error type of an error cco answered itself
	firstByte time.Time
	upStart   time.Time // handed to the Transport
	upEnd     time.Time // the upstream's body ended, or the Transport failed
	tap       *usage.Tap
	usage     usage.Usage
	ctype     string

	cacheState string // "", "HIT", "MISS" or "BYPASS": the x-cco-cache answer
	cacheKey   cache.Key
	cacheable  bool // a MISS whose answer may be stored
}

var (
	errTooLarge    = errors.New("request body too large")
	errIdleTimeout = errors.New("upstream sent nothing for longer than the idle timeout")
)

// ServeHTTP forwards one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	p.inFlight.Add(1)
	ex := &exchange{start: p.opts.Now()}
	defer func() {
		p.inFlight.Add(-1)
		aborted := recover()
		p.finish(r, ex, aborted != nil)
		if aborted != nil {
			panic(aborted) // http.ErrAbortHandler: net/http drops the connection
		}
	}()

	clean, raw, ok := forwardPath(r.URL)
	if !ok {
		p.answerError(w, ex, "path leaves /v1/ once cleaned", &apierror.Error{Status: http.StatusBadRequest, NoRetry: true,
			Message: "cco forwards only paths under /v1/, and this one leaves /v1/ once its dot segments are resolved"})
		return
	}
	r.URL.Path, r.URL.RawPath = clean, raw

	body, err := p.readBody(w, r)
	switch {
	case errors.Is(err, errTooLarge):
		w.Header().Set("Connection", "close") // the rest of the body is not read
		p.answerError(w, ex, "request body over the limit", &apierror.Error{Status: http.StatusRequestEntityTooLarge, NoRetry: true,
			Message: fmt.Sprintf("request body is larger than cco's limit of %d bytes (server.max_body_size)", p.opts.MaxBodyBytes)})
		return
	case errors.Is(err, errBodyTimeout):
		w.Header().Set("Connection", "close")
		// The wire reference has no error type for 408; TypeFor gives
		// invalid_request_error, as for other statuses it does not name.
		p.answerError(w, ex, err.Error(), apierror.New(http.StatusRequestTimeout,
			"cco did not receive the request body within %s (server.body_timeout)", p.opts.BodyTimeout))
		return
	case errors.Is(err, errBodiesFull):
		w.Header().Set("Connection", "close")
		p.answerError(w, ex, err.Error(), &apierror.Error{Status: http.StatusServiceUnavailable, Type: "overloaded_error", RetryAfter: 1,
			Message: "cco holds as many request bytes still arriving as it allows; retry shortly"})
		return
	case err != nil:
		p.answerError(w, ex, "reading the request body: "+err.Error(), apierror.New(http.StatusBadRequest, "could not read the request body"))
		return
	}
	if body != nil {
		defer body.release()
		if p.opts.Cache != nil && cache.Cacheable(r.Method, r.URL.Path) && p.fromCache(w, r, ex, body.data) {
			return
		}
	}
	if p.opts.Admit != nil && r.Method == http.MethodPost && r.URL.Path == "/v1/messages" {
		if e := p.opts.Admit(); e != nil {
			p.answerError(w, ex, "refused by a spend limit", e)
			return
		}
	}
	p.forward(w, r, ex, body)
}

// answerError answers with an error cco makes itself, in Anthropic's
// envelope, and notes it in ex for the books.
func (p *Proxy) answerError(w http.ResponseWriter, ex *exchange, failure string, e *apierror.Error) {
	ex.status, ex.failure, ex.errorType = e.Status, failure, apierror.TypeFor(e.Status)
	if e.Type != "" {
		ex.errorType = e.Type
	}
	ex.requestID = apierror.Write(w, e)
}

// fromCache answers from the cache when it can and reports whether it did.
// Otherwise it notes in ex what the answer's x-cco-cache says and whether
// the answer may be stored.
func (p *Proxy) fromCache(w http.ResponseWriter, r *http.Request, ex *exchange, body []byte) bool {
	if bypassRequested(r.Header) {
		ex.cacheState = "BYPASS"
		p.opts.Cache.CountBypass()
		return false
	}
	key, ok := cache.KeyFor(r.Method, r.URL.Path, r.URL.RawQuery, r.Header, body, cache.Credential(r.Header, p.opts.APIKey.Reveal()))
	if !ok {
		return false
	}
	e, found := p.opts.Cache.Lookup(key)
	switch found {
	case cache.Miss:
		ex.cacheState, ex.cacheKey, ex.cacheable = "MISS", key, true
		return false
	case cache.Unavailable: // a shared cache whose Redis is down
		ex.cacheState = "BYPASS"
		return false
	}
	h := w.Header()
	h.Set("Content-Type", e.ContentType)
	h.Set("X-Cco-Cache", "HIT")
	if e.RequestID != "" {
		h.Set("Request-Id", e.RequestID)
	}
	if e.Stream {
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Content-Length", strconv.Itoa(len(e.Body)))
	}
	w.WriteHeader(e.Status)
	ex.firstByte = p.opts.Now()
	w.Write(e.Body) //nolint:errcheck // a client that left is not an error
	http.NewResponseController(w).Flush()
	ex.cacheState, ex.status, ex.requestID = "HIT", e.Status, e.RequestID
	switch m := e.Meta.(type) {
	case usage.Usage:
		ex.usage = m
	case json.RawMessage: // from a shared cache, as stored
		json.Unmarshal(m, &ex.usage) //nolint:errcheck // a zero usage at worst
	}
	return true
}

// bypassRequested reports whether the client asked not to be answered from
// the cache: cache-control no-cache (or no-store), or x-cco-cache: bypass.
func bypassRequested(h http.Header) bool {
	if strings.EqualFold(strings.TrimSpace(h.Get("X-Cco-Cache")), "bypass") {
		return true
	}
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "no-cache" || d == "no-store" {
				return true
			}
		}
	}
	return false
}

// cacheAnswer puts a MISS's answer in the cache, if it is whole and fit to be
// answered again.
func (p *Proxy) cacheAnswer(ex *exchange) {
	u := ex.tap.Finish()
	if ex.failure != "" || ex.status != http.StatusOK || !u.Complete || u.ErrorType != "" {
		return
	}
	if data, ok := ex.tap.Captured(); ok {
		p.opts.Cache.Put(ex.cacheKey, &cache.Entry{Status: ex.status, ContentType: ex.ctype, RequestID: ex.requestID,
			Body: data, Stream: u.Stream, Stored: p.opts.Now(), Meta: u})
	}
}

// finish closes the books on a request: usage, analytics, log. It runs
// once the client has the whole answer (forward flushed it), except for
// the end of a chunked body, which net/http writes when the handler
// returns.
func (p *Proxy) finish(r *http.Request, ex *exchange, aborted bool) {
	now := p.opts.Now()
	if ex.tap != nil {
		ex.usage = ex.tap.Finish()
	}
	if ex.errorType == "" {
		ex.errorType = ex.usage.ErrorType
	}
	if p.opts.OnDone != nil {
		d := Done{
			Start: ex.start, Method: r.Method, Path: r.URL.Path, Status: ex.status, RequestID: ex.requestID,
			Usage: ex.usage, CacheHit: ex.cacheState == "HIT", Latency: now.Sub(ex.start), ErrorType: ex.errorType,
			UserAgent: r.Header.Get("User-Agent"), SessionID: r.Header.Get("X-Claude-Code-Session-Id"),
			User: user(r.Header), Credential: p.credentials.id(r.Header, p.opts.APIKey.Reveal()),
		}
		if !ex.firstByte.IsZero() {
			d.TTFB = ex.firstByte.Sub(ex.start)
		}
		if !ex.upStart.IsZero() {
			end := ex.upEnd
			if end.IsZero() {
				end = now // a body neither read to its end nor closed (an abort)
			}
			d.Upstream = min(end.Sub(ex.upStart), d.Latency)
		}
		p.opts.OnDone(d)
	}
	p.logDone(r, ex, now, aborted)
}

// classify turns a transport error into the answer the client gets.
func classify(err error, host string) *apierror.Error {
	var certErr *tls.CertificateVerificationError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &certErr):
		return &apierror.Error{Status: http.StatusBadGateway, Type: "api_error", NoRetry: true,
			Message: fmt.Sprintf("cco refused the upstream %s: its TLS certificate could not be verified", host)}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return &apierror.Error{Status: http.StatusBadGateway, Type: "api_error",
			Message: fmt.Sprintf("cco could not connect to the upstream %s", host)}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &apierror.Error{Status: http.StatusGatewayTimeout, Type: "timeout_error",
			Message: fmt.Sprintf("the upstream %s did not answer in time (upstream.header_timeout)", host)}
	}
	return &apierror.Error{Status: http.StatusBadGateway, Type: "api_error",
		Message: fmt.Sprintf("cco could not get an answer from the upstream %s", host)}
}

// clientGone reports whether the client's side of the request is over.
func clientGone(ctx context.Context) bool {
	return ctx.Err() != nil
}

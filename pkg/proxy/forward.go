package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/usage"
)

// Forwarding one request: what httputil.ReverseProxy did for cco, without
// what cco never needs. On its own this bought little CPU (BENCHMARKS.md);
// what it is for is the order of the last steps (the client has its whole
// answer before the books are closed) and control over how the request
// body reaches the Transport (body.go). ReverseProxy cloned the
// whole request, copied every header value into a fresh map twice (once to
// the upstream, once back), installed a client trace to relay 1xx answers,
// wrapped the writer in a flushing writer, and left the client's last bytes
// in the server's buffer until the handler returned, that is until after
// the books were closed. Here:
//
//   - the upstream request is built directly: the client's header map minus
//     hop-by-hop fields (those RFC 9110 names and those the Connection field
//     lists), X-Forwarded-*, Forwarded and cco's own x-cco-* fields, sharing
//     the value slices (neither side changes them);
//   - the answer's header map is handed over the same way;
//   - an event stream, or a body of unknown length, is flushed after every
//     read, as ReverseProxy did; any other body is flushed once, when it
//     ends, so that the client has its whole answer before cco closes the
//     books (usage, log line, analytics row);
//   - 1xx answers other than 100-continue, which the Transport handles, are
//     not relayed, and protocol upgrades are not forwarded (Upgrade is a
//     hop-by-hop field): the Messages API uses neither.
//
// As with ReverseProxy, a body that fails part way (other than a stream,
// which ends with an error event) aborts the handler with
// http.ErrAbortHandler, so that the client sees a cut connection rather
// than a short body it could take for whole.

// isHop reports whether the field k (canonical) concerns one connection
// only (RFC 9110 7.6.1), or is one of the forwarding fields ReverseProxy's
// Rewrite also removed: cco does not tell the upstream about its clients.
// A switch, not a map: it is asked for every field of every request and
// answer.
func isHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// passHeaders copies the fields of src that are not hop-by-hop, nor named
// by src's Connection field, nor (when ours is set) cco's own x-cco-*
// fields, into dst, sharing value slices.
func passHeaders(dst, src http.Header, ours bool) {
	named := src["Connection"]
	for k, vv := range src {
		if isHop(k) || (ours && strings.HasPrefix(k, "X-Cco-")) || (len(named) > 0 && listed(named, k)) {
			continue
		}
		if old, ok := dst[k]; ok {
			dst[k] = append(old[:len(old):len(old)], vv...)
		} else {
			dst[k] = vv
		}
	}
}

// listed reports whether the Connection values name the field k.
func listed(connection []string, k string) bool {
	for _, v := range connection {
		for f := range strings.SplitSeq(v, ",") {
			if textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(f)) == k {
				return true
			}
		}
	}
	return false
}

// outgoing builds the upstream request for r, whose path forwardPath has
// cleaned and whose body, if any, is in memory.
func (p *Proxy) outgoing(ctx context.Context, r *http.Request, b *body) *http.Request {
	up := p.opts.Upstream
	u := &url.URL{Scheme: up.Scheme, Host: up.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if up.Path != "" && up.Path != "/" {
		u.Path = strings.TrimSuffix(up.Path, "/") + r.URL.Path
		if up.RawPath != "" || r.URL.RawPath != "" {
			u.RawPath = strings.TrimSuffix(up.EscapedPath(), "/") + r.URL.EscapedPath()
		}
	}
	if up.RawQuery != "" {
		u.RawQuery = up.RawQuery
		if r.URL.RawQuery != "" {
			u.RawQuery += "&" + r.URL.RawQuery
		}
	}
	h := make(http.Header, len(r.Header)+1)
	passHeaders(h, r.Header, true) // x-cco-cache and x-cco-user are addressed to cco, not to the API
	if te := r.Header["Te"]; len(te) == 1 && strings.EqualFold(te[0], "trailers") {
		h["Te"] = te // the one Te value a proxy passes on: trailers are understood end to end
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // not Go's default: the client sent none
	}
	if !p.opts.APIKey.IsZero() && h.Get("X-Api-Key") == "" && h.Get("Authorization") == "" {
		h.Set("X-Api-Key", p.opts.APIKey.Reveal())
	}
	out := &http.Request{
		Method: r.Method, URL: u, Host: up.Host, Header: h, Trailer: r.Trailer,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	if b != nil {
		out.Body, out.ContentLength = b.reader(), int64(len(b.data))
		out.GetBody = func() (io.ReadCloser, error) { return b.reader(), nil }
		ctx = b.trace(ctx)
	}
	return out.WithContext(ctx)
}

// forward sends r upstream and relays the answer to w.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, ex *exchange, b *body) {
	ctx := r.Context()
	ex.upStart = p.opts.Now()
	res, err := p.opts.Transport.RoundTrip(p.outgoing(ctx, r, b))
	if err != nil {
		ex.upEnd = p.opts.Now()
		if clientGone(ctx) {
			ex.failure = "client went away"
			return
		}
		p.upstreamErrors.Add(1)
		p.answerError(w, ex, err.Error(), classify(err, p.opts.Upstream.Host))
		return
	}
	ex.status = res.StatusCode
	ex.requestID = res.Header.Get("Request-Id")
	ex.ctype = res.Header.Get("Content-Type")
	h := w.Header()
	passHeaders(h, res.Header, false)
	if ex.cacheState != "" {
		h.Set("X-Cco-Cache", ex.cacheState)
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Set("Trailer", strings.Join(keys, ", "))
	}
	stream := strings.HasPrefix(ex.ctype, "text/event-stream")
	flushEach := stream || res.ContentLength < 0
	rc := http.NewResponseController(w)
	w.WriteHeader(res.StatusCode)
	if announced > 0 || flushEach {
		// The headers go now: a stream's client learns its status at once,
		// and a body with trailers is then chunked.
		rc.Flush() //nolint:errcheck // a client that left is not an error
	}
	if res.Body == nil || res.Body == http.NoBody {
		ex.upEnd = p.opts.Now()
		rc.Flush() //nolint:errcheck // a client that left is not an error
		return
	}
	capture := 0
	if ex.cacheable && res.StatusCode == http.StatusOK {
		capture = p.opts.CacheMaxEntry
	}
	wb := &watchedBody{
		body:   res.Body,
		p:      p,
		ex:     ex,
		ctx:    ctx,
		stream: stream,
	}
	ex.tap = usage.NewTap(ex.ctype, res.Header.Get("Content-Encoding"), capture)
	if p.opts.IdleTimeout > 0 {
		wb.watch(p.opts.IdleTimeout)
	}
	defer wb.Close()
	if err := p.relay(w, rc, wb, res.ContentLength, flushEach); err != nil {
		if ex.failure == "" {
			ex.failure = err.Error()
		}
		panic(http.ErrAbortHandler) // net/http cuts the connection: no short body passes for whole
	}
	for k, vv := range res.Trailer {
		if len(res.Trailer) != announced {
			k = http.TrailerPrefix + k // not announced: net/http sends it only so
		}
		h[k] = vv
	}
	if ex.cacheable {
		p.cacheAnswer(ex) // before the client has it all: a repeat at once is then a hit
	}
	rc.Flush() //nolint:errcheck // the whole answer is the client's before the books close
}

// relay copies the upstream's body (of length bytes, or -1 when unknown)
// to the client, flushing after every write when flushEach. It returns the
// error that cut the copy short: the upstream's (a stream's has become an
// error event by then and is not returned) or the client's.
func (p *Proxy) relay(w io.Writer, rc *http.ResponseController, src *watchedBody, length int64, flushEach bool) error {
	size := 16 << 10 // a stream's reads hold an event or a few
	if length >= 0 {
		size = int(min(length, 64<<10))
	}
	buf := p.buffers.get(size)
	defer p.buffers.put(buf)
	buf = buf[:cap(buf)]
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flushEach {
				if ferr := rc.Flush(); ferr != nil {
					return ferr
				}
			}
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return rerr
		}
	}
}

// watch cuts the body off after idle of silence. Reads only note the time;
// the timer, when it fires, looks at the last read and waits again if there
// was one since: a stream of many small events costs no timer reset each.
// Cutting off is closing the upstream's body, which the Transport allows
// while a read is blocked (the read then fails); that spares every request
// a context of its own, which cost more than the rest of forward's setup.
func (b *watchedBody) watch(idle time.Duration) {
	b.idle = idle
	b.base = time.Now()
	b.timer = time.AfterFunc(math.MaxInt64, b.check) // armed once b.timer is set
	b.timer.Reset(idle)
}

func (b *watchedBody) check() {
	if quiet := time.Since(b.base) - time.Duration(b.lastRead.Load()); quiet < b.idle {
		b.timer.Reset(b.idle - quiet)
		return
	}
	b.idled.Store(true) // before the close, so that the failed read sees it
	b.body.Close()      //nolint:errcheck // the read that fails reports it
}

// watchedBody relays the upstream's response body, cutting it off after
// IdleTimeout of silence and ending a failed stream with an error event.
type watchedBody struct {
	body     io.ReadCloser
	p        *Proxy
	ex       *exchange
	ctx      context.Context // the client's
	stream   bool
	idle     time.Duration
	timer    *time.Timer
	base     time.Time    // when watching began (monotonic)
	lastRead atomic.Int64 // nanoseconds from base to the last read that brought bytes
	idled    atomic.Bool  // the timer cut the body off
	last     [2]byte      // the last two bytes relayed, to find event boundaries
	pending  []byte       // an error event still to be relayed
	ended    bool
}

func (b *watchedBody) Read(q []byte) (int, error) {
	if b.pending != nil {
		n := copy(q, b.pending)
		b.pending = b.pending[n:]
		if len(b.pending) == 0 {
			b.pending, b.ended = nil, true
		}
		return n, nil
	}
	if b.ended {
		return 0, io.EOF
	}
	n, err := b.body.Read(q)
	if err != nil && b.ex.upEnd.IsZero() {
		b.ex.upEnd = b.p.opts.Now()
	}
	if n > 0 {
		if b.timer != nil {
			b.lastRead.Store(int64(time.Since(b.base)))
		}
		if b.ex.firstByte.IsZero() {
			b.ex.firstByte = b.p.opts.Now()
		}
		b.ex.tap.Write(q[:n])
		if n >= 2 {
			b.last = [2]byte{q[n-2], q[n-1]}
		} else {
			b.last = [2]byte{b.last[1], q[0]}
		}
	}
	if err == nil || err == io.EOF || clientGone(b.ctx) {
		return n, err
	}
	// The upstream failed mid-body.
	b.p.upstreamErrors.Add(1)
	e := &apierror.Error{Status: http.StatusBadGateway, Type: "api_error", Message: "the upstream connection failed mid-response"}
	if b.idled.Load() {
		e = &apierror.Error{Status: http.StatusGatewayTimeout, Type: "timeout_error",
			Message: fmt.Sprintf("the upstream sent nothing for %s (upstream.idle_timeout)", b.idle)}
		b.ex.failure = errIdleTimeout.Error()
	} else {
		b.ex.failure = err.Error()
	}
	b.ex.errorType = e.Type
	if !b.stream {
		return n, err // a JSON body cannot be mended: the client sees a cut connection
	}
	var ev bytes.Buffer
	if b.last != [2]byte{'\n', '\n'} {
		ev.WriteString("\n\n") // end the partial event first
	}
	ev.WriteString("event: error\ndata: ")
	ev.Write(e.JSON())
	ev.WriteString("\n\n")
	b.pending = ev.Bytes()
	return n, nil
}

func (b *watchedBody) Close() error {
	if b.timer != nil {
		b.timer.Stop()
	}
	if b.ex.upEnd.IsZero() {
		b.ex.upEnd = b.p.opts.Now() // closed before its end: the client went away
	}
	return b.body.Close()
}

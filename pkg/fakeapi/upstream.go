// Package fakeapi is a fake Anthropic API for cco's tests and benchmark
// harness: it speaks the Messages API wire format (JSON and server-sent
// events, errors in Anthropic's envelope, plain HTTP or HTTPS with HTTP/2) on
// 127.0.0.1, for the proxy tests, the end-to-end tests with the official SDKs
// and Claude Code, and cmd/ccobench.
//
// It keeps its own table of error statuses and types (ErrorType) rather than
// importing cco's apierror: a fake that shared the code it tests would agree
// with that code's mistakes. It imports no cco package.
//
// It imports package testing for the [NewUpstream] convenience, which does not
// register test flags, so a plain program can use [Start].
//
// The fake follows the API's wire format as the official SDKs and Claude
// Code see it: what the real API sends, in the order it sends it, one flush
// per event, byte-identical answers to identical requests. Where the real
// API would be strict and a fake is more useful lenient, it is lenient and
// says so (a missing model is answered with DefaultModel).
package fakeapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Defaults of a [Scenario] and of [Usage].
const (
	// DefaultText is the answer text of a scenario that sets none.
	DefaultText = "Hello from the fake upstream."
	// DefaultDeltas is the number of text_delta events a scenario that sets
	// none splits its text into.
	DefaultDeltas = 4
	// DefaultInputTokens is the input_tokens reported when Usage.Input is 0.
	DefaultInputTokens = 25
	// DefaultOutputTokens is the output_tokens reported when Usage.Output is 0.
	DefaultOutputTokens = 12
	// DefaultModel is the model echoed when a request names none.
	DefaultModel = "claude-sonnet-4-5-20250929"
	// MaxBodyBytes is the API's request size limit; a larger body gets 413
	// request_too_large.
	MaxBodyBytes = 32 << 20

	// ToolName is the name of the tool a ToolUse scenario calls.
	ToolName = "get_weather"
	// ToolInput is the input of that call, exactly as it accumulates from
	// the input_json_delta chunks.
	ToolInput = `{"city":"Paris"}`
	// ThinkingText is the thinking of a Thinking scenario.
	ThinkingText = "The user greets me; a short friendly answer will do."
)

// canceledBuffer is the capacity of the Canceled channel. A full channel
// drops reports rather than block the server.
const canceledBuffer = 4096

// Scenario says how the fake answers one request to /v1/messages or
// /v1/messages/count_tokens. The zero Scenario is a short streamed or JSON
// text answer.
type Scenario struct {
	// Text is the answer text; "" means DefaultText, except with ToolUse,
	// where "" means no text block before the tool call.
	Text string
	// Deltas is the number of text_delta events the text is split into
	// (by runes, at most one per rune); 0 means DefaultDeltas.
	Deltas int
	// ToolUse answers with a tool_use block (name ToolName, input ToolInput)
	// streamed as input_json_delta chunks, and stop_reason "tool_use".
	ToolUse bool
	// Thinking adds a thinking block (thinking_delta events, then one
	// signature_delta) before the other blocks.
	Thinking bool
	// Pings is the number of ping events: one right after message_start,
	// the rest spread between the content_block_delta events.
	Pings int
	// EventGap is a pause between SSE events (after each flush but the last).
	EventGap time.Duration
	// HeaderDelay is a pause before the response headers (a slow upstream).
	HeaderDelay time.Duration
	// Status, if not 0 or 200, answers with Anthropic's error envelope and
	// that status (meant for 4xx and 5xx), for streaming and non-streaming
	// requests alike.
	Status int
	// ErrorAfter, for streaming requests, sends this many events, then an
	// `event: error` with an overloaded_error, and ends the response; the
	// status stays 200. A value at least the number of events in the stream
	// sends them all, then the error. 0 means no error.
	ErrorAfter int
	// Usage is the token counts to report.
	Usage Usage
	// Hang, for streaming requests, sends the headers and message_start,
	// then blocks until the client goes away or the fake is closed. It
	// takes precedence over ErrorAfter.
	Hang bool
	// Gzip compresses the response body (JSON or SSE, flushed per event)
	// when the request's Accept-Encoding allows gzip, as a CDN in front of
	// the API may do. Go clients that did not ask for gzip themselves
	// decompress it transparently.
	Gzip bool
}

// Usage is the token counts a [Scenario] reports. Input and Output default
// to DefaultInputTokens and DefaultOutputTokens when 0; a negative value
// reports 0. The cache counts are reported as given (negative means 0).
type Usage struct {
	// Input is input_tokens.
	Input int
	// Output is the final output_tokens (message_start reports 1).
	Output int
	// CacheWrite5m is cache_creation.ephemeral_5m_input_tokens.
	CacheWrite5m int
	// CacheWrite1h is cache_creation.ephemeral_1h_input_tokens.
	CacheWrite1h int
	// CacheRead is cache_read_input_tokens.
	CacheRead int
}

// Resolved returns u with its defaults applied: the counts the fake reports.
func (u Usage) Resolved() Usage {
	pick := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	return Usage{
		Input:        pick(u.Input, DefaultInputTokens),
		Output:       pick(u.Output, DefaultOutputTokens),
		CacheWrite5m: max(u.CacheWrite5m, 0),
		CacheWrite1h: max(u.CacheWrite1h, 0),
		CacheRead:    max(u.CacheRead, 0),
	}
}

// CacheWrite is cache_creation_input_tokens: both cache writes together.
func (u Usage) CacheWrite() int { return u.CacheWrite5m + u.CacheWrite1h }

// Request is one request the fake received.
type Request struct {
	// Method, Path and RawQuery are those of the request line.
	Method, Path, RawQuery string
	// Header is a copy of the request headers.
	Header http.Header
	// Body is the request body, byte for byte as received.
	Body []byte
	// Proto is "HTTP/1.1" or "HTTP/2.0".
	Proto string
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	return r
}

// Options configures a fake upstream.
type Options struct {
	// TLS serves HTTPS with HTTP/2 enabled, with a certificate for 127.0.0.1
	// from a fresh private CA (see [Upstream.CertPool]).
	TLS bool
	// Scenario chooses the answer to each request to /v1/messages and
	// /v1/messages/count_tokens; nil means the zero Scenario. It is called
	// from the server's goroutines and gets a copy of the recorded request.
	Scenario func(r *Request) Scenario
	// OnFlush, if set, is called right after each SSE event is flushed,
	// with the request-id, the event's index in the stream (from 0, pings
	// and error events included) and the time of the flush. It is called
	// from the server's goroutines, concurrently for concurrent requests.
	OnFlush func(requestID string, event int, sent time.Time)
	// NoRecord keeps no requests, for long benchmark runs; Requests then
	// returns nil.
	NoRecord bool
	// ErrorLog receives the server's own errors (failed TLS handshakes and
	// the like); nil discards them.
	ErrorLog *log.Logger
}

// Upstream is a running fake Anthropic API. Its methods are safe for
// concurrent use.
type Upstream struct {
	// URL is the base URL, http://127.0.0.1:PORT or https://127.0.0.1:PORT,
	// without a trailing slash.
	URL string

	opts     Options
	srv      *http.Server
	served   chan struct{} // closed when Serve has returned
	done     chan struct{} // closed by Close; ends hung and paused handlers
	canceled chan string
	pool     *x509.CertPool
	caPEM    []byte
	client   *http.Client
	seq      atomic.Uint64
	handlers sync.WaitGroup

	closeOnce sync.Once

	mu       sync.Mutex
	closed   bool
	requests []Request
	scenario func(r *Request) Scenario
}

// Start starts a fake upstream on 127.0.0.1 and a free port. The caller must
// Close it.
func Start(opts Options) (*Upstream, error) {
	u := &Upstream{
		opts:     opts,
		served:   make(chan struct{}),
		done:     make(chan struct{}),
		canceled: make(chan string, canceledBuffer),
		scenario: opts.Scenario,
	}
	errorLog := opts.ErrorLog
	if errorLog == nil {
		errorLog = log.New(io.Discard, "", 0)
	}
	u.srv = &http.Server{
		Handler:           http.HandlerFunc(u.serveHTTP),
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          errorLog,
	}
	transport := &http.Transport{
		Proxy:               nil, // never leave 127.0.0.1, whatever HTTP_PROXY says
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute,
	}
	if opts.TLS {
		cert, ca, err := newCertificate(time.Now())
		if err != nil {
			return nil, fmt.Errorf("fakeapi: make TLS certificate: %w", err)
		}
		u.pool = x509.NewCertPool()
		u.pool.AddCert(ca)
		u.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
		var protocols http.Protocols
		protocols.SetHTTP1(true)
		protocols.SetHTTP2(true)
		u.srv.Protocols = &protocols
		u.srv.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: u.pool.Clone(), MinVersion: tls.VersionTLS12}
		transport.Protocols = &protocols
	}
	u.client = &http.Client{Transport: transport}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakeapi: listen on 127.0.0.1: %w", err)
	}
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	u.URL = scheme + "://" + ln.Addr().String()
	go func() {
		defer close(u.served)
		if opts.TLS {
			_ = u.srv.ServeTLS(ln, "", "") // returns http.ErrServerClosed after Close
		} else {
			_ = u.srv.Serve(ln)
		}
	}()
	return u, nil
}

// NewUpstream starts a fake upstream for t and closes it when t ends. It
// fails t if the fake cannot start.
func NewUpstream(t testing.TB, opts Options) *Upstream {
	t.Helper()
	u, err := Start(opts)
	if err != nil {
		t.Fatalf("start fake upstream: %v", err)
	}
	t.Cleanup(u.Close)
	return u
}

// Close stops the server, ends every request in flight (hung streams
// included) and waits for their handlers to return. Calling it again does
// nothing.
func (u *Upstream) Close() {
	u.closeOnce.Do(func() {
		u.mu.Lock()
		u.closed = true
		u.mu.Unlock()
		// Cut the connections first, so that streams in flight end abruptly
		// as they would if the upstream died, rather than look complete.
		_ = u.srv.Close()
		close(u.done) // wakes handlers still pausing or hanging
		u.handlers.Wait()
		<-u.served
		u.client.CloseIdleConnections()
	})
}

// Requests returns copies of the requests received so far, in arrival order.
func (u *Upstream) Requests() []Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.requests) == 0 {
		return nil
	}
	out := make([]Request, len(u.requests))
	for i, r := range u.requests {
		out[i] = r.clone()
	}
	return out
}

// Reset forgets the requests recorded so far. Request ids keep counting.
func (u *Upstream) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests = nil
}

// SetScenario replaces the function that chooses the answers; nil means the
// zero Scenario. Requests already being answered keep their scenario.
func (u *Upstream) SetScenario(f func(r *Request) Scenario) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.scenario = f
}

// CertPool returns roots that trust the TLS server, or nil without TLS.
// Each call returns a fresh pool.
func (u *Upstream) CertPool() *x509.CertPool {
	if u.pool == nil {
		return nil
	}
	return u.pool.Clone()
}

// CAPEM returns the PEM-encoded CA certificate that signed the server's
// certificate (for NODE_EXTRA_CA_CERTS, SSL_CERT_FILE and the like), or nil
// without TLS.
func (u *Upstream) CAPEM() []byte { return bytes.Clone(u.caPEM) }

// Client returns an HTTP client for the fake: it trusts CertPool, speaks
// HTTP/2 over TLS, and ignores proxy settings from the environment. It is
// the same client on every call; Close closes its idle connections.
func (u *Upstream) Client() *http.Client { return u.client }

// Canceled receives the request-id of each streaming request whose client
// went away before the stream ended (during HeaderDelay included). Reports
// are dropped, never waited for, once 4096 of them are unread. A stream cut
// short by Close is not reported.
func (u *Upstream) Canceled() <-chan string { return u.canceled }

// DeadURL returns http://127.0.0.1:PORT for a port where nothing listens: it
// binds a free port, notes it and closes it again.
func DeadURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.1 for a dead URL: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close listener for a dead URL: %v", err)
	}
	return "http://" + addr
}

// MessageID returns the message id the fake gives the answer to body:
// "msg_" and the first 24 hex digits of its SHA-256.
func MessageID(body []byte) string {
	sum := sha256.Sum256(body)
	return "msg_" + hex.EncodeToString(sum[:])[:24]
}

// toolUseID returns the deterministic id of the tool call answering body.
func toolUseID(body []byte) string {
	sum := sha256.Sum256(body)
	return "toolu_" + hex.EncodeToString(sum[:])[24:48]
}

// signature returns the deterministic signature of the thinking block
// answering body.
func signature(body []byte) string {
	sum := sha256.Sum256(append([]byte("signature:"), body...))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// enter registers a handler, unless the fake is closing.
func (u *Upstream) enter() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	u.handlers.Add(1)
	return true
}

func (u *Upstream) record(r Request) {
	if u.opts.NoRecord {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests = append(u.requests, r.clone())
}

func (u *Upstream) chooseScenario(r Request) Scenario {
	u.mu.Lock()
	f := u.scenario
	u.mu.Unlock()
	if f == nil {
		return Scenario{}
	}
	c := r.clone()
	return f(&c)
}

// closing reports whether Close has begun.
func (u *Upstream) closing() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.closed
}

// clientGone reports requestID on the Canceled channel, unless the stream
// ended because the fake is closing.
func (u *Upstream) clientGone(requestID string) {
	if u.closing() {
		return
	}
	select {
	case u.canceled <- requestID:
	default:
	}
}

// pause waits for d and reports whether the request should go on: false if
// the client went away or the fake is closing first.
func (u *Upstream) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-u.done:
		return false
	}
}

func (u *Upstream) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !u.enter() {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer u.handlers.Done()

	requestID := "req_" + strconv.FormatUint(u.seq.Add(1), 10)
	body, readErr := readBody(r)
	rec := Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
		Proto:    r.Proto,
	}
	u.record(rec)
	setCommonHeaders(w.Header(), requestID, time.Now())
	if readErr != nil {
		writeError(w, requestID, http.StatusBadRequest, "invalid_request_error",
			"could not read request body: "+readErr.Error())
		return
	}

	path := r.URL.Path
	switch {
	case path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.WriteHeader(http.StatusOK)
	case path == "/v1/messages" && r.Method == http.MethodPost:
		u.messages(w, r, rec, requestID)
	case path == "/v1/messages/count_tokens" && r.Method == http.MethodPost:
		u.countTokens(w, r, rec, requestID)
	case path == "/v1/models" && r.Method == http.MethodGet:
		writeJSON(w, r, http.StatusOK, modelList(), false)
	case strings.HasPrefix(path, "/v1/models/") && r.Method == http.MethodGet:
		id := strings.TrimPrefix(path, "/v1/models/")
		for _, m := range modelCatalog() {
			if m.ID == id {
				writeJSON(w, r, http.StatusOK, m, false)
				return
			}
		}
		writeError(w, requestID, http.StatusNotFound, "not_found_error", "model: "+id)
	default:
		writeError(w, requestID, http.StatusNotFound, "not_found_error", "Not Found")
	}
}

// readBody reads the whole request body, in one allocation when the
// client announced its length.
func readBody(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= 2*MaxBodyBytes {
		b.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

// messageParams is the part of a Messages request body the fake reads.
type messageParams struct {
	Model     string `json:"model"`
	Stream    bool   `json:"stream"`
	MaxTokens int    `json:"max_tokens"`
}

func (u *Upstream) messages(w http.ResponseWriter, r *http.Request, rec Request, requestID string) {
	if len(rec.Body) > MaxBodyBytes {
		writeStatus(w, requestID, http.StatusRequestEntityTooLarge)
		return
	}
	sc := u.chooseScenario(rec)
	var p messageParams
	parseErr := json.Unmarshal(rec.Body, &p)
	streaming := parseErr == nil && p.Stream
	if !u.pause(r.Context(), sc.HeaderDelay) {
		if streaming {
			u.clientGone(requestID)
		}
		return
	}
	switch {
	case parseErr != nil:
		writeError(w, requestID, http.StatusBadRequest, "invalid_request_error",
			"invalid JSON in request body: "+parseErr.Error())
	case sc.Status != 0 && sc.Status != http.StatusOK:
		writeStatus(w, requestID, sc.Status)
	case streaming:
		u.stream(w, r, rec, requestID, p.Model, sc)
	default:
		msg := buildMessage(rec.Body, p.Model, sc)
		writeJSON(w, r, http.StatusOK, msg, sc.Gzip)
	}
}

func (u *Upstream) countTokens(w http.ResponseWriter, r *http.Request, rec Request, requestID string) {
	if len(rec.Body) > MaxBodyBytes {
		writeStatus(w, requestID, http.StatusRequestEntityTooLarge)
		return
	}
	sc := u.chooseScenario(rec)
	if !u.pause(r.Context(), sc.HeaderDelay) {
		return
	}
	switch {
	case !json.Valid(rec.Body):
		writeError(w, requestID, http.StatusBadRequest, "invalid_request_error", "invalid JSON in request body")
	case sc.Status != 0 && sc.Status != http.StatusOK:
		writeStatus(w, requestID, sc.Status)
	default:
		writeJSON(w, r, http.StatusOK, struct {
			InputTokens int `json:"input_tokens"`
		}{max(len(rec.Body)/4, 1)}, sc.Gzip)
	}
}

// stream answers a streaming request with server-sent events.
func (u *Upstream) stream(w http.ResponseWriter, r *http.Request, rec Request, requestID, model string, sc Scenario) {
	events, err := buildStream(rec.Body, model, sc)
	if err != nil {
		writeError(w, requestID, http.StatusInternalServerError, "api_error", "fake upstream: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	var gz *gzip.Writer
	var out io.Writer = w
	if sc.Gzip && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		gz = gzip.NewWriter(w)
		out = gz
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	ctx := r.Context()

	index := 0
	// emit writes and flushes one event; false means the client did not get it.
	emit := func(ev sseEvent) bool {
		if ctx.Err() != nil {
			return false
		}
		if _, err := fmt.Fprintf(out, "event: %s\ndata: %s\n\n", ev.name, ev.data); err != nil {
			return false
		}
		if gz != nil {
			if err := gz.Flush(); err != nil {
				return false
			}
		}
		if err := rc.Flush(); err != nil {
			return false
		}
		if u.opts.OnFlush != nil {
			u.opts.OnFlush(requestID, index, time.Now())
		}
		index++
		return true
	}
	finish := func() {
		if gz != nil {
			_ = gz.Close() // the client has everything it will get; nothing to report
			_ = rc.Flush()
		}
	}

	if sc.Hang {
		if !emit(events[0]) {
			u.clientGone(requestID)
			return
		}
		select {
		case <-ctx.Done():
			u.clientGone(requestID)
		case <-u.done:
		}
		return
	}

	if sc.ErrorAfter > 0 {
		n := min(sc.ErrorAfter, len(events))
		events = append(events[:n:n], errorEvent())
	}
	for i, ev := range events {
		if i > 0 && !u.pause(ctx, sc.EventGap) {
			u.clientGone(requestID)
			return
		}
		if !emit(ev) {
			u.clientGone(requestID)
			return
		}
	}
	finish()
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") {
				return true
			}
		}
	}
	return false
}

// setCommonHeaders sets the headers every answer carries: the request-id and
// plausible rate-limit state.
func setCommonHeaders(h http.Header, requestID string, now time.Time) {
	h.Set("request-id", requestID)
	reset := now.UTC().Add(time.Minute).Truncate(time.Second).Format(time.RFC3339)
	for _, l := range []struct {
		name             string
		limit, remaining int
	}{
		{"requests", 4000, 3999},
		{"tokens", 2000000, 1999000},
		{"input-tokens", 2000000, 1999000},
		{"output-tokens", 400000, 400000},
	} {
		prefix := "anthropic-ratelimit-" + l.name
		h.Set(prefix+"-limit", strconv.Itoa(l.limit))
		h.Set(prefix+"-remaining", strconv.Itoa(l.remaining))
		h.Set(prefix+"-reset", reset)
	}
}

// marshal encodes v as the API does: compact, with <, > and & left alone.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeJSON answers with v as JSON, gzipped if asked for and accepted.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any, gzipped bool) {
	data, err := marshal(v)
	if err != nil {
		writeError(w, w.Header().Get("request-id"), http.StatusInternalServerError, "api_error", "fake upstream: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if gzipped && acceptsGzip(r) {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		_, _ = gz.Write(data) // writes to memory do not fail
		_ = gz.Close()
		data = b.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data) // a client that went away gets nothing either way
}

// errorEnvelope is Anthropic's error body, also the data of an SSE error
// event (without request_id).
type errorEnvelope struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

func newErrorEnvelope(typ, message, requestID string) errorEnvelope {
	var e errorEnvelope
	e.Type = "error"
	e.Error.Type = typ
	e.Error.Message = message
	e.RequestID = requestID
	return e
}

// writeError answers with Anthropic's error envelope.
func writeError(w http.ResponseWriter, requestID string, status int, typ, message string) {
	data, err := marshal(newErrorEnvelope(typ, message, requestID))
	if err != nil {
		// Strings always encode; keep the status even so.
		data = []byte(`{"type":"error","error":{"type":"api_error","message":"fake upstream"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	if status == http.StatusTooManyRequests {
		h.Set("retry-after", "7")
	}
	w.WriteHeader(status)
	_, _ = w.Write(data) // a client that went away gets nothing either way
}

// writeStatus answers with the error envelope the API uses for status.
func writeStatus(w http.ResponseWriter, requestID string, status int) {
	typ, message := ErrorType(status)
	writeError(w, requestID, status, typ, message)
}

// ErrorType returns the error type and a message like the API's for an
// error status: 400 invalid_request_error, 401 authentication_error, 402
// billing_error, 403 permission_error, 404 not_found_error, 409
// conflict_error, 413 request_too_large, 429 rate_limit_error, 500
// api_error, 504 timeout_error, 529 overloaded_error; any other 4xx
// invalid_request_error, anything else api_error.
func ErrorType(status int) (typ, message string) {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error", "Invalid request"
	case http.StatusUnauthorized:
		return "authentication_error", "invalid x-api-key"
	case http.StatusPaymentRequired:
		return "billing_error", "Your credit balance is too low to access the Anthropic API."
	case http.StatusForbidden:
		return "permission_error", "Your API key does not have permission to use the specified resource."
	case http.StatusNotFound:
		return "not_found_error", "Not Found"
	case http.StatusConflict:
		return "conflict_error", "Conflict"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case http.StatusTooManyRequests:
		return "rate_limit_error", "Number of requests has exceeded your rate limit."
	case http.StatusInternalServerError:
		return "api_error", "Internal server error"
	case http.StatusGatewayTimeout:
		return "timeout_error", "Request timed out"
	case 529:
		return "overloaded_error", "Overloaded"
	}
	if status >= 400 && status < 500 {
		return "invalid_request_error", http.StatusText(status)
	}
	if text := http.StatusText(status); text != "" {
		return "api_error", text
	}
	return "api_error", "Internal server error"
}

// The wire shapes, fields in the API's order.

type cacheCreationJSON struct {
	Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
}

type usageJSON struct {
	InputTokens              int               `json:"input_tokens"`
	CacheCreationInputTokens int               `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int               `json:"cache_read_input_tokens"`
	CacheCreation            cacheCreationJSON `json:"cache_creation"`
	OutputTokens             int               `json:"output_tokens"`
	ServiceTier              string            `json:"service_tier"`
}

type deltaUsageJSON struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

type messageJSON struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Role         string    `json:"role"`
	Model        string    `json:"model"`
	Content      []any     `json:"content"`
	StopReason   *string   `json:"stop_reason"`
	StopSequence *string   `json:"stop_sequence"`
	Usage        usageJSON `json:"usage"`
}

type textBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type thinkingBlock struct {
	Type      string `json:"type"`
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
}

type toolUseBlock struct {
	Type  string          `json:"type"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

type textDelta struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type thinkingDelta struct {
	Type     string `json:"type"`
	Thinking string `json:"thinking"`
}

type signatureDelta struct {
	Type      string `json:"type"`
	Signature string `json:"signature"`
}

type inputJSONDelta struct {
	Type        string `json:"type"`
	PartialJSON string `json:"partial_json"`
}

type messageStartEvent struct {
	Type    string      `json:"type"`
	Message messageJSON `json:"message"`
}

type blockStartEvent struct {
	Type         string `json:"type"`
	Index        int    `json:"index"`
	ContentBlock any    `json:"content_block"`
}

type blockDeltaEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
	Delta any    `json:"delta"`
}

type blockStopEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

type messageDeltaEvent struct {
	Type  string `json:"type"`
	Delta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage deltaUsageJSON `json:"usage"`
}

type typeOnly struct {
	Type string `json:"type"`
}

// sseEvent is one server-sent event: its name and its JSON data.
type sseEvent struct {
	name string
	data []byte
}

// pingEvent returns a ping, spelt as the API spells it, with a space after
// the colon.
func pingEvent() sseEvent {
	return sseEvent{name: "ping", data: []byte(`{"type": "ping"}`)}
}

// errorEvent returns the mid-stream error of Scenario.ErrorAfter.
func errorEvent() sseEvent {
	return sseEvent{name: "error", data: []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)}
}

// block is one content block of an answer: its final form, its form in
// content_block_start, and its deltas.
type block struct {
	final  any
	start  any
	deltas []any
}

// answerBlocks returns the content blocks answering body under sc, and the
// stop reason.
func answerBlocks(body []byte, sc Scenario) ([]block, string) {
	var blocks []block
	if sc.Thinking {
		sig := signature(body)
		var deltas []any
		for _, part := range splitText(ThinkingText, 2) {
			deltas = append(deltas, thinkingDelta{Type: "thinking_delta", Thinking: part})
		}
		deltas = append(deltas, signatureDelta{Type: "signature_delta", Signature: sig})
		blocks = append(blocks, block{
			final:  thinkingBlock{Type: "thinking", Thinking: ThinkingText, Signature: sig},
			start:  thinkingBlock{Type: "thinking"},
			deltas: deltas,
		})
	}
	text := sc.Text
	if text == "" && !sc.ToolUse {
		text = DefaultText
	}
	if text != "" {
		n := sc.Deltas
		if n <= 0 {
			n = DefaultDeltas
		}
		var deltas []any
		for _, part := range splitText(text, n) {
			deltas = append(deltas, textDelta{Type: "text_delta", Text: part})
		}
		blocks = append(blocks, block{
			final:  textBlock{Type: "text", Text: text},
			start:  textBlock{Type: "text"},
			deltas: deltas,
		})
	}
	if !sc.ToolUse {
		return blocks, "end_turn"
	}
	id := toolUseID(body)
	var deltas []any
	// The API opens with an empty chunk, then sends the JSON in pieces.
	for _, part := range append([]string{""}, splitText(ToolInput, 3)...) {
		deltas = append(deltas, inputJSONDelta{Type: "input_json_delta", PartialJSON: part})
	}
	blocks = append(blocks, block{
		final:  toolUseBlock{Type: "tool_use", ID: id, Name: ToolName, Input: json.RawMessage(ToolInput)},
		start:  toolUseBlock{Type: "tool_use", ID: id, Name: ToolName, Input: json.RawMessage(`{}`)},
		deltas: deltas,
	})
	return blocks, "tool_use"
}

func modelOrDefault(model string) string {
	if model == "" {
		return DefaultModel
	}
	return model
}

func wireUsage(u Usage, output int) usageJSON {
	return usageJSON{
		InputTokens:              u.Input,
		CacheCreationInputTokens: u.CacheWrite(),
		CacheReadInputTokens:     u.CacheRead,
		CacheCreation:            cacheCreationJSON{Ephemeral5m: u.CacheWrite5m, Ephemeral1h: u.CacheWrite1h},
		OutputTokens:             output,
		ServiceTier:              "standard",
	}
}

// buildMessage returns the non-streaming answer to body.
func buildMessage(body []byte, model string, sc Scenario) messageJSON {
	blocks, stop := answerBlocks(body, sc)
	usage := sc.Usage.Resolved()
	content := make([]any, 0, len(blocks))
	for _, b := range blocks {
		content = append(content, b.final)
	}
	return messageJSON{
		ID:         MessageID(body),
		Type:       "message",
		Role:       "assistant",
		Model:      modelOrDefault(model),
		Content:    content,
		StopReason: &stop,
		Usage:      wireUsage(usage, usage.Output),
	}
}

// buildStream returns the events of the streaming answer to body, pings
// included, without the error of Scenario.ErrorAfter.
func buildStream(body []byte, model string, sc Scenario) ([]sseEvent, error) {
	blocks, stop := answerBlocks(body, sc)
	usage := sc.Usage.Resolved()

	var payloads []any // nil stands for a ping
	deltaCount := 0
	for _, b := range blocks {
		deltaCount += len(b.deltas)
	}
	// One ping after message_start, the others after evenly spaced deltas.
	pingsAfter := make([]int, deltaCount+1) // by number of deltas sent so far
	if sc.Pings > 0 {
		pingsAfter[0]++
		rest := sc.Pings - 1
		for j := 1; j <= rest; j++ {
			pingsAfter[j*deltaCount/(rest+1)]++
		}
	}
	pings := func(k int) {
		for range pingsAfter[k] {
			payloads = append(payloads, nil)
		}
	}

	payloads = append(payloads, messageStartEvent{Type: "message_start", Message: messageJSON{
		ID:      MessageID(body),
		Type:    "message",
		Role:    "assistant",
		Model:   modelOrDefault(model),
		Content: []any{},
		Usage:   wireUsage(usage, 1),
	}})
	pings(0)
	sent := 0
	for i, b := range blocks {
		payloads = append(payloads, blockStartEvent{Type: "content_block_start", Index: i, ContentBlock: b.start})
		for _, d := range b.deltas {
			payloads = append(payloads, blockDeltaEvent{Type: "content_block_delta", Index: i, Delta: d})
			sent++
			pings(sent)
		}
		payloads = append(payloads, blockStopEvent{Type: "content_block_stop", Index: i})
	}
	md := messageDeltaEvent{Type: "message_delta", Usage: deltaUsageJSON{
		InputTokens:              usage.Input,
		CacheCreationInputTokens: usage.CacheWrite(),
		CacheReadInputTokens:     usage.CacheRead,
		OutputTokens:             usage.Output,
	}}
	md.Delta.StopReason = stop
	payloads = append(payloads, md, typeOnly{Type: "message_stop"})

	events := make([]sseEvent, 0, len(payloads))
	for _, p := range payloads {
		if p == nil {
			events = append(events, pingEvent())
			continue
		}
		data, err := marshal(p)
		if err != nil {
			return nil, fmt.Errorf("build stream: %w", err)
		}
		var head typeOnly
		if err := json.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("build stream: read back event type: %w", err)
		}
		events = append(events, sseEvent{name: head.Type, data: data})
	}
	return events, nil
}

// splitText splits s into n parts of nearly equal rune counts (fewer if s
// has fewer runes).
func splitText(s string, n int) []string {
	runes := []rune(s)
	if len(runes) == 0 {
		return nil
	}
	n = min(max(n, 1), len(runes))
	parts := make([]string, 0, n)
	for i := range n {
		parts = append(parts, string(runes[i*len(runes)/n:(i+1)*len(runes)/n]))
	}
	return parts
}

// modelJSON is one entry of GET /v1/models.
type modelJSON struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

// modelCatalog returns what GET /v1/models lists.
func modelCatalog() []modelJSON {
	return []modelJSON{
		{"model", "claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"},
		{"model", "claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"},
		{"model", "claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z"},
		{"model", "claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-14T00:00:00Z"},
		{"model", "claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"},
	}
}

// ModelIDs returns the ids GET /v1/models lists, in order.
func ModelIDs() []string {
	models := modelCatalog()
	ids := make([]string, len(models))
	for i, m := range models {
		ids[i] = m.ID
	}
	return ids
}

func modelList() any {
	models := modelCatalog()
	return struct {
		Data    []modelJSON `json:"data"`
		HasMore bool        `json:"has_more"`
		FirstID string      `json:"first_id"`
		LastID  string      `json:"last_id"`
	}{models, false, models[0].ID, models[len(models)-1].ID}
}

// newCertificate makes a fresh ECDSA CA and a server certificate it signs
// for 127.0.0.1 and localhost, valid a week from an hour before now.
func newCertificate(now time.Time) (tls.Certificate, *x509.Certificate, error) {
	serial := func() (*big.Int, error) {
		return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate CA key: %w", err)
	}
	caSerial, err := serial()
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("CA serial number: %w", err)
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          caSerial,
		Subject:               pkix.Name{CommonName: "cco fakeapi CA", Organization: []string{"cco tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("parse CA certificate: %w", err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate server key: %w", err)
	}
	leafSerial, err := serial()
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("server serial number: %w", err)
	}
	leafTemplate := &x509.Certificate{
		SerialNumber: leafSerial,
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("create server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("parse server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey, Leaf: leaf}, ca, nil
}

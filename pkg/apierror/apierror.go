// Package apierror answers errors the way the Anthropic API does, so that
// SDKs and Claude Code treat an error cco makes itself like one from the
// API: the envelope {"type":"error","error":{"type":...,"message":...}},
// the status's error type, and retry hints (retry-after, x-should-retry).
//
// It imports only the standard library.
package apierror

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Error is an error answered in Anthropic's envelope.
type Error struct {
	Status     int
	Type       string // e.g. "permission_error"; TypeFor(Status) when empty
	Message    string
	NoRetry    bool // adds x-should-retry: false, for errors a retry cannot fix
	RetryAfter int  // seconds; adds retry-after when positive
}

// New returns an Error of the status's type.
func New(status int, format string, args ...any) *Error {
	return &Error{Status: status, Type: TypeFor(status), Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

var types = map[int]string{
	http.StatusBadRequest:            "invalid_request_error",
	http.StatusUnauthorized:          "authentication_error",
	http.StatusPaymentRequired:       "billing_error",
	http.StatusForbidden:             "permission_error",
	http.StatusNotFound:              "not_found_error",
	http.StatusMethodNotAllowed:      "invalid_request_error",
	http.StatusConflict:              "conflict_error",
	http.StatusRequestEntityTooLarge: "request_too_large",
	http.StatusTooManyRequests:       "rate_limit_error",
	http.StatusInternalServerError:   "api_error",
	http.StatusBadGateway:            "api_error",
	http.StatusServiceUnavailable:    "api_error",
	http.StatusGatewayTimeout:        "timeout_error",
	529:                              "overloaded_error",
}

// TypeFor returns Anthropic's error type for an HTTP status.
func TypeFor(status int) string {
	if t, ok := types[status]; ok {
		return t
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// Envelope is the body of an error answer.
type Envelope struct {
	Type      string `json:"type"` // always "error"
	Error     Body   `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// Body is the inner error object.
type Body struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// JSON returns the envelope for e, without a request id (an error event
// inside a stream has none).
func (e *Error) JSON() []byte {
	b, _ := json.Marshal(Envelope{Type: "error", Error: Body{Type: e.errorType(), Message: e.Message}})
	return b
}

func (e *Error) errorType() string {
	if e.Type == "" {
		return TypeFor(e.Status)
	}
	return e.Type
}

// Write answers e on w and returns the request id it gave the answer:
// like the API's answers, cco's own carry one, in the request-id header
// and the envelope, so that a client's report of an error can be found in
// cco's log and analytics ("req_cco_" and 24 hex digits, random).
func Write(w http.ResponseWriter, e *Error) string {
	id := NewRequestID()
	h := w.Header()
	h.Set("Request-Id", id)
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.NoRetry {
		h.Set("x-should-retry", "false")
	}
	if e.RetryAfter > 0 {
		h.Set("retry-after", strconv.Itoa(e.RetryAfter))
	}
	body, _ := json.Marshal(Envelope{Type: "error", Error: Body{Type: e.errorType(), Message: e.Message}, RequestID: id})
	body = append(body, '\n')
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body) //nolint:errcheck // the client may be gone; nothing to do
	return id
}

// NewRequestID returns a request id of cco's own: "req_cco_" and 24 random
// hex digits.
func NewRequestID() string {
	var b [12]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
	return "req_cco_" + hex.EncodeToString(b[:])
}

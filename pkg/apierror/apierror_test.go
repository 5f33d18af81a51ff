package apierror

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"testing"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, &Error{Status: 429, Message: "slow down", RetryAfter: 3, NoRetry: false})
	if rec.Code != 429 || rec.Header().Get("retry-after") != "3" || rec.Header().Get("x-should-retry") != "" {
		t.Errorf("429: %d %v", rec.Code, rec.Header())
	}
	var env Envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if env.Type != "error" || env.Error.Type != "rate_limit_error" || env.Error.Message != "slow down" {
		t.Errorf("envelope %+v", env)
	}
	// A request id of cco's own, in the header and the envelope, new each time.
	id := rec.Header().Get("Request-Id")
	if !regexp.MustCompile(`^req_cco_[0-9a-f]{24}$`).MatchString(id) || env.RequestID != id {
		t.Errorf("request id %q, in the envelope %q", id, env.RequestID)
	}
	if other := Write(httptest.NewRecorder(), New(429, "again")); other == id || len(other) != len(id) {
		t.Errorf("a second answer's id %q (the first %q)", other, id)
	}
	rec = httptest.NewRecorder()
	Write(rec, New(413, "body of %d bytes is over the limit", 99))
	if rec.Code != 413 || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("413: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	Write(rec, &Error{Status: 502, Type: "api_error", Message: "x", NoRetry: true})
	if rec.Header().Get("x-should-retry") != "false" {
		t.Error("no x-should-retry")
	}
}

func TestTypeFor(t *testing.T) {
	for status, want := range map[int]string{400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
		403: "permission_error", 404: "not_found_error", 409: "conflict_error", 413: "request_too_large", 429: "rate_limit_error",
		500: "api_error", 502: "api_error", 504: "timeout_error", 529: "overloaded_error", 418: "invalid_request_error", 599: "api_error"} {
		if got := TypeFor(status); got != want {
			t.Errorf("TypeFor(%d) = %s, want %s", status, got, want)
		}
	}
}

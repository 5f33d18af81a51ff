package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// APIError is an error cco answers itself, in Anthropic's envelope so that
// SDKs and Claude Code react to it as they would to the API's own.
type APIError struct {
	Status  int
	Type    string // Anthropic error type, e.g. "permission_error"
	Message string
	NoRetry bool // adds x-should-retry: false where a retry cannot help
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

// errorTypes maps statuses to Anthropic's error types.
var errorTypes = map[int]string{
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

// ErrorType returns Anthropic's error type for an HTTP status.
func ErrorType(status int) string {
	if t, ok := errorTypes[status]; ok {
		return t
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

type envelope struct {
	Type  string       `json:"type"`
	Error envelopeBody `json:"error"`
}

type envelopeBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// handleError is echo's one error handler: every error becomes an
// envelope. Unexpected errors are logged here and answered without detail.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *APIError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
		ae = &APIError{Status: he.Code, Type: ErrorType(he.Code), Message: msg}
	default:
		s.opts.Logger.WithError(err).WithField("path", c.Request().URL.Path).Error("request failed")
		ae = &APIError{Status: http.StatusInternalServerError, Type: "api_error", Message: "internal error in cco; see its log"}
	}
	if ae.NoRetry {
		c.Response().Header().Set("x-should-retry", "false")
	}
	body := envelope{Type: "error", Error: envelopeBody{Type: ae.Type, Message: ae.Message}}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(ae.Status)
	} else {
		err = c.JSON(ae.Status, body)
	}
	if err != nil {
		s.opts.Logger.WithError(err).Debug("write error response")
	}
}

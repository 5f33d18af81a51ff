package server

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/visiquate/cco/pkg/apierror"
)

// handleError is echo's one error handler: every error becomes Anthropic's
// envelope. Unexpected errors are logged here and answered without detail.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apierror.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
		ae = &apierror.Error{Status: he.Code, Type: apierror.TypeFor(he.Code), Message: msg}
	default:
		s.opts.Logger.WithError(err).WithField("path", c.Request().URL.Path).Error("request failed")
		ae = &apierror.Error{Status: http.StatusInternalServerError, Type: "api_error", Message: "internal error in cco; see its log"}
	}
	apierror.Write(c.Response(), ae)
}

package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/secret"
)

// TokenHeader is cco's own header in which a client on another machine
// sends the access token (x-cco-token on the wire; header names are
// case-insensitive).
const TokenHeader = "X-Cco-Token"

// controlTokenKey is where checkAccessToken leaves the control token a
// client sent (control.TokenHeader), for requireToken: the header itself is
// gone by then.
const controlTokenKey = "cco.controlToken"

// accessDenied is the one answer to a missing or wrong access token. It
// never says which of the two it was, nor echoes what was sent.
var accessDenied = &apierror.Error{Status: http.StatusUnauthorized, Type: "authentication_error", NoRetry: true,
	Message: "clients on other machines must send this cco's access token in the " + strings.ToLower(TokenHeader) +
		" header (x-cco-token: TOKEN; `cco credentials new-token` makes one)"}

// noAccessToken answers clients on other machines when remote access is on
// but no access token is configured (the daemon refuses to start so; this
// is defence in depth).
var noAccessToken = &apierror.Error{Status: http.StatusForbidden, Type: "permission_error", NoRetry: true,
	Message: "this cco has no access token, so it serves only clients on its own machine"}

// controlFromLoopbackOnly answers control requests from other machines:
// a shutdown or a cache clear is not theirs to ask for.
var controlFromLoopbackOnly = &apierror.Error{Status: http.StatusForbidden, Type: "permission_error", NoRetry: true,
	Message: "control requests are accepted only from this machine, over loopback"}

// tokenGate decides whether what a client sent in x-cco-token is the
// access token. It keeps only the token's SHA-256: comparing digests of
// equal length in constant time leaks neither the token's bytes nor its
// length through timing.
type tokenGate struct {
	sum [sha256.Size]byte
	set bool
}

func newTokenGate(tok secret.Secret) tokenGate {
	if tok.IsZero() {
		return tokenGate{}
	}
	return tokenGate{sum: sha256.Sum256([]byte(tok.Reveal())), set: true}
}

// refusal returns why values (every x-cco-token the request carried)
// do not admit a client, for the log, or "" when they do.
func (g tokenGate) refusal(values []string) string {
	switch {
	case !g.set:
		return "no access token is configured"
	case len(values) == 0:
		return "no x-cco-token"
	case len(values) > 1:
		return "more than one x-cco-token"
	}
	if got := sha256.Sum256([]byte(values[0])); subtle.ConstantTimeCompare(got[:], g.sum[:]) != 1 {
		return "wrong x-cco-token"
	}
	return ""
}

// equalSecret compares a presented secret with the expected one in
// constant time, whatever their lengths. An empty want matches nothing.
func equalSecret(got, want string) bool {
	if want == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// checkAccessToken is the gate for clients on other machines and the one
// place that reads x-cco-token and the control token's header. It takes
// both off every request, from every client and whether or not a token is
// configured, so that no handler, and through the proxy no upstream, ever
// sees them (the control token is kept in the context for the control
// routes). Then:
//
//   - A client on loopback, or any client when the instance listens only on
//     loopback (!Remote), goes on.
//   - Any other client must have sent the access token, exactly once;
//     otherwise it gets 401 (403 when no access token is configured), and
//     the refusal is logged with the client's address and the reason, never
//     with what it sent.
//
// "On loopback" is the TCP peer address. X-Forwarded-For, which a client
// can write itself, is believed only from server.trusted_proxies, and a
// request that came through one counts as remote (see clientOf).
func (s *Server) checkAccessToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		values := takeHeader(r.Header, TokenHeader)
		if ctl := takeHeader(r.Header, control.TokenHeader); len(ctl) > 0 {
			c.Set(controlTokenKey, ctl[0])
		}
		cl := s.clientOf(r)
		if cl.local || (!s.opts.Remote && !cl.proxied) {
			return next(c)
		}
		if reason := s.access.refusal(values); reason != "" {
			s.opts.Logger.WithFields(logrus.Fields{
				"remote": cl.ip,
				"method": r.Method,
				"path":   r.URL.Path,
				"reason": reason,
			}).Warn("refused a client on another machine")
			if !s.access.set {
				return noAccessToken
			}
			return accessDenied
		}
		return next(c)
	}
}

// loopbackClientOnly keeps the control routes to clients on this machine
// when the instance listens beyond loopback.
func (s *Server) loopbackClientOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if cl := s.clientOf(c.Request()); (s.opts.Remote || cl.proxied) && !cl.local {
			return controlFromLoopbackOnly
		}
		return next(c)
	}
}

// takeHeader removes every field named name from h, whatever the case of
// its key (net/http canonicalises keys it parses, but not keys a caller
// set by hand), and returns their values.
func takeHeader(h http.Header, name string) []string {
	var values []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			values = append(values, v...)
			delete(h, k)
		}
	}
	return values
}

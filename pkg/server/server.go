// Package server is cco's HTTP face: the one echo route table, its
// middleware (loopback Host and Origin checks, control token), the error
// handler that answers in Anthropic's error envelope, and the health,
// readiness and control handlers.
//
// It imports echo, logrus and the control, dashboard and version packages.
package server

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/dashboard"
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
}

// Server serves one cco instance.
type Server struct {
	opts     Options
	echo     *echo.Echo
	stopping atomic.Bool
	stopOnce atomic.Bool
}

// New builds the route table.
func New(opts Options) *Server {
	s := &Server{opts: opts, echo: echo.New()}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.recoverPanics, s.logRequests)

	getOrHead := []string{http.MethodGet, http.MethodHead}
	e.Match(getOrHead, control.HealthPath, s.health)
	e.Match(getOrHead, control.ReadyPath, s.ready)
	e.Match(getOrHead, "/", echo.WrapHandler(dashboard.Handler()))

	guard := []echo.MiddlewareFunc{loopbackHostOnly, noBrowserOrigin, s.requireToken}
	e.POST(control.ShutdownPath, s.shutdown, guard...)
	return s
}

// Handler is the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.echo }

// SetStopping marks the instance as shutting down: /ready then answers 503
// so that nothing new is routed here while in-flight requests finish.
func (s *Server) SetStopping() { s.stopping.Store(true) }

func (s *Server) health(c echo.Context) error {
	status := "ok"
	if s.stopping.Load() {
		status = "stopping"
	}
	return c.JSON(http.StatusOK, control.Health{
		Status:    status,
		Uptime:    int64(s.opts.Now().Sub(s.opts.StartedAt) / time.Second),
		Version:   s.opts.Info.Version,
		PID:       s.opts.PID,
		StartedAt: s.opts.StartedAt.UTC(),
	})
}

func (s *Server) ready(c echo.Context) error {
	r := control.Ready{Ready: !s.stopping.Load(), Timestamp: s.opts.Now().UTC().Format(time.RFC3339)}
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
	}
	return c.JSON(code, r)
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
		if !isLoopbackHost(c.Request().Host) {
			return &APIError{Status: http.StatusForbidden, Type: "permission_error", Message: "this route answers only to a loopback Host (127.0.0.1, ::1 or localhost)"}
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
			return &APIError{Status: http.StatusForbidden, Type: "permission_error", Message: "control requests from web pages are refused"}
		}
		return next(c)
	}
}

func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		got := c.Request().Header.Get(control.TokenHeader)
		if got == "" || s.opts.Token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) != 1 {
			return &APIError{Status: http.StatusUnauthorized, Type: "authentication_error", Message: "missing or wrong " + control.TokenHeader, NoRetry: true}
		}
		return next(c)
	}
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.opts.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // writes the response, so the status below is final
		}
		req := c.Request()
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

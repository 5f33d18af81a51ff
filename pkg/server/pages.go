package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/control"
)

// The dashboard's routes: /api/requests pages through stored requests,
// /api/events streams finished ones, /api/instance tells the instance's
// facts, and the page-token pair lets the page (and only a page cco served)
// clear the response cache.
//
// The page token is made fresh by each instance and is not the control
// token: it authorises only what the page can do. A page gets it by a POST
// that carries its Origin, which checkOrigin has already matched against the
// Host; other origins are refused, and without CORS headers no other site
// could read the answer anyway.

// newPageToken is 32 random bytes in hex.
func newPageToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// sameOriginPage admits only requests a page of this instance sent: an
// Origin is required (checkOrigin compared it with the Host), and Fetch
// Metadata, when sent, must say same-origin.
func sameOriginPage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if h.Get("Origin") == "" || (h.Get("Sec-Fetch-Site") != "" && h.Get("Sec-Fetch-Site") != "same-origin") {
			return &apierror.Error{Status: http.StatusForbidden, Type: "permission_error", NoRetry: true,
				Message: "this route answers only to the dashboard page cco serves"}
		}
		return next(c)
	}
}

func (s *Server) pageToken(c echo.Context) error {
	return c.JSON(http.StatusOK, control.PageToken{Token: s.pageTok})
}

func (s *Server) requirePageToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !equalSecret(c.Request().Header.Get(control.PageTokenHeader), s.pageTok) {
			return &apierror.Error{Status: http.StatusUnauthorized, Type: "authentication_error", NoRetry: true,
				Message: "missing or wrong " + control.PageTokenHeader + "; reload the dashboard"}
		}
		return next(c)
	}
}

func (s *Server) requests(c echo.Context) error {
	limit, before := 0, int64(0)
	var err error
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return apierror.New(http.StatusBadRequest, "limit must be a whole number from 1 to %d", control.MaxRequestsLimit)
		}
	}
	if v := c.QueryParam("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			return apierror.New(http.StatusBadRequest, "before must be a request id (a whole number above 0)")
		}
	}
	out, err := s.opts.Requests(c.Request().Context(), limit, before)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// Timings of the event stream.
const (
	eventsCheck        = time.Second      // how often drops are reported when nothing else is sent
	eventsPing         = 15 * time.Second // a comment line keeps idle connections open
	eventsWriteTimeout = 10 * time.Second // a browser that takes no bytes this long is let go
)

// events streams finished requests to a dashboard. A stream that falls
// behind loses events (the hub drops them, the proxy never waits) and is
// told how many in a "dropped" event.
func (s *Server) events(c echo.Context) error {
	sub, ok := s.opts.Live.Subscribe()
	if !ok {
		return &apierror.Error{Status: http.StatusTooManyRequests, Type: "rate_limit_error", RetryAfter: 30,
			Message: "at most " + strconv.Itoa(control.MaxLiveSessions) + " live dashboard sessions may be open at once; close one (another tab or browser) and reload"}
	}
	defer sub.Close()

	w := c.Response()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(parts ...[]byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(eventsWriteTimeout))
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return err
			}
		}
		return rc.Flush()
	}
	if err := send([]byte("retry: 5000\n: connected\n\n")); err != nil {
		return nil
	}
	tick := time.NewTicker(eventsCheck)
	defer tick.Stop()
	lastSent := time.Now()
	ctx := c.Request().Context()
	for {
		var msg [][]byte
		select {
		case <-ctx.Done():
			return nil
		case <-s.stopped:
			return nil
		case r := <-sub.C():
			msg = append(msg, droppedEvent(sub.TakeDropped())...)
			data, _ := json.Marshal(r)
			msg = append(msg, []byte("event: request\ndata: "), data, []byte("\n\n"))
		case <-tick.C:
			msg = droppedEvent(sub.TakeDropped())
			if msg == nil && time.Since(lastSent) >= eventsPing {
				msg = [][]byte{[]byte(": ping\n\n")}
			}
		}
		if msg == nil {
			continue
		}
		if err := send(msg...); err != nil {
			return nil // the browser went away or stalled
		}
		lastSent = time.Now()
	}
}

func droppedEvent(n int64) [][]byte {
	if n == 0 {
		return nil
	}
	data, _ := json.Marshal(control.Dropped{Dropped: n})
	return [][]byte{[]byte("event: dropped\ndata: "), data, []byte("\n\n")}
}

func (s *Server) instance(c echo.Context) error {
	in := s.opts.Instance()
	in.Version, in.Commit, in.GoVersion = s.opts.Info.Version, s.opts.Info.Commit, s.opts.Info.GoVersion
	in.PID, in.StartedAt = s.opts.PID, s.opts.StartedAt.UTC()
	in.UptimeSeconds = int64(s.opts.Now().Sub(s.opts.StartedAt) / time.Second)
	if s.opts.Update != nil {
		in.Update = s.opts.Update()
	}
	return c.JSON(http.StatusOK, in)
}

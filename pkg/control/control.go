// Package control is the contract between the cco CLI and a running cco
// daemon: the paths and bodies of the health, readiness and control
// endpoints, and a small HTTP client for them. The server implements it;
// the CLI calls it.
//
// It imports only the standard library.
package control

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Paths and header of the daemon's own API.
const (
	HealthPath   = "/health"
	ReadyPath    = "/ready"
	ShutdownPath = "/api/control/shutdown"

	// TokenHeader carries the instance's control token (from its state
	// file) on control requests. It is not x-cco-token, which carries the
	// access token of clients on other machines.
	TokenHeader = "X-CCO-Control-Token"
)

// Health is the body of GET /health.
type Health struct {
	// Status is "ok"; "degraded" while the analytics database cannot be
	// written (requests are still proxied, rows wait in the queue); or
	// "stopping" during shutdown.
	Status    string    `json:"status"`
	Uptime    int64     `json:"uptime"` // whole seconds
	Version   string    `json:"version"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	// Proxy has the /v1/* figures since start.
	Proxy *ProxyStats `json:"proxy,omitempty"`
	// UpdateAvailable says the background check found a newer release.
	UpdateAvailable bool `json:"update_available"`
	// Update has the background check's outcome once there is one.
	Update *UpdateStatus `json:"update,omitempty"`
	// Database is the analytics database's state.
	Database *DatabaseStatus `json:"database,omitempty"`
	// Limits are the spend limits the user set, and how much is spent.
	Limits Limits `json:"limits,omitempty"`
}

// DatabaseStatus is the analytics database's state in Health.
type DatabaseStatus struct {
	Name string `json:"name"` // the SQLite file, or the PostgreSQL URL without its password
	OK   bool   `json:"ok"`   // the last write succeeded
	// Error and Since say why rows wait, and since when, while !OK.
	Error   string     `json:"error,omitempty"`
	Since   *time.Time `json:"since,omitempty"`
	Queued  int        `json:"queued"`  // rows waiting for the writer
	Dropped int64      `json:"dropped"` // rows lost since start (a full queue, a refused write)
}

// UpdateStatus is the background update check's outcome in Health.
type UpdateStatus struct {
	Available bool      `json:"available"`
	Latest    string    `json:"latest,omitempty"` // newest eligible release
	Current   string    `json:"current"`
	Channel   string    `json:"channel"`
	CheckedAt time.Time `json:"checked_at"`
	// Command is what to run to update ("cco update", or the package
	// manager's command).
	Command string `json:"command,omitempty"`
	// Installed says auto_install put the new release in place; it runs
	// after a restart.
	Installed bool   `json:"installed,omitempty"`
	Error     string `json:"error,omitempty"`
}

// ProxyStats are the proxy's counters in Health.
type ProxyStats struct {
	Requests       int64 `json:"requests"`
	InFlight       int64 `json:"in_flight"`
	UpstreamErrors int64 `json:"upstream_errors"`
}

// Ready is the body of GET /ready.
type Ready struct {
	Ready     bool   `json:"ready"`
	Timestamp string `json:"timestamp"` // RFC 3339
	// Problems are what works less well than it should while the instance
	// still serves (it stays ready: a database outage must not take every
	// replica out of a load balancer), such as the analytics database.
	Problems []string `json:"problems,omitempty"`
}

// Client talks to one daemon.
type Client struct {
	HTTP    *http.Client
	BaseURL string // http://127.0.0.1:3000
}

// Health fetches the daemon's health over HTTP.
func (c Client) Health(ctx context.Context) (Health, error) {
	var h Health
	resp, err := c.do(ctx, http.MethodGet, HealthPath, "")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("health check: %s", statusText(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, fmt.Errorf("health check: %w", err)
	}
	return h, nil
}

// Shutdown asks the daemon to stop gracefully. It returns once the daemon
// has accepted the request, not when it has exited.
func (c Client) Shutdown(ctx context.Context, token string) error {
	resp, err := c.do(ctx, http.MethodPost, ShutdownPath, token)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("shutdown request: %s", statusText(resp))
	}
	return nil
}

func (c Client) do(ctx context.Context, method, path, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set(TokenHeader, token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	return hc.Do(req)
}

// statusText describes a failed response, with the message of an error
// envelope when there is one.
func statusText(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var env struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Message != "" {
		return resp.Status + ": " + env.Error.Message
	}
	return strings.TrimSpace(resp.Status)
}

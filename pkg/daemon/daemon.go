// Package daemon runs cco instances. Start claims the port, opens the
// analytics store, the cache and the proxy, writes the log and state files
// and starts serving; the Instance it returns stops gracefully (in-flight
// requests finish, up to a deadline) and cleans up after itself. Run is the
// foreground form `cco run` uses: start, wait for a signal, stop.
//
// A service manager restarts cco after a crash, so Start never trusts a
// state file left behind by an earlier process: one that names this very
// process, or a process that started after the file was written, is stale.
//
// It imports analytics, apierror, cache, config, control, limits, live,
// logging, metrics, pricing, proxy, runstate, secret, server, store, update
// and version.
package daemon

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/logging"
	"github.com/visiquate/cco/pkg/runstate"
	"github.com/visiquate/cco/pkg/secret"
	"github.com/visiquate/cco/pkg/server"
	"github.com/visiquate/cco/pkg/version"
)

// Options are what an instance needs from the outside world.
type Options struct {
	Config config.Config
	Paths  config.Paths
	Info   version.Info
	PID    int
	Now    func() time.Time
	Stdout io.Writer // the "listening on" line, for people and scripts
	Stderr io.Writer // console copy of the log
	// OpenBrowser, when set, is called with the dashboard URL once the
	// instance is serving.
	OpenBrowser func(url string)
	// APIKey is added to proxied requests that carry no credentials;
	// APIKeySource says where it came from, for the log.
	APIKey       secret.Secret
	APIKeySource string
	// AccessToken is what clients not on loopback must send (x-cco-token)
	// when the instance listens beyond loopback; without one such an
	// instance does not start.
	AccessToken secret.Secret
	// UpstreamRoots, when set, replaces the system's trusted roots for the
	// upstream's TLS certificate (tests use it).
	UpstreamRoots *x509.CertPool

	// Updates configures the background update check.
	Updates UpdateCheck
	// Args are the `cco run` options, recorded in the state file.
	Args []string
	// Service names the service manager running this instance ($CCO_SERVICE).
	Service string
	// ReloadLimits reads the spend limits configured now (the file, the
	// environment and the flags, as at start); the instance calls it every
	// second, so a raised limit applies without a restart. nil: never.
	ReloadLimits func() (config.Limits, error)
}

// Instance is a running cco. Its methods are safe for concurrent use.
type Instance struct {
	state  runstate.State
	logger *logrus.Logger
	srv    *server.Server
	http   *http.Server
	// shutdownTimeout bounds a stop asked for over the control API.
	shutdownTimeout time.Duration

	stopOnce sync.Once
	stopping chan struct{} // closed when a stop begins
	reason   string        // why, set before stopping is closed
	cutOnce  sync.Once
	cut      chan struct{} // closed to cut in-flight requests off
	done     chan struct{} // closed when the instance has stopped and cleaned up
	err      error         // why serving ended on its own, set before done is closed
}

// Start binds the listener, opens the instance's components, writes its state
// file and starts serving. ctx bounds the start only; stop the instance
// with Stop. On error nothing is left behind: no listener, no state file.
func Start(ctx context.Context, o Options) (_ *Instance, err error) {
	cfg := o.Config
	remote := !config.IsLoopbackHost(cfg.Server.Host)
	if remote && o.AccessToken.IsZero() {
		return nil, &config.Error{Msg: fmt.Sprintf("listening on %s beyond loopback needs an access token for the other machines' clients: "+
			"make one with `cco credentials new-token` (or set CCO_SERVER_TOKEN), then start cco again", cfg.Server.Host)}
	}
	if len(cfg.Server.TrustedProxies) > 0 && o.AccessToken.IsZero() {
		return nil, &config.Error{Key: "server.trusted_proxies", Msg: "clients behind a trusted proxy count as remote and need an access token: " +
			"make one with `cco credentials new-token` (or set CCO_SERVER_TOKEN), then start cco again"}
	}
	pidDir := o.Paths.PidDir()
	if err := checkPortFree(pidDir, cfg.Server.Port, o.PID); err != nil {
		return nil, err
	}

	var cleanup []func() // run in reverse on a failed start
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()
	addr := net.JoinHostPort(cfg.Server.Host, strconv.Itoa(cfg.Server.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if isAddrInUse(err) {
			return nil, fmt.Errorf("cannot listen on %s: the port is in use by another program; pick another with --port (0 picks a free one)", addr)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	cleanup = append(cleanup, func() { ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	listeners := []net.Listener{ln}
	if remote && !isWildcard(cfg.Server.Host) {
		// cco's own commands (status, stats, shutdown) come over loopback,
		// where they need no access token.
		lo, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("cannot also listen on 127.0.0.1:%d for cco's own commands: %w", port, err)
		}
		cleanup = append(cleanup, func() { lo.Close() })
		listeners = append(listeners, lo)
	}

	logFile := filepath.Join(o.Paths.LogDir(), "cco-"+strconv.Itoa(port)+".log")
	if err := os.MkdirAll(o.Paths.LogDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create log folder: %w", err)
	}
	file := logging.RotatingFile(logFile, cfg.Log.MaxSize, cfg.Log.MaxBackups, cfg.Log.Compress)
	cleanup = append(cleanup, func() { file.Close() })
	// Access lines are buffered for at most logging.FlushInterval; every
	// other line is written at once (see logging.Output).
	logOut := logging.NewOutput(io.MultiWriter(o.Stderr, file), logging.FlushInterval)
	cleanup = append(cleanup, func() { logOut.Close() })
	logger, err := logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format, Out: logOut})
	if err != nil {
		return nil, err
	}
	httpErrors := logger.WriterLevel(logrus.WarnLevel)
	cleanup = append(cleanup, func() { httpErrors.Close() })

	replica := cfg.Server.Replica
	if replica == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "localhost"
		}
		replica = net.JoinHostPort(host, strconv.Itoa(port))
	}
	comps, closeComponents, err := openComponents(ctx, cfg, o, logger, replica)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, closeComponents)

	token, err := runstate.NewToken()
	if err != nil {
		return nil, err
	}
	started := o.Now()
	st := runstate.State{
		PID: o.PID, Host: cfg.Server.Host, Port: port, Version: o.Info.Version,
		StartedAt: started.UTC(), LogFile: logFile, Token: token,
		Args: o.Args, Service: o.Service,
	}
	if st.Path, err = runstate.Write(pidDir, st); err != nil {
		return nil, err
	}

	in := &Instance{
		state: st, logger: logger, shutdownTimeout: cfg.Server.ShutdownTimeout,
		stopping: make(chan struct{}), cut: make(chan struct{}), done: make(chan struct{}),
	}
	var updates updateWatcher
	var sharedLimits server.RateCounter // a nil *cache.Shared must stay a nil interface
	if comps.shared != nil {
		sharedLimits = comps.shared
	}
	in.srv = server.New(server.Options{
		Info: o.Info, PID: o.PID, StartedAt: started, Now: o.Now, Logger: logger, Token: token,
		Shutdown:       func() { go in.stopWithin(in.shutdownTimeout, "control request") },
		Proxy:          comps.proxy,
		Update:         updates.Status,
		Limits:         comps.limits.Status,
		Database:       comps.database,
		Stats:          comps.stats(o.Now),
		Blocks:         comps.blocks(o.Now),
		Report:         comps.report(o.Now),
		StatusLine:     comps.statusLine(o.Now),
		CacheStats:     comps.cacheStats,
		ClearCache:     comps.clearCache,
		Requests:       comps.requests,
		Live:           comps.live,
		Instance:       comps.instance(st.BaseURL(), o.Service),
		Metrics:        comps.metrics.Handler(),
		OnRateLimited:  comps.metrics.Refused,
		AllowedHosts:   cfg.Server.AllowedHosts,
		TrustedProxies: cfg.Server.TrustedProxies,
		SharedLimits:   sharedLimits,
		Remote:         remote,
		AccessToken:    o.AccessToken,
		APILimit:       server.Limit{PerMinute: cfg.RateLimit.APIRequestsPerMinute, Concurrent: cfg.RateLimit.APIConcurrent},
		ProxyLimit:     server.Limit{PerMinute: cfg.RateLimit.ProxyRequestsPerMinute, Concurrent: cfg.RateLimit.ProxyConcurrent},
	})
	in.http = &http.Server{
		Handler:           in.srv.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          log.New(httpErrors, "", 0),
	}
	shown := st.BaseURL()
	if len(listeners) > 1 {
		shown = "http://" + ln.Addr().String() // where the other machines' clients connect
	}
	fmt.Fprintf(o.Stdout, "cco %s listening on %s (pid %d)\n", o.Info.Version, shown, o.PID)
	logger.WithFields(logrus.Fields{
		"addr": ln.Addr().String(), "pid": o.PID, "version": o.Info.Version, "log_file": logFile,
		"upstream": comps.upstream.Redacted(), "api_key": o.APIKeySource, "cache": comps.cache != nil,
		"service": o.Service, "procs": runtime.GOMAXPROCS(0),
	}).Info("cco started")
	if remote {
		logger.WithField("addr", ln.Addr().String()).Warn("listening beyond loopback (server.allow_remote): clients on other machines must send the access token in x-cco-token")
	}
	// The listener is bound: connections wait in its backlog until Serve
	// takes them, and the start is logged before any request is.
	served := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { served <- in.http.Serve(l) }()
	}

	checkCtx, stopCheck := context.WithCancel(context.Background())
	if o.Updates.Updater != nil {
		c := o.Updates
		if c.StatePath == "" {
			c.StatePath = updateStatePath(o.Paths.CacheDir)
		}
		go updates.run(checkCtx, c, o.Now, logger)
	}
	go in.serve(served, func() {
		stopCheck()
		closeComponents()
		if err := runstate.Remove(st); err != nil {
			logger.WithError(err).Warn("could not remove the state file")
		}
		logger.WithField("uptime", o.Now().Sub(started).Round(time.Millisecond).String()).Info("cco stopped")
		httpErrors.Close()
		logOut.Close()
		file.Close()
	})
	if o.OpenBrowser != nil {
		o.OpenBrowser(st.BaseURL() + "/")
	}
	return in, nil
}

// isWildcard reports whether host means every address of the machine.
func isWildcard(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// checkPortFree refuses a port that a live cco instance holds. A state file
// naming this process (left by an earlier life with the same pid, as in a
// restarted container) or a process that started after it was written is
// not a live instance; List removes those.
func checkPortFree(pidDir string, port, self int) error {
	running, _, err := runstate.List(pidDir)
	if err != nil {
		return err
	}
	for _, st := range running {
		if st.Port == port && port != 0 && st.PID != self {
			return fmt.Errorf("cco is already running on port %d (pid %d); stop it with `cco shutdown --port %d` or pick another port with --port",
				st.Port, st.PID, st.Port)
		}
	}
	return nil
}

// serve waits until serving ends: a stop was asked for, or the server
// failed. Then it finishes in-flight requests (until cut off), releases
// everything and marks the instance done.
func (in *Instance) serve(served <-chan error, release func()) {
	defer close(in.done)
	defer release()
	select {
	case err := <-served:
		in.err = fmt.Errorf("serve on %s: %w", in.state.BaseURL(), err)
		in.logger.WithError(err).Error("cco stopped serving")
		in.http.Close() // the other listener, if any
		return
	case <-in.stopping:
	}
	in.logger.WithFields(logrus.Fields{"reason": in.reason}).Info("cco stopping: finishing in-flight requests")
	in.srv.SetStopping()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-in.cut:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := in.http.Shutdown(ctx); err != nil {
		in.logger.WithError(err).Warn("in-flight requests cut off")
		in.http.Close()
	}
}

// URL is the instance's base URL, such as http://127.0.0.1:3000.
func (in *Instance) URL() string { return in.state.BaseURL() }

// State is what the instance recorded in its state file.
func (in *Instance) State() runstate.State { return in.state }

// Done is closed once the instance has stopped and cleaned up.
func (in *Instance) Done() <-chan struct{} { return in.done }

// Wait blocks until the instance has stopped and cleaned up. It returns
// nil after a stop that was asked for, and the error that ended serving
// otherwise.
func (in *Instance) Wait() error {
	<-in.done
	return in.err
}

// Stop stops the instance gracefully: new connections are refused at once,
// in-flight requests may finish until ctx is done, and are then cut off.
// It returns once the instance has cleaned up. Calling it again, or while
// another stop is under way, joins that stop.
func (in *Instance) Stop(ctx context.Context) error {
	return in.stop(ctx, "stop requested")
}

func (in *Instance) stop(ctx context.Context, reason string) error {
	in.stopOnce.Do(func() {
		in.reason = reason
		close(in.stopping)
	})
	select {
	case <-in.done:
	case <-ctx.Done():
		in.cutOff()
		<-in.done
	}
	return in.err
}

// stopWithin stops with the configured shutdown timeout.
func (in *Instance) stopWithin(timeout time.Duration, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	in.stop(ctx, reason)
}

// cutOff ends in-flight requests of a stop under way.
func (in *Instance) cutOff() { in.cutOnce.Do(func() { close(in.cut) }) }

// Run is `cco run`: it starts an instance and serves until ctx is done, a
// signal arrives or a control request stops it. The first signal starts a
// graceful stop bounded by server.shutdown_timeout; a second one cuts
// in-flight requests off. It returns nil after a clean stop.
func Run(ctx context.Context, o Options, signals <-chan os.Signal) error {
	in, err := Start(ctx, o)
	if err != nil {
		return err
	}
	return in.serveUntil(ctx, signals)
}

// serveUntil is Run once the instance has started.
func (in *Instance) serveUntil(ctx context.Context, signals <-chan os.Signal) error {
	var reason string
	select {
	case <-ctx.Done():
		reason = "context done"
	case sig := <-signals:
		reason = "signal " + sig.String()
	case <-in.Done():
		return in.Wait()
	}
	go func() {
		select {
		case sig := <-signals:
			in.logger.WithField("signal", sig.String()).Warn("second signal: cutting in-flight requests off")
			in.cutOff()
		case <-in.Done():
		}
	}()
	stopCtx, cancel := context.WithTimeout(context.Background(), in.shutdownTimeout)
	defer cancel()
	return in.stop(stopCtx, reason)
}

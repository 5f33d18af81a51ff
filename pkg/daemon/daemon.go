// Package daemon runs one cco instance: it claims the port, writes the log
// and state files, serves until it is told to stop, lets in-flight requests
// finish, and cleans up after itself.
//
// It imports analytics, apierror, cache, config, control, logging, pricing,
// proxy, runstate, secret, server, store and version.
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
	"strconv"
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
	// Signals delivers SIGINT/SIGTERM. The first starts a graceful stop; a
	// second one during it cuts in-flight requests off.
	Signals <-chan os.Signal
	// OpenBrowser, when set, is called with the dashboard URL once the
	// instance is serving.
	OpenBrowser func(url string)
	// APIKey is added to proxied requests that carry no credentials.
	APIKey secret.Secret
	// UpstreamRoots, when set, replaces the system's trusted roots for the
	// upstream's TLS certificate (tests use it).
	UpstreamRoots *x509.CertPool

	// Updates configures the background update check.
	Updates UpdateCheck
	// Args are the `cco run` options, recorded in the state file.
	Args []string
	// Service names the service manager running this instance ($CCO_SERVICE).
	Service string

	// wrap, in tests, wraps the instance's handler.
	wrap func(http.Handler) http.Handler
}

// Run serves until ctx is done, a signal arrives or a control request asks
// it to stop, and returns nil after a clean stop.
func Run(ctx context.Context, o Options) error {
	cfg := o.Config
	pidDir := o.Paths.PidDir()
	if _, _, err := runstate.List(pidDir); err != nil { // cleans stale state files
		return err
	}
	if cfg.Server.Port != 0 {
		if st, ok, _ := runstate.ForPort(pidDir, cfg.Server.Port); ok && runstate.Running(st.PID) {
			return fmt.Errorf("cco is already running on port %d (pid %d); stop it with `cco shutdown --port %d` or pick another port with --port",
				st.Port, st.PID, st.Port)
		}
	}

	addr := net.JoinHostPort(cfg.Server.Host, strconv.Itoa(cfg.Server.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if isAddrInUse(err) {
			return fmt.Errorf("cannot listen on %s: the port is in use by another program; pick another with --port (0 picks a free one)", addr)
		}
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	logFile := filepath.Join(o.Paths.LogDir(), "cco-"+strconv.Itoa(port)+".log")
	if err := os.MkdirAll(o.Paths.LogDir(), 0o700); err != nil {
		return fmt.Errorf("create log folder: %w", err)
	}
	file := logging.RotatingFile(logFile, cfg.Log.MaxSize, cfg.Log.MaxBackups, cfg.Log.Compress)
	defer file.Close()
	logger, err := logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format, Out: io.MultiWriter(o.Stderr, file)})
	if err != nil {
		return err
	}
	httpErrors := logger.WriterLevel(logrus.WarnLevel)
	defer httpErrors.Close()

	parts, closeParts, err := openParts(ctx, cfg, o, logger)
	if err != nil {
		return err
	}
	defer closeParts()

	token, err := runstate.NewToken()
	if err != nil {
		return err
	}
	started := o.Now()
	st := runstate.State{
		PID: o.PID, Host: cfg.Server.Host, Port: port, Version: o.Info.Version,
		StartedAt: started.UTC(), LogFile: logFile, Token: token,
		Args: o.Args, Service: o.Service,
	}
	if st.Path, err = runstate.Write(pidDir, st); err != nil {
		return err
	}
	defer func() {
		if err := runstate.Remove(st); err != nil {
			logger.WithError(err).Warn("could not remove the state file")
		}
	}()

	remote := !config.IsLoopbackHost(cfg.Server.Host)
	var updates updateWatcher
	stopRequested := make(chan struct{})
	srv := server.New(server.Options{
		Info: o.Info, PID: o.PID, StartedAt: started, Now: o.Now, Logger: logger, Token: token,
		Shutdown:     func() { close(stopRequested) },
		Proxy:        parts.proxy,
		Update:       updates.Status,
		Stats:        parts.stats(o.Now),
		CacheStats:   parts.cacheStats,
		ClearCache:   parts.clearCache,
		AllowedHosts: cfg.Server.AllowedHosts,
		Remote:       remote,
		APILimit:     server.Limit{PerMinute: cfg.RateLimit.APIRequestsPerMinute, Concurrent: cfg.RateLimit.APIConcurrent},
		ProxyLimit:   server.Limit{PerMinute: cfg.RateLimit.ProxyRequestsPerMinute, Concurrent: cfg.RateLimit.ProxyConcurrent},
	})
	handler := srv.Handler()
	if o.wrap != nil {
		handler = o.wrap(handler)
	}
	httpSrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          log.New(httpErrors, "", 0),
	}
	url := st.BaseURL() + "/"
	fmt.Fprintf(o.Stdout, "cco %s listening on %s (pid %d)\n", o.Info.Version, st.BaseURL(), o.PID)
	logger.WithFields(logrus.Fields{
		"addr": ln.Addr().String(), "pid": o.PID, "version": o.Info.Version, "log_file": logFile,
		"upstream": parts.upstream.Redacted(), "api_key_from_env": !o.APIKey.IsZero(), "cache": parts.cache != nil,
	}).Info("cco started")
	if remote {
		logger.WithField("addr", ln.Addr().String()).Warn("listening beyond loopback (server.allow_remote): other machines can use this gateway and its API key")
	}
	// The listener is bound: connections wait in its backlog until Serve
	// takes them, and the start is logged before any request is.
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	if o.OpenBrowser != nil {
		o.OpenBrowser(url)
	}
	checkCtx, stopCheck := context.WithCancel(ctx)
	defer stopCheck()
	if o.Updates.Updater != nil {
		c := o.Updates
		if c.StatePath == "" {
			c.StatePath = updateStatePath(o.Paths.CacheDir)
		}
		go updates.run(checkCtx, c, o.Now, logger)
	}

	var reason string
	select {
	case <-ctx.Done():
		reason = "context done"
	case sig := <-o.Signals:
		reason = "signal " + sig.String()
	case <-stopRequested:
		reason = "control request"
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", addr, err)
	}

	logger.WithFields(logrus.Fields{"reason": reason, "timeout": cfg.Server.ShutdownTimeout.String()}).Info("cco stopping: finishing in-flight requests")
	srv.SetStopping()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	go func() {
		select {
		case sig := <-o.Signals:
			logger.WithField("signal", sig.String()).Warn("second signal: cutting in-flight requests off")
			cancel()
		case <-shutdownCtx.Done():
		}
	}()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		logger.WithError(err).Warn("in-flight requests cut off")
		httpSrv.Close()
	}
	logger.WithField("uptime", o.Now().Sub(started).Round(time.Millisecond).String()).Info("cco stopped")
	return nil
}

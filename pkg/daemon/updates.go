package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/update"
)

// UpdateCheck configures the background update check of a running
// instance.
type UpdateCheck struct {
	// Updater asks GitHub; nil turns the check off (updates.enabled=false
	// or CCO_NO_UPDATE_CHECK=1).
	Updater  *update.Updater
	Channel  string
	Interval time.Duration
	// AutoInstall installs a found update (manual installs only).
	AutoInstall bool
	// StatePath records the last check (in the cache folder).
	StatePath string
}

// updateWatcher runs the check once, in the background, and holds its
// outcome for /health.
type updateWatcher struct {
	mu     sync.Mutex
	status *control.UpdateStatus
}

func (w *updateWatcher) Status() *control.UpdateStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == nil {
		return nil
	}
	s := *w.status
	return &s
}

func (w *updateWatcher) set(s control.UpdateStatus) {
	w.mu.Lock()
	w.status = &s
	w.mu.Unlock()
}

// run checks at most once per interval (the state file remembers across
// restarts), logs the outcome and, with AutoInstall on a manual install,
// installs the update; it never blocks serving.
func (w *updateWatcher) run(ctx context.Context, c UpdateCheck, now func() time.Time, log *logrus.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req := update.Request{Channel: c.Channel}
	st, fresh, err := c.Updater.CheckCached(ctx, req, c.StatePath, c.Interval, now())
	if err != nil {
		if ctx.Err() == nil {
			log.WithError(err).Warn("update check failed")
		}
		w.set(control.UpdateStatus{Channel: c.Channel, CheckedAt: now().UTC(), Error: err.Error()})
		return
	}
	status := control.UpdateStatus{
		Available: st.Available, Latest: st.Latest, Current: st.Current, Channel: st.Channel,
		CheckedAt: st.CheckedAt, Command: "cco update",
	}
	if st.Command != "" {
		status.Command = st.Command
	}
	fields := logrus.Fields{"current": st.Current, "latest": st.Latest, "channel": st.Channel, "cached": !fresh}
	if !st.Available {
		w.set(status)
		log.WithFields(fields).Info("cco is up to date")
		return
	}
	fields["run"] = status.Command
	if !c.AutoInstall || st.Method.Managed() {
		w.set(status)
		log.WithFields(fields).Info("update available")
		return
	}
	_, res, err := c.Updater.Update(ctx, req, nil)
	switch {
	case errors.Is(err, update.ErrBusy):
		log.WithFields(fields).Info("update available; another update is installing it")
	case err != nil:
		status.Error = err.Error()
		log.WithFields(fields).WithError(err).Warn("update available, but installing it failed")
	case res != nil:
		status.Installed = true
		status.Command = "restart cco to run " + res.To
		log.WithFields(logrus.Fields{"from": res.From, "to": res.To, "path": res.Path}).Info("update installed (updates.auto_install); it runs after a restart")
	}
	w.set(status)
}

// updateStatePath is where the check's state lives in the cache folder.
func updateStatePath(cacheDir string) string { return filepath.Join(cacheDir, "update-check.json") }

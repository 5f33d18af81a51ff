package proxy

import (
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/visiquate/cco/pkg/logging"
)

// logDone writes the access log line of a finished request: "proxy request
// done" at info, or a warning when it failed or was aborted, with method,
// path, status, duration, and cache, model and request_id when known.
//
// It goes through logging.Log, which formats the line as logrus would but
// without a map of fields or a lock, and, for the daemon's logger, buffers
// the info lines (flushed every logging.FlushInterval): at the default log
// level this line is written for every request, and through logrus it cost
// 12-20% of the proxy's throughput (BENCHMARKS.md). Warnings go out at once.
func (p *Proxy) logDone(r *http.Request, ex *exchange, now time.Time, aborted bool) {
	failed := aborted || ex.failure != ""
	level, msg := logrus.InfoLevel, "proxy request done"
	switch {
	case aborted:
		level, msg = logrus.WarnLevel, "proxy request aborted"
	case failed:
		level, msg = logrus.WarnLevel, "proxy request failed"
	}
	if !p.opts.Logger.IsLevelEnabled(level) {
		return
	}
	var fields [8]logging.Field
	fs := append(fields[:0],
		logging.String("method", r.Method),
		logging.String("path", r.URL.Path),
		logging.Int("status", ex.status),
		logging.String("duration", now.Sub(ex.start).Round(time.Microsecond).String()),
	)
	if ex.cacheState != "" {
		fs = append(fs, logging.String("cache", ex.cacheState))
	}
	if ex.usage.Model != "" {
		fs = append(fs, logging.String("model", ex.usage.Model))
	}
	if ex.requestID != "" {
		fs = append(fs, logging.String("request_id", ex.requestID))
	}
	if failed {
		fs = append(fs, logging.String("error", ex.failure))
	}
	logging.Log(p.opts.Logger, level, msg, fs...)
}

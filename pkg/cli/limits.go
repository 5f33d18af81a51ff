package cli

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/limits"
	"github.com/visiquate/cco/pkg/pricing"
)

// limitsReloader reads the spend limits again as `cco run` resolved them at
// start: the same config file, environment and flags. The instance calls
// it every second; the file is read each time and resolved again only when
// its bytes changed, so `cco config set limits.daily_usd 20` (or an edit)
// applies within a second. A file that no longer resolves is an error and
// the instance keeps the limits it has.
func limitsReloader(sys *System, lc *loadedConfig, flags []config.Flag) func() (config.Limits, error) {
	lastData, last, lastErr := lc.data, lc.resolved.Config.Limits, error(nil)
	return func() (config.Limits, error) {
		data, err := config.ReadFile(lc.path)
		if err != nil {
			return last, err
		}
		if bytes.Equal(data, lastData) && (data == nil) == (lastData == nil) {
			return last, lastErr
		}
		lastData = data
		r, err := config.Resolve(config.Input{Paths: lc.paths, ConfigPath: lc.path, ConfigData: data, LookupEnv: sys.LookupEnv, Flags: flags})
		if err != nil {
			lastErr = err
			return last, err
		}
		last, lastErr = r.Config.Limits, nil
		return last, nil
	}
}

// printLimits prints the state of each spend limit set on the instance
// that made report s, one line each, times in its zone.
func printLimits(w io.Writer, s *control.Stats) {
	now, err := time.Parse(time.RFC3339, s.To)
	if err != nil {
		return
	}
	for _, name := range control.LimitNames {
		l, ok := s.Limits[name]
		if !ok {
			continue
		}
		line := fmt.Sprintf("%-14s%s of %s (%.1f%%)", name+" limit", pricing.FormatUSD(l.SpentNanoUSD), pricing.FormatUSD(int64(l.USD*1e9+0.5)), l.Percent)
		switch l.State {
		case control.LimitBlocked:
			line += ", reached: new requests are refused"
		case control.LimitWarn:
			line += ", 80% or more spent"
		}
		if l.ResetsAt != nil {
			line += fmt.Sprintf("; resets %s (in %s)", limits.ResetsAt(*l.ResetsAt, now, now.Location()), limits.Until(l.ResetsAt.Sub(now)))
		} else {
			line += "; no block running"
		}
		fmt.Fprintln(w, line)
	}
}

// limitMarks are the status line's marks for the limits at 80% and 100%:
// "⛔ daily limit", "⚠ block 84%".
func limitMarks(ls control.Limits) []string {
	var out []string
	for _, state := range []string{control.LimitBlocked, control.LimitWarn} {
		for _, name := range control.LimitNames {
			l, ok := ls[name]
			switch {
			case !ok || l.State != state:
			case state == control.LimitBlocked:
				out = append(out, "⛔ "+name+" limit")
			default:
				out = append(out, fmt.Sprintf("⚠ %s %d%%", name, int(l.Percent)))
			}
		}
	}
	return out
}

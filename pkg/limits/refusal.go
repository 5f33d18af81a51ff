package limits

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/visiquate/cco/pkg/apierror"
	"github.com/visiquate/cco/pkg/pricing"
)

// refusal is the 429 for limit k, reached with spent of limit, which
// resets at end; now and loc word the time.
func refusal(k Kind, spent, limit int64, end, now time.Time, loc *time.Location) *apierror.Error {
	what := [...]string{"daily spend limit", "monthly spend limit", "5-hour block spend limit"}[k]
	left := end.Sub(now)
	return &apierror.Error{
		Status: http.StatusTooManyRequests, Type: "rate_limit_error", NoRetry: true,
		RetryAfter: int(math.Ceil(left.Seconds())),
		Message: fmt.Sprintf("cco: %s reached (%s of %s); resets %s (in %s). Raise %s to continue.",
			what, pricing.FormatUSD(spent), pricing.FormatUSD(limit), ResetsAt(end, now, loc), Until(left), k.Key()),
	}
}

// ResetsAt words a reset time in loc: "at 00:00" up to the coming
// midnight, "at 00:00 on Aug 1" after it.
func ResetsAt(end, now time.Time, loc *time.Location) string {
	at := "at " + end.In(loc).Format("15:04")
	n := now.In(loc)
	if end.After(time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, loc)) {
		at += " on " + end.In(loc).Format("Jan 2")
	}
	return at
}

// Until words a time left in whole minutes, rounded up: "45m", "3h12m",
// "24h30m" (a day's limit on the day clocks go back), and in hours from
// two days on: "12d3h".
func Until(d time.Duration) string {
	m := int64(math.Ceil(d.Minutes()))
	switch {
	case m < 1:
		return "1m"
	case m < 60:
		return fmt.Sprintf("%dm", m)
	case m < 48*60:
		if m%60 == 0 {
			return fmt.Sprintf("%dh", m/60)
		}
		return fmt.Sprintf("%dh%dm", m/60, m%60)
	}
	h := (m + 59) / 60 // whole hours, rounded up
	if h%24 == 0 {
		return fmt.Sprintf("%dd", h/24)
	}
	return fmt.Sprintf("%dd%dh", h/24, h%24)
}

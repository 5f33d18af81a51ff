package control

import (
	"context"
	"net/url"
)

// ReportsPath is the prefix of the period and session reports:
// /api/stats/daily, /weekly, /monthly and /session.
const ReportsPath = "/api/stats/"

// Reports are the names of the reports under ReportsPath (blocks has its
// own shape, see Blocks).
var Reports = []string{"daily", "weekly", "monthly", "session"}

// ReportQuery narrows a report: Since and Until are dates (YYYY-MM-DD or
// YYYYMMDD, both optional, Until included) in TimeZone (an IANA name; ""
// means the instance's zone); StartOfWeek names the day weekly rows start
// on ("" means sunday).
type ReportQuery struct {
	Since, Until string
	TimeZone     string
	StartOfWeek  string
}

func (q ReportQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"since": q.Since, "until": q.Until, "tz": q.TimeZone, "start_of_week": q.StartOfWeek} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// QueryFrom reads a ReportQuery from a URL's query.
func QueryFrom(v url.Values) ReportQuery {
	return ReportQuery{Since: v.Get("since"), Until: v.Get("until"), TimeZone: v.Get("tz"), StartOfWeek: v.Get("start_of_week")}
}

// Report is the body of GET /api/stats/{daily,weekly,monthly,session}.
type Report struct {
	Report   string      `json:"report"`          // daily, weekly, monthly or session
	Since    string      `json:"since,omitempty"` // RFC 3339 start of the range; absent for "from the beginning"
	Until    string      `json:"until"`           // RFC 3339 end of the range (exclusive)
	TimeZone string      `json:"time_zone"`       // the IANA zone of the days, weeks and months
	Rows     []ReportRow `json:"rows"`            // oldest first (sessions by their last request)
	Totals   Totals      `json:"totals"`
	Tokens   int64       `json:"tokens"` // every token of the range: input, output, cache writes and reads
}

// ReportRow is one day, week, month or session.
type ReportRow struct {
	// Key is the day (2026-12-05), the week's first day, the month
	// (2026-12) or the session id.
	Key   string `json:"key"`
	First string `json:"first,omitempty"` // a session's first and last request in the range (RFC 3339)
	Last  string `json:"last,omitempty"`
	Totals
	Tokens  int64        `json:"tokens"`
	Models  []string     `json:"models"`   // by cost, highest first
	ByModel []ModelStats `json:"by_model"` // the same order
}

// Report fetches one of Reports.
func (c Client) Report(ctx context.Context, name string, q ReportQuery) (Report, error) {
	var r Report
	err := c.getJSON(ctx, ReportsPath+name+"?"+q.values().Encode(), "", &r)
	return r, err
}

// BlocksIn fetches /api/stats/blocks for a query (its dates and zone).
func (c Client) BlocksIn(ctx context.Context, q ReportQuery) (Blocks, error) {
	var b Blocks
	err := c.getJSON(ctx, BlocksPath+"?"+q.values().Encode(), "", &b)
	return b, err
}

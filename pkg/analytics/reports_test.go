package analytics

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/store"
)

// reportRows are eight requests around the end of daylight saving time in
// New York (2026-11-01 06:00 UTC) and the end of November. Each costs a
// different power of two (in $0.001), so a sum says which rows it holds.
func reportRows() []store.Record {
	at := func(v string) time.Time {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			panic(err)
		}
		return t
	}
	rows := []struct {
		at, model, session string
	}{
		{"2026-10-31T22:00:00Z", "sonnet", "s1"}, // A: New York Oct 31 18:00 EDT; Kolkata Nov 1 03:30
		{"2026-11-01T03:00:00Z", "haiku", "s2"},  // B: NY Oct 31 23:00 EDT
		{"2026-11-01T05:30:00Z", "sonnet", "s1"}, // C: NY Nov 1 01:30 EDT, the first 01:30
		{"2026-11-01T06:30:00Z", "sonnet", "s2"}, // D: NY Nov 1 01:30 EST, the second
		{"2026-11-02T04:30:00Z", "opus", "s1"},   // E: NY Nov 1 23:30 EST, the 25-hour day's last hour
		{"2026-11-02T05:30:00Z", "haiku", ""},    // F: NY Nov 2 00:30
		{"2026-11-30T20:00:00Z", "sonnet", ""},   // G: NY Nov 30 15:00; Kolkata Dec 1 01:30
		{"2026-12-01T02:00:00Z", "opus", ""},     // H: NY Nov 30 21:00; UTC Dec 1
	}
	out := make([]store.Record, len(rows))
	for i, r := range rows {
		out[i] = store.Record{Time: at(r.at), Model: r.model, SessionID: r.session, Status: 200, Path: "/v1/messages",
			Input: int64(10 * (i + 1)), Output: int64(i + 1), CostNano: (1 << i) * 1e6, CostKnown: true, SavedNano: int64(i)}
	}
	return out
}

func reportStore(t *testing.T) *store.Store {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, r := range reportRows() {
		db.Record(r)
	}
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// The reports, worked out by hand (costs in $0.001; the rows are A=1,
// B=2, C=4, D=8, E=16, F=32, G=64, H=128), in three zones, across the
// end of DST and a month's end.
func TestPeriodReports(t *testing.T) {
	db := reportStore(t)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		report string
		q      control.ReportQuery
		want   string // key=cost[models] ..., then the total
	}{
		{"daily", control.ReportQuery{TimeZone: "UTC"},
			"2026-10-31=1[sonnet] 2026-11-01=14[sonnet haiku] 2026-11-02=48[haiku opus] 2026-11-30=64[sonnet] 2026-12-01=128[opus] total=255"},
		// New York: A and B on Oct 31; Nov 1 is 25 hours long (C, D, E).
		{"daily", control.ReportQuery{TimeZone: "America/New_York"},
			"2026-10-31=3[haiku sonnet] 2026-11-01=28[opus sonnet] 2026-11-02=32[haiku] 2026-11-30=192[opus sonnet] total=255"},
		{"daily", control.ReportQuery{TimeZone: "Asia/Kolkata"},
			"2026-11-01=15[sonnet haiku] 2026-11-02=48[haiku opus] 2026-12-01=192[opus sonnet] total=255"},
		{"daily", control.ReportQuery{TimeZone: "America/New_York", Since: "2026-11-01", Until: "20261101"},
			"2026-11-01=28[opus sonnet] total=28"},
		{"monthly", control.ReportQuery{TimeZone: "UTC"}, "2026-10=1[sonnet] 2026-11=126[sonnet haiku opus] 2026-12=128[opus] total=255"},
		{"monthly", control.ReportQuery{TimeZone: "America/New_York"}, "2026-10=3[haiku sonnet] 2026-11=252[opus sonnet haiku] total=255"},
		{"monthly", control.ReportQuery{TimeZone: "Asia/Kolkata"}, "2026-11=63[haiku opus sonnet] 2026-12=192[opus sonnet] total=255"},
		// Nov 1 2026 is a Sunday.
		{"weekly", control.ReportQuery{TimeZone: "UTC"}, "2026-10-25=1[sonnet] 2026-11-01=62[haiku opus sonnet] 2026-11-29=192[opus sonnet] total=255"},
		{"weekly", control.ReportQuery{TimeZone: "America/New_York"}, "2026-10-25=3[haiku sonnet] 2026-11-01=60[haiku opus sonnet] 2026-11-29=192[opus sonnet] total=255"},
		{"weekly", control.ReportQuery{TimeZone: "UTC", StartOfWeek: "monday"}, "2026-10-26=15[sonnet haiku] 2026-11-02=48[haiku opus] 2026-11-30=192[opus sonnet] total=255"},
		// Sessions by their last request: s2 (B, D) ends before s1 (A, C, E).
		{"session", control.ReportQuery{TimeZone: "UTC"}, "s2=10[sonnet haiku] s1=21[opus sonnet] total=31"},
		{"session", control.ReportQuery{TimeZone: "America/New_York", Since: "2026-11-01"}, "s2=8[sonnet] s1=20[opus sonnet] total=28"},
	} {
		name := fmt.Sprintf("%s %+v", tc.report, tc.q)
		sp, err := Resolve(tc.q, now, time.Local)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r, err := PeriodReport(context.Background(), db, tc.report, sp)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		var sum int64
		for _, row := range r.Rows {
			if row.CostNanoUSD%1e6 != 0 {
				t.Errorf("%s: %s costs %d nano-dollars", name, row.Key, row.CostNanoUSD)
			}
			got = append(got, fmt.Sprintf("%s=%d[%s]", row.Key, row.CostNanoUSD/1e6, strings.Join(row.Models, " ")))
			sum += row.Tokens
			var models int64
			for _, m := range row.ByModel {
				models += m.CostNanoUSD
			}
			if models != row.CostNanoUSD {
				t.Errorf("%s: %s's models sum to %d, the row to %d", name, row.Key, models, row.CostNanoUSD)
			}
		}
		got = append(got, fmt.Sprintf("total=%d", r.Totals.CostNanoUSD/1e6))
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s\n got %s\nwant %s", name, g, tc.want)
		}
		if sum != r.Tokens || r.TimeZone != tc.q.TimeZone {
			t.Errorf("%s: rows' tokens %d, report's %d; zone %q", name, sum, r.Tokens, r.TimeZone)
		}
	}
}

// Every token and saving of the rows reaches the daily report exactly.
func TestPeriodReportTotals(t *testing.T) {
	db := reportStore(t)
	sp, err := Resolve(control.ReportQuery{}, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	r, err := PeriodReport(context.Background(), db, "daily", sp)
	if err != nil {
		t.Fatal(err)
	}
	var want store.Totals
	for _, row := range reportRows() {
		want.Add(store.Totals{Requests: 1, Input: row.Input, Output: row.Output, CostNano: row.CostNano, CacheSavedNano: row.SavedNano})
	}
	if r.Totals != totals(want) || r.Tokens != want.Input+want.Output || r.Since != "" || r.Until != "2026-12-06T00:00:00Z" {
		t.Errorf("report %+v\nwant totals %+v", r, totals(want))
	}
}

func TestResolveRefuses(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, q := range []control.ReportQuery{
		{TimeZone: "Mars/Olympus"}, {TimeZone: "Local"}, {StartOfWeek: "someday"}, {Since: "2026-13-01"},
		{Since: "2026-12-02", Until: "2026-12-01"},
	} {
		if _, err := Resolve(q, now, time.UTC); err == nil {
			t.Errorf("Resolve(%+v) accepted", q)
		}
	}
	if _, err := PeriodReport(context.Background(), nil, "yearly", Span{Loc: time.UTC}); err == nil {
		t.Error("an unknown report was accepted")
	}
}

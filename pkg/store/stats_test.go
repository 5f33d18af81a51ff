package store

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// statsFixture spans the end of daylight saving time in New York
// (2026-11-01 06:00 UTC: 02:00 EDT becomes 01:00 EST), with rows on both
// sides of the range's edges. The comment after each row is its New York
// time.
func statsFixture() []Record {
	const (
		opus    = "claude-opus-4-5"
		sonnet  = "claude-sonnet-4-5"
		haiku   = "claude-haiku-4-5"
		mystery = "mystery-model"
	)
	return []Record{
		// 10-30 23:59:59.999 EDT: one ms before the range.
		{Time: utc("2026-10-31T03:59:59.999Z"), Model: opus, Status: 200, Input: 999, Output: 999, CostNano: 999_000_000, CostKnown: true},
		// 10-31 00:00 EDT: the range's first ms.
		{Time: utc("2026-10-31T04:00:00Z"), Model: opus, Status: 200, Input: 1000, Output: 500, CacheWrite5m: 100, CacheRead: 2000,
			CostNano: 30_000_000, CostKnown: true, PromptCacheSavedNano: 9_000_000},
		// 10-31 23:30 EDT.
		{Time: utc("2026-11-01T03:30:00Z"), Model: sonnet, Status: 200, Stream: true, Input: 200, Output: 100, CostNano: 2_000_000, CostKnown: true},
		// 11-01 01:30 EDT: a cache hit.
		{Time: utc("2026-11-01T05:30:00Z"), Model: sonnet, Status: 200, Input: 300, Output: 150, CostKnown: true, CacheHit: true, SavedNano: 2_500_000},
		// 11-01 01:30 EST, the second time round: no price for the model.
		{Time: utc("2026-11-01T06:30:00Z"), Model: mystery, Status: 200, Input: 50, Output: 25},
		// 11-01 23:30 EST (00:30 on 11-02 at the summer offset): overloaded.
		{Time: utc("2026-11-02T04:30:00Z"), Model: opus, Status: 529, ErrorType: "overloaded_error", CostKnown: true},
		// 11-02 07:00 EST.
		{Time: utc("2026-11-02T12:00:00Z"), Model: haiku, Status: 200, Input: 400, Output: 80, CacheWrite1h: 1000, CacheRead: 500,
			CostNano: 1_700_000, CostKnown: true, PromptCacheSavedNano: 400_000},
		// 11-02 08:00 EST: a 400.
		{Time: utc("2026-11-02T13:00:00Z"), Model: haiku, Status: 400, ErrorType: "invalid_request_error", CostKnown: true},
		// 11-02 09:00 EST: a 200 whose stream broke.
		{Time: utc("2026-11-02T14:00:00Z"), Model: sonnet, Status: 200, ErrorType: "stream_error", Input: 10, Output: 5, CostNano: 100_000, CostKnown: true},
		// 11-02 10:00 EST: unpriced, and ties mystery-model at cost 0.
		{Time: utc("2026-11-02T15:00:00Z"), Model: "aaa-unknown", Status: 200, Input: 1, Output: 1},
		// 11-02 23:59:59.999 EST: the range's last ms.
		{Time: utc("2026-11-03T04:59:59.999Z"), Model: mystery, Status: 200, Input: 7, Output: 3},
		// 11-03 00:00 EST: the range's end, excluded.
		{Time: utc("2026-11-03T05:00:00Z"), Model: haiku, Status: 200, Input: 888, Output: 888, CostNano: 888_000_000, CostKnown: true},
	}
}

func fixtureStore(t *testing.T, e testEngine) *Store {
	t.Helper()
	s := openStore(t, e.options(t))
	for _, r := range statsFixture() {
		if !s.Record(r) {
			t.Fatal("Record refused")
		}
	}
	flush(t, s)
	return s
}

// TestStats checks every sum against figures worked out by hand.
func TestStats(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := fixtureStore(t, e)
		ny := mustLoad(t, "America/New_York")
		from := time.Date(2026, 10, 31, 0, 0, 0, 0, ny)
		to := time.Date(2026, 11, 3, 0, 0, 0, 0, ny)
		got, err := s.Stats(context.Background(), from, to, ny)
		if err != nil {
			t.Fatal(err)
		}
		// Each day's models add up to the day (TestRollupsMatchRows checks
		// them one by one); the day totals are compared below.
		for i, d := range got.ByDay {
			var sum Totals
			for _, m := range d.ByModel {
				sum.Add(m.Totals)
			}
			if sum != d.Totals || len(d.ByModel) == 0 {
				t.Errorf("day %s: models sum to %+v, the day is %+v", d.Day, sum, d.Totals)
			}
			got.ByDay[i].ByModel = nil
		}
		want := &Stats{
			From: from, To: to,
			Totals: Totals{
				Requests: 10, Errors: 3, CacheHits: 1, UnknownCost: 3,
				Input: 1968, Output: 864, CacheWrite5m: 100, CacheWrite1h: 1000, CacheRead: 2500,
				CostNano: 33_800_000, CacheSavedNano: 2_500_000, PromptCacheSavedNano: 9_400_000,
			},
			ByModel: []ModelTotals{
				{"claude-opus-4-5", Totals{Requests: 2, Errors: 1, Input: 1000, Output: 500, CacheWrite5m: 100, CacheRead: 2000,
					CostNano: 30_000_000, PromptCacheSavedNano: 9_000_000}},
				{"claude-sonnet-4-5", Totals{Requests: 3, Errors: 1, CacheHits: 1, Input: 510, Output: 255,
					CostNano: 2_100_000, CacheSavedNano: 2_500_000}},
				{"claude-haiku-4-5", Totals{Requests: 2, Errors: 1, Input: 400, Output: 80, CacheWrite1h: 1000, CacheRead: 500,
					CostNano: 1_700_000, PromptCacheSavedNano: 400_000}},
				{"aaa-unknown", Totals{Requests: 1, UnknownCost: 1, Input: 1, Output: 1}},
				{"mystery-model", Totals{Requests: 2, UnknownCost: 2, Input: 57, Output: 28}},
			},
			ByDay: []DayTotals{
				{Day: "2026-10-31", Totals: Totals{Requests: 2, Input: 1200, Output: 600, CacheWrite5m: 100, CacheRead: 2000,
					CostNano: 32_000_000, PromptCacheSavedNano: 9_000_000}},
				{Day: "2026-11-01", Totals: Totals{Requests: 3, Errors: 1, CacheHits: 1, UnknownCost: 1, Input: 350, Output: 175,
					CacheSavedNano: 2_500_000}},
				{Day: "2026-11-02", Totals: Totals{Requests: 5, Errors: 2, UnknownCost: 2, Input: 418, Output: 89, CacheWrite1h: 1000, CacheRead: 500,
					CostNano: 1_800_000, PromptCacheSavedNano: 400_000}},
			},
			BySession: []GroupTotals{},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Stats\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestStatsRanges(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := fixtureStore(t, e)
		ny := mustLoad(t, "America/New_York")
		ctx := context.Background()
		for _, tc := range []struct {
			name     string
			from, to time.Time
			loc      *time.Location
			requests int64
			days     []string
		}{
			{"everything", time.Time{}, time.Time{}, ny, 12, []string{"2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03"}},
			{"everything in UTC", time.Time{}, time.Time{}, nil, 12, []string{"2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03"}},
			{"since the beginning", time.Time{}, utc("2026-11-01T05:30:00Z"), ny, 3, []string{"2026-10-30", "2026-10-31"}},
			{"up to the end", utc("2026-11-02T15:00:00Z"), time.Time{}, ny, 3, []string{"2026-11-02", "2026-11-03"}},
			// to rounds up to the next whole ms: the row at 05:30:00.000 is before 05:30:00.000000001.
			{"sub-ms to", utc("2026-11-01T05:30:00Z"), utc("2026-11-01T05:30:00.000000001Z"), ny, 1, []string{"2026-11-01"}},
			{"sub-ms from", utc("2026-11-01T05:29:59.999000001Z"), utc("2026-11-01T05:30:00.001Z"), ny, 1, []string{"2026-11-01"}},
			{"from after the row", utc("2026-11-01T05:30:00.000000001Z"), utc("2026-11-01T05:30:00.001Z"), ny, 0, nil},
			{"empty range", utc("2026-11-01T05:30:00Z"), utc("2026-11-01T05:30:00Z"), ny, 0, nil},
			{"backwards", utc("2026-11-02T00:00:00Z"), utc("2026-11-01T00:00:00Z"), ny, 0, nil},
			{"no rows", utc("2027-01-01T00:00:00Z"), utc("2027-02-01T00:00:00Z"), ny, 0, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st, err := s.Stats(ctx, tc.from, tc.to, tc.loc)
				if err != nil {
					t.Fatal(err)
				}
				if st.Totals.Requests != tc.requests {
					t.Errorf("requests = %d, want %d", st.Totals.Requests, tc.requests)
				}
				if st.ByDay == nil || st.ByModel == nil {
					t.Error("nil breakdown")
				}
				var days []string
				for _, d := range st.ByDay {
					days = append(days, d.Day)
				}
				if !reflect.DeepEqual(days, tc.days) {
					t.Errorf("days %v, want %v", days, tc.days)
				}
			})
		}
	})
}

// TestStatsDays checks the SQL's day against Go's for random times over two
// years in zones with odd offsets and odd daylight-saving rules.
func TestStatsDays(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := openStore(t, e.options(t))
		rng := rand.New(rand.NewPCG(1, 2))
		start := utc("2025-01-01T00:00:00Z").UnixMilli()
		span := int64(2 * 366 * dayMs)
		var times []time.Time
		for range 3000 {
			tm := time.UnixMilli(start + rng.Int64N(span))
			times = append(times, tm)
			s.Record(Record{Time: tm, Model: "m"})
		}
		// And the edges of New York's and Lord Howe's changes.
		for _, edge := range []string{"2026-03-08T06:59:59.999Z", "2026-03-08T07:00:00Z", "2026-11-01T05:59:59.999Z", "2026-11-01T06:00:00Z",
			"2026-04-04T14:59:59.999Z", "2026-04-04T15:00:00Z", "2026-10-03T15:29:59.999Z", "2026-10-03T15:30:00Z"} {
			times = append(times, utc(edge))
			s.Record(Record{Time: utc(edge), Model: "m"})
		}
		flush(t, s)
		for _, zone := range []string{"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns", "Pacific/Kiritimati", "Pacific/Pago_Pago"} {
			t.Run(zone, func(t *testing.T) {
				loc := mustLoad(t, zone)
				want := map[string]int64{}
				for _, tm := range times {
					want[tm.In(loc).Format(time.DateOnly)]++
				}
				st, err := s.Stats(context.Background(), time.Time{}, time.Time{}, loc)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]int64{}
				for i, d := range st.ByDay {
					got[d.Day] = d.Requests
					if i > 0 && st.ByDay[i-1].Day >= d.Day {
						t.Errorf("days out of order: %s then %s", st.ByDay[i-1].Day, d.Day)
					}
				}
				if !reflect.DeepEqual(got, want) {
					for d, n := range want {
						if got[d] != n {
							t.Errorf("%s: %d rows, want %d", d, got[d], n)
						}
					}
					for d, n := range got {
						if _, ok := want[d]; !ok {
							t.Errorf("%s: %d rows, want none", d, n)
						}
					}
				}
			})
		}
	})
}

func TestSegments(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	ms := func(s string) int64 { return utc(s).UnixMilli() }
	day := func(s string) int64 { return utc(s+"T00:00:00Z").UnixMilli() / dayMs }
	for _, tc := range []struct {
		name   string
		lo, hi int64
		loc    *time.Location
		want   []segment
	}{
		{"utc", ms("2026-11-01T03:00:00Z"), ms("2026-11-05T00:00:00Z"), time.UTC,
			[]segment{{ms("2026-11-01T03:00:00Z"), ms("2026-11-05T00:00:00Z"), day("2026-11-01"), ms("2026-11-01T00:00:00Z")}}},
		{"across the fall change", ms("2026-10-31T12:00:00Z"), ms("2026-11-02T00:00:00Z"), ny, []segment{
			{ms("2026-10-31T12:00:00Z"), ms("2026-11-01T06:00:00Z"), day("2026-10-31"), ms("2026-10-31T04:00:00Z")},
			{ms("2026-11-01T06:00:00Z"), ms("2026-11-02T00:00:00Z"), day("2026-11-01"), ms("2026-11-01T05:00:00Z")},
		}},
		{"before 1970", ms("1969-12-31T23:00:00Z"), ms("1970-01-01T01:00:00Z"), time.FixedZone("x", 2*3600),
			[]segment{{ms("1969-12-31T23:00:00Z"), ms("1970-01-01T01:00:00Z"), day("1970-01-01"), ms("1969-12-31T22:00:00Z")}}},
		{"before 1970 west", ms("1969-12-31T23:00:00Z"), ms("1970-01-01T01:00:00Z"), time.FixedZone("y", -2*3600),
			[]segment{{ms("1969-12-31T23:00:00Z"), ms("1970-01-01T01:00:00Z"), day("1969-12-31"), ms("1969-12-31T02:00:00Z")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := segments(tc.lo, tc.hi, tc.loc); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("segments\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

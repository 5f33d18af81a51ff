package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestStatsByHour: a day of 25 hours (New York leaves daylight saving
// time) is split by local hour, and the repeated hour 01:00 is two hours.
func TestStatsByHour(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := fixtureStore(t, e)
		ny := mustLoad(t, "America/New_York")
		from := time.Date(2026, 11, 1, 0, 0, 0, 0, ny)
		got, err := s.Stats(context.Background(), from, from.AddDate(0, 0, 1), ny)
		if err != nil {
			t.Fatal(err)
		}
		want := []HourTotals{
			{utc("2026-11-01T05:00:00Z").In(ny), Totals{Requests: 1, CacheHits: 1, Input: 300, Output: 150, CacheSavedNano: 2_500_000}},
			{utc("2026-11-01T06:00:00Z").In(ny), Totals{Requests: 1, UnknownCost: 1, Input: 50, Output: 25}},
			{utc("2026-11-02T04:00:00Z").In(ny), Totals{Requests: 1, Errors: 1}},
		}
		if !reflect.DeepEqual(got.ByHour, want) {
			t.Errorf("ByHour\n got %+v\nwant %+v", got.ByHour, want)
		}
		if h := got.ByHour[0].Hour.Format(time.RFC3339); h != "2026-11-01T01:00:00-04:00" {
			t.Errorf("first hour = %s", h)
		}
		if h := got.ByHour[1].Hour.Format(time.RFC3339); h != "2026-11-01T01:00:00-05:00" {
			t.Errorf("repeated hour = %s", h)
		}
		// Longer ranges and open ranges are not split by hour.
		for _, r := range [][2]time.Time{{from, from.AddDate(0, 0, 3)}, {{}, from.AddDate(0, 0, 1)}} {
			if got, err := s.Stats(context.Background(), r[0], r[1], ny); err != nil || got.ByHour != nil {
				t.Errorf("Stats(%v, %v).ByHour = %v, %v; want nil", r[0], r[1], got.ByHour, err)
			}
		}
	})
}

// TestStatsHalfHourZone: in a zone half an hour off UTC, hours start at
// local whole hours.
func TestStatsHalfHourZone(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := openStore(t, e.options(t))
		kolkata := mustLoad(t, "Asia/Kolkata")
		day := time.Date(2026, 12, 4, 0, 0, 0, 0, kolkata)
		for _, m := range []int{10, 50, 70} { // 00:10, 00:50, 01:10 local
			s.Record(Record{Time: day.Add(time.Duration(m) * time.Minute), Model: "m", Status: 200, CostKnown: true})
		}
		flush(t, s)
		got, err := s.Stats(context.Background(), day, day.AddDate(0, 0, 1), kolkata)
		if err != nil {
			t.Fatal(err)
		}
		var hours []string
		for _, h := range got.ByHour {
			hours = append(hours, fmt.Sprintf("%s=%d", h.Hour.Format("15:04"), h.Requests))
		}
		if want := []string{"00:00=2", "01:00=1"}; !reflect.DeepEqual(hours, want) {
			t.Errorf("hours = %v, want %v", hours, want)
		}
	})
}

func TestStatsBySession(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := openStore(t, e.options(t))
		base := utc("2026-12-04T10:00:00Z")
		// 25 sessions costing 1..25 (session s25 the most), each two requests,
		// and requests without a session, which are left out.
		for i := 1; i <= 25; i++ {
			id := fmt.Sprintf("s%02d", i)
			s.Record(Record{Time: base.Add(time.Duration(i) * time.Minute), Model: "m", Status: 200, SessionID: id, CostNano: int64(i), CostKnown: true, Input: 1})
			s.Record(Record{Time: base.Add(time.Duration(i)*time.Minute + time.Second), Model: "m", Status: 500, SessionID: id, CostKnown: true})
		}
		s.Record(Record{Time: base, Model: "m", Status: 200, CostNano: 1000, CostKnown: true})
		flush(t, s)
		got, err := s.Stats(context.Background(), base, base.Add(time.Hour), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.BySession) != MaxSessions {
			t.Fatalf("%d sessions, want %d", len(got.BySession), MaxSessions)
		}
		first := got.BySession[0]
		tot := Totals{Requests: 2, Errors: 1, Input: 1, CostNano: 25}
		want := GroupTotals{Key: "s25", First: base.Add(25 * time.Minute), Last: base.Add(25*time.Minute + time.Second),
			Totals: tot}
		if !first.First.Equal(want.First) || !first.Last.Equal(want.Last) {
			t.Errorf("first/last = %v/%v, want %v/%v", first.First, first.Last, want.First, want.Last)
		}
		first.First, first.Last, want.First, want.Last = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(first, want) {
			t.Errorf("costliest session\n got %+v\nwant %+v", first, want)
		}
		if last := got.BySession[MaxSessions-1].Key; last != "s06" {
			t.Errorf("last listed session = %s, want s06", last)
		}
	})
}

func TestRecent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := openStore(t, e.options(t))
		base := utc("2026-12-04T10:00:00Z")
		for i := range 7 {
			s.Record(Record{Time: base.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprintf("req_%d", i), Model: "m", Status: 200,
				Stream: i%2 == 0, CacheHit: i == 3, CostKnown: i != 4, Latency: 1500 * time.Millisecond, TTFB: 250 * time.Microsecond,
				SessionID: "sess", ErrorType: map[bool]string{true: "overloaded_error"}[i == 5], Input: int64(i)})
		}
		flush(t, s)
		var seen []string
		before := int64(0)
		for page := 0; ; page++ {
			rows, err := s.Recent(context.Background(), 3, before)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				break
			}
			if page > 3 {
				t.Fatal("paging does not end")
			}
			for _, r := range rows {
				seen = append(seen, r.RequestID)
				i := int(r.Input)
				if r.Stream != (i%2 == 0) || r.CacheHit != (i == 3) || r.CostKnown != (i != 4) || (r.ErrorType != "") != (i == 5) ||
					r.Latency != 1500*time.Millisecond || r.TTFB != 250*time.Microsecond || r.SessionID != "sess" ||
					!r.Time.Equal(base.Add(time.Duration(i)*time.Second)) {
					t.Errorf("row %d read back as %+v", i, r)
				}
			}
			before = rows[len(rows)-1].ID
		}
		if want := []string{"req_6", "req_5", "req_4", "req_3", "req_2", "req_1", "req_0"}; !reflect.DeepEqual(seen, want) {
			t.Errorf("pages = %v, want %v", seen, want)
		}
	})
}

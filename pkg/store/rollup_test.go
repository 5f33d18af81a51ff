package store

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// randomRows are n rows spread over days from start, at whole milliseconds,
// with a little of everything the rollups group by.
func randomRows(seed uint64, n int, start time.Time, days int) []Record {
	rng := rand.New(rand.NewPCG(seed, 1))
	models := []string{"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "unknown"}
	rows := make([]Record, n)
	span := int64(days) * dayMs
	for i := range rows {
		r := Record{
			Time:  time.UnixMilli(start.UnixMilli() + rng.Int64N(span)),
			Model: models[rng.IntN(len(models))], Path: "/v1/messages", Status: 200, CostKnown: true,
			Input: rng.Int64N(5000), Output: rng.Int64N(2000), CacheWrite5m: rng.Int64N(100), CacheWrite1h: rng.Int64N(100),
			CacheRead: rng.Int64N(9000), CostNano: rng.Int64N(50_000_000), PromptCacheSavedNano: rng.Int64N(1_000_000),
		}
		switch rng.IntN(10) {
		case 0:
			r.Status, r.ErrorType = 529, "overloaded_error"
		case 1:
			r.CacheHit, r.SavedNano, r.CostNano = true, r.CostNano, 0
		case 2:
			r.CostKnown = false
		}
		if rng.IntN(5) > 0 {
			r.SessionID = fmt.Sprintf("session-%02d", rng.IntN(30))
		}
		switch rng.IntN(4) {
		case 0:
			r.User = fmt.Sprintf("user%d", rng.IntN(5))
		case 1, 2:
			r.Credential = fmt.Sprintf("%016x", rng.IntN(3))
		}
		r.Replica = fmt.Sprintf("host%d:3000", rng.IntN(3))
		rows[i] = r
	}
	return rows
}

// naiveStats is Stats and Groups worked out row by row in Go.
func naiveStats(rows []Record, from, to time.Time, loc *time.Location) (*Stats, map[string][]GroupTotals) {
	lo, hi := bounds(from, to)
	st := &Stats{From: from, To: to, ByModel: []ModelTotals{}, ByDay: []DayTotals{}, BySession: []GroupTotals{}}
	byModel := map[string]*ModelTotals{}
	byDay := map[string]*DayTotals{}
	byHour := map[int64]*HourTotals{}
	groups := map[string]map[string]*GroupTotals{}
	for _, name := range GroupNames {
		groups[name] = map[string]*GroupTotals{}
	}
	for i := range rows {
		r := &rows[i]
		t := r.Time.UnixMilli()
		if t < lo || t >= hi {
			continue
		}
		var one rollupSums
		one.addRow(r, t)
		st.Totals.Add(one.Totals)
		m := byModel[r.Model]
		if m == nil {
			m = &ModelTotals{Model: r.Model}
			byModel[r.Model] = m
		}
		m.Add(one.Totals)
		local := r.Time.In(loc)
		day := local.Format(time.DateOnly)
		if byDay[day] == nil {
			byDay[day] = &DayTotals{Day: day}
		}
		byDay[day].Add(one.Totals)
		dm := slices.IndexFunc(byDay[day].ByModel, func(m ModelTotals) bool { return m.Model == r.Model })
		if dm < 0 {
			byDay[day].ByModel = append(byDay[day].ByModel, ModelTotals{Model: r.Model})
			dm = len(byDay[day].ByModel) - 1
		}
		byDay[day].ByModel[dm].Add(one.Totals)
		h := t - int64(local.Minute())*60_000 - int64(local.Second())*1000 - int64(local.Nanosecond()/1e6)
		if byHour[h] == nil {
			byHour[h] = &HourTotals{Hour: time.UnixMilli(h).In(loc)}
		}
		byHour[h].Add(one.Totals)
		for name, key := range map[string]string{"model": r.Model, "session": r.SessionID, "user": Who(r.User, r.Credential), "replica": r.Replica} {
			if name == "session" && key == "" {
				continue
			}
			g := groups[name][key]
			if g == nil {
				g = &GroupTotals{Key: key, First: r.Time, Last: r.Time}
				groups[name][key] = g
			}
			g.Add(one.Totals)
			g.First, g.Last = minTime(g.First, r.Time), maxTime(g.Last, r.Time)
			i := slices.IndexFunc(g.ByModel, func(m ModelTotals) bool { return m.Model == r.Model })
			if i < 0 {
				g.ByModel = append(g.ByModel, ModelTotals{Model: r.Model})
				i = len(g.ByModel) - 1
			}
			g.ByModel[i].Add(one.Totals)
		}
	}
	for _, m := range byModel {
		st.ByModel = append(st.ByModel, *m)
	}
	sortModels(st.ByModel)
	for _, d := range byDay {
		sortModels(d.ByModel)
		st.ByDay = append(st.ByDay, *d)
	}
	slices.SortFunc(st.ByDay, func(a, b DayTotals) int { return strings.Compare(a.Day, b.Day) })
	if !from.IsZero() && !to.IsZero() && hi-lo <= hourlyUpTo && len(byModel) > 0 {
		st.ByHour = []HourTotals{}
		for _, h := range byHour {
			st.ByHour = append(st.ByHour, *h)
		}
		slices.SortFunc(st.ByHour, func(a, b HourTotals) int { return a.Hour.Compare(b.Hour) })
	}
	out := map[string][]GroupTotals{}
	for name, gs := range groups {
		out[name] = []GroupTotals{}
		for _, g := range gs {
			sortModels(g.ByModel)
			out[name] = append(out[name], *g)
		}
		slices.SortFunc(out[name], func(a, b GroupTotals) int {
			return cmp.Or(cmp.Compare(b.CostNano, a.CostNano), strings.Compare(a.Key, b.Key))
		})
	}
	for _, g := range out["session"][:min(len(out["session"]), MaxSessions)] {
		g.ByModel = nil
		st.BySession = append(st.BySession, g)
	}
	return st, out
}

// sameStats compares Stats and Groups with what the rows say, times by
// instant.
func sameStats(t *testing.T, s *Store, rows []Record, from, to time.Time, loc *time.Location) {
	t.Helper()
	ctx := context.Background()
	want, wantGroups := naiveStats(rows, from, to, loc)
	got, err := s.Stats(ctx, from, to, loc)
	if err != nil {
		t.Fatal(err)
	}
	what := fmt.Sprintf("[%s, %s) in %s", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), loc)
	if !reflect.DeepEqual(normal(got), normal(want)) {
		t.Errorf("Stats %s\n got %+v\nwant %+v", what, got, want)
	}
	if days, err := s.Days(ctx, from, to, loc); err != nil || !reflect.DeepEqual(days, want.ByDay) {
		t.Errorf("Days %s = %+v, %v\nwant %+v", what, days, err, want.ByDay)
	}
	if tot, err := s.Totals(ctx, from, to); err != nil || tot != want.Totals {
		t.Errorf("Totals %s = %+v, %v; want %+v", what, tot, err, want.Totals)
	}
	for _, by := range GroupNames {
		gs, err := s.Groups(ctx, by, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalGroups(gs), normalGroups(wantGroups[by])) {
			t.Errorf("Groups(%s) %s\n got %+v\nwant %+v", by, what, gs, wantGroups[by])
		}
	}
}

// normal makes times comparable by DeepEqual: unix ms in UTC.
func normal(st *Stats) *Stats {
	c := *st
	c.From, c.To = time.Time{}, time.Time{}
	if st.ByHour != nil {
		c.ByHour = make([]HourTotals, len(st.ByHour))
		for i, h := range st.ByHour {
			c.ByHour[i] = HourTotals{Hour: time.UnixMilli(h.Hour.UnixMilli()).UTC(), Totals: h.Totals}
		}
	}
	c.BySession = normalGroups(st.BySession)
	return &c
}

func normalGroups(gs []GroupTotals) []GroupTotals {
	out := make([]GroupTotals, len(gs))
	for i, g := range gs {
		g.First, g.Last = time.UnixMilli(g.First.UnixMilli()).UTC(), time.UnixMilli(g.Last.UnixMilli()).UTC()
		out[i] = g
	}
	return out
}

var statsZones = []string{"UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe"}

// TestRollupsMatchRows: whatever the range (whole buckets, part-buckets at
// either end, inside one bucket, open ends) and time zone (offsets of half
// and quarter hours, daylight saving in March and November), the stats
// read from the rollups are those of the rows, to the nano-dollar.
func TestRollupsMatchRows(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		s := openStore(t, e.options(t))
		// Over the end of daylight saving in New York (2026-11-01).
		start := utc("2026-10-30T00:00:00Z")
		rows := randomRows(7, 3000, start, 5)
		for _, r := range rows {
			s.Record(r)
		}
		flush(t, s)
		// One session, whenever it ran; one that never did.
		_, all := naiveStats(rows, time.Time{}, time.Time{}, time.UTC)
		for _, g := range all["session"][:3] {
			got, err := s.Session(context.Background(), g.Key)
			g.ByModel = nil
			if err != nil || !reflect.DeepEqual(normalGroups([]GroupTotals{got}), normalGroups([]GroupTotals{g})) {
				t.Errorf("Session(%s) = %+v, %v; want %+v", g.Key, got, err, g)
			}
		}
		if got, err := s.Session(context.Background(), "no-such-session"); err != nil || got.Requests != 0 || !got.First.IsZero() {
			t.Errorf("an unknown session: %+v, %v", got, err)
		}
		rng := rand.New(rand.NewPCG(11, 2))
		for _, zone := range statsZones {
			loc := mustLoad(t, zone)
			sameStats(t, s, rows, time.Time{}, time.Time{}, loc)
			day := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
			sameStats(t, s, rows, day, day.AddDate(0, 0, 1), loc) // two days or less: by hour too
			sameStats(t, s, rows, day, time.Time{}, loc)
			for range 3 {
				a := start.Add(time.Duration(rng.Int64N(5*dayMs)) * time.Millisecond).Add(time.Duration(rng.IntN(1e6)))
				b := a.Add(time.Duration(rng.Int64N(3*dayMs)) * time.Millisecond)
				sameStats(t, s, rows, a, b, loc)
			}
			// Inside one bucket, and ends on a row's very millisecond.
			r := rows[0].Time
			sameStats(t, s, rows, r, r.Add(time.Minute), loc)
			sameStats(t, s, rows, r.Add(-time.Minute), r, loc)
		}
	})
}

// TestRollupsWithRetention: retention deletes rows and keeps what they
// summed, so a month's stats still count a pruned week.
func TestRollupsWithRetention(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		now := utc("2026-12-01T12:00:00Z")
		o := e.options(t)
		o.Now = func() time.Time { return now }
		s := openStore(t, o)
		rows := randomRows(3, 500, utc("2026-11-01T00:00:00Z"), 30)
		for _, r := range rows {
			s.Record(r)
		}
		flush(t, s)
		s.Close()
		o.Retention = 7 * 24 * time.Hour
		s = openStore(t, o) // prunes at Open
		cutoff := now.Add(-o.Retention)
		kept := int64(0)
		for _, r := range rows {
			if !r.Time.Before(cutoff) {
				kept++
			}
		}
		if n := rowCount(t, s); n != kept || kept == int64(len(rows)) {
			t.Fatalf("%d rows after pruning, want %d of %d", n, kept, len(rows))
		}
		from, to := utc("2026-11-01T00:00:00Z"), utc("2026-12-02T00:00:00Z")
		sameStats(t, s, rows, from, to, time.UTC)
	})
}

// TestRollupsFromOlderSchema: the migration that brings the rollups sums
// the rows already there.
func TestRollupsFromOlderSchema(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		o := e.options(t)
		eng := sqliteEngine
		if o.URL != "" {
			eng = postgresEngine
		} else if err := createFile(o.Path); err != nil {
			t.Fatal(err)
		}
		ms, err := loadMigrations(eng.migrations)
		if err != nil {
			t.Fatal(err)
		}
		db := rawDBFor(t, o)
		if err := migrate(ctx, eng, db, ms[:2]); err != nil {
			t.Fatal(err)
		}
		rows := randomRows(5, 400, utc("2026-11-20T00:00:00Z"), 3)
		for i := range rows {
			r := &rows[i]
			r.User, r.Credential, r.Replica = "", "", "" // version 2 had none of them
			_, err := db.Exec(eng.rebind(`INSERT INTO requests (time_ms, model, status, input_tokens, output_tokens,
	cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_nano, cost_known, cache_hit, saved_nano,
	prompt_cache_saved_nano, error_type, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				r.Time.UnixMilli(), r.Model, r.Status, r.Input, r.Output, r.CacheWrite5m, r.CacheWrite1h, r.CacheRead,
				r.CostNano, boolInt(r.CostKnown), boolInt(r.CacheHit), r.SavedNano, r.PromptCacheSavedNano, r.ErrorType, r.SessionID)
			if err != nil {
				t.Fatal(err)
			}
		}
		s := openStore(t, o)
		sameStats(t, s, rows, time.Time{}, time.Time{}, mustLoad(t, "Asia/Kolkata"))
		sameStats(t, s, rows, utc("2026-11-20T10:07:00Z"), utc("2026-11-22T13:51:00Z"), time.UTC)
	})
}

// TestRollupsReplicasAtOnce: replicas adding to the same rollup rows at
// once lose nothing (PostgreSQL's upserts wait on one another).
func TestRollupsReplicasAtOnce(t *testing.T) {
	o := postgresOptions(t)
	const replicas, each = 3, 2000
	var all []Record
	var wg sync.WaitGroup
	stores := make([]*Store, replicas)
	for i := range stores {
		o := o
		o.BatchSize = 50
		stores[i] = openStore(t, o)
		rows := randomRows(uint64(i+1), each, utc("2026-12-01T09:00:00Z"), 1)
		all = append(all, rows...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range rows {
				for !stores[i].Record(r) {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	for _, s := range stores {
		flush(t, s)
	}
	sameStats(t, stores[0], all, time.Time{}, time.Time{}, time.UTC)
}

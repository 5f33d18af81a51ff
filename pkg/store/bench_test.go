package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/realdb"
)

func benchStore(b *testing.B, o Options) *Store {
	b.Helper()
	o.Path = filepath.Join(b.TempDir(), "analytics.db")
	o.OnError = func(err error) { b.Errorf("background write: %v", err) }
	s, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	})
	return s
}

func benchRow(i int) Record {
	r := row(i)
	r.UserAgent = "claude-cli/2.0.0 (external, cli)"
	r.SessionID = "0b6c5f0e-8a47-4d7e-9d0c-2f3b1c4d5e6f"
	r.Latency, r.TTFB = 2300*time.Millisecond, 450*time.Millisecond
	return r
}

// benchID is an id made of prefix and 16 hex digits that look random
// (splitmix64 of i).
func benchID(prefix string, i int) string {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return fmt.Sprintf("%s%016x", prefix, z^(z>>31))
}

// BenchmarkInsert is the writer's throughput: rows committed in
// transactions of the batch size, one op per row.
func BenchmarkInsert(b *testing.B) {
	for _, size := range []int{DefaultBatchSize, 1} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := benchStore(b, Options{})
			batch := make([]Record, size)
			for i := range batch {
				batch[i] = benchRow(i)
			}
			ctx := context.Background()
			b.ResetTimer()
			for done := 0; done < b.N; done += size {
				n := min(size, b.N-done)
				for i := range n { // time moves on, as it does for real rows
					batch[i].Time = t0.Add(time.Duration(done+i) * time.Millisecond)
					// and ids are unique and random, as real ones are (an
					// index on them would take keys anywhere; see import.go).
					batch[i].RequestID = benchID("req_011C", done+i)
					batch[i].MessageID = benchID("msg_01", done+i)
				}
				if err := s.writeBatch(ctx, batch[:n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkRecord is the cost on the request path, with the writer
// committing behind it.
//
// "enqueue": every op is a real enqueue. The writer takes rows and commits
// them as it would in production, but Record outpaces it some forty times, so
// every QueueSize/2 ops the benchmark (timer stopped) throws away what the
// writer has not taken, and the queue never fills.
//
// "idle": one row at a time into an empty queue, as a quiet proxy sends
// them: each op's row is the queue's first, so Record wakes the writer to
// arm its flush timer; the benchmark (timer stopped) then empties the
// queue again.
//
// "full": records from every P at once with nothing held back: the queue is
// full nearly all the time and most ops are the drop path; %dropped says how
// many.
func BenchmarkRecord(b *testing.B) {
	b.Run("enqueue", func(b *testing.B) {
		s := benchStore(b, Options{})
		r := benchRow(1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if !s.Record(r) {
				b.Fatal("Record refused")
			}
			if i%(DefaultQueueSize/2) == 0 {
				b.StopTimer()
				s.discardQueued()
				b.StartTimer()
			}
		}
	})
	b.Run("idle", func(b *testing.B) {
		s := benchStore(b, Options{})
		r := benchRow(1)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			s.Record(r)
			b.StopTimer()
			s.discardQueued()
			b.StartTimer()
		}
	})
	b.Run("full", func(b *testing.B) {
		s := benchStore(b, Options{})
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := benchRow(1)
			for pb.Next() {
				s.Record(r)
			}
		})
		b.StopTimer()
		b.ReportMetric(100*float64(s.Dropped())/float64(b.N), "%dropped")
	})
}

// BenchmarkStats sums 30 of 90 days holding 100,000 rows in New York time.
func BenchmarkStats(b *testing.B) {
	s := benchStore(b, Options{})
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	const n = 100_000
	step := 90 * 24 * time.Hour / n
	models := []string{"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "unknown"}
	batch := make([]Record, 0, DefaultBatchSize)
	for i := range n {
		r := benchRow(i)
		r.Time, r.Model = start.Add(time.Duration(i)*step), models[i%len(models)]
		if batch = append(batch, r); len(batch) == cap(batch) {
			if err := s.writeBatch(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Skip(err)
	}
	from := time.Date(2026, 10, 15, 0, 0, 0, 0, ny)
	to := from.AddDate(0, 0, 30)
	b.ResetTimer()
	for range b.N {
		st, err := s.Stats(context.Background(), from, to, ny)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.ByDay) != 30 {
			b.Fatalf("%d days, want 30", len(st.ByDay))
		}
	}
}

// discardQueued throws away the rows the writer has not taken.
func (s *Store) discardQueued() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.pending)
	s.pending = s.pending[:0]
}

// teamRows are a team's month: n requests over 30 days from start, by 40
// people (each with a key of their own, half also naming themselves in
// x-cco-user) in four sessions of about two hours a day each, between 08:00
// and 20:00 UTC, on three models, through three replicas.
func teamRows(n int, start time.Time) []Record {
	const days, people, sessionsADay = 30, 40, 4
	rng := rand.New(rand.NewPCG(1, 2))
	models := []string{"claude-sonnet-4-5", "claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"}
	perSession := n / (days * people * sessionsADay)
	rows := make([]Record, 0, n)
	for d := range days {
		for p := range people {
			for s := range sessionsADay {
				begin := start.AddDate(0, 0, d).Add(8*time.Hour + time.Duration(rng.Int64N(int64(10*time.Hour))))
				session := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", d, p, s, rng.IntN(4096), rng.Int64N(1<<48))
				for i := range perSession {
					r := benchRow(len(rows))
					r.Time = begin.Add(time.Duration(i) * 2 * time.Hour / time.Duration(perSession)).Truncate(time.Millisecond)
					r.Model, r.SessionID = models[rng.IntN(len(models))], session
					r.CostNano = rng.Int64N(40_000_000)
					r.Credential = fmt.Sprintf("%016x", p*7919)
					if p%2 == 0 {
						r.User = fmt.Sprintf("dev%02d", p)
					}
					r.Replica = fmt.Sprintf("cco-%d:3000", rng.IntN(3))
					rows = append(rows, r)
				}
			}
		}
	}
	for len(rows) < n { // the remainder, in the last session
		r := rows[len(rows)-1]
		r.Time = r.Time.Add(time.Millisecond)
		rows = append(rows, r)
	}
	return rows
}

// teamStores holds the loaded million-row stores across the benchmark's
// rounds (loading one takes seconds to a minute).
var teamStores = map[string]*Store{}

func teamStore(b *testing.B, engine string) *Store {
	if s := teamStores[engine]; s != nil {
		return s
	}
	o := Options{}
	switch engine {
	case "sqlite":
		dir, err := os.MkdirTemp("", "cco-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchCleanup = append(benchCleanup, func() { os.RemoveAll(dir) })
		o.Path = filepath.Join(dir, "analytics.db")
	case "postgres":
		realdb.RequirePostgres(b)
		sharedPG.once.Do(func() { sharedPG.p, sharedPG.err = realdb.NewPostgres() })
		if sharedPG.err != nil {
			b.Fatal(sharedPG.err)
		}
		// Not NewDatabase: the store outlives the sub-benchmark that loads it.
		if err := sharedPG.p.Exec("postgres", "CREATE DATABASE cco_bench"); err != nil {
			b.Fatal(err)
		}
		o.URL = sharedPG.p.URL("cco_bench")
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	benchCleanup = append(benchCleanup, func() { s.Close() })
	rows := teamRows(1_000_000, teamStart)
	for len(rows) > 0 {
		n := min(len(rows), DefaultBatchSize)
		if err := s.writeBatch(context.Background(), rows[:n]); err != nil {
			b.Fatal(err)
		}
		rows = rows[n:]
	}
	if o.URL != "" { // as autovacuum would after such a load
		if _, err := s.db.Exec("VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	teamStores[engine] = s
	return s
}

var (
	teamStart    = time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	benchCleanup []func()
)

// BenchmarkStatsMillion is /api/stats?range=30d over a team's month of one
// million requests (teamRows), on each engine: "stats" is the whole report
// (totals, models, days in New York time, the costliest sessions),
// "by=..." the groups, and "rows" the report's model and
// day sums read from every row, as Stats did before the rollups (the
// baseline).
func BenchmarkStatsMillion(b *testing.B) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	now := teamStart.AddDate(0, 0, 30).Add(-time.Hour)
	ctx := context.Background()
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			midnight := time.Date(now.In(ny).Year(), now.In(ny).Month(), now.In(ny).Day(), 0, 0, 0, 0, ny)
			from, to := midnight.AddDate(0, 0, -29), now
			b.Run("stats", func(b *testing.B) {
				s := teamStore(b, engine)
				for b.Loop() {
					st, err := s.Stats(ctx, from, to, ny)
					if err != nil {
						b.Fatal(err)
					}
					if st.Totals.Requests < 900_000 || len(st.ByDay) != 30 || len(st.BySession) != MaxSessions {
						b.Fatalf("%d requests over %d days, %d sessions", st.Totals.Requests, len(st.ByDay), len(st.BySession))
					}
				}
			})
			// The daily, weekly and monthly reports read Days; the
			// session report Groups("session"); blocks Blocks.
			b.Run("days", func(b *testing.B) {
				s := teamStore(b, engine)
				for b.Loop() {
					days, err := s.Days(ctx, from, to, ny)
					if err != nil || len(days) != 30 || len(days[0].ByModel) == 0 {
						b.Fatalf("%d days, %v", len(days), err)
					}
				}
			})
			b.Run("blocks", func(b *testing.B) {
				s := teamStore(b, engine)
				for b.Loop() {
					if bs, err := s.Blocks(ctx, from, to); err != nil || len(bs) == 0 {
						b.Fatalf("%d blocks, %v", len(bs), err)
					}
				}
			})
			for _, by := range GroupNames {
				b.Run("by="+by, func(b *testing.B) {
					s := teamStore(b, engine)
					for b.Loop() {
						if _, err := s.Groups(ctx, by, from, to); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("rows", func(b *testing.B) {
				s := teamStore(b, engine)
				lo, hi := bounds(from, to)
				segs := segments(lo, hi, ny)
				q, args := segmentsCTE(segs)
				q = s.eng.rebind(q + `
SELECT r.model, seg.first_day + (r.time_ms - seg.origin) / ` + fmt.Sprint(dayMs) + ` AS d, count(*),
	CAST(sum(r.input_tokens) AS BIGINT), CAST(sum(r.cost_nano) AS BIGINT)
FROM seg JOIN requests r ON r.time_ms >= seg.lo AND r.time_ms < seg.hi
GROUP BY r.model, d`)
				for b.Loop() {
					rows, err := s.db.QueryContext(ctx, q, args...)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for rows.Next() {
						n++
					}
					rows.Close()
					if n == 0 {
						b.Fatal("no rows")
					}
				}
			})
		})
	}
}

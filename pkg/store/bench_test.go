package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
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

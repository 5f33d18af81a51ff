package store

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"
)

// naiveBlocks works out the blocks of rows in [from, to) one row at a time.
func naiveBlocks(rows []Record, from, to time.Time) []Block {
	lo, hi := bounds(from, to)
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b Record) int { return a.Time.Compare(b.Time) })
	out := []Block{}
	for i := range sorted {
		r := &sorted[i]
		t := r.Time.UnixMilli()
		if t < lo || t >= hi {
			continue
		}
		if n := len(out); n == 0 || !r.Time.Before(out[n-1].End) {
			start := r.Time.UTC().Truncate(time.Hour)
			out = append(out, Block{Start: start, End: start.Add(BlockLength), First: r.Time})
		}
		b := &out[len(out)-1]
		var one rollupSums
		one.addRow(r, t)
		b.Add(one.Totals)
		b.Last = r.Time
		addModel(&b.ByModel, r.Model, one.Totals)
	}
	for i := range out {
		sortModels(out[i].ByModel)
	}
	return out
}

func normalBlocks(bs []Block) []Block {
	out := make([]Block, len(bs))
	for i, b := range bs {
		for _, p := range []*time.Time{&b.Start, &b.End, &b.First, &b.Last} {
			*p = time.UnixMilli(p.UnixMilli()).UTC()
		}
		out[i] = b
	}
	return out
}

// TestBlocks: the edges of a block by hand (a request exactly five hours
// after the block's start begins the next; the next begins at the hour of
// its first request, not where the last one ended), then random rows and
// ranges against a row-by-row computation, on both engines.
func TestBlocks(t *testing.T) {
	eachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		s := openStore(t, e.options(t))
		at := func(v string) time.Time { return utc("2026-12-01T" + v + "Z") }
		hand := []Record{
			{Time: at("09:17:00"), Model: "m", CostNano: 1, CostKnown: true},
			{Time: at("13:59:59.999"), Model: "m", CostNano: 2, CostKnown: true},
			{Time: at("14:00:00"), Model: "m", CostNano: 4, CostKnown: true}, // 09:00 + 5 h: the next block, from 14:00
			{Time: at("18:59:00"), Model: "n", CostNano: 8, CostKnown: true},
			{Time: utc("2026-12-02T01:42:00Z"), Model: "m", CostNano: 16, CostKnown: true}, // after a gap: from 01:00
		}
		for _, r := range hand {
			s.Record(r)
		}
		flush(t, s)
		got, err := s.Blocks(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		type span struct {
			start, end, first, last string
			cost                    int64
		}
		var spans []span
		for _, b := range got {
			f := func(t time.Time) string { return t.UTC().Format("02T15:04:05.000") }
			spans = append(spans, span{f(b.Start), f(b.End), f(b.First), f(b.Last), b.CostNano})
		}
		want := []span{
			{"01T09:00:00.000", "01T14:00:00.000", "01T09:17:00.000", "01T13:59:59.999", 3},
			{"01T14:00:00.000", "01T19:00:00.000", "01T14:00:00.000", "01T18:59:00.000", 12},
			{"02T01:00:00.000", "02T06:00:00.000", "02T01:42:00.000", "02T01:42:00.000", 16},
		}
		if !reflect.DeepEqual(spans, want) {
			t.Errorf("blocks\n got %v\nwant %v", spans, want)
		}

		rows := append(randomRows(21, 1500, utc("2026-12-05T00:00:00Z"), 6), hand...)
		// Quiet spells, so that blocks begin at other hours than the first.
		rows = slices.DeleteFunc(rows, func(r Record) bool { return r.Time.UTC().Hour()%7 == 3 })
		for _, r := range rows[:len(rows)-len(hand)] {
			s.Record(r)
		}
		flush(t, s)
		for _, rg := range [][2]time.Time{
			{},
			{utc("2026-12-05T10:07:33.5Z"), utc("2026-12-09T22:00:00Z")},
			{utc("2026-12-06T00:00:00Z"), utc("2026-12-06T00:20:00Z")},
		} {
			got, err := s.Blocks(ctx, rg[0], rg[1])
			if err != nil {
				t.Fatal(err)
			}
			if want := naiveBlocks(rows, rg[0], rg[1]); !reflect.DeepEqual(normalBlocks(got), normalBlocks(want)) {
				t.Errorf("blocks of %v: %d, want %d\n got %+v\nwant %+v", rg, len(got), len(want), got, want)
			}
		}
	})
}

package analytics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/store"
)

type blocksOf []store.Block

func (b blocksOf) Blocks(context.Context, time.Time, time.Time) ([]store.Block, error) { return b, nil }

// Totals is the last ten minutes' sums of the test below; a window of
// another length is a mistake.
func (b blocksOf) Totals(_ context.Context, from, to time.Time) (store.Totals, error) {
	if to.Sub(from) != BurnWindow+time.Nanosecond {
		return store.Totals{}, fmt.Errorf("totals over %s", to.Sub(from))
	}
	return store.Totals{Requests: 1, Input: 1500, Output: 500, CostNano: 5e9}, nil
}

// The active block's time left, burn rate and projection, worked by hand.
func TestBlocksReport(t *testing.T) {
	at := func(v string) time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(mustDur(t, v)) }
	src := blocksOf{
		{Start: at("3h"), End: at("8h"), First: at("3h5m"), Last: at("7h"), Totals: store.Totals{Requests: 2, CostNano: 5}},
		{Start: at("10h"), End: at("15h"), First: at("10h10m"), Last: at("11h"),
			Totals:  store.Totals{Requests: 3, Input: 4000, Output: 1000, CacheRead: 1000, CostNano: 60e9},
			ByModel: []store.ModelTotals{{Model: "opus"}, {Model: "haiku"}}},
	}
	r, err := BlocksReport(context.Background(), src, time.Time{}, at("11h10m"), at("11h10m"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Blocks) != 2 || r.Blocks[0].Active || !r.Blocks[1].Active || r.Since != "" {
		t.Fatalf("report %+v", r)
	}
	b := r.Blocks[1]
	// An hour since its first request; the last ten minutes took $5 and
	// 2000 tokens, so $0.50 and 200 tokens a minute; 3 h 50 min left:
	// $60 + $115.
	if b.ElapsedMinutes != 70 || b.RemainingMinutes != 230 || b.Tokens != 6000 || b.BurnTokensPerMinute != 200 ||
		b.BurnUSDPerMinute != 0.5 || b.ProjectedCostNanoUSD != 175e9 || len(b.Models) != 2 || b.Models[0] != "opus" {
		t.Errorf("active block %+v", b)
	}
	// Five minutes after its first request the block's own sums are the
	// pace: $60 and 6000 tokens in 5 minutes, 4 h 45 min left.
	r, err = BlocksReport(context.Background(), src, time.Time{}, at("10h15m"), at("10h15m"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.Blocks[1]; b.BurnTokensPerMinute != 1200 || b.BurnUSDPerMinute != 12 || b.ProjectedCostNanoUSD != 60e9+12e9*285 {
		t.Errorf("a young active block %+v", b)
	}
	if old := r.Blocks[0]; old.ElapsedMinutes != 0 || old.ProjectedCostNanoUSD != 0 {
		t.Errorf("a finished block has a projection: %+v", old)
	}
}

func TestDates(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, ny)
	from, to, err := Dates("2026-11-01", "20261101", now, ny)
	if err != nil || !from.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, ny)) || to.Sub(from) != 25*time.Hour {
		t.Errorf("the day daylight saving ends: %v, %v, %v (want 25 hours)", from, to, err)
	}
	if from, to, err := Dates("", "", now, ny); err != nil || !from.IsZero() || !to.After(now) {
		t.Errorf("no dates: %v %v %v", from, to, err)
	}
	for _, bad := range [][2]string{{"11/01/2026", ""}, {"", "yesterday"}, {"2026-11-02", "2026-11-01"}} {
		if _, _, err := Dates(bad[0], bad[1], now, ny); err == nil {
			t.Errorf("Dates(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func mustDur(t *testing.T, v string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

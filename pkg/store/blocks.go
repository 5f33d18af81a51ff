package store

import (
	"context"
	"fmt"
	"time"
)

// BlockLength is the length of a Claude usage window ("5-hour block").
const BlockLength = 5 * time.Hour

// A Block is one of Claude's 5-hour usage windows: it starts at the UTC
// hour of the first request after the previous block ended and lasts
// BlockLength; requests at or after its end start the next one.
type Block struct {
	Start, End  time.Time // End is Start + BlockLength
	First, Last time.Time // its first and last request in the range
	Totals
	ByModel []ModelTotals // by cost, highest first, then by name
}

// Blocks sums the rows with from <= Time < to (zero from and to as in
// Stats) into 5-hour blocks, oldest first. A block that begins before
// from is cut at from: it then starts at the hour of from's first request.
//
// Blocks need no rollup of their own: a block starts and ends on a UTC
// hour, so each 15-minute bucket of the model rollups lies in one block,
// and the bucket's first request says where a new block starts.
func (s *Store) Blocks(ctx context.Context, from, to time.Time) ([]Block, error) {
	lo, hi := bounds(from, to)
	out := []Block{}
	if lo >= hi {
		return out, nil
	}
	lo, hi, ok, err := s.span(ctx, lo, hi)
	if err == nil && ok && lo < hi {
		out, err = s.blocks(ctx, lo, hi)
	}
	if err != nil {
		return nil, fmt.Errorf("analytics blocks from %s: %w", s.path, err)
	}
	return out, nil
}

func (s *Store) blocks(ctx context.Context, lo, hi int64) ([]Block, error) {
	q, args := dimModel.source(lo, hi, false)
	rows, err := s.db.QueryContext(ctx, s.eng.rebind(q+`
SELECT r.model, r.first_ms, r.last_ms,
	`+sumColumns+`
FROM src r GROUP BY r.t, r.model, r.first_ms, r.last_ms ORDER BY r.first_ms, r.model`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Block{}
	length := BlockLength.Milliseconds()
	for rows.Next() {
		var (
			model       string
			first, last int64
			t           Totals
		)
		if err := rows.Scan(append([]any{&model, &first, &last}, t.dest()...)...); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || first >= out[n-1].End.UnixMilli() {
			start := floorTo(first, hourMs)
			out = append(out, Block{Start: time.UnixMilli(start), End: time.UnixMilli(start + length), First: time.UnixMilli(first)})
		}
		b := &out[len(out)-1]
		b.Add(t)
		b.Last = maxTime(b.Last, time.UnixMilli(last))
		addModel(&b.ByModel, model, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		sortModels(out[i].ByModel)
	}
	return out, nil
}

// addModel adds t to model's totals in ms.
func addModel(ms *[]ModelTotals, model string, t Totals) {
	for i := range *ms {
		if (*ms)[i].Model == model {
			(*ms)[i].Add(t)
			return
		}
	}
	*ms = append(*ms, ModelTotals{Model: model, Totals: t})
}

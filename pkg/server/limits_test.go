package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/control"
)

// /health has a limits object with each set limit's state, and none when
// no limit is set.
func TestHealthLimits(t *testing.T) {
	f := newFixture(t)
	if rec := f.do("GET", "/health", nil); strings.Contains(rec.Body.String(), `"limits"`) {
		t.Errorf("no limits set: %s", rec.Body)
	}
	resets := time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)
	f.srv.opts.Limits = func() control.Limits {
		return control.Limits{"daily": {USD: 10, SpentUSD: 10.02, SpentNanoUSD: 10_020_000_000, Percent: 100.2, State: control.LimitBlocked, ResetsAt: &resets}}
	}
	rec := f.do("GET", "/health", nil)
	var raw struct {
		Status string          `json:"status"`
		Limits json.RawMessage `json:"limits"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	want := `{"daily":{"usd":10,"spent_usd":10.02,"spent_nano_usd":10020000000,"percent":100.2,"state":"blocked","resets_at":"2026-11-28T05:00:00Z"}}`
	if raw.Status != "ok" || string(raw.Limits) != want {
		t.Errorf("health %s\nlimits %s\nwant   %s", raw.Status, raw.Limits, want)
	}
}

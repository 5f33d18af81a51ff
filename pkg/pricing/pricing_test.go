package pricing

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// referencePrices is the price table of shared/reference/anthropic-wire.md,
// typed in again here, independently of prices.json, in nano-USD per token
// (USD per million tokens times 1000), with the ids each family answers to.
var referencePrices = []struct {
	family string
	ids    []string
	price  Price
}{
	{"Opus 4.5/4.6/4.7/4.8/5", []string{"claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-opus-5-0"},
		Price{Input: 5000, CacheWrite5m: 6250, CacheWrite1h: 10000, CacheRead: 500, Output: 25000}},
	{"Opus 4/4.1", []string{"claude-opus-4-1", "claude-opus-4-0", "claude-opus-4", "claude-4-opus"},
		Price{Input: 15000, CacheWrite5m: 18750, CacheWrite1h: 30000, CacheRead: 1500, Output: 75000}},
	{"Sonnet 3.7/4/4.5/4.6", []string{"claude-3-7-sonnet", "claude-sonnet-3-7", "claude-sonnet-4-0", "claude-sonnet-4", "claude-4-sonnet", "claude-sonnet-4-5", "claude-sonnet-4-6"},
		Price{Input: 3000, CacheWrite5m: 3750, CacheWrite1h: 6000, CacheRead: 300, Output: 15000}},
	{"Haiku 4.5", []string{"claude-haiku-4-5"},
		Price{Input: 1000, CacheWrite5m: 1250, CacheWrite1h: 2000, CacheRead: 100, Output: 5000}},
	{"Haiku 3.5", []string{"claude-3-5-haiku", "claude-haiku-3-5"},
		Price{Input: 800, CacheWrite5m: 1000, CacheWrite1h: 1600, CacheRead: 80, Output: 4000}},
	{"Haiku 3", []string{"claude-3-haiku", "claude-haiku-3"},
		Price{Input: 250, CacheWrite5m: 300, CacheWrite1h: 500, CacheRead: 30, Output: 1250}},
	{"Opus 5.5", []string{"claude-opus-5-5"},
		Price{Input: 4000, CacheWrite5m: 5000, CacheWrite1h: 8000, CacheRead: 400, Output: 20000}},
}

func TestEmbeddedTableMatchesReference(t *testing.T) {
	table, err := Parse(embedded)
	if err != nil {
		t.Fatalf("embedded prices.json: %v", err)
	}
	want := map[string]Price{}
	for _, f := range referencePrices {
		for _, id := range f.ids {
			want[id] = f.price
			got, ok := table.Lookup(id)
			if !ok {
				t.Errorf("%s: %s is not in prices.json", f.family, id)
				continue
			}
			if got != f.price {
				t.Errorf("%s: %s costs %+v, the reference says %+v", f.family, id, got, f.price)
			}
		}
	}
	for id := range table.prices {
		if _, ok := want[id]; !ok {
			t.Errorf("prices.json lists %s, which the reference table does not", id)
		}
	}
	if d := Default(); len(d.prices) != len(table.prices) {
		t.Errorf("Default has %d ids, Parse(embedded) %d", len(d.prices), len(table.prices))
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"claude-haiku-4-5", "claude-haiku-4-5"},
		{"claude-haiku-4-5-20251001", "claude-haiku-4-5"},
		{"claude-3-5-haiku-20241022", "claude-3-5-haiku"},
		{"claude-3-5-haiku-latest", "claude-3-5-haiku"},
		{"claude-sonnet-4-5[1m]", "claude-sonnet-4-5"},
		{"claude-sonnet-4-5-20250929[1m]", "claude-sonnet-4-5"},
		{"CLAUDE-Opus-4-1-20250805", "claude-opus-4-1"},
		{"  claude-opus-4-20250514 ", "claude-opus-4"},
		{"claude-3-7-sonnet-latest[200k]", "claude-3-7-sonnet"},
		{"claude-3-5-haiku-20241022-latest", "claude-3-5-haiku"},
		{"claude-opus-5-5", "claude-opus-5-5"},
		{"claude-sonnet-5-5", "claude-sonnet-5-5"},
		{"claude-x-12345678", "claude-x-12345678"}, // not a date: month 56
		{"claude-x-2025101", "claude-x-2025101"},   // seven digits
		{"latest", "latest"},
		{"", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLookupSpellings(t *testing.T) {
	table := Default()
	for _, tc := range []struct {
		model string
		input int64 // expected Input price; 0 means unknown
	}{
		{"claude-haiku-4-5-20251001", 1000},
		{"claude-3-5-haiku-20241022", 800},
		{"claude-3-haiku-20240307", 250},
		{"claude-3-7-sonnet-20250219", 3000},
		{"claude-3-7-sonnet-latest", 3000},
		{"claude-sonnet-4-20250514", 3000},
		{"claude-sonnet-4-5-20250929", 3000},
		{"claude-sonnet-4-5[1m]", 3000},
		{"Claude-Sonnet-4-6[1M]", 3000},
		{"claude-opus-4-20250514", 15000},
		{"claude-opus-4-1-20250805", 15000},
		{"claude-opus-4-5-20251101", 5000},
		{"claude-opus-5", 5000},
		{"claude-opus-5-5", 4000},
		// Unknown: never a guess.
		{"claude-sonnet-5-5", 0},
		{"claude-sonnet-5", 0},
		{"claude-3-5-sonnet-20241022", 0},
		{"claude-3-opus-20240229", 0},
		{"claude-opus-4-5-1", 0},
		{"claude-haiku", 0},
		{"gpt-4o", 0},
		{"", 0},
	} {
		p, ok := table.Lookup(tc.model)
		if ok != (tc.input != 0) || p.Input != tc.input {
			t.Errorf("Lookup(%q) = %+v, %v; want input %d", tc.model, p, ok, tc.input)
		}
	}
}

func TestCost(t *testing.T) {
	table := Default()
	mixed := Tokens{Input: 1000, Output: 2000, CacheWrite5m: 3000, CacheWrite1h: 4000, CacheRead: 5000}
	for _, tc := range []struct {
		model         string
		mixed, saving int64 // Cost and PromptCacheSavings of mixed
		usd           [5]int64
	}{
		// usd: the price in nano-USD per million tokens of input, output,
		// 5m write, 1h write and read, i.e. USD/MTok * 1e9.
		{"claude-opus-4-5", 116_250_000, 22_500_000, [5]int64{5e9, 25e9, 6.25e9, 10e9, 0.5e9}},
		{"claude-opus-4-1-20250805", 348_750_000, 67_500_000, [5]int64{15e9, 75e9, 18.75e9, 30e9, 1.5e9}},
		{"claude-sonnet-4-5[1m]", 69_750_000, 13_500_000, [5]int64{3e9, 15e9, 3.75e9, 6e9, 0.3e9}},
		{"claude-haiku-4-5-20251001", 23_250_000, 4_500_000, [5]int64{1e9, 5e9, 1.25e9, 2e9, 0.1e9}},
		{"claude-3-5-haiku-latest", 18_600_000, 3_600_000, [5]int64{0.8e9, 4e9, 1e9, 1.6e9, 0.08e9}},
		{"claude-3-haiku-20240307", 5_800_000, 1_100_000, [5]int64{0.25e9, 1.25e9, 0.3e9, 0.5e9, 0.03e9}},
		{"claude-opus-5-5", 93_000_000, 18_000_000, [5]int64{4e9, 20e9, 5e9, 8e9, 0.4e9}},
	} {
		got, known := table.Cost(tc.model, mixed)
		if !known || got != tc.mixed {
			t.Errorf("Cost(%s, mixed) = %d, %v; want %d", tc.model, got, known, tc.mixed)
		}
		saved, known := table.PromptCacheSavings(tc.model, mixed)
		if !known || saved != tc.saving {
			t.Errorf("PromptCacheSavings(%s, mixed) = %d, %v; want %d", tc.model, saved, known, tc.saving)
		}
		const m = 1_000_000
		for i, tok := range []Tokens{{Input: m}, {Output: m}, {CacheWrite5m: m}, {CacheWrite1h: m}, {CacheRead: m}} {
			if got, _ := table.Cost(tc.model, tok); got != tc.usd[i] {
				t.Errorf("Cost(%s, %+v) = %d, want %d", tc.model, tok, got, tc.usd[i])
			}
		}
	}
}

func TestCostUnknownAndEdges(t *testing.T) {
	table := Default()
	tok := Tokens{Input: 10, Output: 10, CacheRead: 10}
	for _, model := range []string{"claude-sonnet-5-5", "", "gpt-4o"} {
		if c, known := table.Cost(model, tok); known || c != 0 {
			t.Errorf("Cost(%q) = %d, %v; want 0, false", model, c, known)
		}
		if s, known := table.PromptCacheSavings(model, tok); known || s != 0 {
			t.Errorf("PromptCacheSavings(%q) = %d, %v; want 0, false", model, s, known)
		}
	}
	var nilTable *Table
	if _, known := nilTable.Cost("claude-haiku-4-5", tok); known {
		t.Error("a nil table knows a model")
	}
	if c, _ := table.Cost("claude-haiku-4-5", Tokens{Input: -5, Output: 1}); c != 5000 {
		t.Errorf("negative counts: cost %d, want 5000", c)
	}
	if c, _ := table.Cost("claude-opus-4-1", Tokens{Input: math.MaxInt64, Output: math.MaxInt64}); c != math.MaxInt64 {
		t.Errorf("huge counts: cost %d, want MaxInt64", c)
	}
}

func TestWith(t *testing.T) {
	base := Default()
	override, err := Parse([]byte(`{"models": [
		{"name": "cheaper Haiku 4.5", "id": "claude-haiku-4-5", "input": 0.5, "cache_write_5m": 0.625, "cache_write_1h": 1, "cache_read": 0.05, "output": 2.5},
		{"name": "a new one", "id": "claude-sonnet-5-5", "aliases": ["claude-5-5-sonnet"], "input": 2, "cache_write_5m": 2.5, "cache_write_1h": 4, "cache_read": 0.2, "output": 10},
		{"id": "claude-haiku-3-5", "input": 9, "cache_write_5m": 9, "cache_write_1h": 9, "cache_read": 9, "output": 9}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	merged := base.With(override)
	for _, tc := range []struct {
		table *Table
		model string
		input int64 // 0: unknown
	}{
		{merged, "claude-haiku-4-5-20251001", 500}, // override wins
		{merged, "claude-sonnet-5-5", 2000},        // override adds
		{merged, "claude-5-5-sonnet-latest", 2000}, // with its alias
		{merged, "claude-haiku-3-5", 9000},         // an alias is replaced on its own
		{merged, "claude-3-5-haiku", 800},          // and the id keeps the base price
		{merged, "claude-opus-4-1", 15000},         // the rest is the base
		{base, "claude-haiku-4-5", 1000},           // the base is unchanged
		{base, "claude-sonnet-5-5", 0},
		{base.With(nil), "claude-haiku-4-5", 1000},
		{(*Table)(nil).With(override), "claude-sonnet-5-5", 2000},
		{(*Table)(nil).With(override), "claude-opus-4-1", 0},
	} {
		p, ok := tc.table.Lookup(tc.model)
		if ok != (tc.input != 0) || p.Input != tc.input {
			t.Errorf("Lookup(%q) = %d, %v; want %d", tc.model, p.Input, ok, tc.input)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const prices = `"input": 1, "cache_write_5m": 1.25, "cache_write_1h": 2, "cache_read": 0.1, "output": 5`
	model := func(fields string) string { return `{"models": [{` + fields + `}]}` }
	for _, tc := range []struct {
		name, data string
		want       []string // substrings of the error
	}{
		{"syntax", `{"models": [`, []string{"parse price table"}},
		{"trailing data", `{"models": []} {}`, []string{"after the top-level object"}},
		{"unknown top-level field", `{"modles": []}`, []string{`"modles"`}},
		{"unknown model field", model(`"id": "claude-x", "cache_write_1hr": 2, ` + prices), []string{"models[0]", `"cache_write_1hr"`}},
		{"missing id", model(prices), []string{"models[0]", `"id"`}},
		{"missing price", model(`"id": "claude-x", "input": 1, "cache_write_5m": 1.25, "cache_read": 0.1, "output": 5`), []string{`"claude-x"`, `"cache_write_1h"`, "missing"}},
		{"negative", model(`"id": "claude-x", "input": -1, "cache_write_5m": 1.25, "cache_write_1h": 2, "cache_read": 0.1, "output": 5`), []string{`"claude-x"`, `"input"`, "negative"}},
		{"four decimals", model(`"id": "claude-x", "input": 1, "cache_write_5m": 1.25, "cache_write_1h": 2, "cache_read": 0.0001, "output": 5`), []string{`"claude-x"`, `"cache_read"`, "more than 3 decimals"}},
		{"exponent decimals", model(`"id": "claude-x", "input": 1, "cache_write_5m": 1.25, "cache_write_1h": 2, "cache_read": 1e-4, "output": 5`), []string{`"cache_read"`, "more than 3 decimals"}},
		{"too large", model(`"id": "claude-x", "input": 1e30, "cache_write_5m": 1.25, "cache_write_1h": 2, "cache_read": 0.1, "output": 5`), []string{`"input"`, "too large"}},
		{"not a number", model(`"id": "claude-x", "input": "cheap", "cache_write_5m": 1.25, "cache_write_1h": 2, "cache_read": 0.1, "output": 5`), []string{"models[0]"}},
		{"unnormalized id", model(`"id": "claude-x-20250101", ` + prices), []string{`"id"`, `"claude-x"`}},
		{"upper-case alias", model(`"id": "claude-x", "aliases": ["Claude-Y"], ` + prices), []string{`"claude-x"`, `"aliases[0]"`, `"claude-y"`}},
		{"empty alias", model(`"id": "claude-x", "aliases": [""], ` + prices), []string{`"aliases[0]"`, "empty"}},
		{"duplicate", `{"models": [{"id": "claude-x", ` + prices + `}, {"id": "claude-y", "aliases": ["claude-x"], ` + prices + `}]}`,
			[]string{`"claude-y"`, `"claude-x"`, "already listed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestParseNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"-0", 0}, {"0.000", 0}, {"0.0001e0", -1}, {"5", 5000}, {"6.25", 6250}, {"0.30", 300},
		{"0.08", 80}, {"1.250000", 1250}, {"1e-3", 1}, {"1E2", 100000}, {"0.5e1", 5000}, {"12.345", 12345},
		{"12.3456", -1}, {"-0.5", -1}, {"9223372036854775.807", math.MaxInt64}, {"9223372036854775.808", -1},
	} {
		got, err := nanoPerToken(tc.in)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("nanoPerToken(%s) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("nanoPerToken(%s) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatUSD(t *testing.T) {
	for _, tc := range []struct {
		nano int64
		want string
	}{
		{0, "$0.00"},
		{1, "$0.00"},
		{49_999, "$0.00"},
		{50_000, "$0.0001"}, // half away from zero
		{12_345_000, "$0.0123"},
		{12_350_000, "$0.0124"},
		{100_000_000, "$0.10"},
		{1_500_000_000, "$1.50"},
		{1_234_567_890, "$1.2346"},
		{116_250_000, "$0.1163"},
		{999_950_000, "$1.00"},
		{25_000_000_000, "$25.00"},
		{-12_345_000, "-$0.0123"},
		{-50_000, "-$0.0001"},
		{-49_999, "$0.00"},
		{-1_500_000_000, "-$1.50"},
		{math.MaxInt64, "$9223372036.8548"},
		{math.MinInt64, "-$9223372036.8548"},
	} {
		if got := FormatUSD(tc.nano); got != tc.want {
			t.Errorf("FormatUSD(%d) = %q, want %q", tc.nano, got, tc.want)
		}
	}
}

// TestAliasesInBothOrders checks the rule the table follows for families
// whose ids were published in the older "claude-3-5-haiku" order: both
// orders resolve.
func TestAliasesInBothOrders(t *testing.T) {
	table := Default()
	for _, pair := range [][2]string{
		{"claude-3-5-haiku", "claude-haiku-3-5"},
		{"claude-3-haiku", "claude-haiku-3"},
		{"claude-3-7-sonnet", "claude-sonnet-3-7"},
		{"claude-4-opus", "claude-opus-4"},
		{"claude-4-sonnet", "claude-sonnet-4"},
	} {
		a, okA := table.Lookup(pair[0])
		b, okB := table.Lookup(pair[1])
		if !okA || !okB || a != b {
			t.Errorf("%s and %s: %+v/%v and %+v/%v", pair[0], pair[1], a, okA, b, okB)
		}
	}
	ids := make([]string, 0, len(table.prices))
	for id := range table.prices {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	t.Logf("%d ids: %s", len(ids), strings.Join(ids, " "))
}

// Package pricing holds cco's price table for Claude models and turns token
// counts into money.
//
// The table is the JSON file prices.json, embedded in the binary; a user's
// file in the same format can override or extend it ([Table.With]). Prices
// in the file are USD per million tokens with at most three decimals, so
// that every price is a whole number of nano-dollars (1e-9 USD) per token
// and every sum is exact: money in this package is always an int64 of
// nano-dollars.
//
// A model is found by its normalized id ([Normalize]): lower case, without a
// context suffix such as "[1m]", a "-latest" suffix or a "-YYYYMMDD" date.
// Ids are matched exactly, never by prefix, so a model the table does not
// list is unknown rather than priced like a neighbour. The table has no
// long-context tier: "claude-sonnet-4-5[1m]" is priced as
// "claude-sonnet-4-5", at the base rates.
//
// It imports only the standard library.
package pricing

import (
	"bytes"
	_ "embed" // for the price table
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

//go:embed prices.json
var embedded []byte

// Tokens are the token counts of one response, by how they are billed.
type Tokens struct {
	Input        int64 // input_tokens: plain, uncached input
	Output       int64 // output_tokens
	CacheWrite5m int64 // input written to the prompt cache for 5 minutes
	CacheWrite1h int64 // input written to the prompt cache for 1 hour
	CacheRead    int64 // cache_read_input_tokens
}

// Price is what one token of each kind costs, in nano-USD (1e-9 USD).
type Price struct {
	Input        int64
	Output       int64
	CacheWrite5m int64
	CacheWrite1h int64
	CacheRead    int64
}

// Table maps normalized model ids and aliases to prices. A Table is never
// modified after it is made, so it is safe for concurrent use.
type Table struct {
	prices map[string]Price
}

// Default returns the built-in table (prices.json), parsed afresh on each
// call: callers keep the result rather than call Default per request.
func Default() *Table {
	t, err := Parse(embedded)
	if err != nil {
		// The embedded file is part of the build and a test parses it.
		panic("pricing: embedded prices.json: " + err.Error())
	}
	return t
}

// fileJSON is the format of prices.json.
type fileJSON struct {
	Source string            `json:"source"`
	Models []json.RawMessage `json:"models"`
}

// modelJSON is one model of prices.json. Prices are JSON numbers in USD per
// million tokens; all five are required.
type modelJSON struct {
	Name         string       `json:"name"`
	ID           string       `json:"id"`
	Aliases      []string     `json:"aliases"`
	Input        *json.Number `json:"input"`
	CacheWrite5m *json.Number `json:"cache_write_5m"`
	CacheWrite1h *json.Number `json:"cache_write_1h"`
	CacheRead    *json.Number `json:"cache_read"`
	Output       *json.Number `json:"output"`
}

// Parse reads a price table in the format of prices.json:
//
//	{"source": "...", "models": [{"name": "Claude Haiku 4.5", "id": "claude-haiku-4-5",
//	  "aliases": ["..."], "input": 1, "cache_write_5m": 1.25, "cache_write_1h": 2,
//	  "cache_read": 0.10, "output": 5}]}
//
// Every model needs an id and all five prices; ids and aliases must be
// normalized ([Normalize]) and appear once in the file; prices must be
// non-negative with at most three decimals; unknown fields are errors (a
// misspelt price would otherwise read as free). Errors name the model and
// the field.
func Parse(data []byte) (*Table, error) {
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse price table: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse price table: data after the top-level object")
	}
	t := &Table{prices: make(map[string]Price)}
	owner := make(map[string]string) // id or alias -> the model that claims it
	for i, raw := range f.Models {
		var m modelJSON
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&m); err != nil {
			return nil, fmt.Errorf("parse price table: models[%d]: %w", i, err)
		}
		label := fmt.Sprintf("models[%d]", i)
		if m.ID != "" {
			label = fmt.Sprintf("model %q", m.ID)
		}
		if m.ID == "" {
			return nil, fmt.Errorf("parse price table: %s: field \"id\" is missing or empty", label)
		}
		p, err := m.price()
		if err != nil {
			return nil, fmt.Errorf("parse price table: %s: %w", label, err)
		}
		for j, id := range append([]string{m.ID}, m.Aliases...) {
			field := "id"
			if j > 0 {
				field = fmt.Sprintf("aliases[%d]", j-1)
			}
			if id == "" {
				return nil, fmt.Errorf("parse price table: %s: field %q is empty", label, field)
			}
			if norm := Normalize(id); id != norm {
				return nil, fmt.Errorf("parse price table: %s: field %q: %q is not a normalized id (want %q)", label, field, id, norm)
			}
			if prev, dup := owner[id]; dup {
				return nil, fmt.Errorf("parse price table: %s: field %q: %q is already listed by model %q", label, field, id, prev)
			}
			owner[id] = m.ID
			t.prices[id] = p
		}
	}
	return t, nil
}

// price converts m's five prices to nano-USD per token.
func (m *modelJSON) price() (Price, error) {
	var p Price
	for _, f := range []struct {
		name string
		num  *json.Number
		dst  *int64
	}{
		{"input", m.Input, &p.Input},
		{"cache_write_5m", m.CacheWrite5m, &p.CacheWrite5m},
		{"cache_write_1h", m.CacheWrite1h, &p.CacheWrite1h},
		{"cache_read", m.CacheRead, &p.CacheRead},
		{"output", m.Output, &p.Output},
	} {
		if f.num == nil {
			return Price{}, fmt.Errorf("field %q is missing", f.name)
		}
		v, err := nanoPerToken(string(*f.num))
		if err != nil {
			return Price{}, fmt.Errorf("field %q: %w", f.name, err)
		}
		*f.dst = v
	}
	return p, nil
}

// nanoPerToken converts a JSON number in USD per million tokens to nano-USD
// per token (a factor of 1000), exactly: it works on the decimal digits, so
// 0.3 is 300, never 299.99999.
func nanoPerToken(s string) (int64, error) {
	mant, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expPart)
		if err != nil || e < -1000 || e > 1000 {
			return 0, fmt.Errorf("%q has an unusable exponent", s)
		}
		exp = e
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0, nil // zero, whatever its sign or exponent
	}
	if neg {
		return 0, fmt.Errorf("%s is negative", s)
	}
	// value = digits * 10^(exp - len(frac)) USD/MTok = digits * 10^shift nano-USD/token.
	shift := exp - len(frac) + 3
	for shift < 0 && strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		shift++
	}
	if shift < 0 {
		return 0, fmt.Errorf("%s has more than 3 decimals (prices are whole thousandths of a USD per million tokens)", s)
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	for ; err == nil && shift > 0; shift-- {
		if v > math.MaxInt64/10 {
			err = strconv.ErrRange
		}
		v *= 10
	}
	if err != nil {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return v, nil
}

// With returns a new table holding t's ids and aliases and override's,
// where override's win. Each id or alias is replaced on its own: an alias
// that override does not list keeps t's price. Either may be nil.
func (t *Table) With(override *Table) *Table {
	out := &Table{prices: make(map[string]Price)}
	for _, src := range []*Table{t, override} {
		if src == nil {
			continue
		}
		for id, p := range src.prices {
			out.prices[id] = p
		}
	}
	return out
}

// Normalize returns the form of a model id the table is keyed by: lower
// case, surrounding space trimmed, and without a trailing context suffix in
// brackets ("[1m]"), a "-latest" suffix or a "-YYYYMMDD" date suffix, in
// any combination. Nothing else is changed: "claude-sonnet-5-5" stays
// itself, whether or not the table knows it.
func Normalize(model string) string {
	s := strings.ToLower(strings.TrimSpace(model))
	for {
		prev := s
		if strings.HasSuffix(s, "]") {
			if i := strings.LastIndexByte(s, '['); i >= 0 {
				s = strings.TrimSpace(s[:i])
			}
		}
		s = strings.TrimSuffix(s, "-latest")
		if hasDateSuffix(s) {
			s = s[:len(s)-len("-YYYYMMDD")]
		}
		if s == prev {
			return s
		}
	}
}

// hasDateSuffix reports whether s ends in "-YYYYMMDD" with a plausible
// month and day.
func hasDateSuffix(s string) bool {
	const n = len("-YYYYMMDD")
	if len(s) <= n || s[len(s)-n] != '-' {
		return false
	}
	d := s[len(s)-n+1:]
	for i := range len(d) {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	month := int(d[4]-'0')*10 + int(d[5]-'0')
	day := int(d[6]-'0')*10 + int(d[7]-'0')
	return month >= 1 && month <= 12 && day >= 1 && day <= 31
}

// Lookup returns the price of model, found by its normalized id. A nil
// table knows no model.
func (t *Table) Lookup(model string) (Price, bool) {
	if t == nil {
		return Price{}, false
	}
	p, ok := t.prices[Normalize(model)]
	return p, ok
}

// Cost returns what tok cost with model, in nano-USD, and whether the model
// is known; an unknown model costs 0. Negative counts count as 0, and a sum
// too large for an int64 stops at math.MaxInt64.
func (t *Table) Cost(model string, tok Tokens) (nanoUSD int64, known bool) {
	p, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	var sum int64
	for _, term := range [...]struct{ n, price int64 }{
		{tok.Input, p.Input},
		{tok.Output, p.Output},
		{tok.CacheWrite5m, p.CacheWrite5m},
		{tok.CacheWrite1h, p.CacheWrite1h},
		{tok.CacheRead, p.CacheRead},
	} {
		sum = addSat(sum, mulSat(term.n, term.price))
	}
	return sum, true
}

// PromptCacheSavings returns what prompt caching saved on tok's cache reads
// with model, in nano-USD: those tokens priced as plain input, minus what
// they cost as cache reads. It is 0 for an unknown model (known false).
func (t *Table) PromptCacheSavings(model string, tok Tokens) (nanoUSD int64, known bool) {
	p, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	return mulSat(tok.CacheRead, p.Input-p.CacheRead), true
}

// mulSat returns n*price, with a negative n counted as 0 and the result
// held within ±math.MaxInt64.
func mulSat(n, price int64) int64 {
	if n <= 0 || price == 0 {
		return 0
	}
	neg := price < 0
	abs := uint64(price)
	if neg {
		abs = uint64(-price) // price > math.MinInt64: it is a difference of non-negative prices
	}
	hi, lo := bits.Mul64(uint64(n), abs)
	v := int64(math.MaxInt64)
	if hi == 0 && lo <= math.MaxInt64 {
		v = int64(lo)
	}
	if neg {
		return -v
	}
	return v
}

// addSat returns a+b held within ±math.MaxInt64.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return -math.MaxInt64
	}
	return s
}

// FormatUSD formats nano-USD as dollars with at least two and at most four
// decimals, rounded half away from zero: "$0.0123", "$1.50", "-$0.25". A
// value that rounds to zero is "$0.00", without a sign.
func FormatUSD(nano int64) string {
	const perUnit = 100_000 // nano-USD in 0.0001 USD
	neg := nano < 0
	abs := uint64(nano)
	if neg {
		abs = -abs // two's complement: right for math.MinInt64 too
	}
	units := abs / perUnit
	if abs%perUnit >= perUnit/2 {
		units++
	}
	frac := fmt.Sprintf("%04d", units%10_000)
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	sign := ""
	if neg && units != 0 {
		sign = "-"
	}
	return fmt.Sprintf("%s$%d.%s", sign, units/10_000, frac)
}

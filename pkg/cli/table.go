package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// A table is text in columns that fits a terminal's width: columns of
// least importance are left out until the rest fit, and a fill column
// (a list of models) takes what width is left, cut short.
type table struct {
	cols []column
	rows [][]string // nil is a rule (a line of dashes)
}

type column struct {
	head  string
	right bool // numbers: aligned right
	// prio orders the columns to leave out: the highest first, and at
	// equal prio the rightmost; 0 is never left out.
	prio int
	fill bool // takes the width left (at least minFill), cut with "…"
}

// A fill column is at least minFill and at most maxFill wide.
const minFill, maxFill = 8, 40

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }
func (t *table) rule()               { t.rows = append(t.rows, nil) }

// write prints the table in at most width columns (a column of prio 0
// may still make it wider) leaving out the columns of prio above maxPrio
// (-1 keeps all).
func (t *table) write(w io.Writer, width, maxPrio int) error {
	n := len(t.cols)
	natural := make([]int, n)
	for i, c := range t.cols {
		natural[i] = utf8.RuneCountInString(c.head)
		for _, r := range t.rows {
			if i < len(r) {
				natural[i] = max(natural[i], utf8.RuneCountInString(r[i]))
			}
		}
	}
	keep := make([]bool, n)
	for i, c := range t.cols {
		keep[i] = maxPrio < 0 || c.prio <= maxPrio
	}
	// A fill column asks for its natural width, at most maxFill; when it
	// is the next to leave, it is first cut to what is left (at least
	// minFill).
	need := func(i int) int {
		if t.cols[i].fill {
			return min(natural[i], maxFill)
		}
		return natural[i]
	}
	used := func(cut int) int {
		u, k := 0, 0
		for i := range t.cols {
			if !keep[i] {
				continue
			}
			if k > 0 {
				u += 2
			}
			k++
			if i == cut {
				u += minFill
			} else {
				u += need(i)
			}
		}
		return u
	}
	widths := make([]int, n)
	for i := range t.cols {
		widths[i] = need(i)
	}
	for used(-1) > width {
		drop := -1
		for i, c := range t.cols {
			if keep[i] && c.prio > 0 && (drop < 0 || c.prio >= t.cols[drop].prio) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		if t.cols[drop].fill {
			if u := used(drop); u <= width {
				widths[drop] = minFill + width - u
				break
			}
		}
		keep[drop] = false
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i, c := range t.cols {
			if !keep[i] {
				continue
			}
			s := ""
			if i < len(cells) {
				s = cells[i]
			}
			s = fit(s, widths[i])
			if b.Len() > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			if c.right {
				b.WriteString(pad + s)
			} else {
				b.WriteString(s + pad)
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	heads := make([]string, n)
	total := 0
	for i, c := range t.cols {
		heads[i] = c.head
		if keep[i] {
			if total > 0 {
				total += 2
			}
			total += widths[i]
		}
	}
	if _, err := fmt.Fprintln(w, line(heads)); err != nil {
		return err
	}
	for _, r := range t.rows {
		s := strings.Repeat("-", total)
		if r != nil {
			s = line(r)
		}
		if _, err := fmt.Fprintln(w, s); err != nil {
			return err
		}
	}
	return nil
}

// shortTokens prints a count of tokens in at most six characters: 950,
// 12.3k, 456k, 7.89M, 1.2B.
func shortTokens(n int64) string {
	f := float64(n)
	switch {
	case n < 10_000:
		return fmt.Sprint(n)
	case n < 999_500:
		return trimZero(fmt.Sprintf("%.3g", f/1e3)) + "k"
	case n < 999_500_000:
		return trimZero(fmt.Sprintf("%.3g", f/1e6)) + "M"
	}
	return trimZero(fmt.Sprintf("%.3g", f/1e9)) + "B"
}

// trimZero drops the exponent form %g may choose for large values.
func trimZero(s string) string {
	if strings.ContainsAny(s, "e") {
		var f float64
		fmt.Sscan(s, &f)
		return fmt.Sprintf("%.0f", f)
	}
	return s
}

// shortModel is a model's name without "claude-" and a date suffix:
// claude-sonnet-4-5-20250929 is sonnet-4-5.
func shortModel(m string) string { return strings.TrimPrefix(modelName(m), "claude-") }

// modelName is a model's name without a date suffix:
// claude-sonnet-4-5-20250929 is claude-sonnet-4-5.
func modelName(m string) string {
	if i := strings.LastIndexByte(m, '-'); i > 0 && len(m)-i == 9 && strings.Trim(m[i+1:], "0123456789") == "" {
		return m[:i]
	}
	return m
}

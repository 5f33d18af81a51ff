package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/analytics"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/store"
)

// blocksCommand is `cco stats blocks`: Claude's 5-hour usage windows.
func blocksCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "blocks",
		Usage: "print Claude's 5-hour usage blocks, the active one with its burn rate",
		Description: "A block starts at the hour (UTC) of the first request after the previous block\n" +
			"ended and lasts five hours; the active one is marked *, with its time left, burn rate\n" +
			"and projected cost. Dates are YYYY-MM-DD (or YYYYMMDD), in --timezone.\n" +
			"--live shows the active block from the running instance, redrawn every second, until q or\n" +
			"Ctrl-C; not on a terminal it prints a line when the figures change and every minute.",
		Flags: append(reportFlags(), &cli.BoolFlag{Name: "live", Usage: liveUsage}),
		Action: func(c *cli.Context) error {
			if c.Bool("live") {
				return blocksLive(c, sys)
			}
			o, err := readReportOptions(c, sys)
			if err != nil {
				return err
			}
			report, err := fetchReport(c.Context, sys, o,
				func(ctx context.Context, cl control.Client) (*control.Blocks, error) {
					b, err := cl.BlocksIn(ctx, o.query)
					return &b, err
				},
				func(ctx context.Context, db *store.Store, sp analytics.Span, now time.Time) (*control.Blocks, error) {
					return analytics.BlocksReport(ctx, db, sp.From, sp.To, now, sp.Loc)
				})
			if err != nil {
				return err
			}
			if o.desc {
				slices.Reverse(report.Blocks)
			}
			if o.json {
				return writeJSON(sys.Stdout, report)
			}
			return printBlocks(sys.Stdout, report, o, sys.columns())
		},
	}
}

// printBlocks prints one line per block and, for the active one, its
// time left, burn rate and projection.
func printBlocks(w io.Writer, r *control.Blocks, o reportOptions, width int) error {
	if len(r.Blocks) == 0 {
		fmt.Fprintln(w, "no requests in the range")
		return nil
	}
	t := &table{cols: []column{
		{head: "BLOCK START"},
		{head: "REQS", right: true, prio: 4},
		{head: "INPUT", right: true, prio: 8},
		{head: "OUTPUT", right: true, prio: 8},
		{head: "TOKENS", right: true, prio: 2},
		{head: "COST", right: true},
		{head: "SAVED", right: true, prio: 5},
		{head: "MODELS", prio: 6, fill: true},
	}}
	cells := func(k string, x control.Totals, tokens int64, models []string) []string {
		short := make([]string, len(models))
		for i, m := range models {
			short[i] = shortModel(m)
		}
		return []string{k, strconv.FormatInt(x.Requests, 10), shortTokens(x.InputTokens), shortTokens(x.OutputTokens),
			shortTokens(tokens), cost(x), pricing.FormatUSD(x.CacheSavingsNanoUSD + x.PromptCacheSavingsNanoUSD), strings.Join(short, ", ")}
	}
	var active *control.Block
	var all control.Totals
	var allTokens int64
	for i, b := range r.Blocks {
		start := strings.Replace(b.Start[:16], "T", " ", 1)
		if b.Active {
			start += " *"
			active = &r.Blocks[i]
		}
		t.add(cells(start, b.Totals, b.Tokens, b.Models)...)
		if o.breakdown {
			for _, m := range b.ByModel {
				t.add(cells("└ "+shortModel(m.Model), m.Totals, modelTokens(m.Totals), nil)...)
			}
		}
		addTotals(&all, b.Totals)
		allTokens += b.Tokens
	}
	t.rule()
	t.add(cells("TOTAL", all, allTokens, nil)...)
	maxPrio := -1
	if o.compact {
		maxPrio = 2
	}
	if err := t.write(w, width, maxPrio); err != nil {
		return err
	}
	if active != nil {
		d := func(m float64) string {
			return strings.TrimSuffix((time.Duration(m * float64(time.Minute))).Round(time.Minute).String(), "0s")
		}
		fmt.Fprintf(w, "\n* active: %s elapsed, %s left (ends %s)\n", d(active.ElapsedMinutes), d(active.RemainingMinutes), active.End[11:16])
		fmt.Fprintf(w, "  burning %s tokens and %s a minute; projected %s by the end\n",
			shortTokens(int64(active.BurnTokensPerMinute+0.5)), pricing.FormatUSD(int64(active.BurnUSDPerMinute*1e9)),
			pricing.FormatUSD(active.ProjectedCostNanoUSD))
	}
	return nil
}

// addTotals adds u to t.
func addTotals(t *control.Totals, u control.Totals) {
	t.Requests += u.Requests
	t.Errors += u.Errors
	t.CacheHits += u.CacheHits
	t.UnknownCost += u.UnknownCost
	t.InputTokens += u.InputTokens
	t.OutputTokens += u.OutputTokens
	t.CacheWrite5mTokens += u.CacheWrite5mTokens
	t.CacheWrite1hTokens += u.CacheWrite1hTokens
	t.CacheReadTokens += u.CacheReadTokens
	t.CostNanoUSD += u.CostNanoUSD
	t.CacheSavingsNanoUSD += u.CacheSavingsNanoUSD
	t.PromptCacheSavingsNanoUSD += u.PromptCacheSavingsNanoUSD
}

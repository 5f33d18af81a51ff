package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
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
			"ended and lasts five hours. Dates are YYYY-MM-DD (or YYYYMMDD) in the local time zone.",
		Flags: []cli.Flag{
			configFlag(),
			&cli.StringFlag{Name: "since", Usage: "from the start of `DATE`"},
			&cli.StringFlag{Name: "until", Usage: "to the end of `DATE`"},
			&cli.BoolFlag{Name: "json", Usage: "print the /api/stats/blocks JSON"},
			&cli.IntFlag{Name: "port", Usage: "the instance on `PORT`"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			since, until := c.String("since"), c.String("until")
			if _, _, err := analytics.Dates(since, until, sys.Now(), sys.location()); err != nil {
				return usagef("%v", err)
			}
			var report *control.Blocks
			err := withStats(c.Context, sys, c.String("config"), c.Int("port"),
				func(ctx context.Context, cl control.Client) error {
					b, err := cl.Blocks(ctx, since, until)
					report = &b
					return err
				},
				func(ctx context.Context, db *store.Store) error {
					now := sys.Now()
					from, to, err := analytics.Dates(since, until, now, sys.location())
					if err == nil {
						report, err = analytics.BlocksReport(ctx, db, from, to, now, sys.location())
					}
					return err
				})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(sys.Stdout, report)
			}
			return printBlocks(sys.Stdout, report)
		},
	}
}

// printBlocks prints one line per block and, for the active one, its
// time left, burn rate and projection.
func printBlocks(w io.Writer, r *control.Blocks) error {
	if len(r.Blocks) == 0 {
		fmt.Fprintln(w, "no requests in the range")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BLOCK START\tREQUESTS\tTOKENS\tCOST\tMODELS")
	var active *control.Block
	for i, b := range r.Blocks {
		start := strings.Replace(b.Start[:16], "T", " ", 1)
		if b.Active {
			start += " (active)"
			active = &r.Blocks[i]
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", start, b.Requests, b.Tokens, pricing.FormatUSD(b.CostNanoUSD), strings.Join(b.Models, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if active != nil {
		d := func(m float64) string { return (time.Duration(m * float64(time.Minute))).Round(time.Minute).String() }
		fmt.Fprintf(w, "\nactive block: %s elapsed, %s left; burning %.0f tokens and %s a minute; projected %s by %s\n",
			strings.TrimSuffix(d(active.ElapsedMinutes), "0s"), strings.TrimSuffix(d(active.RemainingMinutes), "0s"),
			active.BurnTokensPerMinute, pricing.FormatUSD(int64(active.BurnUSDPerMinute*1e9)),
			pricing.FormatUSD(active.ProjectedCostNanoUSD), active.End[11:16])
	}
	return nil
}

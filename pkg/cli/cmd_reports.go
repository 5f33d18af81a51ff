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

// reportOptions are the flags the reports share.
type reportOptions struct {
	configPath string
	port       int
	query      control.ReportQuery
	breakdown  bool
	json       bool
	compact    bool
	desc       bool
}

// reportFlags are the flags of every report; blocks adds its own.
func reportFlags() []cli.Flag {
	return []cli.Flag{
		configFlag(),
		&cli.StringFlag{Name: "since", Aliases: []string{"s"}, Usage: "from the start of `DATE` (YYYY-MM-DD or YYYYMMDD)"},
		&cli.StringFlag{Name: "until", Aliases: []string{"u"}, Usage: "to the end of `DATE`"},
		&cli.StringFlag{Name: "timezone", Aliases: []string{"z"}, Usage: "count days in `ZONE` (an IANA name; default the instance's)"},
		&cli.BoolFlag{Name: "breakdown", Aliases: []string{"b"}, Usage: "a line per model under each row"},
		&cli.BoolFlag{Name: "json", Usage: "print the report's JSON (as /api/stats/... serves it)"},
		&cli.BoolFlag{Name: "compact", Usage: "only the date, tokens and cost (the layout below 80 columns)"},
		&cli.StringFlag{Name: "order", Value: "asc", Usage: "`asc` (oldest first) or desc"},
		&cli.IntFlag{Name: "port", Usage: "the instance on `PORT`"},
	}
}

// readReportOptions checks the shared flags: a bad one exits 2.
func readReportOptions(c *cli.Context, sys *System) (reportOptions, error) {
	o := reportOptions{configPath: c.String("config"), port: c.Int("port"), breakdown: c.Bool("breakdown"),
		json: c.Bool("json"), compact: c.Bool("compact"),
		query: control.ReportQuery{Since: c.String("since"), Until: c.String("until"), TimeZone: c.String("timezone")}}
	if err := noArgs(c); err != nil {
		return o, err
	}
	switch c.String("order") {
	case "asc":
	case "desc":
		o.desc = true
	default:
		return o, usagef("--order %q: use asc or desc", c.String("order"))
	}
	if c.IsSet("start-of-week") {
		o.query.StartOfWeek = c.String("start-of-week")
	}
	if _, err := analytics.Resolve(o.query, sys.Now(), sys.location()); err != nil {
		return o, usagef("%v", err)
	}
	return o, nil
}

// reportCommand is `cco stats daily|weekly|monthly|session`.
func reportCommand(sys *System, name, usage, desc string) *cli.Command {
	flags := reportFlags()
	if name == "weekly" {
		flags = append(flags, &cli.StringFlag{Name: "start-of-week", Value: "sunday", Usage: "the `DAY` weeks start on"})
	}
	return &cli.Command{
		Name:  name,
		Usage: usage,
		Description: desc + "\nAsks the running instance (/api/stats/" + name + "); with none running, reads the\n" +
			"analytics database itself. Tables fit the terminal's width ($COLUMNS, else 80).",
		Flags: flags,
		Action: func(c *cli.Context) error {
			o, err := readReportOptions(c, sys)
			if err != nil {
				return err
			}
			return runReport(c.Context, sys, name, o)
		},
	}
}

func reportCommands(sys *System) []*cli.Command {
	return []*cli.Command{
		reportCommand(sys, "daily", "print requests, tokens and cost per day", "One row per calendar day with requests."),
		reportCommand(sys, "weekly", "print requests, tokens and cost per week", "One row per week (from --start-of-week)."),
		reportCommand(sys, "monthly", "print requests, tokens and cost per month", "One row per calendar month."),
		reportCommand(sys, "session", "print requests, tokens and cost per Claude Code session",
			"One row per Claude Code session (its x-claude-code-session-id), by its last request;\n"+
				"requests without a session are left out."),
	}
}

func runReport(ctx context.Context, sys *System, name string, o reportOptions) error {
	r, err := fetchReport(ctx, sys, o,
		func(ctx context.Context, c control.Client) (*control.Report, error) {
			got, err := c.Report(ctx, name, o.query)
			return &got, err
		},
		func(ctx context.Context, db *store.Store, sp analytics.Span, _ time.Time) (*control.Report, error) {
			return analytics.PeriodReport(ctx, db, name, sp)
		})
	if err != nil {
		return err
	}
	if o.desc {
		slices.Reverse(r.Rows)
	}
	if o.json {
		return writeJSON(sys.Stdout, r)
	}
	return printReport(sys.Stdout, r, o, sys.columns())
}

// fetchReport asks the running instance for a report (remote), or with
// none running works it out from the database (local) over the query's
// span at now.
func fetchReport[T any](ctx context.Context, sys *System, o reportOptions,
	remote func(context.Context, control.Client) (T, error),
	local func(ctx context.Context, db *store.Store, sp analytics.Span, now time.Time) (T, error)) (T, error) {
	var out T
	err := withStats(ctx, sys, o.configPath, o.port,
		func(ctx context.Context, c control.Client) (err error) {
			out, err = remote(ctx, c)
			return err
		},
		func(ctx context.Context, db *store.Store) error {
			now := sys.Now()
			sp, err := analytics.Resolve(o.query, now, sys.location())
			if err == nil {
				out, err = local(ctx, db, sp, now)
			}
			return err
		})
	return out, err
}

// printReport prints a report as a table, with a total.
func printReport(w io.Writer, r *control.Report, o reportOptions, width int) error {
	what := map[string]string{"daily": "per day", "weekly": "per week", "monthly": "per month", "session": "per session"}[r.Report]
	fmt.Fprintf(w, "cco stats %s: %s, %s (%s)\n\n", r.Report, what, reportSpan(r.Since, r.Until), r.TimeZone)
	if len(r.Rows) == 0 {
		fmt.Fprintln(w, "no requests in the range")
		return nil
	}
	key := map[string]string{"daily": "DATE", "weekly": "WEEK OF", "monthly": "MONTH", "session": "SESSION"}[r.Report]
	t := &table{cols: []column{{head: key}}}
	if r.Report == "session" {
		t.cols = append(t.cols, column{head: "ACTIVE", prio: 3})
	}
	// A session's models come before its token kinds; a day's after.
	split, models := 6, 8
	if r.Report == "session" {
		split, models = 8, 5
	}
	t.cols = append(t.cols,
		column{head: "REQS", right: true, prio: 4},
		column{head: "INPUT", right: true, prio: split},
		column{head: "OUTPUT", right: true, prio: split},
		column{head: "WRITE", right: true, prio: split + 1},
		column{head: "READ", right: true, prio: split + 1},
		column{head: "TOKENS", right: true, prio: 2},
		column{head: "COST", right: true},
		column{head: "SAVED", right: true, prio: 5},
		column{head: "MODELS", prio: models, fill: true},
	)
	cells := func(k, active string, x control.Totals, tokens int64, models []string) []string {
		c := []string{k}
		if r.Report == "session" {
			c = append(c, active)
		}
		short := make([]string, len(models))
		for i, m := range models {
			short[i] = shortModel(m)
		}
		return append(c, strconv.FormatInt(x.Requests, 10), shortTokens(x.InputTokens), shortTokens(x.OutputTokens),
			shortTokens(x.CacheWrite5mTokens+x.CacheWrite1hTokens), shortTokens(x.CacheReadTokens), shortTokens(tokens),
			cost(x), pricing.FormatUSD(x.CacheSavingsNanoUSD+x.PromptCacheSavingsNanoUSD), strings.Join(short, ", "))
	}
	for _, row := range r.Rows {
		k, active := row.Key, ""
		if r.Report == "session" {
			k = k[:min(len(k), 8)]
			active = activeSpan(row.First, row.Last)
		}
		t.add(cells(k, active, row.Totals, row.Tokens, row.Models)...)
		if o.breakdown {
			for _, m := range row.ByModel {
				t.add(cells("└ "+shortModel(m.Model), "", m.Totals, modelTokens(m.Totals), nil)...)
			}
		}
	}
	t.rule()
	t.add(cells("TOTAL", "", r.Totals, r.Tokens, nil)...)
	maxPrio := -1
	if o.compact {
		maxPrio = 2
	}
	if err := t.write(w, width, maxPrio); err != nil {
		return err
	}
	if r.Report == "session" && !o.json {
		fmt.Fprintln(w, "\nSESSION: the session id's start (--json has it whole).")
	}
	return nil
}

// cost prints a cost, with a mark when some requests had no price.
func cost(x control.Totals) string {
	s := pricing.FormatUSD(x.CostNanoUSD)
	if x.UnknownCost > 0 {
		s += "+?"
	}
	return s
}

func modelTokens(x control.Totals) int64 {
	return x.InputTokens + x.OutputTokens + x.CacheWrite5mTokens + x.CacheWrite1hTokens + x.CacheReadTokens
}

// reportSpan says which dates a report covers.
func reportSpan(since, until string) string {
	day := func(s string) string { return s[:min(len(s), 10)] }
	last := until
	if t, err := time.Parse(time.RFC3339, until); err == nil {
		last = t.Add(-time.Nanosecond).Format(time.DateOnly)
	}
	if since == "" {
		return "up to " + day(last)
	}
	return day(since) + " to " + day(last)
}

// activeSpan is a session's first and last request: "12-05 14:03-16:40",
// or with both dates when they differ.
func activeSpan(first, last string) string {
	f, err1 := time.Parse(time.RFC3339, first)
	l, err2 := time.Parse(time.RFC3339, last)
	if err1 != nil || err2 != nil {
		return ""
	}
	if f.Format(time.DateOnly) == l.Format(time.DateOnly) {
		return f.Format("01-02 15:04") + "-" + l.Format("15:04")
	}
	return f.Format("01-02 15:04") + "-" + l.Format("01-02 15:04")
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/analytics"
	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/runstate"
	"github.com/visiquate/cco/pkg/store"
)

type statsOptions struct {
	configPath string
	rangeName  string
	by         string
	json       bool
	port       int
}

func statsCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "stats",
		Usage: "print requests, tokens, costs and savings",
		Description: "Asks the running instance (/api/stats); with none running, reads the analytics\n" +
			"database itself. Ranges: today, 7d, 30d, all (days in the local time zone).\n" +
			"--by groups the range per model, user (x-cco-user, else the API key's hash),\n" +
			"Claude Code session, replica (server.replica) or day.",
		Subcommands: append(reportCommands(sys), blocksCommand(sys), importCommand(sys)),
		Flags: []cli.Flag{
			configFlag(),
			&cli.StringFlag{Name: "range", Value: "today", Usage: "today, 7d, 30d or all"},
			&cli.StringFlag{Name: "by", Usage: "group by model, user, session, replica or day"},
			&cli.BoolFlag{Name: "json", Usage: "print the /api/stats JSON"},
			&cli.IntFlag{Name: "port", Usage: "the instance on `PORT`"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := statsOptions{configPath: c.String("config"), rangeName: c.String("range"), by: c.String("by"), json: c.Bool("json"), port: c.Int("port")}
			if _, _, err := analytics.Range(o.rangeName, sys.Now(), sys.location()); err != nil {
				return usagef("--range: %v", err)
			}
			if err := analytics.CheckBy(o.by); err != nil {
				return usagef("--by: %v", err)
			}
			return runStats(c.Context, sys, o)
		},
	}
}

func runStats(ctx context.Context, sys *System, o statsOptions) error {
	var report *control.Stats
	err := withStats(ctx, sys, o.configPath, o.port,
		func(ctx context.Context, c control.Client) error {
			r, err := c.Stats(ctx, o.rangeName, o.by)
			report = &r
			return err
		},
		func(ctx context.Context, db *store.Store) (err error) {
			report, err = analytics.Report(ctx, db, o.rangeName, o.by, sys.Now(), sys.location(), 0, nil)
			return err
		})
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(sys.Stdout, report)
	}
	return printStats(sys.Stdout, report)
}

// withStats asks the running instance (remote), or with none running
// opens the analytics database itself (local).
func withStats(ctx context.Context, sys *System, configPath string, port int,
	remote func(context.Context, control.Client) error, local func(context.Context, *store.Store) error) error {
	lc, err := loadConfig(sys, configPath, nil, false)
	if err != nil {
		return err
	}
	running, _, err := runstate.List(lc.paths.PidDir())
	if err != nil {
		return err
	}
	st, err := instanceFlags{port: port}.one(running)
	switch {
	case err == nil:
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return remote(ctx, control.Client{HTTP: sys.HTTP, BaseURL: st.BaseURL()})
	case errors.Is(err, errNoneRunning): // with none running, the database itself
		db, err := openAnalytics(ctx, sys, lc.resolved.Config)
		if err != nil {
			return err
		}
		defer db.Close()
		return local(ctx, db)
	}
	return err
}

// openAnalytics opens the database when no instance runs.
func openAnalytics(ctx context.Context, sys *System, cfg config.Config) (*store.Store, error) {
	opts, err := analyticsOptions(sys, cfg)
	if err != nil {
		return nil, err
	}
	if opts.Path != "" {
		if _, err := os.Stat(opts.Path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no analytics yet: %s does not exist (it is created by `cco run`)", opts.Path)
		}
	}
	return store.Open(ctx, opts)
}

// analyticsOptions are the store options of the configured database: a
// PostgreSQL URL, or the SQLite file's path.
func analyticsOptions(sys *System, cfg config.Config) (store.Options, error) {
	opts := store.Options{Now: sys.Now}
	if config.IsPostgresURL(cfg.Database.URL) {
		opts.URL, opts.Name = cfg.Database.URL, config.RedactURL(cfg.Database.URL)
		return opts, nil
	}
	path, err := config.SQLitePath(cfg.Database.URL)
	if err != nil {
		return opts, &config.Error{Key: "database.url", Msg: err.Error()}
	}
	opts.Path = path
	return opts, nil
}

func printStats(w io.Writer, s *control.Stats) error {
	t := s.Totals
	span := "since the beginning"
	if s.From != "" {
		span = "since " + strings.Replace(s.From, "T", " ", 1)
	}
	fmt.Fprintf(w, "cco stats: %s (%s)\n\n", s.Range, span)
	fmt.Fprintf(w, "requests      %d (%d errors; %d from cco's cache, %.1f%%; %d with unknown cost)\n",
		t.Requests, t.Errors, t.CacheHits, 100*s.CacheHitRate, t.UnknownCost)
	fmt.Fprintf(w, "tokens        input %d, output %d, cache write 5m %d, cache write 1h %d, cache read %d\n",
		t.InputTokens, t.OutputTokens, t.CacheWrite5mTokens, t.CacheWrite1hTokens, t.CacheReadTokens)
	fmt.Fprintf(w, "cost          %s\n", pricing.FormatUSD(t.CostNanoUSD))
	fmt.Fprintf(w, "saved         %s by cco's cache, %s by prompt caching\n",
		pricing.FormatUSD(t.CacheSavingsNanoUSD), pricing.FormatUSD(t.PromptCacheSavingsNanoUSD))
	if s.DroppedRecords > 0 {
		fmt.Fprintf(w, "not recorded  %d requests (the analytics queue was full)\n", s.DroppedRecords)
	}
	printLimits(w, s)
	if s.By != "" {
		return printGroups(w, s)
	}
	if len(s.ByModel) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MODEL\tREQUESTS\tINPUT\tOUTPUT\tCACHE WRITE\tCACHE READ\tCOST")
		for _, m := range s.ByModel {
			cost := pricing.FormatUSD(m.CostNanoUSD)
			if m.UnknownCost > 0 {
				cost += " (+ unknown)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", m.Model, m.Requests, m.InputTokens, m.OutputTokens,
				m.CacheWrite5mTokens+m.CacheWrite1hTokens, m.CacheReadTokens, cost)
		}
		tw.Flush()
	}
	if len(s.ByDay) > 1 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DAY\tREQUESTS\tCACHE HITS\tCOST\tSAVED")
		for _, d := range s.ByDay {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", d.Day, d.Requests, d.CacheHits, pricing.FormatUSD(d.CostNanoUSD),
				pricing.FormatUSD(d.CacheSavingsNanoUSD+d.PromptCacheSavingsNanoUSD))
		}
		tw.Flush()
	}
	return nil
}

// printGroups prints Stats.Groups, one line per group.
func printGroups(w io.Writer, s *control.Stats) error {
	fmt.Fprintln(w)
	if len(s.Groups) == 0 {
		fmt.Fprintf(w, "no requests to group by %s\n", s.By)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tREQUESTS\tERRORS\tTOKENS IN/OUT\tCACHE HITS\tCOST\tSAVED\n", strings.ToUpper(s.By))
	for _, g := range s.Groups {
		key := g.Key
		if key == "" {
			key = "(none)"
		}
		cost := pricing.FormatUSD(g.CostNanoUSD)
		if g.UnknownCost > 0 {
			cost += " (+ unknown)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d\t%d\t%s\t%s\n", key, g.Requests, g.Errors,
			g.InputTokens+g.CacheWrite5mTokens+g.CacheWrite1hTokens+g.CacheReadTokens, g.OutputTokens, g.CacheHits, cost,
			pricing.FormatUSD(g.CacheSavingsNanoUSD+g.PromptCacheSavingsNanoUSD))
	}
	return tw.Flush()
}

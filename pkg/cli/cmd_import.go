package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/analytics"
	"github.com/visiquate/cco/pkg/claudelog"
	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/daemon"
	"github.com/visiquate/cco/pkg/pricing"
	"github.com/visiquate/cco/pkg/store"
)

// defaultMinAge is how young a message `cco stats import` leaves alone: a
// running cco writes its own row of a request when the answer has ended,
// within a second; Claude Code logs each content block as it comes.
const defaultMinAge = 10 * time.Minute

type importOptions struct {
	configPath string
	claudeDirs []string // as given; none: the default folders
	minAge     time.Duration
	dryRun     bool
	json       bool
	verbose    bool
}

// importCommand is `cco stats import`: Claude Code's session logs into
// the analytics database.
func importCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "add the usage in Claude Code's session logs (~/.claude/projects) to the analytics",
		Description: "Reads every *.jsonl under the projects/ folder of Claude Code's config folder\n" +
			"($CLAUDE_CONFIG_DIR, else ~/.claude and ~/.config/claude) and adds each assistant\n" +
			"message as a request, priced with cco's price table and marked imported. A message\n" +
			"already in the database (by its request id or message id: recorded by cco, or\n" +
			"imported before) is skipped, so running it again adds nothing. Malformed lines are\n" +
			"counted and skipped. Messages older than database.retention, and those of the\n" +
			"last --min-age (which a running cco may still be recording), are left out.",
		Flags: []cli.Flag{
			configFlag(),
			&cli.StringSliceFlag{Name: "claude-dir", Usage: "Claude Code's config folder `DIR` (or its projects folder); may be repeated"},
			&cli.DurationFlag{Name: "min-age", Value: defaultMinAge, Usage: "leave out messages younger than `DURATION`"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "read and count, write nothing"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "list the malformed lines (the first 20)"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := importOptions{configPath: c.String("config"), claudeDirs: c.StringSlice("claude-dir"), minAge: c.Duration("min-age"),
				dryRun: c.Bool("dry-run"), json: c.Bool("json"), verbose: c.Bool("verbose")}
			if o.minAge < 0 {
				return usagef("--min-age: negative duration %v", o.minAge)
			}
			return runImport(c.Context, sys, o)
		},
	}
}

// logDirs are the projects folders to read: those of the folders given,
// each of which must have one, or those of the default folders that exist.
func logDirs(sys *System, given []string) ([]string, error) {
	var dirs []string
	if len(given) > 0 {
		for _, d := range given {
			p, ok := claudelog.ProjectsDir(d)
			if !ok {
				return nil, fmt.Errorf("no Claude Code logs in %s: it has no projects folder", d)
			}
			dirs = append(dirs, p)
		}
		return dirs, nil
	}
	tried := claudelog.DefaultDirs(sys.LookupEnv, sys.Home)
	for _, d := range tried {
		if p, ok := claudelog.ProjectsDir(d); ok && !slices.Contains(dirs, p) {
			dirs = append(dirs, p)
		}
	}
	if len(dirs) == 0 {
		for i := range tried {
			tried[i] = filepath.Join(tried[i], "projects")
		}
		missing := tried[0] + " does not exist"
		if len(tried) > 1 {
			missing = "neither " + strings.Join(tried, " nor ") + " exists"
		}
		return nil, fmt.Errorf("no Claude Code logs found: %s (name the folder with --claude-dir)", missing)
	}
	return dirs, nil
}

func runImport(ctx context.Context, sys *System, o importOptions) error {
	lc, err := loadConfig(sys, o.configPath, nil, false)
	if err != nil {
		return err
	}
	cfg := lc.resolved.Config
	dirs, err := logDirs(sys, o.claudeDirs)
	if err != nil {
		return err
	}
	prices, err := daemon.LoadPrices(cfg.Pricing.File)
	if err != nil {
		return err
	}
	var log claudelog.Log
	for _, d := range dirs {
		if err := log.ReadDir(d); err != nil {
			return fmt.Errorf("read Claude Code logs in %s: %w", d, err)
		}
	}
	now := sys.Now()
	opts := analytics.ImportOptions{Prices: prices, DryRun: o.dryRun}
	if o.minAge > 0 {
		opts.To = now.Add(-o.minAge)
	}
	if cfg.Database.Retention > 0 {
		opts.From = now.Add(-cfg.Database.Retention)
	}
	// The database directly, whether or not an instance is running: SQLite
	// lets a second process write (WAL; it waits up to the busy timeout for
	// the instance's batch), and PostgreSQL takes any number. A new user's
	// database is created here.
	db, err := openForImport(ctx, sys, cfg, o.dryRun)
	if err != nil {
		return err
	}
	rep, err := analytics.Import(ctx, db, &log, opts)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	rep.Dirs = dirs
	if o.json {
		return writeJSON(sys.Stdout, rep)
	}
	return printImport(sys.Stdout, rep, sys.Home, cfg.Database.Retention, o.minAge, o.verbose)
}

// openForImport opens (creating it if needed) the analytics database. A
// dry run without a SQLite database creates none: it runs on an empty one
// of its own, removed when it is closed.
func openForImport(ctx context.Context, sys *System, cfg config.Config, dryRun bool) (*tempStore, error) {
	opts, err := analyticsOptions(sys, cfg)
	if err != nil {
		return nil, err
	}
	tmp := ""
	if _, err := os.Stat(opts.Path); opts.Path != "" && dryRun && errors.Is(err, fs.ErrNotExist) {
		if tmp, err = os.MkdirTemp("", "cco-import-"); err != nil {
			return nil, err
		}
		opts.Path = filepath.Join(tmp, "analytics.db")
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, err
	}
	return &tempStore{Store: db, dir: tmp}, nil
}

// tempStore is a store, and the folder to remove when it is closed ("" for
// none).
type tempStore struct {
	*store.Store
	dir string
}

func (s *tempStore) Close() error {
	err := s.Store.Close()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	return err
}

// printImport prints the report, with the folders under home written
// from ~; verbose lists the problems kept.
func printImport(w io.Writer, r *analytics.ImportReport, home string, retention, minAge time.Duration, verbose bool) error {
	would := ""
	if r.DryRun {
		would = " (dry run: nothing written)"
	}
	dirs := make([]string, len(r.Dirs))
	for i, d := range r.Dirs {
		dirs[i] = d
		if rel, err := filepath.Rel(home, d); home != "" && err == nil && filepath.IsLocal(rel) {
			dirs[i] = filepath.Join("~", rel)
		}
	}
	fmt.Fprintf(w, "cco stats import: %s%s\n\n", strings.Join(dirs, ", "), would)
	fmt.Fprintf(w, "files          %d (%d unreadable)\n", r.Files, r.Unreadable)
	fmt.Fprintf(w, "lines          %d (%d assistant: %d messages, %d repeated lines, %d synthetic)\n",
		r.Lines, r.Assistant, r.Messages, r.Repeated, r.Synthetic)
	fmt.Fprintf(w, "versions       %s\n", versions(r.Versions))
	fmt.Fprintf(w, "malformed      %d lines skipped\n", r.Malformed)
	var out []string
	if retention > 0 {
		out = append(out, fmt.Sprintf("%d older than database.retention (%s)", r.TooOld, days(retention)))
	}
	if minAge > 0 {
		out = append(out, fmt.Sprintf("%d from the last %s", r.TooRecent, minAge))
	}
	if len(out) > 0 {
		fmt.Fprintf(w, "left out       %s\n", strings.Join(out, ", "))
	}
	fmt.Fprintf(w, "already there  %d (recorded by cco, or imported before)\n", r.Present)
	verb := "imported"
	if r.DryRun {
		verb = "would import"
	}
	unknown := ""
	if r.Totals.UnknownCost > 0 {
		unknown = fmt.Sprintf("; %d with no price: %s", r.Totals.UnknownCost, strings.Join(r.UnknownModels, ", "))
	}
	fmt.Fprintf(w, "%-14s %d requests%s\n", verb, r.Imported, unknown)
	t := r.Totals
	fmt.Fprintf(w, "tokens         input %d, output %d, cache write 5m %d, cache write 1h %d, cache read %d\n",
		t.InputTokens, t.OutputTokens, t.CacheWrite5mTokens, t.CacheWrite1hTokens, t.CacheReadTokens)
	fmt.Fprintf(w, "cost           %s\n", pricing.FormatUSD(t.CostNanoUSD))
	if r.Malformed+r.Unreadable > 0 {
		if !verbose {
			fmt.Fprintln(w, "\n-v lists the malformed lines")
			return nil
		}
		fmt.Fprintln(w)
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		if n := r.Malformed + r.Unreadable - len(r.Problems); n > 0 {
			fmt.Fprintf(w, "  and %d more\n", n)
		}
	}
	return nil
}

// versions lists the versions of Claude Code seen, each with its
// messages, oldest version first.
func versions(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareVersions)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if name == "" {
			name = "unknown"
		}
		parts[i] = fmt.Sprintf("%s (%d)", name, m[k])
	}
	return strings.Join(parts, ", ")
}

// compareVersions orders dotted versions by their numbers ("1.0.9" before
// "1.0.10").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range min(len(as), len(bs)) {
		if len(as[i]) != len(bs[i]) {
			return len(as[i]) - len(bs[i])
		}
		if c := strings.Compare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return len(as) - len(bs)
}

// days writes a duration of whole days as "365d".
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

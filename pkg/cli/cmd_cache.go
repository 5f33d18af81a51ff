package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/control"
)

type cacheOptions struct {
	port  int
	json  bool
	clear bool
}

func cacheCommand(sys *System) *cli.Command {
	portFlag := &cli.IntFlag{Name: "port", Usage: "the instance on `PORT`"}
	run := func(c *cli.Context, clear bool) error {
		if err := noArgs(c); err != nil {
			return err
		}
		return runCache(c.Context, sys, cacheOptions{port: c.Int("port"), json: c.Bool("json"), clear: clear})
	}
	return &cli.Command{
		Name:  "cache",
		Usage: "show or clear the running instance's response cache",
		Subcommands: []*cli.Command{
			{
				Name:   "stats",
				Usage:  "print entries, size, hits and misses",
				Flags:  []cli.Flag{portFlag, &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(c *cli.Context) error { return run(c, false) },
			},
			{
				Name:   "clear",
				Usage:  "drop every cached answer",
				Flags:  []cli.Flag{portFlag},
				Action: func(c *cli.Context) error { return run(c, true) },
			},
		},
	}
}

// runCache talks to the instance's token-protected control API.
func runCache(ctx context.Context, sys *System, o cacheOptions) error {
	st, err := runningInstance(sys, o.port)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client := control.Client{HTTP: sys.HTTP, BaseURL: st.BaseURL()}
	if o.clear {
		if err := client.ClearCache(ctx, st.Token); err != nil {
			return err
		}
		fmt.Fprintf(sys.Stdout, "cleared the response cache of cco on port %d\n", st.Port)
		return nil
	}
	s, err := client.CacheStats(ctx, st.Token)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(sys.Stdout, s)
	}
	if !s.Enabled {
		fmt.Fprintln(sys.Stdout, "the response cache is off (cache.enabled = false, or cache.size = 0)")
		return nil
	}
	fmt.Fprintf(sys.Stdout, "entries   %d\nsize      %s of %s\nttl       %s\nhits      %d (%.1f%% of lookups)\nmisses    %d\nbypassed  %d\nstored    %d\n",
		s.Entries, config.FormatSize(s.Bytes), config.FormatSize(s.MaxBytes), s.TTL, s.Hits, 100*s.HitRate, s.Misses, s.Bypasses, s.Stores)
	return nil
}

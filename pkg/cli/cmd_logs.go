package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/logging"
	"github.com/visiquate/cco/pkg/runstate"
)

type logsOptions struct {
	configPath string
	port       int // 0: the running instance, else the configured port
	lines      int
	follow     bool
}

func logsCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "logs",
		Usage: "print an instance's log, rotated files included",
		Description: "Without --port it shows the running instance's log, or the configured port's\n" +
			"log when none is running.",
		Flags: []cli.Flag{
			configFlag(),
			&cli.IntFlag{Name: "port", Usage: "the instance on `PORT`"},
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: 50, Usage: "print the last `N` lines"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines until interrupted"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := logsOptions{configPath: c.String("config"), port: c.Int("port"), lines: c.Int("lines"), follow: c.Bool("follow")}
			if o.lines < 0 {
				return usagef("--lines must not be negative")
			}
			if c.IsSet("port") && (o.port < 1 || o.port > 65535) {
				return usagef("--port %d is not a port", o.port)
			}
			return runLogs(c.Context, sys, o)
		},
	}
}

func runLogs(ctx context.Context, sys *System, o logsOptions) error {
	file, err := logFileFor(sys, o)
	if err != nil {
		return err
	}
	files, err := logging.FileSet(file)
	if err != nil {
		return err
	}
	if len(files) == 0 && !o.follow {
		return fmt.Errorf("no log at %s", file)
	}
	lines, offset, err := logging.Tail(files, o.lines)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(sys.Stdout, l)
	}
	if !o.follow {
		return nil
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(files) == 0 || files[len(files)-1] != file {
		offset = 0 // the current file does not exist yet: follow it from its start
		if err := waitForFile(ctx, file); err != nil {
			return nil
		}
	}
	return logging.Follow(ctx, file, offset, sys.Stdout, 200*time.Millisecond)
}

// logFileFor picks the log: --port's, else the running instance's, else
// the configured port's.
func logFileFor(sys *System, o logsOptions) (string, error) {
	lc, err := loadConfig(sys, o.configPath, nil, false)
	if err != nil {
		return "", err
	}
	running, _, err := runstate.List(lc.paths.PidDir())
	if err != nil {
		return "", err
	}
	port := o.port
	st, err := instanceFlags{port: o.port}.one(running)
	switch {
	case err == nil:
		if st.LogFile != "" {
			return st.LogFile, nil
		}
		port = st.Port
	case !notRunning(err):
		return "", err
	case port == 0: // none running: the configured port's log
		port = lc.resolved.Config.Server.Port
	}
	return filepath.Join(lc.paths.LogDir(), "cco-"+strconv.Itoa(port)+".log"), nil
}

func waitForFile(ctx context.Context, path string) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/service"
)

type serviceOptions struct {
	scope  service.Scope
	action string // status, start, stop, restart, logs
	lines  int
	follow bool
}

func serviceCommand(sys *System) *cli.Command {
	sub := func(name, usage string, extra ...cli.Flag) *cli.Command {
		return &cli.Command{
			Name:  name,
			Usage: usage,
			Flags: append(scopeFlags(), extra...),
			Action: func(c *cli.Context) error {
				scope, err := scopeFrom(c, sys, true)
				if err != nil {
					return err
				}
				o := serviceOptions{scope: scope, action: name, lines: c.Int("lines"), follow: c.Bool("follow")}
				if o.lines < 0 {
					return usagef("--lines must not be negative")
				}
				return runService(c.Context, sys, o)
			},
		}
	}
	return &cli.Command{
		Name:      "service",
		Usage:     "control the service `cco install` made",
		UsageText: "cco service status|start|stop|restart|logs [--user | --system]",
		Description: "Without --user or --system: your own service if you have one, else the machine's\n" +
			"(on Windows, always the machine's).",
		Subcommands: []*cli.Command{
			sub("status", "what the service manager says about cco (exit 3 when it is not running)"),
			sub("start", "start the service"),
			sub("stop", "stop the service until the next start, login or boot"),
			sub("restart", "restart the service"),
			sub("logs", "print the service's log: the systemd journal on Linux, cco's log file elsewhere",
				&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: 50, Usage: "print the last `N` lines"},
				&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines until interrupted"}),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown command %q; see `cco service --help`", c.Args().First())
			}
			return usagef("say what to do: cco service status|start|stop|restart|logs")
		},
	}
}

func runService(ctx context.Context, sys *System, o serviceOptions) error {
	h := serviceHost(sys)
	var err error
	switch o.action {
	case "status":
		return serviceStatus(ctx, sys, h, o.scope)
	case "logs":
		return serviceLogs(ctx, sys, h, o)
	case "start":
		err = h.Start(ctx, o.scope)
	case "stop":
		err = h.Stop(ctx, o.scope)
	case "restart":
		err = h.Restart(ctx, o.scope)
	}
	switch {
	case errors.Is(err, service.ErrWindowsUser):
		return usageError{err}
	case errors.Is(err, service.ErrNotInstalled):
		return exitStatus{code: exitNotRunning, msg: fmt.Sprintf("cco is not installed as a %s service; install it with `cco install%s`", o.scope, scopeArg(sys, o.scope))}
	case err != nil:
		return err
	}
	fmt.Fprintf(sys.Stdout, "%s: done\n", o.action)
	return nil
}

func serviceStatus(ctx context.Context, sys *System, h *service.Host, scope service.Scope) error {
	st, err := h.Status(ctx, scope)
	if errors.Is(err, service.ErrWindowsUser) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if !st.Installed {
		return exitStatus{code: exitNotRunning, msg: fmt.Sprintf("cco is not installed as a %s service (%s); install it with `cco install%s`", scope, st.Manager, scopeArg(sys, scope))}
	}
	line := fmt.Sprintf("cco's %s service (%s): %s", scope, st.Manager, st.State)
	if st.PID > 0 {
		line += fmt.Sprintf(", pid %d", st.PID)
	}
	if st.Restarts > 0 {
		line += fmt.Sprintf(", restarted %d times after failures", st.Restarts)
	}
	fmt.Fprintln(sys.Stdout, line)
	if st.Path != "" {
		fmt.Fprintf(sys.Stdout, "defined in %s\n", st.Path)
	}
	if !st.Running {
		return exitStatus{code: exitNotRunning}
	}
	return nil
}

// serviceLogs reads the journal on Linux; elsewhere the service's own log
// file, found as `cco logs` finds it but in the scope's folders.
func serviceLogs(ctx context.Context, sys *System, h *service.Host, o serviceOptions) error {
	if sys.GOOS == "linux" {
		return h.Logs(ctx, o.scope, sys.Stdout, o.lines, o.follow)
	}
	s := *sys
	if env := h.SystemFolderEnv(); o.scope == service.System && env != nil {
		s.LookupEnv = func(k string) (string, bool) {
			if v, ok := env[k]; ok {
				return v, true
			}
			if k == "CCO_CONFIG" {
				return "", false
			}
			return sys.LookupEnv(k)
		}
	}
	return runLogs(ctx, &s, logsOptions{lines: o.lines, follow: o.follow})
}

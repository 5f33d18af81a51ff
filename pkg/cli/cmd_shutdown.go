package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/runstate"
)

type shutdownOptions struct {
	port    int // 0: the only running instance
	all     bool
	timeout time.Duration
}

func shutdownCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:  "shutdown",
		Usage: "stop running instances gracefully and wait until they are gone",
		Description: "Asks the instance to stop through its token-protected control API and falls back\n" +
			"to SIGTERM when that does not answer. Without --port or --all it stops the only\n" +
			"running instance.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "port", Usage: "stop the instance on `PORT`"},
			&cli.BoolFlag{Name: "all", Usage: "stop every running instance"},
			&cli.DurationFlag{Name: "timeout", Value: time.Minute, Usage: "how long to wait for each instance to exit"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := shutdownOptions{port: c.Int("port"), all: c.Bool("all"), timeout: c.Duration("timeout")}
			if o.all && c.IsSet("port") {
				return usagef("use --port or --all, not both")
			}
			if c.IsSet("port") && (o.port < 1 || o.port > 65535) {
				return usagef("--port %d is not a port", o.port)
			}
			return runShutdown(c.Context, sys, o)
		},
	}
}

func runShutdown(ctx context.Context, sys *System, o shutdownOptions) error {
	dir, err := pidDir(sys)
	if err != nil {
		return err
	}
	running, _, err := runstate.List(dir)
	if err != nil {
		return err
	}
	targets, err := instanceFlags{port: o.port, all: o.all, allowAll: true}.choose(running)
	if err != nil {
		return err
	}
	if len(targets) == 0 { // --all with nothing running
		fmt.Fprintln(sys.Stdout, "no cco instance is running")
		return nil
	}
	var errs []error
	for _, st := range targets {
		if err := stopInstance(ctx, sys, st, o.timeout); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(sys.Stdout, "stopped cco on port %d (pid %d)\n", st.Port, st.PID)
		if st.Service != "" {
			fmt.Fprintf(sys.Stderr, "cco: note: %s ran it and may start it again; `cco service stop` stops the service\n", runBy(st.Service))
		}
	}
	return errors.Join(errs...)
}

// stopInstance asks over the control API, falls back to a signal, and
// waits for the process to be gone.
func stopInstance(ctx context.Context, sys *System, st runstate.State, timeout time.Duration) error {
	reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := control.Client{HTTP: sys.HTTP, BaseURL: st.BaseURL()}.Shutdown(reqCtx, st.Token)
	cancel()
	if err != nil {
		// Signal the pid only if what answers on the port is not another
		// process: a state file can outlive its instance.
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		h, herr := control.Client{HTTP: sys.HTTP, BaseURL: st.BaseURL()}.Health(hctx)
		cancel()
		if herr == nil && h.PID != st.PID {
			return fmt.Errorf("port %d is served by pid %d, not pid %d as its state file says; not signalling pid %d", st.Port, h.PID, st.PID, st.PID)
		}
		fmt.Fprintf(sys.Stderr, "cco: port %d: control API refused or did not answer (%v); sending a stop signal to pid %d\n", st.Port, err, st.PID)
		if err := runstate.Terminate(st.PID); err != nil && runstate.Running(st.PID) {
			return fmt.Errorf("stop pid %d: %w", st.PID, err)
		}
	}
	if !runstate.WaitGone(st.PID, timeout) {
		return fmt.Errorf("cco on port %d (pid %d) is still running after %s", st.Port, st.PID, timeout)
	}
	// A clean exit removed the state file already; a killed process did not.
	return runstate.Remove(st)
}

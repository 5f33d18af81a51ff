package service

import (
	"context"
	"errors"
	"io"
	"os/exec"
)

// Runner runs the service managers' programs (launchctl, systemctl,
// journalctl). Tests record the calls instead.
type Runner interface {
	// Run runs name with args, writing its standard output and error to
	// out, and returns its exit code. err is only for a program that could
	// not be run at all.
	Run(ctx context.Context, out io.Writer, name string, args ...string) (code int, err error)
}

// ExecRunner runs programs found on PATH.
type ExecRunner struct{}

// Run implements Runner.
func (ExecRunner) Run(ctx context.Context, out io.Writer, name string, args ...string) (int, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

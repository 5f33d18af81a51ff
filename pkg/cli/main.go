// Package cli is cco's command line: one file per command on urfave/cli/v2
// (which lives only here), and the one place where errors become exit codes.
//
// Every command is an options struct, a function that fills it from flags,
// and a run function that writes only to the streams in System. Commands
// that act on a running instance choose it with instanceFlags (instances.go),
// so that "which instance" has one answer and one set of messages; every
// --json output goes through writeJSON.
//
// It sits at the top and may import any cco package below it. It imports:
//   - config: settings, their sources, platform paths (every command);
//   - daemon: a running instance, for `cco run`;
//   - runstate: the state files that say which instances run;
//   - control: the client of a running instance's control API;
//   - analytics, store and pricing: `cco stats` without a running instance,
//     and its money figures;
//   - claudelog: Claude Code's session logs, which `cco stats import` reads;
//   - limits: the wording of the spend limits' resets in `cco stats`;
//   - logging: the log files `cco logs` reads and follows;
//   - credentials and secret: `cco credentials`, and the keys `cco run` reads,
//     held as secrets that never print;
//   - service: launchd, systemd and Windows service install and control;
//   - update: `cco update` and the install-method check of `cco install`;
//   - version: the build being run.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	// The reports' --timezone and the instance's ?tz= load IANA zones;
	// Windows has no zone database of its own.
	_ "time/tzdata"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/service"
	"github.com/visiquate/cco/pkg/version"
)

// Exit codes.
const (
	exitOK         = 0
	exitFailure    = 1 // the command failed
	exitUsage      = 2 // bad flags, arguments or configuration
	exitNotRunning = 3 // status/shutdown: no instance is running
)

// System is the outside world a command may touch. Main fills it from the
// process; tests may fill it themselves.
type System struct {
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
	LookupEnv func(string) (string, bool)
	Environ   func() []string
	Home      string
	GOOS      string
	PID       int
	Now       func() time.Time
	// Location is the time zone days are counted in (`cco stats`); nil
	// means the machine's.
	Location    *time.Location
	Interactive bool // stdin and stdout are terminals
	// Columns is the width of the terminal stdout is, 0 when it is none.
	Columns     func() int
	HTTP        *http.Client
	OpenBrowser func(url string)
	// ReadSecret asks for a secret on the terminal without echoing it; nil
	// when stdin is not a terminal.
	ReadSecret func(prompt string) ([]byte, error)
	// Services reaches launchd, systemd or the Windows service manager;
	// nil means this machine's.
	Services *service.Host
}

// Main runs cco with args (without the program name) and returns the exit
// code. It is the only entry point; cmd/cco passes its result to os.Exit.
func Main(info version.Info, args []string) int {
	home, _ := os.UserHomeDir()
	sys := &System{
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		LookupEnv:   os.LookupEnv,
		Environ:     os.Environ,
		Home:        home,
		GOOS:        runtime.GOOS,
		PID:         os.Getpid(),
		Now:         time.Now,
		Location:    time.Local,
		Interactive: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())),
		Columns: func() int {
			w, _, err := term.GetSize(int(os.Stdout.Fd()))
			if err != nil {
				return 0
			}
			return w
		},
		HTTP:        &http.Client{Timeout: 5 * time.Second},
		OpenBrowser: openBrowser,
	}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		sys.ReadSecret = func(prompt string) ([]byte, error) {
			fmt.Fprint(os.Stderr, prompt)
			defer fmt.Fprintln(os.Stderr)
			return term.ReadPassword(fd)
		}
	}
	return Run(context.Background(), info, sys, args)
}

// columns is how wide tables may be: the terminal's width, else
// $COLUMNS, else 80.
func (sys *System) columns() int {
	if sys.Columns != nil {
		if w := sys.Columns(); w > 0 {
			return w
		}
	}
	if v, ok := sys.LookupEnv("COLUMNS"); ok {
		if w, err := strconv.Atoi(v); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

// location is sys.Location, or the machine's time zone when it is nil.
func (sys *System) location() *time.Location {
	if sys.Location == nil {
		return time.Local
	}
	return sys.Location
}

// Run is Main with the world passed in.
func Run(ctx context.Context, info version.Info, sys *System, args []string) int {
	app := newApp(info, sys)
	err := app.RunContext(ctx, append([]string{"cco"}, args...))
	return exitCode(sys.Stderr, err)
}

// usageError is a mistake in how cco was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitStatus ends a command with a code, printing msg (if any) as the error.
type exitStatus struct {
	code int
	msg  string
}

func (e exitStatus) Error() string { return e.msg }

// exitCode is the one switch from errors to exit codes; the error is
// printed here, once, as "cco: ...".
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ue usageError
		ce *config.Error
		es exitStatus
	)
	code := exitFailure
	switch {
	case errors.As(err, &es):
		code = es.code
	case errors.As(err, &ue), errors.As(err, &ce):
		code = exitUsage
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "cco: %s\n", msg)
	}
	return code
}

func newApp(info version.Info, sys *System) *cli.App {
	app := &cli.App{
		Name:                 "cco",
		Usage:                "a local gateway between Claude Code and the Anthropic API",
		UsageText:            "cco [command] [options]",
		Description:          "cco runs as a local daemon: point Claude Code at it with ANTHROPIC_BASE_URL=http://127.0.0.1:3000.",
		Version:              info.Version,
		Reader:               sys.Stdin,
		Writer:               sys.Stdout,
		ErrWriter:            sys.Stderr,
		EnableBashCompletion: true,
		Suggest:              true,
		// cco decides exit codes itself, in exitCode.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown command %q; see `cco --help`", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			runCommand(info, sys),
			statusCommand(sys),
			shutdownCommand(sys),
			logsCommand(sys),
			statsCommand(sys),
			statusLineCmd(sys),
			dashboardCommand(sys),
			cacheCommand(sys),
			configCommand(sys),
			credentialsCommand(sys),
			versionCommand(info, sys),
			updateCommand(info, sys),
			installCommand(info, sys),
			uninstallCommand(sys),
			serviceCommand(sys),
			completionCommand(sys),
			manCommand(sys),
		},
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

func setUsageErrors(c *cli.Command) {
	c.OnUsageError = onUsageError
	for _, sub := range c.Subcommands {
		setUsageErrors(sub)
	}
}

func onUsageError(_ *cli.Context, err error, _ bool) error {
	return usageError{err}
}

// configFlag is --config, shared by the commands that read configuration.
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "config file `PATH` (env CCO_CONFIG)"}
}

// writeJSON is how every --json output is written: indented two spaces,
// one value, a newline at the end.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// noArgs refuses stray positional arguments.
func noArgs(c *cli.Context) error {
	if c.Args().Present() {
		return usagef("%s takes no arguments, got %q", c.Command.FullName(), strings.Join(c.Args().Slice(), " "))
	}
	return nil
}

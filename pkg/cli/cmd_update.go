package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/runstate"
	"github.com/visiquate/cco/pkg/update"
	"github.com/visiquate/cco/pkg/version"
)

type updateOptions struct {
	configPath string
	check      bool
	json       bool
	yes        bool
	force      bool
	rollback   bool
	channel    string // empty: updates.channel
	version    string
}

func updateCommand(info version.Info, sys *System) *cli.Command {
	return &cli.Command{
		Name:  "update",
		Usage: "install the newest release of cco, after verifying it",
		UsageText: "cco update [--check] [--json] [--yes] [--channel stable|beta] [--version V] [--force]\n" +
			"cco update --rollback [--yes]",
		Description: "Finds the newest release on the channel (stable sees only stable releases; beta\n" +
			"takes the newest of stable and beta), checks the archive's SHA-256 against\n" +
			"checksums.sha256 and that file's cosign signature against the key built into cco,\n" +
			"replaces the binary, runs it, and puts the old one back if it does not run. The\n" +
			"replaced binary is kept for --rollback. Installs a package manager owns (Homebrew,\n" +
			"Scoop, winget, apt/dpkg, rpm, go install) are left alone: the command to use is printed.\n" +
			"CCO_GITHUB_API_URL and CCO_UPDATE_REPO point it at a mirror.",
		Flags: []cli.Flag{
			configFlag(),
			&cli.BoolFlag{Name: "check", Usage: "only say what an update would do; change nothing"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON (no questions, no progress bar)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask before installing"},
			&cli.StringFlag{Name: "channel", Usage: "`stable` or `beta` for this run (config updates.channel, env CCO_UPDATES_CHANNEL)"},
			&cli.StringFlag{Name: "version", Usage: "install exactly release `V`, such as 2025.11.2"},
			&cli.BoolFlag{Name: "force", Usage: "allow a downgrade, a reinstall, or replacing a development build"},
			&cli.BoolFlag{Name: "rollback", Usage: "put back the binary the last update replaced"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := updateOptions{
				configPath: c.String("config"), check: c.Bool("check"), json: c.Bool("json"), yes: c.Bool("yes"),
				force: c.Bool("force"), rollback: c.Bool("rollback"), channel: c.String("channel"), version: c.String("version"),
			}
			if o.rollback && (o.check || o.version != "" || o.channel != "" || o.force) {
				return usagef("--rollback takes only --yes and --json")
			}
			// update.Request.Validate is the one check of a channel and a
			// version; run on the flags, before anything is loaded, it makes
			// a bad one a usage error.
			if _, err := (update.Request{Channel: o.channel, Version: o.version}).Validate(); err != nil {
				return flagError(err)
			}
			return runUpdate(c.Context, info, sys, o)
		},
	}
}

// canAsk says whether a question can be put: on a terminal, and not when
// the output is JSON for a program.
func (o updateOptions) canAsk(sys *System) bool { return sys.Interactive && !o.json }

// newUpdater builds the Updater from the environment: CCO_GITHUB_API_URL and
// CCO_UPDATE_REPO override where releases come from.
func newUpdater(info version.Info, sys *System, cacheDir string, progress func(string, int64, io.Reader) io.Reader) (*update.Updater, error) {
	getenv := func(k string) string { v, _ := sys.LookupEnv(k); return v }
	return update.New(update.Config{
		Info:     info,
		Repo:     getenv("CCO_UPDATE_REPO"),
		APIURL:   getenv("CCO_GITHUB_API_URL"),
		Getenv:   getenv,
		HTTP:     &http.Client{Timeout: 10 * time.Minute},
		LockDir:  cacheDir,
		Detector: update.Detector{Home: sys.Home},
		Progress: progress,
	})
}

func runUpdate(ctx context.Context, info version.Info, sys *System, o updateOptions) error {
	lc, err := loadConfig(sys, o.configPath, nil, false)
	if err != nil {
		return err
	}
	var progress func(string, int64, io.Reader) io.Reader
	if o.canAsk(sys) {
		progress = func(name string, size int64, r io.Reader) io.Reader {
			bar := progressbar.NewOptions64(size,
				progressbar.OptionSetWriter(sys.Stderr),
				progressbar.OptionSetDescription("downloading "+name),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(sys.Stderr) }),
			)
			r2 := progressbar.NewReader(r, bar)
			return &r2
		}
	}
	u, err := newUpdater(info, sys, lc.paths.CacheDir, progress)
	if err != nil {
		return err
	}
	if o.rollback {
		return runRollback(ctx, sys, u, o)
	}
	channel := o.channel
	if channel == "" {
		channel = lc.resolved.Config.Updates.Channel
	}
	req := update.Request{Channel: channel, Version: o.version, Force: o.force}
	if o.check {
		plan, err := u.Check(ctx, req)
		if err != nil {
			return err
		}
		return printPlan(sys.Stdout, plan, o.json)
	}
	plan, res, err := u.Update(ctx, req, func(p *update.Plan) bool {
		return o.yes || o.canAsk(sys) && ask(sys, fmt.Sprintf("Update cco %s to %s (%s)? [y/N] ", p.Current, p.Latest, p.Executable))
	})
	if errors.Is(err, update.ErrDeclined) && !o.canAsk(sys) {
		return usagef("cco %s is available, but this is not a terminal to ask on: run `cco update --yes` to install it", plan.Latest)
	}
	if err != nil {
		var me *update.ManagedError
		if errors.As(err, &me) && o.json {
			_ = printPlan(sys.Stdout, plan, true)
		}
		return err
	}
	if res == nil {
		return printPlan(sys.Stdout, plan, o.json)
	}
	restarts := restartInstances(ctx, sys, lc, res.To)
	if o.json {
		return writeJSON(sys.Stdout, struct {
			Plan     *update.Plan   `json:"plan"`
			Result   *update.Result `json:"result"`
			Restarts []restart      `json:"instances"`
		}{plan, res, restarts})
	}
	fmt.Fprintf(sys.Stdout, "cco updated: %s -> %s (%s)\nThe replaced binary is kept at %s; `cco update --rollback` puts it back.\n",
		res.From, res.To, res.Path, res.Previous)
	printRestarts(sys.Stdout, restarts)
	return nil
}

func runRollback(ctx context.Context, sys *System, u *update.Updater, o updateOptions) error {
	res, err := u.Rollback(ctx, func(from, to string) bool {
		return o.yes || o.canAsk(sys) && ask(sys, fmt.Sprintf("Roll cco back from %s to %s? [y/N] ", from, to))
	})
	if errors.Is(err, update.ErrDeclined) && !o.canAsk(sys) {
		return usagef("this is not a terminal to ask on: run `cco update --rollback --yes`")
	}
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(sys.Stdout, res)
	}
	fmt.Fprintf(sys.Stdout, "cco rolled back: %s -> %s (%s)\nThe binary it replaced is kept at %s; `cco update --rollback` again undoes this.\n",
		res.From, res.To, res.Path, res.Previous)
	return nil
}

// flagError makes a request update.Request.Validate refused a usage error
// that names the flag: --channel "nightly": want stable or beta.
func flagError(err error) error {
	var re *update.RequestError
	if errors.As(err, &re) {
		return usagef("--%s %q: %v", re.Field, re.Value, re.Err)
	}
	return err
}

func printPlan(w io.Writer, p *update.Plan, asJSON bool) error {
	if asJSON {
		return writeJSON(w, p)
	}
	latest := p.Latest
	if latest == "" {
		latest = "(none found)"
	}
	_, err := fmt.Fprintf(w, "current: %s (%s install: %s)\nchannel: %s\nnewest:  %s\nupdate:  %s\n",
		p.Current, p.Method, p.Executable, p.Channel, latest, p.Action)
	return err
}

// ask puts a yes/no question on the terminal; only y or yes is yes.
func ask(sys *System, question string) bool {
	fmt.Fprint(sys.Stderr, question)
	line, _ := bufio.NewReader(sys.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// restart is what happened to one running instance after an update.
type restart struct {
	Port      int    `json:"port"`
	PID       int    `json:"pid"`
	Version   string `json:"version"`
	Service   string `json:"service,omitempty"`
	Restarted bool   `json:"restarted"`
	// Command is what was run, or what the user should run.
	Command string `json:"command"`
	Error   string `json:"error,omitempty"`
}

// restartInstances restarts the running instances that still run an older
// version through their service manager, and for those started by hand
// says how to restart them the way they were started.
func restartInstances(ctx context.Context, sys *System, lc *loadedConfig, newVersion string) []restart {
	running, _, err := runstate.List(lc.paths.PidDir())
	if err != nil {
		return nil
	}
	var out []restart
	for _, st := range running {
		if st.PID == sys.PID || st.Version == newVersion {
			continue
		}
		r := restart{Port: st.Port, PID: st.PID, Version: st.Version, Service: st.Service}
		argv, canRun := serviceRestart(st.Service, os.Geteuid())
		switch {
		case argv == nil:
			port := strconv.Itoa(st.Port)
			r.Command = "cco shutdown --port " + port + " && " + shellJoin(append([]string{"cco", "run", "--port", port}, withoutPort(st.Args)...))
		case !canRun:
			r.Command = shellJoin(argv)
		default:
			r.Command = shellJoin(argv)
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			out, err := exec.CommandContext(cctx, argv[0], argv[1:]...).CombinedOutput()
			cancel()
			if err != nil {
				r.Error = strings.TrimSpace(fmt.Sprintf("%v %s", err, out))
			} else {
				r.Restarted = true
			}
		}
		out = append(out, r)
	}
	return out
}

// serviceRestart is the command that restarts a service-managed instance,
// and whether cco may run it itself (a system unit or LaunchDaemon needs
// root). service is $CCO_SERVICE as recorded in the state file (values in
// package service: systemd units, launchd agents and daemons, the Windows
// service).
func serviceRestart(service string, euid int) (argv []string, canRun bool) {
	kind, unit, ok := strings.Cut(service, ":")
	if !ok || unit == "" {
		return nil, false
	}
	switch kind {
	case "systemd-user":
		return []string{"systemctl", "--user", "restart", unit}, true
	case "systemd":
		if euid == 0 {
			return []string{"systemctl", "restart", unit}, true
		}
		return []string{"sudo", "systemctl", "restart", unit}, false
	case "launchd":
		return []string{"launchctl", "kickstart", "-k", "gui/" + strconv.Itoa(euid) + "/" + unit}, true
	case "launchd-system":
		argv := []string{"launchctl", "kickstart", "-k", "system/" + unit}
		if euid == 0 {
			return argv, true
		}
		return append([]string{"sudo"}, argv...), false
	case "windows":
		// An administrator may; anyone else sees it fail and is told to
		// run it.
		return []string{"powershell", "-NoProfile", "-Command", "Restart-Service -Name '" + strings.ReplaceAll(unit, "'", "''") + "'"}, true
	}
	return nil, false
}

func printRestarts(w io.Writer, rs []restart) {
	for _, r := range rs {
		who := fmt.Sprintf("cco on port %d (pid %d) ran %s", r.Port, r.PID, r.Version)
		switch {
		case r.Restarted:
			fmt.Fprintf(w, "%s: restarted with `%s`\n", who, r.Command)
		case r.Error != "":
			fmt.Fprintf(w, "%s: `%s` failed (%s); run it yourself\n", who, r.Command, r.Error)
		default:
			fmt.Fprintf(w, "%s and still does; restart it with: %s\n", who, r.Command)
		}
	}
}

// shellJoin quotes words for a POSIX shell where they need it.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+") == "" {
			q[i] = w
			continue
		}
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// withoutPort drops --port from recorded run options: an instance is
// restarted on the port it has, even if it was started with --port 0.
func withoutPort(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--port" && i+1 < len(args):
			i++
		case strings.HasPrefix(args[i], "--port="):
		default:
			out = append(out, args[i])
		}
	}
	return out
}

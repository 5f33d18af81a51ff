package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/daemon"
	"github.com/visiquate/cco/pkg/service"
	"github.com/visiquate/cco/pkg/version"
)

// runFlags maps each flag of `cco run` to the configuration key it sets.
var runFlags = []struct {
	name, key, usage string
	boolValue        string // for boolean flags: the value they set
}{
	{name: "host", key: "server.host", usage: "`ADDRESS` to listen on (env CCO_HOST)"},
	{name: "port", key: "server.port", usage: "`PORT` to listen on; 0 picks a free one (env CCO_PORT)"},
	{name: "upstream", key: "upstream.url", usage: "Anthropic API base `URL` (env CCO_UPSTREAM_URL)"},
	{name: "log-level", key: "log.level", usage: "trace, debug, info, warn or error (env CCO_LOG_LEVEL)"},
	{name: "log-format", key: "log.format", usage: "text or json (env CCO_LOG_FORMAT)"},
	{name: "no-browser", key: "server.open_browser", usage: "do not open the dashboard in a browser (env NO_BROWSER)", boolValue: "false"},
	{name: "allow-remote", key: "server.allow_remote", usage: "allow a --host other machines can reach (env CCO_ALLOW_REMOTE)", boolValue: "true"},
}

type runOptions struct {
	configPath string
	flags      []config.Flag
}

func runCommand(info version.Info, sys *System) *cli.Command {
	flags := []cli.Flag{configFlag()}
	for _, f := range runFlags {
		if f.boolValue != "" {
			flags = append(flags, &cli.BoolFlag{Name: f.name, Usage: f.usage})
		} else {
			flags = append(flags, &cli.StringFlag{Name: f.name, Usage: f.usage})
		}
	}
	return &cli.Command{
		Name:  "run",
		Usage: "run the gateway in the foreground until interrupted",
		Description: "Listens on 127.0.0.1:3000 unless told otherwise, writes its log to\n" +
			"logs/cco-PORT.log and its state to pids/cco-PORT.pid under the data folder,\n" +
			"and stops gracefully on SIGINT, SIGTERM or `cco shutdown`.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return runRun(c.Context, info, sys, runOptionsFrom(c))
		},
	}
}

func runOptionsFrom(c *cli.Context) runOptions {
	o := runOptions{configPath: c.String("config")}
	for _, f := range runFlags {
		if !c.IsSet(f.name) {
			continue
		}
		v := f.boolValue
		if v == "" {
			v = c.String(f.name)
		} else if !c.Bool(f.name) {
			continue
		}
		o.flags = append(o.flags, config.Flag{Key: f.key, Name: "--" + f.name, Value: v})
	}
	return o
}

func runRun(ctx context.Context, info version.Info, sys *System, o runOptions) error {
	lc, err := loadConfig(sys, o.configPath, o.flags, false)
	if err != nil {
		return err
	}
	cfg := lc.resolved.Config
	daemonProcs(sys)
	if err := protectMemory(); err != nil {
		fmt.Fprintf(sys.Stderr, "cco: warning: cannot keep secrets out of core dumps: %v\n", err)
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)

	var open func(string)
	if cfg.Server.OpenBrowser && sys.Interactive {
		open = sys.OpenBrowser
	}
	secrets, err := loadRunSecrets(sys, lc)
	if err != nil {
		return err
	}
	updates, err := updateCheck(info, sys, lc)
	if err != nil {
		return err
	}
	serviceName, _ := sys.LookupEnv("CCO_SERVICE")
	// launchd and the Windows service manager keep what cco writes to its
	// console in files they never rotate; cco's own log file has it all.
	console := sys.Stderr
	if strings.HasPrefix(serviceName, "launchd") || strings.HasPrefix(serviceName, "windows:") {
		console = io.Discard
	}
	opts := daemon.Options{
		Updates:      updates,
		Args:         o.args(),
		Service:      serviceName,
		APIKey:       secrets.APIKey,
		APIKeySource: secrets.APIKeySource,
		AccessToken:  secrets.Token,
		Config:       cfg,
		Paths:        lc.paths,
		Info:         info,
		PID:          sys.PID,
		Now:          sys.Now,
		Stdout:       sys.Stdout,
		Stderr:       console,
		OpenBrowser:  open,
		ReloadLimits: limitsReloader(sys, lc, o.flags),
	}
	// Under the Windows service manager, the manager starts and stops the
	// instance; elsewhere signals do.
	handled, err := service.RunIfService(service.WindowsName, cfg.Server.ShutdownTimeout, func(ctx context.Context) (service.Instance, error) {
		return daemon.Start(ctx, opts)
	})
	if handled {
		return err
	}
	return daemon.Run(ctx, opts, signals)
}

// args are the options as given, to start the instance again the same way.
func (o runOptions) args() []string {
	var a []string
	if o.configPath != "" {
		a = append(a, "--config", o.configPath)
	}
	for _, f := range o.flags {
		for _, rf := range runFlags {
			if "--"+rf.name != f.Name {
				continue
			}
			if rf.boolValue != "" {
				a = append(a, f.Name)
			} else {
				a = append(a, f.Name, f.Value)
			}
		}
	}
	return a
}

// updateCheck configures the background update check: off with
// updates.enabled=false or CCO_NO_UPDATE_CHECK set to anything but 0/false.
func updateCheck(info version.Info, sys *System, lc *loadedConfig) (daemon.UpdateCheck, error) {
	cfg := lc.resolved.Config.Updates
	if v, ok := sys.LookupEnv("CCO_NO_UPDATE_CHECK"); ok && v != "" && v != "0" && !strings.EqualFold(v, "false") {
		return daemon.UpdateCheck{}, nil
	}
	if !cfg.Enabled {
		return daemon.UpdateCheck{}, nil
	}
	u, err := newUpdater(info, sys, lc.paths.CacheDir, nil)
	if err != nil {
		return daemon.UpdateCheck{}, err
	}
	return daemon.UpdateCheck{Updater: u, Channel: cfg.Channel, Interval: cfg.Interval, AutoInstall: cfg.AutoInstall}, nil
}

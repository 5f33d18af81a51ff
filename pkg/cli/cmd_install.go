package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/service"
	"github.com/visiquate/cco/pkg/update"
	"github.com/visiquate/cco/pkg/version"
)

type installOptions struct {
	scope service.Scope
	port  int
	force bool
}

type uninstallOptions struct {
	scope service.Scope
	purge bool
}

// scopeFlags are --user and --system.
func scopeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "user", Usage: "your own service: a LaunchAgent, a systemd user unit (the default on macOS and Linux)"},
		&cli.BoolFlag{Name: "system", Usage: "one service for the machine: a LaunchDaemon, a systemd system unit, a Windows service (needs root or an administrator)"},
	}
}

// scopeFrom refuses arguments and reads --user/--system; without either,
// the scope whose service exists (when looking one up), else the
// platform's default.
func scopeFrom(c *cli.Context, sys *System, lookUp bool) (service.Scope, error) {
	if err := noArgs(c); err != nil {
		return 0, err
	}
	switch {
	case c.Bool("user") && c.Bool("system"):
		return 0, usagef("--user and --system exclude each other")
	case c.Bool("system"):
		return service.System, nil
	case c.Bool("user"):
		return service.User, nil
	case sys.GOOS == "windows":
		return service.System, nil
	}
	if lookUp {
		h := serviceHost(sys)
		if !fileExists(h.DefinitionPath(service.User)) && fileExists(h.DefinitionPath(service.System)) {
			return service.System, nil
		}
	}
	return service.User, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return p != "" && err == nil
}

func installCommand(info version.Info, sys *System) *cli.Command {
	return &cli.Command{
		Name:      "install",
		Usage:     "run cco as a service that starts at login or boot and comes back after a crash",
		UsageText: "cco install [--user | --system] [--port N] [--force]",
		Description: "macOS: a LaunchAgent (--system: a LaunchDaemon). Linux: a systemd user unit (--system: the\n" +
			"hardened system unit the packages ship). Windows: a Windows service (always --system).\n" +
			"The service runs this binary, from a path that survives upgrades, with the CCO_* settings\n" +
			"and proxy variables of this shell, never API keys or tokens (keep those with `cco credentials`).\n" +
			"Installing again changes nothing; --force replaces a different definition.",
		Flags: append(scopeFlags(),
			&cli.IntFlag{Name: "port", Usage: "the service listens on `PORT` (default: server.port of the config)"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing definition that differs"},
		),
		Action: func(c *cli.Context) error {
			scope, err := scopeFrom(c, sys, false)
			if err != nil {
				return err
			}
			o := installOptions{scope: scope, port: c.Int("port"), force: c.Bool("force")}
			if c.IsSet("port") && (o.port < 1 || o.port > 65535) {
				return usagef("--port %d is not a port", o.port)
			}
			return runInstall(c.Context, info, sys, o)
		},
	}
}

func uninstallCommand(sys *System) *cli.Command {
	return &cli.Command{
		Name:        "uninstall",
		Usage:       "stop cco's service and remove it",
		UsageText:   "cco uninstall [--user | --system] [--purge]",
		Description: "--purge also removes that scope's data, logs and cache (never the config file).",
		Flags: append(scopeFlags(),
			&cli.BoolFlag{Name: "purge", Usage: "also remove cco's data, logs and cache for that scope"},
		),
		Action: func(c *cli.Context) error {
			scope, err := scopeFrom(c, sys, true)
			if err != nil {
				return err
			}
			return runUninstall(c.Context, sys, uninstallOptions{scope: scope, purge: c.Bool("purge")})
		},
	}
}

// serviceHost is the machine's service managers, or the test's.
func serviceHost(sys *System) *service.Host {
	if sys.Services != nil {
		return sys.Services
	}
	getenv := func(k string) string { v, _ := sys.LookupEnv(k); return v }
	name := getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return &service.Host{
		GOOS: sys.GOOS, UID: os.Geteuid(), Username: name, Home: sys.Home, Getenv: getenv,
		Runner: service.ExecRunner{},
	}
}

// userFolders are the invoking user's cco folders.
func userFolders(sys *System) (service.Folders, error) {
	paths, _, _, err := configPaths(sys, "")
	if err != nil {
		return service.Folders{}, err
	}
	return service.Folders{ConfigFile: paths.ConfigFile, Data: paths.DataDir, Cache: paths.CacheDir}, nil
}

// packagedService says how to start the service a package ships, when
// cco came from one ("" otherwise).
func packagedService(m update.Method) string {
	switch m {
	case update.Deb, update.RPM, update.Package:
		return fmt.Sprintf("cco was installed by a package (%s), which ships its own systemd units; start one of them instead:\n"+
			"  sudo systemctl enable --now cco      # one cco for the machine (settings in /etc/cco)\n"+
			"  systemctl --user enable --now cco    # one cco for you", m)
	case update.Homebrew:
		return "cco was installed by Homebrew, which runs it as a service itself:\n" +
			"  brew services start cco"
	}
	return ""
}

func runInstall(ctx context.Context, info version.Info, sys *System, o installOptions) error {
	if sys.GOOS == "windows" && o.scope == service.User {
		return usageError{service.ErrWindowsUser}
	}
	h := serviceHost(sys)
	exe, resolved, err := executable(h)
	if err != nil {
		return err
	}
	getenv := func(k string) string { v, _ := sys.LookupEnv(k); return v }
	method := update.Detector{GOOS: sys.GOOS, ManagedBy: info.ManagedBy, Getenv: getenv, Home: sys.Home}.Detect(resolved)
	if msg := packagedService(method); msg != "" {
		return errors.New(msg)
	}
	stable, err := service.StablePath(sys.GOOS, o.scope, exe, resolved)
	if err != nil {
		return err
	}
	d := service.Definition{Scope: o.scope, Exe: stable, Port: o.port}
	var dropped []string
	d.Env, dropped = service.CarriedEnv(sys.Environ(), sys.GOOS, o.scope)
	if o.scope == service.User {
		if d.Folders, err = userFolders(sys); err != nil {
			return err
		}
	}
	res, err := h.Install(ctx, d, o.force)
	if errors.Is(err, service.ErrWindowsUser) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	w := sys.Stdout
	switch res.Action {
	case service.Unchanged:
		fmt.Fprintf(w, "cco is already installed as a %s service (%s), unchanged; it is enabled and running\n", res.Manager, res.Path)
	case service.Replaced:
		fmt.Fprintf(w, "replaced cco's %s service (%s) and restarted it\n", res.Manager, res.Path)
	default:
		fmt.Fprintf(w, "installed cco as a %s service (%s) and started it\n", res.Manager, res.Path)
	}
	fmt.Fprintf(w, "it runs: %s run --no-browser%s\n", stable, portArg(o.port))
	if len(d.Env) > 0 {
		names := make([]string, len(d.Env))
		for i, kv := range d.Env {
			names[i], _, _ = strings.Cut(kv, "=")
		}
		fmt.Fprintf(w, "with this shell's %s\n", strings.Join(names, ", "))
	}
	if len(dropped) > 0 {
		fmt.Fprintf(w, "not carried into the service (secrets): %s; keep an API key with `cco credentials set anthropic-api-key`\n", strings.Join(dropped, ", "))
	}
	for _, hint := range res.Hints {
		fmt.Fprintln(w, hint)
	}
	fmt.Fprintf(w, "check it with: cco service status%s\n", scopeArg(sys, o.scope))
	return nil
}

func portArg(port int) string {
	if port == 0 {
		return ""
	}
	return fmt.Sprintf(" --port %d", port)
}

// scopeArg is the flag that names scope when it is not the default.
func scopeArg(sys *System, scope service.Scope) string {
	if scope == service.System && sys.GOOS != "windows" {
		return " --system"
	}
	return ""
}

// executable is the running binary as started and with links resolved.
func executable(h *service.Host) (exe, resolved string, err error) {
	find := h.Executable
	if find == nil {
		find = os.Executable
	}
	exe, err = find()
	if err != nil {
		return "", "", fmt.Errorf("find the cco binary: %w", err)
	}
	exe = filepath.Clean(exe)
	resolved = exe
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		resolved = r
	}
	return exe, resolved, nil
}

func runUninstall(ctx context.Context, sys *System, o uninstallOptions) error {
	h := serviceHost(sys)
	var folders service.Folders
	if o.scope == service.User && o.purge {
		var err error
		if folders, err = userFolders(sys); err != nil {
			return err
		}
	}
	res, err := h.Uninstall(ctx, o.scope, o.purge, folders)
	switch {
	case errors.Is(err, service.ErrWindowsUser):
		return usageError{err}
	case errors.Is(err, service.ErrNotInstalled):
		fmt.Fprintf(sys.Stdout, "cco is not installed as a %s service; nothing to uninstall\n", o.scope)
	case err != nil:
		return err
	default:
		fmt.Fprintf(sys.Stdout, "stopped and removed cco's %s service\n", res.Manager)
	}
	for _, p := range res.Removed {
		fmt.Fprintf(sys.Stdout, "removed %s\n", p)
	}
	if o.purge {
		fmt.Fprintln(sys.Stdout, "kept the config file")
	}
	return nil
}

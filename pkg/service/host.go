package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Names cco's service goes by.
const (
	Label       = "com.visiquate.cco" // launchd
	Unit        = "cco.service"       // systemd
	WindowsName = "cco"               // the Windows service manager
)

// Scope says whose service it is.
type Scope int

// Scopes.
const (
	User   Scope = iota // runs as the user who installs it (launchd agent, systemd user unit)
	System              // runs for the whole machine (launchd daemon, systemd system unit, Windows service)
)

func (s Scope) String() string {
	if s == System {
		return "system"
	}
	return "user"
}

// Folders are where an instance of cco keeps its files (config.Paths).
type Folders struct {
	ConfigFile string
	Data       string // analytics.db, pids/, logs/
	Cache      string
}

// LogDir holds the instances' log files.
func (f Folders) LogDir() string { return joinLike(f.Data, "logs") }

// Host is the machine cco is installed on: the platform, the user and the
// ways to reach its service manager.
type Host struct {
	GOOS     string
	UID      int    // the effective user id: launchd's gui/<uid> domain; 0 is root
	Username string // systemd's linger file
	Home     string
	Getenv   func(string) string
	// Root prefixes the machine-wide paths written and read
	// (/etc/systemd/system, /Library/LaunchDaemons, /var/lib/cco); tests
	// point it at a temporary folder. Empty in production.
	Root   string
	Runner Runner
	// Windows reaches the Windows service manager; nil means the real one
	// (only on Windows).
	Windows func() (WindowsManager, error)
	Sleep   func(time.Duration)
	// Executable finds the running binary; nil means os.Executable.
	Executable func() (string, error)
}

// Definition is what to install.
type Definition struct {
	Scope Scope
	// Exe is the stable path of the cco binary (see StablePath).
	Exe string
	// Port is --port for `cco run`; 0 leaves it to the configuration.
	Port int
	// Env is carried into the service, NAME=VALUE (see CarriedEnv).
	Env []string
	// Folders are the user's (User scope); System scope uses SystemFolders.
	Folders Folders
}

// Action says what Install did to the definition.
type Action string

// Actions.
const (
	Created   Action = "created"
	Unchanged Action = "unchanged"
	Replaced  Action = "replaced"
)

// Result is what Install or Uninstall did.
type Result struct {
	Action Action
	// Path is the definition's file (plist, unit) or the Windows service's name.
	Path string
	// Manager names how the service is known: "launchd gui/501", "systemd --user", ...
	Manager string
	// Removed lists what Uninstall removed, files and folders.
	Removed []string
	// Hints are things the user should know or do next.
	Hints []string
}

// Status is what the service manager says about cco's service.
type Status struct {
	Installed bool
	Running   bool
	State     string // the manager's word: "active (running)", "running", "stopped", ...
	PID       int
	Restarts  int    // -1 when the manager does not say
	Path      string // the definition
	Manager   string
}

// ErrNotInstalled is returned by commands on a service that is not installed.
var ErrNotInstalled = errors.New("cco is not installed as a service")

// DifferentError refuses to overwrite a changed definition without --force.
type DifferentError struct {
	Path string
	Diff string // the lines that differ, "-" existing and "+" new
}

func (e *DifferentError) Error() string {
	return fmt.Sprintf("%s exists with a different definition; run again with --force to replace it:\n%s", e.Path, e.Diff)
}

// platform is one service manager.
type platform interface {
	install(ctx context.Context, d Definition, force bool) (Result, error)
	uninstall(ctx context.Context, scope Scope) (Result, error)
	start(ctx context.Context, scope Scope) error
	stop(ctx context.Context, scope Scope) error
	restart(ctx context.Context, scope Scope) error
	status(ctx context.Context, scope Scope) (Status, error)
}

func (h *Host) platform() (platform, error) {
	switch h.GOOS {
	case "darwin":
		return launchd{h}, nil
	case "linux":
		return systemd{h}, nil
	case "windows":
		return windowsSCM{h}, nil
	}
	return nil, fmt.Errorf("cco cannot install itself as a service on %s", h.GOOS)
}

// Install writes the definition and makes sure the service is enabled and
// running. The same definition again changes nothing; a different one is
// refused (*DifferentError) unless force.
func (h *Host) Install(ctx context.Context, d Definition, force bool) (Result, error) {
	p, err := h.platform()
	if err != nil {
		return Result{}, err
	}
	if err := h.check(d.Scope); err != nil {
		return Result{}, err
	}
	if !h.isAbs(d.Exe) {
		return Result{}, fmt.Errorf("service binary %q: not an absolute path", d.Exe)
	}
	return p.install(ctx, d, force)
}

// Uninstall stops the service and removes its definition. With purge it
// also removes the scope's data, log and cache folders (never the config
// file); folders are the user's, for User scope.
func (h *Host) Uninstall(ctx context.Context, scope Scope, purge bool, folders Folders) (Result, error) {
	p, err := h.platform()
	if err != nil {
		return Result{}, err
	}
	if err := h.check(scope); err != nil {
		return Result{}, err
	}
	r, err := p.uninstall(ctx, scope)
	if err != nil && !errors.Is(err, ErrNotInstalled) {
		return r, err
	}
	if purge {
		if scope == System {
			folders = h.SystemFolders()
		}
		removed, perr := h.purge(folders)
		r.Removed = append(r.Removed, removed...)
		if perr != nil {
			return r, perr
		}
	}
	return r, err
}

// Start starts the installed service.
func (h *Host) Start(ctx context.Context, scope Scope) error {
	return h.control(ctx, scope, platform.start)
}

// Stop stops the service; it stays installed and starts again at the next
// boot or login.
func (h *Host) Stop(ctx context.Context, scope Scope) error {
	return h.control(ctx, scope, platform.stop)
}

// Restart stops the service if it runs and starts it.
func (h *Host) Restart(ctx context.Context, scope Scope) error {
	return h.control(ctx, scope, platform.restart)
}

func (h *Host) control(ctx context.Context, scope Scope, f func(platform, context.Context, Scope) error) error {
	p, err := h.platform()
	if err != nil {
		return err
	}
	if err := h.check(scope); err != nil {
		return err
	}
	return f(p, ctx, scope)
}

// Status asks the service manager about the service.
func (h *Host) Status(ctx context.Context, scope Scope) (Status, error) {
	p, err := h.platform()
	if err != nil {
		return Status{}, err
	}
	if err := h.check(scope); err != nil {
		return Status{}, err
	}
	return p.status(ctx, scope)
}

// Logs prints the service's log from the systemd journal (Linux only;
// elsewhere cco's own log file is the place, see Folders.LogDir).
func (h *Host) Logs(ctx context.Context, scope Scope, out io.Writer, lines int, follow bool) error {
	if h.GOOS != "linux" {
		return fmt.Errorf("the service manager keeps no log of cco on %s; read cco's log file", h.GOOS)
	}
	args := []string{"--unit", Unit, "--no-pager", "--lines", fmt.Sprint(lines)}
	if scope == User {
		args = append([]string{"--user"}, args...)
	}
	if follow {
		args = append(args, "--follow")
	}
	code, err := h.Runner.Run(ctx, out, "journalctl", args...)
	if err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	if code != 0 && ctx.Err() == nil {
		return fmt.Errorf("journalctl exited %d", code)
	}
	return nil
}

// check refuses a scope the platform has no service for.
func (h *Host) check(scope Scope) error {
	if h.GOOS == "windows" && scope == User {
		return ErrWindowsUser
	}
	return nil
}

// ErrWindowsUser refuses --user on Windows.
var ErrWindowsUser = errors.New("a Windows service runs for the whole machine: use --system from an administrator shell " +
	"(or, to run cco only while you are logged in, a Task Scheduler task; see the README)")

// SystemFolders are where the machine-wide service keeps its files: the
// packaged systemd unit's /etc/cco, /var/lib/cco and /var/cache/cco;
// /Library/Application Support/cco and /Library/Caches/cco on macOS;
// %ProgramData%\cco on Windows.
func (h *Host) SystemFolders() Folders {
	switch h.GOOS {
	case "windows":
		pd := h.programData()
		return Folders{ConfigFile: pd + `\cco\config.toml`, Data: pd + `\cco`, Cache: pd + `\cco\cache`}
	case "darwin":
		return Folders{
			ConfigFile: h.root("/Library/Application Support/cco/config.toml"),
			Data:       h.root("/Library/Application Support/cco"),
			Cache:      h.root("/Library/Caches/cco"),
		}
	}
	return Folders{ConfigFile: h.root("/etc/cco/config.toml"), Data: h.root("/var/lib/cco"), Cache: h.root("/var/cache/cco")}
}

func (h *Host) programData() string {
	if pd := h.getenv("ProgramData"); pd != "" {
		return strings.TrimRight(pd, `\`)
	}
	return `C:\ProgramData`
}

func (h *Host) getenv(k string) string {
	if h.Getenv == nil {
		return ""
	}
	return h.Getenv(k)
}

// root places a machine-wide path under Root.
func (h *Host) root(p string) string {
	if h.Root == "" {
		return p
	}
	return filepath.Join(h.Root, filepath.FromSlash(p))
}

func (h *Host) isAbs(p string) bool {
	if h.GOOS == "windows" {
		return len(p) > 2 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') || strings.HasPrefix(p, `\\`)
	}
	return path.IsAbs(p)
}

func (h *Host) sleep(d time.Duration) {
	if h.Sleep != nil {
		h.Sleep(d)
		return
	}
	time.Sleep(d)
}

// run runs a program and returns its exit code and output.
func (h *Host) run(ctx context.Context, name string, args ...string) (int, string, error) {
	var out bytes.Buffer
	code, err := h.Runner.Run(ctx, &out, name, args...)
	if err != nil {
		return code, out.String(), fmt.Errorf("%s: %w", name, err)
	}
	return code, out.String(), nil
}

// must runs a program that has to succeed.
func (h *Host) must(ctx context.Context, name string, args ...string) error {
	code, out, err := h.run(ctx, name, args...)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("%s %s exited %d: %s", name, strings.Join(args, " "), code, strings.TrimSpace(out))
	}
	return nil
}

// writeDefinition compares the definition at p with want and writes it
// when missing, or different and force. It returns what it did.
func writeDefinition(p string, want []byte, force bool) (Action, error) {
	have, err := os.ReadFile(p)
	switch {
	case err == nil && bytes.Equal(have, want):
		return Unchanged, nil
	case err == nil && !force:
		return "", &DifferentError{Path: p, Diff: lineDiff(string(have), string(want))}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	action := Created
	if err == nil {
		action = Replaced
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, want, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", p, err)
	}
	return action, nil
}

// removeDefinition deletes the file at p; false when there was none.
func removeDefinition(p string) (bool, error) {
	err := os.Remove(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("remove %s: %w", p, err)
}

// lineDiff lists the lines only in a ("-") and only in b ("+").
func lineDiff(a, b string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if cb[l] > 0 {
			cb[l]--
			continue
		}
		out = append(out, "- "+strings.TrimSpace(l))
	}
	for _, l := range strings.Split(b, "\n") {
		if ca[l] > 0 {
			ca[l]--
			continue
		}
		out = append(out, "+ "+strings.TrimSpace(l))
	}
	return strings.Join(out, "\n")
}

// purge removes the data and cache folders, keeping the config file when
// it lives inside one of them.
func (h *Host) purge(f Folders) ([]string, error) {
	var removed []string
	for _, dir := range []string{f.Data, f.Cache} {
		if dir == "" {
			continue
		}
		dirs := []string{dir}
		if h.GOOS == "linux" && strings.HasPrefix(dir, h.root("/var/")) {
			// DynamicUser keeps the real folder in private/ behind a link.
			dirs = append(dirs, filepath.Join(filepath.Dir(dir), "private", filepath.Base(dir)))
		}
		for _, d := range dirs {
			r, err := removeKeeping(d, f.ConfigFile)
			removed = append(removed, r...)
			if err != nil {
				return removed, err
			}
		}
	}
	return removed, nil
}

// removeKeeping removes dir, or when keep lies inside it, everything in
// it but keep. It returns what it removed.
func removeKeeping(dir, keep string) ([]string, error) {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	rel, err := filepath.Rel(dir, keep)
	if keep == "" || err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove %s: %w", dir, err)
		}
		return []string{dir}, nil
	}
	first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.Name() == first {
			if e.IsDir() {
				r, err := removeKeeping(p, keep)
				removed = append(removed, r...)
				if err != nil {
					return removed, err
				}
			}
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("remove %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// joinLike joins with the separator dir already uses, so Windows paths
// can be built on any machine.
func joinLike(dir, name string) string {
	if strings.Contains(dir, `\`) && !strings.Contains(dir, "/") {
		return strings.TrimRight(dir, `\`) + `\` + name
	}
	return path.Join(dir, name)
}

// DefinitionPath is the file that defines scope's service: the plist or
// the unit; empty on Windows, where the service manager keeps it.
func (h *Host) DefinitionPath(scope Scope) string {
	switch h.GOOS {
	case "darwin":
		return launchd{h}.plistPath(scope)
	case "linux":
		return systemd{h}.unitPath(scope)
	}
	return ""
}

package service

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// launchd manages a LaunchAgent (User) or LaunchDaemon (System).
type launchd struct{ h *Host }

// LaunchdService is the value of CCO_SERVICE in a launchd definition.
func LaunchdService(scope Scope) string {
	if scope == System {
		return "launchd-system:" + Label
	}
	return "launchd:" + Label
}

// SystemFolderEnv is the environment that points a machine-wide service at
// SystemFolders (none on Linux, where the unit sets it).
func (h *Host) SystemFolderEnv() map[string]string {
	switch h.GOOS {
	case "windows":
		pd := h.programData()
		return map[string]string{"APPDATA": pd, "LOCALAPPDATA": pd}
	case "darwin":
		return map[string]string{
			"XDG_CONFIG_HOME": "/Library/Application Support",
			"XDG_DATA_HOME":   "/Library/Application Support",
			"XDG_CACHE_HOME":  "/Library/Caches",
		}
	}
	return nil
}

// RenderPlist returns the launchd property list for d.
func (h *Host) RenderPlist(d Definition) []byte {
	folders := d.Folders
	var folderEnv map[string]string
	if d.Scope == System {
		folders, folderEnv = h.unrooted(h.SystemFolders()), h.SystemFolderEnv()
	}
	args := []string{d.Exe, "run", "--no-browser"}
	if d.Port != 0 {
		args = append(args, "--port", strconv.Itoa(d.Port))
	}
	var b bytes.Buffer
	str := func(s string) string {
		var e bytes.Buffer
		xml.EscapeText(&e, []byte(s))
		return "<string>" + e.String() + "</string>"
	}
	scope := d.Scope.String()
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by cco install (` + scope + ` scope); cco uninstall removes it.
     API keys and tokens are not kept here: store them with cco credentials. -->
<plist version="1.0">
<dict>
	<key>Label</key>
	` + str(Label) + `
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range args {
		b.WriteString("\t\t" + str(a) + "\n")
	}
	logs := folders.LogDir()
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ProcessType</key>
	<string>Background</string>
	<key>ExitTimeOut</key>
	<integer>45</integer>
	<key>StandardOutPath</key>
	` + str(logs+"/launchd.out.log") + `
	<key>StandardErrorPath</key>
	` + str(logs+"/launchd.err.log") + `
	<key>EnvironmentVariables</key>
	<dict>
`)
	for _, kv := range serviceEnv(LaunchdService(d.Scope), folderEnv, d.Env) {
		k, v, _ := strings.Cut(kv, "=")
		b.WriteString("\t\t<key>" + k + "</key>\n\t\t" + str(v) + "\n")
	}
	b.WriteString("\t</dict>\n</dict>\n</plist>\n")
	return b.Bytes()
}

// unrooted strips Root from machine-wide folders written into a definition.
func (h *Host) unrooted(f Folders) Folders {
	if h.Root == "" {
		return f
	}
	cut := func(p string) string { return filepath.ToSlash(strings.TrimPrefix(p, h.Root)) }
	return Folders{ConfigFile: cut(f.ConfigFile), Data: cut(f.Data), Cache: cut(f.Cache)}
}

func (l launchd) plistPath(scope Scope) string {
	if scope == System {
		return l.h.root("/Library/LaunchDaemons/" + Label + ".plist")
	}
	return filepath.Join(l.h.Home, "Library", "LaunchAgents", Label+".plist")
}

// domain is launchd's domain for scope: gui/<uid> or system.
func (l launchd) domain(scope Scope) string {
	if scope == System {
		return "system"
	}
	return "gui/" + strconv.Itoa(l.h.UID)
}

func (l launchd) target(scope Scope) string { return l.domain(scope) + "/" + Label }

func (l launchd) needRoot(scope Scope, what string) error {
	if scope == System && l.h.UID != 0 {
		return fmt.Errorf("%s a LaunchDaemon needs root: sudo cco %s --system", what, map[string]string{"installing": "install", "removing": "uninstall"}[what])
	}
	if scope == User && l.h.UID == 0 {
		return fmt.Errorf("%s a LaunchAgent as root would make it root's: run it as yourself, or use --system for a LaunchDaemon", what)
	}
	return nil
}

func (l launchd) install(ctx context.Context, d Definition, force bool) (Result, error) {
	if err := l.needRoot(d.Scope, "installing"); err != nil {
		return Result{}, err
	}
	p := l.plistPath(d.Scope)
	r := Result{Path: p, Manager: "launchd " + l.domain(d.Scope)}
	if d.Scope == User {
		if err := os.MkdirAll(d.Folders.LogDir(), 0o700); err != nil {
			return r, fmt.Errorf("create log folder: %w", err)
		}
	} else if err := os.MkdirAll(l.h.SystemFolders().LogDir(), 0o700); err != nil {
		return r, fmt.Errorf("create log folder: %w", err)
	}
	loaded := l.loaded(ctx, d.Scope)
	if loaded {
		// A changed definition must not be unloaded before it is known
		// that it may be replaced.
		if _, err := os.Stat(p); err == nil {
			want := l.h.RenderPlist(d)
			if have, err := os.ReadFile(p); err == nil && !bytes.Equal(have, want) && force {
				if err := l.bootout(ctx, d.Scope); err != nil {
					return r, err
				}
				loaded = false
			}
		}
	}
	var err error
	if r.Action, err = writeDefinition(p, l.h.RenderPlist(d), force); err != nil {
		return r, err
	}
	if err := l.h.must(ctx, "launchctl", "enable", l.target(d.Scope)); err != nil {
		return r, err
	}
	if !loaded {
		return r, l.bootstrap(ctx, d.Scope, p)
	}
	// Loaded and unchanged: make sure it runs (kickstart without -k leaves
	// a running one alone).
	return r, l.h.must(ctx, "launchctl", "kickstart", l.target(d.Scope))
}

// loaded reports whether launchd knows the service.
func (l launchd) loaded(ctx context.Context, scope Scope) bool {
	code, _, err := l.h.run(ctx, "launchctl", "print", l.target(scope))
	return err == nil && code == 0
}

// bootstrap loads the plist. Right after a bootout launchd may still be
// tearing the old one down and answer 5 (I/O error), so it tries again.
func (l launchd) bootstrap(ctx context.Context, scope Scope, plist string) error {
	var err error
	for i := 0; i < 5; i++ {
		if i > 0 {
			l.h.sleep(time.Second)
		}
		if err = l.h.must(ctx, "launchctl", "bootstrap", l.domain(scope), plist); err == nil {
			return nil
		}
	}
	return err
}

func (l launchd) bootout(ctx context.Context, scope Scope) error {
	code, out, err := l.h.run(ctx, "launchctl", "bootout", l.target(scope))
	if err != nil {
		return err
	}
	// 3 (no such process) and 113 (not found): it was not loaded.
	if code != 0 && code != 3 && code != 113 {
		return fmt.Errorf("launchctl bootout %s exited %d: %s", l.target(scope), code, strings.TrimSpace(out))
	}
	return nil
}

func (l launchd) uninstall(ctx context.Context, scope Scope) (Result, error) {
	p := l.plistPath(scope)
	r := Result{Path: p, Manager: "launchd " + l.domain(scope)}
	_, statErr := os.Stat(p)
	if statErr != nil && !l.loaded(ctx, scope) {
		return r, ErrNotInstalled
	}
	if err := l.needRoot(scope, "removing"); err != nil {
		return r, err
	}
	if err := l.bootout(ctx, scope); err != nil {
		return r, err
	}
	removed, err := removeDefinition(p)
	if removed {
		r.Removed = append(r.Removed, p)
	}
	return r, err
}

func (l launchd) start(ctx context.Context, scope Scope) error {
	if !l.loaded(ctx, scope) {
		p := l.plistPath(scope)
		if _, err := os.Stat(p); err != nil {
			return ErrNotInstalled
		}
		return l.bootstrap(ctx, scope, p)
	}
	return l.h.must(ctx, "launchctl", "kickstart", l.target(scope))
}

// stop sends SIGTERM: cco exits 0, which KeepAlive{SuccessfulExit: false}
// does not restart.
func (l launchd) stop(ctx context.Context, scope Scope) error {
	if !l.loaded(ctx, scope) {
		return ErrNotInstalled
	}
	return l.h.must(ctx, "launchctl", "kill", "TERM", l.target(scope))
}

func (l launchd) restart(ctx context.Context, scope Scope) error {
	if !l.loaded(ctx, scope) {
		return l.start(ctx, scope)
	}
	return l.h.must(ctx, "launchctl", "kickstart", "-k", l.target(scope))
}

func (l launchd) status(ctx context.Context, scope Scope) (Status, error) {
	st := Status{Manager: "launchd " + l.domain(scope), Restarts: -1, State: "not loaded"}
	if _, err := os.Stat(l.plistPath(scope)); err == nil {
		st.Path = l.plistPath(scope)
	}
	code, out, err := l.h.run(ctx, "launchctl", "print", l.target(scope))
	if err != nil {
		return st, err
	}
	if code != 0 {
		st.Installed = st.Path != ""
		return st, nil
	}
	st.Installed = true
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " = ")
		if !ok {
			continue
		}
		switch k {
		case "state":
			if st.State == "not loaded" {
				st.State = v
			}
		case "pid":
			st.PID, _ = strconv.Atoi(v)
		case "runs":
			if n, err := strconv.Atoi(v); err == nil {
				st.Restarts = max(n-1, 0)
			}
		case "path":
			if st.Path == "" {
				st.Path = v
			}
		}
	}
	st.Running = st.State == "running"
	return st, nil
}

package service

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The units cco's .deb and .rpm ship; .goreleaser.yaml packages these files.
var (
	//go:embed systemd/cco.service
	systemUnit []byte
	//go:embed systemd/cco-user.service
	userUnit []byte
)

const unitHeaderUser = `# cco as a service of this user, written by ` + "`cco install --user`" + ` from the
# unit cco's packages ship. Remove it with ` + "`cco uninstall --user`" + `; after changing
# options, ` + "`cco install --user --force`" + ` rewrites it.
# API keys are not kept here: store one with ` + "`cco credentials`" + `, or put
# ANTHROPIC_API_KEY=... in ~/.config/cco/cco.env (mode 0600).
`

const unitHeaderSystem = `# cco as a system service, written by ` + "`cco install --system`" + ` from the unit
# cco's packages ship. Remove it with ` + "`cco uninstall --system`" + `; after changing
# options, ` + "`cco install --system --force`" + ` rewrites it.
# Settings live in /etc/cco/config.toml. API keys are not kept here: store one
# with ` + "`cco credentials`" + `, or put ANTHROPIC_API_KEY=... in /etc/cco/cco.env
# (owned by root, mode 0600).
`

// RenderUnit returns the systemd unit for d: the packaged unit of d.Scope
// with its leading comment replaced, ExecStart running d.Exe (with --port
// when d.Port is set) and d.Env added after CCO_SERVICE.
func RenderUnit(d Definition) ([]byte, error) {
	tmpl, header := userUnit, unitHeaderUser
	if d.Scope == System {
		tmpl, header = systemUnit, unitHeaderSystem
	}
	var out bytes.Buffer
	out.WriteString(header)
	lines := strings.Split(string(tmpl), "\n")
	for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
		lines = lines[1:]
	}
	var exec, env bool
	for i, l := range lines {
		if i == len(lines)-1 && l == "" {
			break
		}
		switch {
		case strings.HasPrefix(l, "ExecStart=/usr/bin/cco "):
			l = "ExecStart=" + unitQuote(d.Exe) + " " + strings.TrimPrefix(l, "ExecStart=/usr/bin/cco ")
			if d.Port != 0 {
				l += " --port " + strconv.Itoa(d.Port)
			}
			exec = true
		case strings.HasPrefix(l, "Environment=CCO_SERVICE="):
			out.WriteString(l + "\n")
			for _, kv := range d.Env {
				out.WriteString("Environment=" + unitQuote(kv) + "\n")
			}
			env = true
			continue
		}
		out.WriteString(l + "\n")
	}
	if !exec || !env {
		return nil, fmt.Errorf("the packaged unit has no ExecStart=/usr/bin/cco or Environment=CCO_SERVICE= line")
	}
	return out.Bytes(), nil
}

// unitQuote makes s one word of a unit file: specifiers (%) and variables
// ($) escaped, quoted when it holds spaces or quotes.
func unitQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, "$", "$$")
	if !strings.ContainsAny(s, " \t\"'\\") {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}

// systemd manages user units (systemctl --user) and system units.
type systemd struct{ h *Host }

func (s systemd) unitPath(scope Scope) string {
	if scope == System {
		return s.h.root("/etc/systemd/system/" + Unit)
	}
	cfg := s.h.getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(cfg) {
		cfg = filepath.Join(s.h.Home, ".config")
	}
	return filepath.Join(cfg, "systemd", "user", Unit)
}

// systemctl runs systemctl (--user for the user's manager).
func (s systemd) systemctl(ctx context.Context, scope Scope, args ...string) error {
	if scope == User {
		args = append([]string{"--user"}, args...)
	}
	return s.h.must(ctx, "systemctl", args...)
}

func (s systemd) manager(scope Scope) string {
	if scope == System {
		return "systemd"
	}
	return "systemd --user"
}

func (s systemd) install(ctx context.Context, d Definition, force bool) (Result, error) {
	if d.Scope == System && s.h.UID != 0 {
		return Result{}, fmt.Errorf("installing a system unit needs root: sudo %s install --system", d.Exe)
	}
	unit, err := RenderUnit(d)
	if err != nil {
		return Result{}, err
	}
	p := s.unitPath(d.Scope)
	r := Result{Path: p, Manager: s.manager(d.Scope)}
	if r.Action, err = writeDefinition(p, unit, force); err != nil {
		return r, err
	}
	switch r.Action {
	case Created:
		err = s.all(ctx, d.Scope, []string{"daemon-reload"}, []string{"enable", "--now", Unit})
	case Replaced:
		err = s.all(ctx, d.Scope, []string{"daemon-reload"}, []string{"enable", Unit}, []string{"restart", Unit})
	default:
		err = s.systemctl(ctx, d.Scope, "enable", "--now", Unit)
	}
	if err != nil {
		// A unit the manager never took is not left behind to confuse
		// the next install.
		if r.Action == Created {
			if _, rmErr := removeDefinition(p); rmErr == nil {
				r.Action = ""
			}
		}
		return r, s.explain(d.Scope, err)
	}
	if d.Scope == User && !s.lingers() {
		r.Hints = append(r.Hints, "cco runs while you are logged in; to start it at boot and keep it running after you log out: loginctl enable-linger "+s.username())
	}
	return r, nil
}

// explain adds what to do when no systemd manager answers (a container, a
// session without systemd --user, an su shell without XDG_RUNTIME_DIR).
func (s systemd) explain(scope Scope, err error) error {
	if !strings.Contains(err.Error(), "Failed to connect to bus") && !strings.Contains(err.Error(), "not been booted with systemd") {
		return err
	}
	if scope == User {
		return fmt.Errorf("%w\nno systemd user manager answers: log in to a desktop or SSH session (not su/sudo, which leave XDG_RUNTIME_DIR unset), or on a machine without systemd keep `cco run` alive with your own supervisor", err)
	}
	return fmt.Errorf("%w\nsystemd is not running on this machine (a container?): keep `cco run` alive with the container's own restart policy", err)
}

func (s systemd) all(ctx context.Context, scope Scope, calls ...[]string) error {
	for _, c := range calls {
		if err := s.systemctl(ctx, scope, c...); err != nil {
			return err
		}
	}
	return nil
}

func (s systemd) username() string {
	if s.h.Username != "" {
		return s.h.Username
	}
	return "$USER"
}

// lingers reports whether the user's manager runs without a login session
// (loginctl enable-linger leaves a file named after the user).
func (s systemd) lingers() bool {
	if s.h.Username == "" {
		return false
	}
	_, err := os.Stat(s.h.root("/var/lib/systemd/linger/" + s.h.Username))
	return err == nil
}

func (s systemd) uninstall(ctx context.Context, scope Scope) (Result, error) {
	p := s.unitPath(scope)
	r := Result{Path: p, Manager: s.manager(scope)}
	if _, err := os.Stat(p); err != nil {
		return r, ErrNotInstalled
	}
	if scope == System && s.h.UID != 0 {
		return r, fmt.Errorf("removing a system unit needs root: sudo cco uninstall --system")
	}
	if err := s.systemctl(ctx, scope, "disable", "--now", Unit); err != nil {
		return r, err
	}
	if _, err := removeDefinition(p); err != nil {
		return r, err
	}
	r.Removed = append(r.Removed, p)
	return r, s.systemctl(ctx, scope, "daemon-reload")
}

func (s systemd) start(ctx context.Context, scope Scope) error {
	return s.systemctl(ctx, scope, "start", Unit)
}

func (s systemd) stop(ctx context.Context, scope Scope) error {
	return s.systemctl(ctx, scope, "stop", Unit)
}

func (s systemd) restart(ctx context.Context, scope Scope) error {
	return s.systemctl(ctx, scope, "restart", Unit)
}

func (s systemd) status(ctx context.Context, scope Scope) (Status, error) {
	args := []string{"show", Unit, "--property=LoadState,ActiveState,SubState,MainPID,NRestarts,FragmentPath"}
	if scope == User {
		args = append([]string{"--user"}, args...)
	}
	code, out, err := s.h.run(ctx, "systemctl", args...)
	if err != nil {
		return Status{}, err
	}
	if code != 0 {
		return Status{}, fmt.Errorf("systemctl show exited %d: %s", code, strings.TrimSpace(out))
	}
	props := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			props[k] = v
		}
	}
	st := Status{Manager: s.manager(scope), Path: props["FragmentPath"], Restarts: -1}
	st.Installed = props["LoadState"] == "loaded"
	st.State = props["ActiveState"] + " (" + props["SubState"] + ")"
	st.Running = props["ActiveState"] == "active"
	st.PID, _ = strconv.Atoi(props["MainPID"])
	if n, err := strconv.Atoi(props["NRestarts"]); err == nil {
		st.Restarts = n
	}
	return st, nil
}

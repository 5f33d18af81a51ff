package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// WindowsManager is the part of the Windows service manager cco uses. The
// real one (svc/mgr) exists only on Windows; tests use a fake.
type WindowsManager interface {
	// Config returns the service's configuration; ok is false when there
	// is no service of that name.
	Config(name string) (c WindowsConfig, ok bool, err error)
	Create(name string, c WindowsConfig) error
	Update(name string, c WindowsConfig) error
	// Delete marks the service for deletion.
	Delete(name string) error
	Start(name string) error
	// Stop asks the service to stop and waits until it has, or ctx ends.
	Stop(ctx context.Context, name string) error
	Query(name string) (WindowsStatus, error)
	Close() error
}

// WindowsConfig is a Windows service's definition.
type WindowsConfig struct {
	DisplayName string
	Description string
	Exe         string
	Args        []string
	AutoStart   bool
	// Env is the service's own environment (its Environment registry
	// value), NAME=VALUE.
	Env []string
	// Restarts are the delays of the recovery actions restarting it after
	// a failure; ResetAfter is when the failure count starts again.
	Restarts   []time.Duration
	ResetAfter time.Duration
}

// Equal reports whether two configurations are the same.
func (c WindowsConfig) Equal(o WindowsConfig) bool {
	return c.DisplayName == o.DisplayName && c.Description == o.Description && c.Exe == o.Exe &&
		slices.Equal(c.Args, o.Args) && c.AutoStart == o.AutoStart && slices.Equal(c.Env, o.Env) &&
		slices.Equal(c.Restarts, o.Restarts) && c.ResetAfter == o.ResetAfter
}

// WindowsStatus is a Windows service's state.
type WindowsStatus struct {
	State string // "stopped", "start pending", "stop pending", "running", ...
	PID   int
}

// WindowsService is the value of CCO_SERVICE for the Windows service.
const WindowsService = "windows:" + WindowsName

// WindowsDefinition is the service cco installs on Windows for d.
func (h *Host) WindowsDefinition(d Definition) WindowsConfig {
	args := []string{"run", "--no-browser"}
	if d.Port != 0 {
		args = append(args, "--port", strconv.Itoa(d.Port))
	}
	return WindowsConfig{
		DisplayName: "cco",
		Description: "cco, a local gateway to the Anthropic API",
		Exe:         d.Exe,
		Args:        args,
		AutoStart:   true,
		Env:         serviceEnv(WindowsService, h.SystemFolderEnv(), d.Env),
		Restarts:    []time.Duration{5 * time.Second, 10 * time.Second, 30 * time.Second},
		ResetAfter:  24 * time.Hour,
	}
}

// windowsSCM installs cco as a Windows service.
type windowsSCM struct{ h *Host }

func (w windowsSCM) connect() (WindowsManager, error) {
	connect := w.h.Windows
	if connect == nil {
		connect = connectSCM
	}
	m, err := connect()
	if err != nil {
		return nil, fmt.Errorf("connect to the service manager (run cco from an administrator shell): %w", err)
	}
	return m, nil
}

func (w windowsSCM) result() Result {
	return Result{Path: WindowsName, Manager: "the Windows service manager"}
}

func (w windowsSCM) install(ctx context.Context, d Definition, force bool) (Result, error) {
	r := w.result()
	m, err := w.connect()
	if err != nil {
		return r, err
	}
	defer m.Close()
	want := w.h.WindowsDefinition(d)
	have, ok, err := m.Config(WindowsName)
	if err != nil {
		return r, err
	}
	switch {
	case !ok:
		r.Action = Created
		if err := m.Create(WindowsName, want); err != nil {
			return r, fmt.Errorf("create service %s: %w", WindowsName, err)
		}
	case have.Equal(want):
		r.Action = Unchanged
	case !force:
		return r, &DifferentError{Path: "service " + WindowsName, Diff: windowsDiff(have, want)}
	default:
		r.Action = Replaced
		if err := w.stopIfRunning(ctx, m); err != nil {
			return r, err
		}
		if err := m.Update(WindowsName, want); err != nil {
			return r, fmt.Errorf("update service %s: %w", WindowsName, err)
		}
	}
	return r, w.startIfStopped(m)
}

func windowsDiff(a, b WindowsConfig) string {
	line := func(c WindowsConfig) string {
		return fmt.Sprintf("%q %q auto=%v env=%q restarts=%v reset=%v", c.Exe, c.Args, c.AutoStart, c.Env, c.Restarts, c.ResetAfter)
	}
	return "- " + line(a) + "\n+ " + line(b)
}

func (w windowsSCM) startIfStopped(m WindowsManager) error {
	st, err := m.Query(WindowsName)
	if err != nil {
		return err
	}
	if st.State == "running" || st.State == "start pending" {
		return nil
	}
	if err := m.Start(WindowsName); err != nil {
		return fmt.Errorf("start service %s: %w", WindowsName, err)
	}
	return nil
}

func (w windowsSCM) stopIfRunning(ctx context.Context, m WindowsManager) error {
	st, err := m.Query(WindowsName)
	if err != nil {
		return err
	}
	if st.State == "stopped" {
		return nil
	}
	if err := m.Stop(ctx, WindowsName); err != nil {
		return fmt.Errorf("stop service %s: %w", WindowsName, err)
	}
	return nil
}

func (w windowsSCM) uninstall(ctx context.Context, _ Scope) (Result, error) {
	r := w.result()
	m, err := w.connect()
	if err != nil {
		return r, err
	}
	defer m.Close()
	if _, ok, err := m.Config(WindowsName); err != nil {
		return r, err
	} else if !ok {
		return r, ErrNotInstalled
	}
	if err := w.stopIfRunning(ctx, m); err != nil {
		return r, err
	}
	if err := m.Delete(WindowsName); err != nil {
		return r, fmt.Errorf("delete service %s: %w", WindowsName, err)
	}
	r.Removed = append(r.Removed, "service "+WindowsName)
	return r, nil
}

// installed connects and makes sure the service exists.
func (w windowsSCM) installed() (WindowsManager, error) {
	m, err := w.connect()
	if err != nil {
		return nil, err
	}
	if _, ok, err := m.Config(WindowsName); err != nil || !ok {
		m.Close()
		return nil, cmp(err, ErrNotInstalled)
	}
	return m, nil
}

func cmp(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

func (w windowsSCM) start(ctx context.Context, _ Scope) error {
	m, err := w.installed()
	if err != nil {
		return err
	}
	defer m.Close()
	return w.startIfStopped(m)
}

func (w windowsSCM) stop(ctx context.Context, _ Scope) error {
	m, err := w.installed()
	if err != nil {
		return err
	}
	defer m.Close()
	return w.stopIfRunning(ctx, m)
}

func (w windowsSCM) restart(ctx context.Context, _ Scope) error {
	m, err := w.installed()
	if err != nil {
		return err
	}
	defer m.Close()
	if err := w.stopIfRunning(ctx, m); err != nil {
		return err
	}
	return w.startIfStopped(m)
}

func (w windowsSCM) status(ctx context.Context, _ Scope) (Status, error) {
	st := Status{Manager: "the Windows service manager", Restarts: -1, State: "not installed"}
	m, err := w.installed()
	if errors.Is(err, ErrNotInstalled) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	defer m.Close()
	q, err := m.Query(WindowsName)
	if err != nil {
		return st, err
	}
	st.Installed, st.Path, st.State, st.PID = true, "service "+WindowsName, q.State, q.PID
	st.Running = q.State == "running"
	return st, nil
}

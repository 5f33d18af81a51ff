//go:build windows

package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// scm is the real Windows service manager.
type scm struct{ m *mgr.Mgr }

func connectSCM() (WindowsManager, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, err
	}
	return scm{m}, nil
}

func (s scm) Close() error { return s.m.Disconnect() }

func (s scm) open(name string) (*mgr.Service, error) {
	return s.m.OpenService(name)
}

func (s scm) Config(name string) (WindowsConfig, bool, error) {
	sv, err := s.open(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return WindowsConfig{}, false, nil
	}
	if err != nil {
		return WindowsConfig{}, false, err
	}
	defer sv.Close()
	c, err := sv.Config()
	if err != nil {
		return WindowsConfig{}, true, err
	}
	argv, err := windows.DecomposeCommandLine(c.BinaryPathName)
	if err != nil || len(argv) == 0 {
		return WindowsConfig{}, true, fmt.Errorf("service %s: command line %q: %v", name, c.BinaryPathName, err)
	}
	actions, err := sv.RecoveryActions()
	if err != nil {
		return WindowsConfig{}, true, err
	}
	reset, err := sv.ResetPeriod()
	if err != nil {
		return WindowsConfig{}, true, err
	}
	env, err := serviceEnvironment(name)
	if err != nil {
		return WindowsConfig{}, true, err
	}
	wc := WindowsConfig{
		DisplayName: c.DisplayName,
		Description: c.Description,
		Exe:         argv[0],
		Args:        argv[1:],
		AutoStart:   c.StartType == mgr.StartAutomatic,
		Env:         env,
		ResetAfter:  time.Duration(reset) * time.Second,
	}
	for _, a := range actions {
		if a.Type == mgr.ServiceRestart {
			wc.Restarts = append(wc.Restarts, a.Delay)
		}
	}
	return wc, true, nil
}

func mgrConfig(c WindowsConfig) mgr.Config {
	start := uint32(mgr.StartManual)
	if c.AutoStart {
		start = mgr.StartAutomatic
	}
	return mgr.Config{
		ServiceType:  windows.SERVICE_WIN32_OWN_PROCESS,
		StartType:    start,
		ErrorControl: mgr.ErrorNormal,
		DisplayName:  c.DisplayName,
		Description:  c.Description,
	}
}

func (s scm) Create(name string, c WindowsConfig) error {
	sv, err := s.m.CreateService(name, c.Exe, mgrConfig(c), c.Args...)
	if err != nil {
		return err
	}
	defer sv.Close()
	if err := setRecovery(sv, c); err != nil {
		sv.Delete()
		return err
	}
	if err := setServiceEnvironment(name, c.Env); err != nil {
		sv.Delete()
		return err
	}
	return nil
}

func (s scm) Update(name string, c WindowsConfig) error {
	sv, err := s.open(name)
	if err != nil {
		return err
	}
	defer sv.Close()
	cur, err := sv.Config()
	if err != nil {
		return err
	}
	want := mgrConfig(c)
	cur.ServiceType, cur.StartType, cur.ErrorControl = want.ServiceType, want.StartType, want.ErrorControl
	cur.DisplayName, cur.Description = want.DisplayName, want.Description
	cur.BinaryPathName = windows.ComposeCommandLine(append([]string{c.Exe}, c.Args...))
	if err := sv.UpdateConfig(cur); err != nil {
		return err
	}
	if err := setRecovery(sv, c); err != nil {
		return err
	}
	return setServiceEnvironment(name, c.Env)
}

// setRecovery restarts the service after each failure, a crash or an exit
// with an error code alike.
func setRecovery(sv *mgr.Service, c WindowsConfig) error {
	var actions []mgr.RecoveryAction
	for _, d := range c.Restarts {
		actions = append(actions, mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d})
	}
	if err := sv.SetRecoveryActions(actions, uint32(c.ResetAfter/time.Second)); err != nil {
		return fmt.Errorf("set recovery actions: %w", err)
	}
	if err := sv.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set recovery on failures: %w", err)
	}
	return nil
}

func serviceKey(name string) string { return `SYSTEM\CurrentControlSet\Services\` + name }

// serviceEnvironment reads the service's Environment value.
func serviceEnvironment(name string) ([]string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, serviceKey(name), registry.QUERY_VALUE)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	env, _, err := k.GetStringsValue("Environment")
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	return env, err
}

// setServiceEnvironment writes the variables the service manager adds to
// the service's environment.
func setServiceEnvironment(name string, env []string) error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, serviceKey(name), registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("open service key: %w", err)
	}
	defer k.Close()
	if len(env) == 0 {
		err := k.DeleteValue("Environment")
		if errors.Is(err, registry.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := k.SetStringsValue("Environment", env); err != nil {
		return fmt.Errorf("set service environment: %w", err)
	}
	return nil
}

func (s scm) Delete(name string) error {
	sv, err := s.open(name)
	if err != nil {
		return err
	}
	defer sv.Close()
	return sv.Delete()
}

func (s scm) Start(name string) error {
	sv, err := s.open(name)
	if err != nil {
		return err
	}
	defer sv.Close()
	return sv.Start()
}

func (s scm) Stop(ctx context.Context, name string) error {
	sv, err := s.open(name)
	if err != nil {
		return err
	}
	defer sv.Close()
	st, err := sv.Control(svc.Stop)
	if err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return err
	}
	for st.State != svc.Stopped {
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s did not stop: %w", name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		if st, err = sv.Query(); err != nil {
			return err
		}
	}
	return nil
}

func (s scm) Query(name string) (WindowsStatus, error) {
	sv, err := s.open(name)
	if err != nil {
		return WindowsStatus{}, err
	}
	defer sv.Close()
	st, err := sv.Query()
	if err != nil {
		return WindowsStatus{}, err
	}
	names := map[svc.State]string{
		svc.Stopped: "stopped", svc.StartPending: "start pending", svc.StopPending: "stop pending",
		svc.Running: "running", svc.ContinuePending: "continue pending", svc.PausePending: "pause pending", svc.Paused: "paused",
	}
	return WindowsStatus{State: names[st.State], PID: int(st.ProcessId)}, nil
}

package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestLaunchdUser(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	r := &fakeRunner{}
	h := &Host{GOOS: "darwin", UID: 501, Home: home, Runner: r, Sleep: noSleep}
	d := Definition{Scope: User, Exe: "/opt/homebrew/bin/cco", Port: 3456, Folders: Folders{Data: filepath.Join(home, ".local/share/cco")}}
	plist := filepath.Join(home, "Library/LaunchAgents/com.visiquate.cco.plist")

	// Fresh: write, enable, bootstrap into the user's GUI domain.
	r.once("launchctl print", 113, "Could not find service")
	res, err := h.Install(ctx, d, false)
	if err != nil || res.Action != Created || res.Path != plist {
		t.Fatalf("install = %+v, %v", res, err)
	}
	r.want(t, "launchctl print gui/501/com.visiquate.cco", "launchctl enable gui/501/com.visiquate.cco", "launchctl bootstrap gui/501 "+plist)
	if data, _ := os.ReadFile(plist); string(data) != string(h.RenderPlist(d)) {
		t.Errorf("plist on disk differs from RenderPlist")
	}
	if !exists(filepath.Join(home, ".local/share/cco/logs")) {
		t.Errorf("log folder not made")
	}

	// Again: nothing changes, it is made sure to run.
	res, err = h.Install(ctx, d, false)
	if err != nil || res.Action != Unchanged {
		t.Fatalf("reinstall = %+v, %v", res, err)
	}
	r.want(t, "launchctl print gui/501/com.visiquate.cco", "launchctl enable gui/501/com.visiquate.cco", "launchctl kickstart gui/501/com.visiquate.cco")

	// A different definition is refused without --force, untouched.
	d2 := d
	d2.Port = 4000
	_, err = h.Install(ctx, d2, false)
	var de *DifferentError
	if !errors.As(err, &de) || !strings.Contains(de.Diff, "<string>4000</string>") {
		t.Fatalf("install of a changed definition = %v", err)
	}
	r.want(t, "launchctl print gui/501/com.visiquate.cco")
	// --force boots the old one out and loads the new one; launchd may
	// still be busy with the old one at first.
	r.once("launchctl bootstrap", 5, "Bootstrap failed: 5: Input/output error")
	res, err = h.Install(ctx, d2, true)
	if err != nil || res.Action != Replaced {
		t.Fatalf("forced install = %+v, %v", res, err)
	}
	r.want(t, "launchctl print gui/501/com.visiquate.cco", "launchctl bootout gui/501/com.visiquate.cco", "launchctl enable gui/501/com.visiquate.cco",
		"launchctl bootstrap gui/501 "+plist, "launchctl bootstrap gui/501 "+plist)
	if data, _ := os.ReadFile(plist); !strings.Contains(string(data), "<string>4000</string>") {
		t.Errorf("plist not rewritten")
	}

	// Control.
	r.on("launchctl print", 0, "gui/501/com.visiquate.cco = {\n\tpath = "+plist+"\n\tstate = running\n\truns = 3\n\tpid = 777\n\tendpoints = {\n\t\tstate = active\n\t}\n}\n")
	st, err := h.Status(ctx, User)
	if err != nil || !st.Running || st.PID != 777 || st.Restarts != 2 || st.Path != plist || st.State != "running" {
		t.Errorf("status = %+v, %v", st, err)
	}
	r.want(t, "launchctl print gui/501/com.visiquate.cco")
	for _, c := range []struct {
		f    func(context.Context, Scope) error
		want string
	}{
		{h.Start, "launchctl kickstart gui/501/com.visiquate.cco"},
		{h.Stop, "launchctl kill TERM gui/501/com.visiquate.cco"},
		{h.Restart, "launchctl kickstart -k gui/501/com.visiquate.cco"},
	} {
		if err := c.f(ctx, User); err != nil {
			t.Error(err)
		}
		r.want(t, "launchctl print gui/501/com.visiquate.cco", c.want)
	}

	// Uninstall: bootout, never unload; the plist goes.
	res, err = h.Uninstall(ctx, User, false, Folders{})
	if err != nil || len(res.Removed) != 1 || exists(plist) {
		t.Fatalf("uninstall = %+v, %v", res, err)
	}
	r.want(t, "launchctl bootout gui/501/com.visiquate.cco")
	r.answers = nil
	r.on("launchctl print", 113, "Could not find service")
	if _, err := h.Uninstall(ctx, User, false, Folders{}); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("second uninstall = %v, want ErrNotInstalled", err)
	}
	for _, call := range r.calls {
		if strings.Contains(call, " load ") || strings.Contains(call, " unload ") {
			t.Errorf("deprecated call %s", call)
		}
	}
}

func TestLaunchdSystem(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	r := &fakeRunner{}
	h := &Host{GOOS: "darwin", UID: 0, Home: "/var/root", Root: root, Runner: r, Sleep: noSleep}
	d := Definition{Scope: System, Exe: "/usr/local/bin/cco"}
	plist := filepath.Join(root, "Library/LaunchDaemons/com.visiquate.cco.plist")
	r.once("launchctl print", 113, "")
	if _, err := h.Install(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	r.want(t, "launchctl print system/com.visiquate.cco", "launchctl enable system/com.visiquate.cco", "launchctl bootstrap system "+plist)
	data, _ := os.ReadFile(plist)
	if !strings.Contains(string(data), "<string>launchd-system:com.visiquate.cco</string>") || strings.Contains(string(data), root) {
		t.Errorf("plist:\n%s", data)
	}
	if err := h.Restart(ctx, System); err != nil {
		t.Fatal(err)
	}
	r.want(t, "launchctl print system/com.visiquate.cco", "launchctl kickstart -k system/com.visiquate.cco")

	// Purge removes data, logs and cache but keeps the config file.
	sf := h.SystemFolders()
	os.MkdirAll(filepath.Join(sf.Data, "pids"), 0o700)
	os.WriteFile(sf.ConfigFile, []byte("[server]\n"), 0o600)
	os.WriteFile(filepath.Join(sf.Data, "analytics.db"), nil, 0o600)
	os.MkdirAll(sf.Cache, 0o700)
	res, err := h.Uninstall(ctx, System, true, Folders{})
	if err != nil {
		t.Fatal(err)
	}
	r.want(t, "launchctl bootout system/com.visiquate.cco")
	if exists(plist) || exists(sf.Cache) || exists(filepath.Join(sf.Data, "analytics.db")) || exists(sf.LogDir()) || !exists(sf.ConfigFile) {
		t.Errorf("after purge: removed %q", res.Removed)
	}
	if len(res.Removed) != 5 { // plist, analytics.db, logs, pids, cache
		t.Errorf("removed %q", res.Removed)
	}

	// Not root: say how.
	h.UID = 501
	if _, err := h.Install(ctx, d, false); err == nil || !strings.Contains(err.Error(), "sudo cco install --system") {
		t.Errorf("install as a user = %v", err)
	}
}

func TestSystemdUser(t *testing.T) {
	ctx := context.Background()
	home, root := t.TempDir(), t.TempDir()
	r := &fakeRunner{}
	h := &Host{GOOS: "linux", UID: 1000, Username: "ada", Home: home, Root: root, Runner: r, Getenv: func(string) string { return "" }}
	d := adaLinux
	unit := filepath.Join(home, ".config/systemd/user/cco.service")

	res, err := h.Install(ctx, d, false)
	if err != nil || res.Action != Created || res.Path != unit {
		t.Fatalf("install = %+v, %v", res, err)
	}
	r.want(t, "systemctl --user daemon-reload", "systemctl --user enable --now cco.service")
	if len(res.Hints) != 1 || !strings.Contains(res.Hints[0], "loginctl enable-linger ada") {
		t.Errorf("hints %q", res.Hints)
	}
	want, _ := RenderUnit(d)
	if data, _ := os.ReadFile(unit); string(data) != string(want) {
		t.Errorf("unit on disk differs from RenderUnit")
	}

	// Lingering already: no hint. Same unit: enable --now only.
	os.MkdirAll(filepath.Join(root, "var/lib/systemd/linger"), 0o755)
	os.WriteFile(filepath.Join(root, "var/lib/systemd/linger/ada"), nil, 0o644)
	res, err = h.Install(ctx, d, false)
	if err != nil || res.Action != Unchanged || len(res.Hints) != 0 {
		t.Fatalf("reinstall = %+v, %v", res, err)
	}
	r.want(t, "systemctl --user enable --now cco.service")

	d2 := d
	d2.Port = 4000
	if _, err := h.Install(ctx, d2, false); err == nil || !strings.Contains(err.Error(), "+ ExecStart=/home/ada/.local/bin/cco run --no-browser --port 4000") {
		t.Fatalf("changed install = %v", err)
	}
	r.want(t)
	if res, err = h.Install(ctx, d2, true); err != nil || res.Action != Replaced {
		t.Fatalf("forced = %+v, %v", res, err)
	}
	r.want(t, "systemctl --user daemon-reload", "systemctl --user enable cco.service", "systemctl --user restart cco.service")

	r.on("systemctl --user show", 0, "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4321\nNRestarts=1\nFragmentPath="+unit+"\n")
	st, err := h.Status(ctx, User)
	if err != nil || !st.Running || st.PID != 4321 || st.Restarts != 1 || st.Path != unit || st.State != "active (running)" {
		t.Errorf("status = %+v, %v", st, err)
	}
	r.want(t, "systemctl --user show cco.service --property=LoadState,ActiveState,SubState,MainPID,NRestarts,FragmentPath")
	h.Start(ctx, User)
	h.Stop(ctx, User)
	h.Restart(ctx, User)
	r.want(t, "systemctl --user start cco.service", "systemctl --user stop cco.service", "systemctl --user restart cco.service")

	// No manager answers: the new unit is not left behind, and the error
	// says what to do.
	home2 := t.TempDir()
	r2 := (&fakeRunner{}).on("systemctl --user daemon-reload", 1, "Failed to connect to bus: No medium found")
	h2 := &Host{GOOS: "linux", UID: 1000, Username: "ada", Home: home2, Root: root, Runner: r2, Getenv: func(string) string { return "" }}
	if _, err := h2.Install(ctx, d, false); err == nil || !strings.Contains(err.Error(), "no systemd user manager answers") {
		t.Errorf("install without a manager: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home2, ".config/systemd/user/cco.service")); !os.IsNotExist(err) {
		t.Errorf("unit left behind after a failed install: %v", err)
	}
	r.on("systemctl --user start", 5, "Failed to start cco.service: Unit cco.service not found.")
	if err := h.Start(ctx, User); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("failed start = %v", err)
	}
	r.calls = nil
	if err := h.Logs(ctx, User, os.Stderr, 20, true); err != nil {
		t.Fatal(err)
	}
	r.want(t, "journalctl --user --unit cco.service --no-pager --lines 20 --follow")

	// Uninstall with purge: the user's data and cache, not the config.
	data := filepath.Join(home, ".local/share/cco")
	folders := Folders{ConfigFile: filepath.Join(home, ".config/cco/config.toml"), Data: data, Cache: filepath.Join(home, ".cache/cco")}
	os.MkdirAll(filepath.Join(data, "logs"), 0o700)
	os.MkdirAll(folders.Cache, 0o700)
	os.MkdirAll(filepath.Dir(folders.ConfigFile), 0o700)
	os.WriteFile(folders.ConfigFile, nil, 0o600)
	res, err = h.Uninstall(ctx, User, true, folders)
	if err != nil {
		t.Fatal(err)
	}
	r.want(t, "systemctl --user disable --now cco.service", "systemctl --user daemon-reload")
	if exists(unit) || exists(data) || exists(folders.Cache) || !exists(folders.ConfigFile) || strings.Join(res.Removed, " ") != unit+" "+data+" "+folders.Cache {
		t.Errorf("uninstall removed %q", res.Removed)
	}
	if _, err := h.Uninstall(ctx, User, false, folders); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("second uninstall = %v", err)
	}
	r.want(t)
}

func TestSystemdSystem(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	r := &fakeRunner{}
	h := &Host{GOOS: "linux", UID: 0, Home: "/root", Root: root, Runner: r}
	unit := filepath.Join(root, "etc/systemd/system/cco.service")
	res, err := h.Install(ctx, machineLinux, false)
	if err != nil || res.Action != Created || res.Path != unit || len(res.Hints) != 0 {
		t.Fatalf("install = %+v, %v", res, err)
	}
	r.want(t, "systemctl daemon-reload", "systemctl enable --now cco.service")
	if data, _ := os.ReadFile(unit); !strings.Contains(string(data), "\nDynamicUser=yes\n") {
		t.Errorf("not the hardened unit:\n%s", data)
	}
	r.on("systemctl show", 0, "LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\nNRestarts=\n")
	st, err := h.Status(ctx, System)
	if err != nil || st.Installed || st.Running || st.Restarts != -1 {
		t.Errorf("status = %+v, %v", st, err)
	}
	r.calls = nil

	// Purge: DynamicUser keeps the real folders in private/.
	for _, p := range []string{"var/lib/private/cco/logs", "var/cache/private/cco"} {
		os.MkdirAll(filepath.Join(root, p), 0o700)
	}
	if err := os.Symlink("private/cco", filepath.Join(root, "var/lib/cco")); err != nil {
		os.Mkdir(filepath.Join(root, "var/lib/cco"), 0o700) // Windows without the right to make links
	}
	res, err = h.Uninstall(ctx, System, true, Folders{})
	if err != nil {
		t.Fatal(err)
	}
	r.want(t, "systemctl disable --now cco.service", "systemctl daemon-reload")
	want := []string{unit, filepath.Join(root, "var/lib/cco"), filepath.Join(root, "var/lib/private/cco"), filepath.Join(root, "var/cache/private/cco")}
	if strings.Join(res.Removed, "\n") != strings.Join(want, "\n") {
		t.Errorf("removed %q, want %q", res.Removed, want)
	}

	h.UID = 1000
	if _, err := h.Install(ctx, machineLinux, false); err == nil || !strings.Contains(err.Error(), "sudo /usr/local/bin/cco install --system") {
		t.Errorf("install as a user = %v", err)
	}
	r.want(t)
}

func TestWindowsService(t *testing.T) {
	ctx := context.Background()
	scm := newFakeSCM()
	h := &Host{GOOS: "windows", Getenv: func(k string) string { return map[string]string{"ProgramData": `D:\ProgramData`}[k] },
		Windows: func() (WindowsManager, error) { return scm, nil }}
	d := Definition{Scope: System, Exe: `C:\Program Files\cco\cco.exe`, Port: 3456, Env: []string{"CCO_LOG_LEVEL=debug"}}

	if _, err := h.Install(ctx, Definition{Scope: User, Exe: d.Exe}, false); !errors.Is(err, ErrWindowsUser) {
		t.Errorf("--user on Windows = %v", err)
	}
	res, err := h.Install(ctx, d, false)
	if err != nil || res.Action != Created {
		t.Fatalf("install = %+v, %v", res, err)
	}
	scm.want(t, "config cco", "create cco", "query cco", "start cco", "close")
	c := scm.services["cco"].config
	want := WindowsConfig{
		DisplayName: "cco", Description: "cco, a local gateway to the Anthropic API",
		Exe: d.Exe, Args: []string{"run", "--no-browser", "--port", "3456"}, AutoStart: true,
		Env:      []string{"CCO_SERVICE=windows:cco", `APPDATA=D:\ProgramData`, `LOCALAPPDATA=D:\ProgramData`, "CCO_LOG_LEVEL=debug"},
		Restarts: c.Restarts, ResetAfter: c.ResetAfter,
	}
	if !c.Equal(want) || len(c.Restarts) != 3 || c.Restarts[0].Seconds() != 5 || c.Restarts[2].Seconds() != 30 || c.ResetAfter.Hours() != 24 {
		t.Errorf("service config %+v", c)
	}

	res, err = h.Install(ctx, d, false)
	if err != nil || res.Action != Unchanged {
		t.Fatalf("reinstall = %+v, %v", res, err)
	}
	scm.want(t, "config cco", "query cco", "close")
	scm.services["cco"].state = "stopped"
	h.Install(ctx, d, false)
	scm.want(t, "config cco", "query cco", "start cco", "close")

	d2 := d
	d2.Port = 4000
	var de *DifferentError
	if _, err := h.Install(ctx, d2, false); !errors.As(err, &de) {
		t.Fatalf("changed install = %v", err)
	}
	scm.want(t, "config cco", "close")
	if res, err = h.Install(ctx, d2, true); err != nil || res.Action != Replaced {
		t.Fatalf("forced = %+v, %v", res, err)
	}
	scm.want(t, "config cco", "query cco", "stop cco", "update cco", "query cco", "start cco", "close")

	st, err := h.Status(ctx, System)
	if err != nil || !st.Running || st.PID != 4242 {
		t.Errorf("status = %+v, %v", st, err)
	}
	scm.want(t, "config cco", "query cco", "close")
	if err := h.Restart(ctx, System); err != nil {
		t.Fatal(err)
	}
	scm.want(t, "config cco", "query cco", "stop cco", "query cco", "start cco", "close")
	if err := h.Logs(ctx, System, os.Stderr, 10, false); err == nil {
		t.Errorf("Logs on Windows succeeded")
	}

	res, err = h.Uninstall(ctx, System, false, Folders{})
	if err != nil || len(scm.services) != 0 {
		t.Fatalf("uninstall = %+v, %v", res, err)
	}
	scm.want(t, "config cco", "query cco", "stop cco", "delete cco", "close")
	if _, err := h.Uninstall(ctx, System, false, Folders{}); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("second uninstall = %v", err)
	}
	if err := h.Start(ctx, System); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("start when not installed = %v", err)
	}
	if st, err := h.Status(ctx, System); err != nil || st.Installed {
		t.Errorf("status when not installed = %+v, %v", st, err)
	}
}

package runstate

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// startCCOLike starts a long-running child whose program name contains
// "cco", as a real instance's does. With reap, a goroutine waits for it, as
// a parent that is not this test would; without, it stays a zombie when it
// dies until the test ends.
func startCCOLike(t *testing.T, reap bool) *exec.Cmd {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("uses a Unix sleep binary")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	bin := filepath.Join(t.TempDir(), "cco-sleep")
	src, err := os.Open(sleep)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	cmd := exec.Command(bin, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if reap {
		go cmd.Wait()
		t.Cleanup(func() { cmd.Process.Kill() })
	} else {
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	return cmd
}

func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestWriteRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pids")
	tok, err := NewToken()
	if err != nil || len(tok) != 64 {
		t.Fatalf("token %q %v", tok, err)
	}
	st := State{PID: 42, Host: "127.0.0.1", Port: 3000, Version: "2025.11.2", StartedAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), LogFile: "/l/cco-3000.log", Token: tok}
	path, err := Write(dir, st)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "cco-3000.pid" {
		t.Errorf("path %s", path)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
		}
		di, _ := os.Stat(dir)
		if di.Mode().Perm() != 0o700 {
			t.Errorf("state folder mode %v, want 0700", di.Mode().Perm())
		}
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	st.Path = path
	if !reflect.DeepEqual(got, st) {
		t.Errorf("read back %+v\nwant %+v", got, st)
	}
	got, ok, err := ForPort(dir, 3000)
	if err != nil || !ok || got.PID != 42 {
		t.Errorf("ForPort: %+v %v %v", got, ok, err)
	}
	if _, ok, err := ForPort(dir, 3001); ok || err != nil {
		t.Errorf("ForPort of a free port: %v %v", ok, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
}

func TestListCleansStale(t *testing.T) {
	dir := t.TempDir()
	live := startCCOLike(t, false)
	write := func(st State) string {
		p, err := Write(dir, st)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(State{PID: live.Process.Pid, Host: "127.0.0.1", Port: 4000})
	deadPath := write(State{PID: deadPID(t), Host: "127.0.0.1", Port: 4001})
	// On Linux a live pid that is not cco (this test binary) is stale too.
	otherPath := ""
	if runtime.GOOS == "linux" {
		otherPath = write(State{PID: os.Getpid(), Host: "127.0.0.1", Port: 4002})
	}
	corrupt := filepath.Join(dir, "cco-4003.pid")
	os.WriteFile(corrupt, []byte("{not json"), 0o600)
	os.WriteFile(filepath.Join(dir, "unrelated.txt"), []byte("x"), 0o600)

	running, stale, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 1 || running[0].Port != 4000 || running[0].PID != live.Process.Pid {
		t.Errorf("running: %+v", running)
	}
	wantStale := 2
	if otherPath != "" {
		wantStale = 3
	}
	if len(stale) != wantStale {
		t.Errorf("stale: %+v", stale)
	}
	for _, p := range []string{deadPath, otherPath, corrupt} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale file %s not removed", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "unrelated.txt")); err != nil {
		t.Error("unrelated file touched")
	}
	if r, s, err := List(filepath.Join(dir, "none")); r != nil || s != nil || err != nil {
		t.Errorf("missing dir: %v %v %v", r, s, err)
	}
}

func TestRemoveOnlyOwnFile(t *testing.T) {
	dir := t.TempDir()
	old := State{PID: 100, Port: 3000}
	p, _ := Write(dir, old)
	old.Path = p
	// A newer instance took the port over.
	if _, err := Write(dir, State{PID: 200, Port: 3000}); err != nil {
		t.Fatal(err)
	}
	if err := Remove(old); err != nil {
		t.Fatal(err)
	}
	if st, err := Read(p); err != nil || st.PID != 200 {
		t.Fatalf("newer instance's file removed or changed: %+v %v", st, err)
	}
	if err := Remove(State{PID: 200, Port: 3000, Path: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Error("own file not removed")
	}
	if err := Remove(State{PID: 200, Path: p}); err != nil {
		t.Errorf("removing twice: %v", err)
	}
}

// A terminated process is gone. On Linux that holds even before its parent
// reaps it (a zombie); elsewhere the parent reaps it, as a shell would.
func TestRunningAndWaitGone(t *testing.T) {
	cmd := startCCOLike(t, runtime.GOOS != "linux")
	pid := cmd.Process.Pid
	if !Running(pid) {
		t.Fatal("live child not running")
	}
	if err := Terminate(pid); err != nil {
		t.Fatal(err)
	}
	if !WaitGone(pid, 10*time.Second) {
		t.Fatal("terminated child still counted as running")
	}
	if Running(deadPID(t)) || Running(0) || Running(-1) {
		t.Error("dead pid counted as running")
	}
}

func TestBaseURL(t *testing.T) {
	for host, want := range map[string]string{
		"127.0.0.1": "http://127.0.0.1:3000",
		"localhost": "http://localhost:3000",
		"0.0.0.0":   "http://127.0.0.1:3000",
		"::":        "http://[::1]:3000",
		"::1":       "http://[::1]:3000",
		"127.0.0.2": "http://127.0.0.2:3000",
		"":          "http://127.0.0.1:3000",
		"192.0.2.1": "http://127.0.0.1:3000", // also served on loopback
		"gw.lan":    "http://127.0.0.1:3000",
	} {
		if got := (State{Host: host, Port: 3000}).BaseURL(); got != want {
			t.Errorf("BaseURL(%q) = %s, want %s", host, got, want)
		}
	}
}

// A state file whose pid now belongs to a cco that started after the file
// was written (pid reuse, a restarted container) is stale; so is an older
// file naming the same process as a newer one.
func TestListPIDReuse(t *testing.T) {
	dir := t.TempDir()
	live := startCCOLike(t, false)
	now := time.Now()
	write := func(st State) string {
		p, err := Write(dir, st)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	current := write(State{PID: live.Process.Pid, Host: "127.0.0.1", Port: 4010, StartedAt: now.Add(time.Second)})
	older := write(State{PID: live.Process.Pid, Host: "127.0.0.1", Port: 4011, StartedAt: now.Add(-time.Second)})
	reused := ""
	if _, ok := processStart(live.Process.Pid); ok {
		// Recorded an hour before the process existed.
		reused = write(State{PID: live.Process.Pid, Host: "127.0.0.1", Port: 4012, StartedAt: now.Add(-time.Hour)})
	} else if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
		t.Fatal("cannot read a process's start time")
	}
	running, stale, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 1 || running[0].Path != current {
		t.Fatalf("running: %+v", running)
	}
	want := 1
	if reused != "" {
		want = 2
	}
	if len(stale) != want {
		t.Errorf("stale: %+v", stale)
	}
	for _, p := range []string{older, reused} {
		if _, err := os.Stat(p); p != "" && !os.IsNotExist(err) {
			t.Errorf("stale file %s not removed", p)
		}
	}
}

func TestStartedBy(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		recorded time.Time
		start    time.Time
		known    bool
		want     bool
	}{
		{"started before the record", at, at.Add(-300 * time.Millisecond), true, true},
		{"started long before (one process, a later start)", at, at.Add(-time.Hour), true, true},
		{"within the clock's coarseness", at, at.Add(1500 * time.Millisecond), true, true},
		{"started after the record: pid reused", at, at.Add(10 * time.Second), true, false},
		{"start time unknown", at, time.Time{}, false, true},
		{"old file without a start time", time.Time{}, at, true, true},
	} {
		got := startedBy(State{PID: 42, StartedAt: tc.recorded}, func(int) (time.Time, bool) { return tc.start, tc.known })
		if got != tc.want {
			t.Errorf("%s: startedBy = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The start time read for this very process is close to now.
func TestProcessStartOfSelf(t *testing.T) {
	got, ok := processStart(os.Getpid())
	if !ok {
		if runtime.GOOS == "linux" || runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
			t.Fatal("cannot read this process's start time")
		}
		return
	}
	if d := time.Since(got); d < -startSlack || d > 10*time.Minute {
		t.Errorf("this process started %s ago, by processStart", d)
	}
}

package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/runstate"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		err     error
		code    int
		printed string
	}{
		{nil, 0, ""},
		{errors.New("boom"), 1, "cco: boom\n"},
		{fmt.Errorf("wrapped: %w", &config.Error{Path: "c.toml", Line: 3, Msg: "bad"}), 2, "cco: wrapped: config c.toml:3: bad\n"},
		{usagef("no such flag"), 2, "cco: no such flag\n"},
		{exitStatus{code: 3}, 3, ""},
		{exitStatus{code: 3, msg: "not running"}, 3, "cco: not running\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if got := exitCode(&buf, tt.err); got != tt.code || buf.String() != tt.printed {
			t.Errorf("exitCode(%v) = %d, %q; want %d, %q", tt.err, got, buf.String(), tt.code, tt.printed)
		}
	}
}

// The flags of `cco run` become configuration flags only when given.
func TestRunFlagParsing(t *testing.T) {
	tests := []struct {
		args []string
		want runOptions
	}{
		{nil, runOptions{}},
		{[]string{"--port", "0"}, runOptions{flags: []config.Flag{{Key: "server.port", Name: "--port", Value: "0"}}}},
		{[]string{"--config", "/c.toml", "--host", "::1", "--no-browser", "--log-level", "debug"}, runOptions{configPath: "/c.toml", flags: []config.Flag{
			{Key: "server.host", Name: "--host", Value: "::1"},
			{Key: "log.level", Name: "--log-level", Value: "debug"},
			{Key: "server.open_browser", Name: "--no-browser", Value: "false"},
		}}},
		{[]string{"--no-browser=false", "--upstream", "http://127.0.0.1:9"}, runOptions{flags: []config.Flag{{Key: "upstream.url", Name: "--upstream", Value: "http://127.0.0.1:9"}}}},
	}
	for _, tt := range tests {
		var got runOptions
		app := newApp(testInfo, &System{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
		for _, c := range app.Commands {
			if c.Name == "run" {
				c.Action = func(c *ucli.Context) error { got = runOptionsFrom(c); return nil }
			}
		}
		if err := app.Run(append([]string{"cco", "run"}, tt.args...)); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v:\n got %+v\nwant %+v", tt.args, got, tt.want)
		}
	}
}

// Every command chooses its instance with instanceFlags: the same answers
// and the same messages for shutdown, stats, logs, cache and dashboard.
func TestChooseInstances(t *testing.T) {
	a, b := runstate.State{Port: 3000, PID: 1}, runstate.State{Port: 3001, PID: 2}
	two, one := []runstate.State{a, b}, []runstate.State{a}
	for _, tt := range []struct {
		name    string
		flags   instanceFlags
		running []runstate.State
		pids    []int // the chosen instances
		code    int   // exit code of the error; 0 for none
		msg     string
	}{
		{"--all", instanceFlags{all: true, allowAll: true}, two, []int{1, 2}, 0, ""},
		{"--all of none", instanceFlags{all: true, allowAll: true}, nil, nil, 0, ""},
		{"--port", instanceFlags{port: 3001}, two, []int{2}, 0, ""},
		{"--port, shutdown", instanceFlags{port: 3001, allowAll: true}, two, []int{2}, 0, ""},
		{"--port not running", instanceFlags{port: 4000}, two, nil, exitNotRunning, "no cco instance is running on port 4000"},
		{"--port, none running", instanceFlags{port: 4000}, nil, nil, exitNotRunning, "no cco instance is running on port 4000"},
		{"the only one", instanceFlags{}, one, []int{1}, 0, ""},
		{"the only one, shutdown", instanceFlags{allowAll: true}, one, []int{1}, 0, ""},
		{"none", instanceFlags{}, nil, nil, exitNotRunning, "no cco instance is running"},
		{"none, shutdown", instanceFlags{allowAll: true}, nil, nil, exitNotRunning, "no cco instance is running"},
		{"several", instanceFlags{}, two, nil, exitUsage, "2 instances are running (ports 3000, 3001); choose one with --port"},
		{"several, shutdown", instanceFlags{allowAll: true}, two, nil, exitUsage, "2 instances are running (ports 3000, 3001); choose one with --port or use --all"},
	} {
		got, err := tt.flags.choose(tt.running)
		var pids []int
		for _, st := range got {
			pids = append(pids, st.PID)
		}
		var printed bytes.Buffer
		code := exitCode(&printed, err)
		if !reflect.DeepEqual(pids, tt.pids) || code != tt.code || (tt.msg != "" && printed.String() != "cco: "+tt.msg+"\n") {
			t.Errorf("%s: chose %v, exit %d %q; want %v, exit %d %q", tt.name, pids, code, printed.String(), tt.pids, tt.code, tt.msg)
		}
		if (code == exitNotRunning) != notRunning(err) {
			t.Errorf("%s: notRunning(%v) = %v", tt.name, err, notRunning(err))
		}
		if tt.flags.all {
			continue
		}
		st, err := tt.flags.one(tt.running)
		if (err == nil) != (len(tt.pids) == 1) || err == nil && st.PID != tt.pids[0] {
			t.Errorf("%s: one() = %+v, %v", tt.name, st, err)
		}
	}
	if _, err := (instanceFlags{}).one(nil); !errors.Is(err, errNoneRunning) {
		t.Errorf("none running is not errNoneRunning: %v", err)
	}
	if _, err := (instanceFlags{port: 3000}).one(nil); errors.Is(err, errNoneRunning) {
		t.Errorf("a named port not running is errNoneRunning: %v", err)
	}
}

// status reports an instance whose process lives but whose port does not
// answer as unhealthy, and exits 1.
func TestStatusChecksHealthOverHTTP(t *testing.T) {
	sys := &System{Now: time.Now, HTTP: &http.Client{Timeout: time.Second}}
	st := runstate.State{PID: 1, Host: "127.0.0.1", Port: 1, StartedAt: time.Now().Add(-time.Minute)}
	s := checkInstance(context.Background(), sys, st)
	if s.Healthy || s.Status != "unreachable" || s.Error == "" || s.Uptime < 59 {
		t.Errorf("dead port: %+v", s)
	}
}

// cco run opens the page only on a terminal and only without NO_BROWSER.
func TestRunOpensBrowserOnlyWhenInteractive(t *testing.T) {
	tests := []struct {
		name        string
		interactive bool
		env         map[string]string
		flags       []config.Flag
		wantOpen    bool
	}{
		{"terminal", true, nil, nil, true},
		{"not a terminal", false, nil, nil, false},
		{"NO_BROWSER", true, map[string]string{"NO_BROWSER": "1"}, nil, false},
		{"--no-browser", true, nil, []config.Flag{{Key: "server.open_browser", Name: "--no-browser", Value: "false"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"CCO_PORT": "0"}
			for k, v := range tt.env {
				env[k] = v
			}
			opened := make(chan string, 1)
			ctx, cancel := context.WithCancel(context.Background())
			var stdout bytes.Buffer
			home := t.TempDir()
			paths, err := config.DefaultPaths("linux", func(string) string { return "" }, home)
			if err != nil {
				t.Fatal(err)
			}
			sys := &System{
				Stdout: &stdout, Stderr: &bytes.Buffer{}, Home: home, GOOS: "linux", PID: 1, Now: time.Now,
				LookupEnv:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				Environ:     func() []string { return nil },
				Interactive: tt.interactive,
				// The instance is serving when the browser is asked to open;
				// stop it then, or, when it is not asked, a little after its
				// state file appears (it serves by then, and the browser
				// would have been asked).
				OpenBrowser: func(url string) { opened <- url; cancel() },
			}
			go func() {
				if tt.wantOpen {
					return
				}
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if files, _ := os.ReadDir(paths.PidDir()); len(files) > 0 {
						break
					}
				}
				time.Sleep(200 * time.Millisecond)
				cancel()
			}()
			if err := runRun(ctx, testInfo, sys, runOptions{flags: tt.flags}); err != nil {
				t.Fatal(err)
			}
			select {
			case url := <-opened:
				if !tt.wantOpen {
					t.Fatalf("browser opened at %s", url)
				}
				if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") || !strings.Contains(stdout.String(), strings.TrimSuffix(url, "/")) {
					t.Errorf("opened %q; stdout %q", url, stdout.String())
				}
			default:
				if tt.wantOpen {
					t.Fatal("browser not opened")
				}
			}
		})
	}
}

// When the control API does not answer, shutdown falls back to SIGTERM and
// still waits for the process to be gone and cleans its state file.
func TestShutdownFallsBackToSignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM is Unix")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	home := t.TempDir()
	// A process named like cco that answers no HTTP at all.
	bin := filepath.Join(home, "cco-stuck")
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	t.Cleanup(func() { cmd.Process.Kill() })

	sys := &System{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Home: home, GOOS: runtime.GOOS, Now: time.Now,
		LookupEnv: func(string) (string, bool) { return "", false }, Environ: func() []string { return nil },
		HTTP: &http.Client{Timeout: time.Second}}
	dir, err := pidDir(sys)
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0") // a port that is then free
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	path, err := runstate.Write(dir, runstate.State{PID: cmd.Process.Pid, Host: "127.0.0.1", Port: port, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := runShutdown(context.Background(), sys, shutdownOptions{port: port, timeout: 10 * time.Second}); err != nil {
		t.Fatalf("%v\n%s", err, sys.Stderr)
	}
	if !strings.Contains(sys.Stderr.(*bytes.Buffer).String(), "sending a stop signal") {
		t.Errorf("stderr: %s", sys.Stderr)
	}
	if runstate.Running(cmd.Process.Pid) {
		t.Error("process still running")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("state file left behind")
	}
}

package cli

import (
	"compress/gzip"
	"errors"
	"fmt"
	"github.com/visiquate/cco/pkg/golden"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/visiquate/cco/pkg/config"
	"github.com/visiquate/cco/pkg/runstate"
	"github.com/visiquate/cco/pkg/version"
)

// testInfo stands in for what release builds stamp in with -ldflags.
var testInfo = version.Info{Version: "2025.11.2", Commit: "abc1234", Date: "2025-11-20T10:00:00Z", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}

// TestMain lets the test binary act as the real cco: scripts run it as a
// separate process, over real sockets, in a throw-away HOME.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cco": func() { os.Exit(Main(testInfo, os.Args[1:])) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *golden.Update,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("CCO_NO_UPDATE_CHECK", "1")
			env.Setenv("USERPROFILE", home)
			env.Setenv("APPDATA", filepath.Join(home, "AppData", "Roaming"))
			env.Setenv("LOCALAPPDATA", filepath.Join(home, "AppData", "Local"))
			paths, err := config.DefaultPaths(runtime.GOOS, func(k string) string {
				return map[string]string{"APPDATA": filepath.Join(home, "AppData", "Roaming"), "LOCALAPPDATA": filepath.Join(home, "AppData", "Local")}[k]
			}, home)
			if err != nil {
				return err
			}
			env.Setenv("CONFIG_FILE", paths.ConfigFile)
			env.Setenv("DATA_DIR", paths.DataDir)
			env.Setenv("PID_DIR", paths.PidDir())
			env.Setenv("LOG_DIR", paths.LogDir())
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitrunning": cmdWaitRunning,
			"httpget":     cmdHTTPGet,
			"exits":       cmdExits,
			"alive":       cmdAlive,
			"sigterm":     cmdSigterm,
			"occupy":      cmdOccupy,
			"fileperm":    cmdFilePerm,
			"gzip":        cmdGzip,
			"sleep":       cmdSleep,
		},
	})
}

// waitrunning N: wait until N instances are running and every one answers
// /ready; then $PORT and $PID name the one with the lowest port.
func cmdWaitRunning(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitrunning N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		running, _, err := runstate.List(ts.Getenv("PID_DIR"))
		ts.Check(err)
		if len(running) == want && allReady(running) {
			if want > 0 {
				ts.Setenv("PORT", strconv.Itoa(running[0].Port))
				ts.Setenv("PID", strconv.Itoa(running[0].PID))
			}
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("want %d ready instances, have %d", want, len(running))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allReady(list []runstate.State) bool {
	c := http.Client{Timeout: time.Second}
	for _, st := range list {
		resp, err := c.Get(st.BaseURL() + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return false
		}
	}
	return true
}

// httpget [-H name:value]... [METHOD] PATH: a request to the instance on
// $PORT; prints the status line, then the body.
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	method := http.MethodGet
	headers := http.Header{}
	for len(args) > 1 && args[0] == "-H" {
		k, v, _ := strings.Cut(args[1], ":")
		headers.Set(k, strings.TrimSpace(v))
		args = args[2:]
	}
	if len(args) == 2 {
		method, args = args[0], args[1:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: httpget [-H name:value]... [METHOD] PATH")
	}
	req, err := http.NewRequest(method, "http://127.0.0.1:"+ts.Getenv("PORT")+args[0], nil)
	ts.Check(err)
	req.Header = headers
	if h := headers.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if neg {
		if err == nil {
			resp.Body.Close()
			ts.Fatalf("request succeeded: %s", resp.Status)
		}
		return
	}
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s\n%s", resp.Status, body)
}

// exits CODE cco ARGS...: run cco as a process and check its exit code.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE cco ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	path, err := lookPathIn(args[1], ts.Getenv("PATH"))
	ts.Check(err)
	cmd := exec.Command(path, args[2:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = scriptEnv(ts)
	cmd.Stdout, cmd.Stderr = ts.Stdout(), ts.Stderr()
	err = cmd.Run()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else {
		ts.Check(err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

func lookPathIn(name, pathList string) (string, error) {
	for _, dir := range filepath.SplitList(pathList) {
		for _, ext := range []string{"", ".exe"} {
			p := filepath.Join(dir, name+ext)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not in PATH", name)
}

// scriptEnv rebuilds the script's environment for a child process: the
// variables cco and the OS read.
func scriptEnv(ts *testscript.TestScript) []string {
	names := []string{"PATH", "HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP",
		"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "CCO_CONFIG", "GOCOVERDIR"}
	for _, k := range config.Keys() {
		if k.Env != "" {
			names = append(names, k.Env)
		}
	}
	var env []string
	for _, n := range names {
		if v := ts.Getenv(n); v != "" {
			env = append(env, n+"="+v)
		}
	}
	return env
}

// alive PID: the process is running (as cco); with !, it is gone.
func cmdAlive(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: alive PID")
	}
	pid, err := strconv.Atoi(args[0])
	ts.Check(err)
	if runstate.Running(pid) == neg {
		ts.Fatalf("pid %d running: %v", pid, !neg)
	}
}

// sigterm PID: send SIGTERM (Unix only).
func cmdSigterm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sigterm PID")
	}
	pid, err := strconv.Atoi(args[0])
	ts.Check(err)
	p, err := os.FindProcess(pid)
	ts.Check(err)
	ts.Check(p.Signal(syscall.SIGTERM))
}

// occupy: hold a port with a listener that is not cco; $BUSYPORT names it.
func cmdOccupy(ts *testscript.TestScript, neg bool, args []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Defer(func() { ln.Close() })
	ts.Setenv("BUSYPORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

// fileperm MODE FILE: on Unix, the file's permission bits are MODE (octal).
func cmdFilePerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: fileperm MODE FILE")
	}
	if runtime.GOOS == "windows" {
		return
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fi.Mode().Perm(); (uint64(got) == want) == neg {
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}

// gzip SRC DST: compress a file, as log rotation does.
func cmdGzip(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: gzip SRC DST")
	}
	f, err := os.Create(ts.MkAbs(args[1]))
	ts.Check(err)
	zw := gzip.NewWriter(f)
	_, err = io.WriteString(zw, ts.ReadFile(args[0]))
	ts.Check(err)
	ts.Check(zw.Close())
	ts.Check(f.Close())
}

// sleep DURATION: give a polling reader time to catch up.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

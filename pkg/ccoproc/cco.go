// Package ccoproc builds the real cco binary as a release build does and
// runs it as a process on a free port of 127.0.0.1, for the end-to-end
// tests, the daemon's process tests and the release tests.
//
// It imports no cco package.
package ccoproc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BuildCCO compiles cmd/cco of this module into dir, as a release build
// does (CGO_ENABLED=0, -trimpath), and returns the binary's path. Tests
// built with -tags cgosqlite get a cco with the cgo SQLite driver.
func BuildCCO(dir string) (string, error) {
	return BuildCCOWith(dir, BuildOptions{})
}

// BuildOptions are what a release build stamps into cco with -ldflags -X,
// and the platform it is built for. Empty fields are left out.
type BuildOptions struct {
	// Version is main.version, such as 2025.11.1 (no "v").
	Version string
	// UpdateKey is main.updateKey: the base64 DER of the public key that
	// `cco update` trusts instead of the release key (see
	// [CosignKey.PublicBase64]).
	UpdateKey string
	// ManagedBy is main.managedBy, such as deb/rpm for the packages' builds.
	ManagedBy string
	// GOOS and GOARCH choose the platform; empty means this machine's.
	GOOS, GOARCH string
}

// BuildCCOWith compiles cmd/cco of this module into dir as a release build
// does (CGO_ENABLED=0, -trimpath, -ldflags "-s -w -X main.version=..."),
// stamped with o, and returns the binary's path: dir/cco, or dir/cco.exe
// for Windows. Tests built with -tags cgosqlite get a cco with the cgo
// SQLite driver, but only when it is built for this machine: a build for
// another platform is always the pure-Go one, as released.
func BuildCCOWith(dir string, o BuildOptions) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	goos, goarch := o.GOOS, o.GOARCH
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	ldflags := []string{"-s", "-w"}
	for _, x := range []struct{ name, value string }{
		{"main.version", o.Version},
		{"main.updateKey", o.UpdateKey},
		{"main.managedBy", o.ManagedBy},
	} {
		if x.value == "" {
			continue
		}
		// cmd/go splits -ldflags on spaces unless a value is quoted.
		if strings.ContainsAny(x.value, "'\"\n") {
			return "", fmt.Errorf("build cco: %s=%q: quotes and newlines are not supported", x.name, x.value)
		}
		ldflags = append(ldflags, "-X", "'"+x.name+"="+x.value+"'")
	}
	bin := filepath.Join(dir, "cco")
	if goos == "windows" {
		bin += ".exe"
	}
	tags, cgo := buildTags, "0"
	if goos != runtime.GOOS || goarch != runtime.GOARCH {
		tags = ""
	}
	if tags != "" {
		cgo = "1"
	}
	cmd := exec.Command("go", "build", "-trimpath", "-tags", tags,
		"-ldflags", strings.Join(ldflags, " "), "-o", bin, "./cmd/cco")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo, "GOOS="+goos, "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/cco for %s/%s: %v\n%s", goos, goarch, err, out)
	}
	return bin, nil
}

// ModuleRoot returns the root folder of this module, from where this file
// was compiled.
func ModuleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the module")
	}
	return filepath.Join(filepath.Dir(file), "..", ".."), nil
}

// Instance is a `cco run` process serving on a free port of 127.0.0.1.
type Instance struct {
	// URL is where it listens, such as http://127.0.0.1:PORT.
	URL  string
	Cmd  *exec.Cmd
	Home string

	stderr *Buffer
	done   chan struct{}
	err    error
}

var listening = regexp.MustCompile(`listening on (http://\S+) \(pid`)

// Env is the environment StartCCO runs cco in, for a user whose home is
// home: this process's, with that home and the XDG folders under it, no
// API key, no browser and no update check. Other cco commands run in it
// find the instance.
func Env(home string) []string {
	return append(os.Environ(), "HOME="+home, "USERPROFILE="+home,
		"APPDATA="+filepath.Join(home, "AppData", "Roaming"), "LOCALAPPDATA="+filepath.Join(home, "AppData", "Local"),
		"XDG_CONFIG_HOME=", "XDG_DATA_HOME=", "XDG_CACHE_HOME=", "ANTHROPIC_API_KEY=", "NO_BROWSER=1",
		// Tests never ask GitHub; those about the update check turn it on.
		"CCO_NO_UPDATE_CHECK=1")
}

// StartCCO runs `bin run --port 0 --no-browser ARGS...` in a fresh HOME
// with env added to the environment, waits until /ready answers, and stops
// it when the test ends.
func StartCCO(t testing.TB, bin string, env []string, args ...string) *Instance {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, append([]string{"run", "--port", "0", "--no-browser"}, args...)...)
	cmd.Env = append(Env(home), env...)
	in := &Instance{Cmd: cmd, Home: home, stderr: &Buffer{}, done: make(chan struct{})}
	cmd.Stderr = in.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		in.err = cmd.Wait()
		close(in.done)
	}()
	t.Cleanup(func() { in.Stop() })

	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			in.URL = m[1]
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if in.URL == "" {
		<-in.done
		t.Fatalf("cco did not start: %v\n%s", in.err, in.stderr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(in.URL + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cco at %s not ready: %v\n%s", in.URL, err, in.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Stop ends the process gracefully (SIGTERM; a kill on Windows) and returns
// how it exited.
func (in *Instance) Stop() error {
	select {
	case <-in.done:
		return in.err
	default:
	}
	if err := terminate(in.Cmd.Process); err != nil {
		in.Cmd.Process.Kill()
	}
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		in.Cmd.Process.Kill()
		<-in.done
	}
	return in.err
}

// Log returns what the process wrote to standard error so far.
func (in *Instance) Log() string { return in.stderr.String() }

// Buffer is a bytes.Buffer safe for concurrent use, for output that a
// process or goroutine writes while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns the contents so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Package credtest starts a real, throw-away Secret Service for tests: a
// private D-Bus session bus and an unlocked GNOME Keyring on it, both
// stopped when the test ends.
//
// It imports only the standard library; tests use it, cco never does.
package credtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Tools are the programs StartSecretService needs, and the Debian packages
// that provide them.
var Tools = map[string]string{
	"dbus-daemon":          "dbus-daemon",
	"gnome-keyring-daemon": "gnome-keyring",
	"secret-tool":          "libsecret-tools",
}

// SecretService is a running session bus with GNOME Keyring serving
// org.freedesktop.secrets on it.
type SecretService struct {
	// Address is the bus address, for DBUS_SESSION_BUS_ADDRESS.
	Address string
	dir     string
}

// Env is what a child process needs to use this Secret Service (and not
// another).
func (s *SecretService) Env() []string {
	return []string{"DBUS_SESSION_BUS_ADDRESS=" + s.Address, "XDG_RUNTIME_DIR=" + filepath.Join(s.dir, "run")}
}

// busConfig is a session bus that activates no services: only the keyring
// started here may own org.freedesktop.secrets.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// StartSecretService starts the bus and the keyring. Without the tools it
// fails the test when the environment variable CI is set, and skips it
// otherwise.
func StartSecretService(t testing.TB) *SecretService {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service test runs on Linux only")
	}
	var missing []string
	for tool, pkg := range Tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", tool, pkg))
		}
	}
	if len(missing) > 0 {
		msg := "cannot start a Secret Service: missing " + strings.Join(missing, ", ")
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; skipped because CI is unset")
	}
	// Short folder names: a unix socket path is limited to ~108 bytes.
	dir, err := os.MkdirTemp("", "ss-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"run", "data", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, dir), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &SecretService{dir: dir}
	// The daemons' chatter is shown only when the test fails, read after
	// both have exited (cleanups run last first).
	var busLog, keyringLog bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dbus-daemon said:\n%s\ngnome-keyring-daemon said:\n%s", &busLog, &keyringLog)
		}
	})

	bus := exec.Command("dbus-daemon", "--config-file="+conf, "--print-address=1", "--nofork", "--nopidfile")
	bus.Stderr = &busLog
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start(t, bus)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	s.Address = strings.TrimSpace(line)

	keyring := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	keyring.Env = append(s.childEnv(), "HOME="+filepath.Join(dir, "home"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	keyring.Stdin = strings.NewReader("throw-away-keyring-password")
	keyring.Stdout, keyring.Stderr = &keyringLog, &keyringLog
	start(t, keyring)

	if err := s.waitReady(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}

// childEnv is the environment with this bus in place of any other.
func (s *SecretService) childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			env = append(env, kv)
		}
	}
	return append(env, s.Env()...)
}

// start runs cmd and stops it, by its pid, when the test ends.
func start(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}

// waitReady stores, reads and clears a probe item until the keyring
// answers: before it owns its name on the bus, secret-tool fails at once
// (this bus activates nothing).
func (s *SecretService) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	attrs := []string{"service", "cco-credtest", "username", "probe"}
	var last []byte
	for time.Now().Before(deadline) {
		store := exec.Command("secret-tool", append([]string{"store", "--label=cco credtest probe"}, attrs...)...)
		store.Env = s.childEnv()
		store.Stdin = strings.NewReader("probe")
		out, err := store.CombinedOutput()
		if err == nil {
			clearCmd := exec.Command("secret-tool", append([]string{"clear"}, attrs...)...)
			clearCmd.Env = s.childEnv()
			if out, err := clearCmd.CombinedOutput(); err != nil {
				return fmt.Errorf("secret-tool clear: %v: %s", err, out)
			}
			return nil
		}
		last = out
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the Secret Service did not come up: secret-tool store: " + strings.TrimSpace(string(last)))
}

package e2e

// TestSystemdUserService installs the real cco binary as a systemd user
// unit with `cco install --user` and drives it through a real
// `systemd --user`. This machine has no systemd as PID 1, so the manager
// runs in a private mount namespace with a tmpfs on /run/systemd (where
// systemctl looks to see whether systemd runs), and every command runs in
// that namespace through nsenter with the manager's XDG_RUNTIME_DIR. It
// needs root: the test runs as root, or through passwordless sudo (GitHub's
// Linux runners).

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// userManager is a systemd --user in its own mount namespace.
type userManager struct {
	t       *testing.T
	root    []string // the command prefix that runs as root: nothing, or sudo -n
	pid     int      // systemd --user's
	cmd     *exec.Cmd
	env     []string
	home    string
	exited  chan struct{}
	started []int // cco pids seen, killed at the end if still alive
}

// need fails on CI and skips elsewhere when the machine lacks something.
func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("the systemd round trip needs %s on CI", what)
	}
	t.Skipf("needs %s", what)
}

func startUserManager(t *testing.T) *userManager {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("systemd is Linux; the macOS and Windows jobs of ci.yml run their own round trips")
	}
	var root []string
	if os.Geteuid() != 0 {
		root = []string{"sudo", "-n"}
		need(t, exec.Command("sudo", "-n", "true").Run() == nil, "root or passwordless sudo (to mount in a private namespace)")
	}
	for _, p := range []string{"unshare", "nsenter", "systemctl", "mount"} {
		_, err := exec.LookPath(p)
		need(t, err == nil, p+" (util-linux, systemd)")
	}
	systemd := "/lib/systemd/systemd"
	_, err := os.Stat(systemd)
	need(t, err == nil, systemd+" (apt-get install systemd)")

	dir := t.TempDir()
	home, rt := filepath.Join(dir, "home"), filepath.Join(dir, "runtime")
	m := &userManager{t: t, root: root, home: home, exited: make(chan struct{}),
		env: []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + rt, "PATH=" + os.Getenv("PATH"), "USER=root", "LANG=C.UTF-8"}}
	// Files made as root need root to go; this runs before TempDir's cleanup.
	t.Cleanup(func() { m.asRoot("rm", "-rf", home, rt) })
	if out, err := m.asRoot("mkdir", "-m", "0700", "-p", home, rt); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pidFile := filepath.Join(dir, "systemd.pid")
	argv := append(append(append([]string{}, root...), "env", "-i"), m.env...)
	argv = append(argv, "unshare", "--mount", "--propagation", "private", "sh", "-c",
		`echo $$ > "$0" && mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/system && exec `+systemd+" --user", pidFile)
	m.cmd = exec.Command(argv[0], argv[1:]...)
	log := &strings.Builder{}
	m.cmd.Stdout, m.cmd.Stderr = log, log
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.cmd.Wait(); close(m.exited) }()
	t.Cleanup(m.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m.pid == 0 {
			data, _ := os.ReadFile(pidFile)
			m.pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		}
		if m.pid != 0 {
			out, err := m.run("systemctl", "--user", "is-system-running")
			if err == nil && strings.TrimSpace(out) == "running" {
				return m
			}
		}
		select {
		case <-m.exited:
			t.Fatalf("systemd --user exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd --user did not come up: %s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// asRoot runs a command as root, outside the namespace.
func (m *userManager) asRoot(name string, args ...string) (string, error) {
	argv := append(append(append([]string{}, m.root...), name), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

// run runs a command inside the manager's namespace, with its environment.
func (m *userManager) run(name string, args ...string) (string, error) {
	argv := append([]string{"-t", strconv.Itoa(m.pid), "-m", "--", "env", "-i"}, m.env...)
	return m.asRoot("nsenter", append(append(argv, name), args...)...)
}

// must runs a command that has to succeed.
func (m *userManager) must(name string, args ...string) string {
	m.t.Helper()
	out, err := m.run(name, args...)
	if err != nil {
		m.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// prop is one property of cco.service.
func (m *userManager) prop(name string) string {
	m.t.Helper()
	return strings.TrimSpace(m.must("systemctl", "--user", "show", "cco.service", "--value", "--property="+name))
}

func (m *userManager) stop() {
	if m.pid != 0 {
		m.run("systemctl", "--user", "stop", "cco.service")
		m.asRoot("kill", "-TERM", strconv.Itoa(m.pid))
	}
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		m.asRoot("kill", "-KILL", strconv.Itoa(m.pid))
		<-m.exited
	}
	for _, pid := range m.started {
		if pid > 0 {
			m.asRoot("kill", "-KILL", strconv.Itoa(pid))
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// healthy reports whether a cco answers /health on port.
func healthy(port int) bool {
	resp, err := (&http.Client{Timeout: time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitFor polls cond for up to 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSystemdUserService(t *testing.T) {
	m := startUserManager(t)
	port := freePort(t)
	upstream := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	m.env = append(m.env, "CCO_UPSTREAM_URL="+upstream, "CCO_NO_UPDATE_CHECK=1", "ANTHROPIC_API_KEY=sk-ant-e2e-never-in-a-unit")
	unit := filepath.Join(m.home, ".config/systemd/user/cco.service")

	out := m.must(ccoBin, "install", "--user", "--port", strconv.Itoa(port))
	if !strings.Contains(out, "installed cco as a systemd --user service") || !strings.Contains(out, "not carried into the service (secrets): ANTHROPIC_API_KEY") {
		t.Errorf("install said:\n%s", out)
	}
	data := m.must("cat", unit)
	for _, want := range []string{"ExecStart=" + ccoBin + " run --no-browser --port " + strconv.Itoa(port), "Environment=CCO_UPSTREAM_URL=" + upstream} {
		if !strings.Contains(data, want+"\n") {
			t.Errorf("unit lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(data, "sk-ant") {
		t.Errorf("the API key is in the unit")
	}
	waitFor(t, "cco to answer /health", func() bool { return healthy(port) })
	pid, _ := strconv.Atoi(m.prop("MainPID"))
	m.started = append(m.started, pid)

	// The instance knows it runs under systemd: its state file says so,
	// and `cco status` lists it.
	var st struct {
		PID     int    `json:"pid"`
		Service string `json:"service"`
	}
	stateFile := filepath.Join(m.home, ".local/share/cco/pids", "cco-"+strconv.Itoa(port)+".pid")
	raw := m.must("cat", stateFile)
	if err := json.Unmarshal([]byte(raw), &st); err != nil || st.PID != pid || st.Service != "systemd-user:cco.service" {
		t.Errorf("state file: %+v %v; want pid %d run by systemd-user:cco.service", st, err, pid)
	}
	if out := m.must(ccoBin, "status"); !strings.Contains(out, strconv.Itoa(pid)) {
		t.Errorf("cco status:\n%s", out)
	}
	if out := m.must(ccoBin, "service", "status"); !strings.Contains(out, "active (running), pid "+strconv.Itoa(pid)) {
		t.Errorf("cco service status:\n%s", out)
	}

	// kill -9: systemd starts it again (Restart=on-failure).
	m.must("kill", "-KILL", strconv.Itoa(pid))
	var pid2 int
	waitFor(t, "a new cco after kill -9", func() bool {
		pid2, _ = strconv.Atoi(m.prop("MainPID"))
		return pid2 != 0 && pid2 != pid && healthy(port)
	})
	m.started = append(m.started, pid2)
	if n := m.prop("NRestarts"); n != "1" {
		t.Errorf("NRestarts = %s, want 1", n)
	}

	// cco service stop/start/restart/status.
	m.must(ccoBin, "service", "stop")
	if healthy(port) {
		t.Errorf("cco answers after cco service stop")
	}
	if out, err := m.run(ccoBin, "service", "status"); exitCode(err) != 3 || !strings.Contains(out, "inactive") {
		t.Errorf("status of a stopped service: exit %d\n%s", exitCode(err), out)
	}
	m.must(ccoBin, "service", "start")
	waitFor(t, "cco after cco service start", func() bool { return healthy(port) })
	before := m.prop("MainPID")
	m.must(ccoBin, "service", "restart")
	waitFor(t, "cco after cco service restart", func() bool { return healthy(port) })
	after := m.prop("MainPID")
	if after == before || after == "0" {
		t.Errorf("restart kept pid %s", before)
	}
	p3, _ := strconv.Atoi(after)
	m.started = append(m.started, p3)

	// Installing the same again changes nothing.
	if out := m.must(ccoBin, "install", "--user", "--port", strconv.Itoa(port)); !strings.Contains(out, "unchanged") {
		t.Errorf("second install said:\n%s", out)
	}
	if m.prop("MainPID") != after {
		t.Errorf("a second install restarted cco")
	}

	// Uninstall stops it and removes the unit.
	out = m.must(ccoBin, "uninstall")
	if !strings.Contains(out, "stopped and removed") {
		t.Errorf("uninstall said:\n%s", out)
	}
	if _, err := m.run("test", "-e", unit); err == nil {
		t.Errorf("unit still there")
	}
	if healthy(port) {
		t.Errorf("cco answers after uninstall")
	}
	if s := m.prop("LoadState"); s != "not-found" {
		t.Errorf("LoadState after uninstall = %s", s)
	}
	if out := m.must(ccoBin, "uninstall"); !strings.Contains(out, "not installed") {
		t.Errorf("second uninstall said:\n%s", out)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

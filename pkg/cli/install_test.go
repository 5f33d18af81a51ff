package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/service"
	"github.com/visiquate/cco/pkg/update"
)

// recorder is a service.Runner that records the calls.
type recorder struct{ calls []string }

func (r *recorder) Run(_ context.Context, _ io.Writer, name string, args ...string) (int, error) {
	r.calls = append(r.calls, strings.Join(append([]string{name}, args...), " "))
	return 0, nil
}

func serviceSystem(t *testing.T, goos string, host *service.Host) (*System, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	home := t.TempDir()
	var out, errOut bytes.Buffer
	env := map[string]string{"HOME": home, "ANTHROPIC_API_KEY": "sk-ant-x", "CCO_LOG_LEVEL": "debug"}
	host.Home = home
	host.Executable = func() (string, error) { return "/usr/local/bin/cco", nil }
	return &System{
		Stdout: &out, Stderr: &errOut, Home: home, GOOS: goos, Now: time.Now,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Environ: func() []string {
			var e []string
			for k, v := range env {
				e = append(e, k+"="+v)
			}
			return e
		},
		Services: host,
	}, &out, &errOut
}

func TestInstallOnMacOS(t *testing.T) {
	r := &recorder{}
	sys, out, errOut := serviceSystem(t, "darwin", &service.Host{GOOS: "darwin", UID: 501, Runner: r, Sleep: func(time.Duration) {}})
	if code := Run(context.Background(), testInfo, sys, []string{"install", "--port", "3456"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	plist := filepath.Join(sys.Home, "Library/LaunchAgents/com.visiquate.cco.plist")
	data, err := os.ReadFile(plist)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "<key>CCO_LOG_LEVEL</key>") || strings.Contains(string(data), "sk-ant") {
		t.Errorf("plist:\n%s", data)
	}
	// The first print finds nothing loaded only when launchctl says so;
	// the recorder says 0, so it counts as loaded and is kickstarted.
	want := "launchctl print gui/501/com.visiquate.cco\nlaunchctl enable gui/501/com.visiquate.cco\nlaunchctl kickstart gui/501/com.visiquate.cco"
	if got := strings.Join(r.calls, "\n"); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(out.String(), "launchd gui/501") || !strings.Contains(out.String(), "not carried into the service (secrets): ANTHROPIC_API_KEY") {
		t.Errorf("output:\n%s", out)
	}
}

func TestInstallOnWindowsIsMachineWide(t *testing.T) {
	sys, _, errOut := serviceSystem(t, "windows", &service.Host{GOOS: "windows"})
	if code := Run(context.Background(), testInfo, sys, []string{"install", "--user"}); code != exitUsage {
		t.Errorf("install --user on Windows: exit %d, want 2: %s", code, errOut)
	}
	if !strings.Contains(errOut.String(), "Task Scheduler") {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestInstallPointsPackagesAtTheirService(t *testing.T) {
	r := &recorder{}
	sys, _, errOut := serviceSystem(t, "linux", &service.Host{GOOS: "linux", Runner: r})
	info := testInfo
	info.ManagedBy = "deb/rpm"
	if code := Run(context.Background(), info, sys, []string{"install"}); code != exitFailure {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"installed by a package", "sudo systemctl enable --now cco", "systemctl --user enable --now cco"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("no %q in %s", want, errOut)
		}
	}
	if len(r.calls) != 0 {
		t.Errorf("calls %q", r.calls)
	}
	for m, want := range map[string]string{"homebrew": "brew services start cco", "manual": "", "scoop": "", "go": ""} {
		if got := packagedService(update.Method(m)); (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: %q", m, got)
		}
	}
}

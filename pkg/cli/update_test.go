package cli

import (
	"reflect"
	"testing"
)

func TestServiceRestart(t *testing.T) {
	for _, tt := range []struct {
		service string
		euid    int
		argv    []string
		canRun  bool
	}{
		{"", 1000, nil, false},
		{"systemd-user:cco.service", 1000, []string{"systemctl", "--user", "restart", "cco.service"}, true},
		{"systemd:cco.service", 0, []string{"systemctl", "restart", "cco.service"}, true},
		{"systemd:cco.service", 1000, []string{"sudo", "systemctl", "restart", "cco.service"}, false},
		{"launchd:com.visiquate.cco", 501, []string{"launchctl", "kickstart", "-k", "gui/501/com.visiquate.cco"}, true},
		{"launchd-system:com.visiquate.cco", 0, []string{"launchctl", "kickstart", "-k", "system/com.visiquate.cco"}, true},
		{"launchd-system:com.visiquate.cco", 501, []string{"sudo", "launchctl", "kickstart", "-k", "system/com.visiquate.cco"}, false},
		{"windows:cco", -1, []string{"powershell", "-NoProfile", "-Command", "Restart-Service -Name 'cco'"}, true},
		{"systemd:", 0, nil, false},
		{"upstart:cco", 0, nil, false},
	} {
		argv, canRun := serviceRestart(tt.service, tt.euid)
		if !reflect.DeepEqual(argv, tt.argv) || canRun != tt.canRun {
			t.Errorf("serviceRestart(%q, %d) = %q, %v; want %q, %v", tt.service, tt.euid, argv, canRun, tt.argv, tt.canRun)
		}
	}
}

func TestRestartCommandWords(t *testing.T) {
	if got := withoutPort([]string{"--port", "0", "--no-browser", "--port=4000", "--config", "/x y/c.toml"}); !reflect.DeepEqual(got, []string{"--no-browser", "--config", "/x y/c.toml"}) {
		t.Errorf("withoutPort: %q", got)
	}
	for in, want := range map[string]string{
		"plain":     "plain",
		"/a/b.toml": "/a/b.toml",
		"has space": "'has space'",
		"it's":      `'it'\''s'`,
		"":          "''",
		"$HOME":     "'$HOME'",
	} {
		if got := shellJoin([]string{in}); got != want {
			t.Errorf("shellJoin(%q) = %s, want %s", in, got, want)
		}
	}
}

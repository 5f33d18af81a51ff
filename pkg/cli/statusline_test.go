package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/control"
)

func statusLineSys(t *testing.T, home string, stdin string) (*System, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	return &System{
		Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(stdin), Home: home, GOOS: "linux",
		LookupEnv: func(string) (string, bool) { return "", false },
		Environ:   func() []string { return nil },
		Now:       time.Now,
	}, &stdout, &stderr
}

func parseJSON(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return v
}

// --install changes statusLine and nothing else, after a backup;
// --uninstall puts back the status line there was.
func TestStatusLineInstall(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, ".claude", "settings.json")
	original := []byte(`{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(go test:*)", "Read(~/src/**)"],
    "deny": []
  },
  "statusLine": {"type": "command", "command": "~/.claude/mine.sh", "padding": 0},
  "env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:3000"}
}
`)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, original, 0o640); err != nil {
		t.Fatal(err)
	}
	run := func(flag string) string {
		t.Helper()
		sys, stdout, stderr := statusLineSys(t, home, "")
		if code := Run(context.Background(), testInfo, sys, []string{"statusline", flag}); code != 0 {
			t.Fatalf("statusline %s: exit %d: %s", flag, code, stderr)
		}
		return stdout.String()
	}
	run("--install")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	after, before := parseJSON(t, got), parseJSON(t, original)
	if sl, _ := after["statusLine"].(map[string]any); sl["type"] != "command" || sl["command"] != "cco statusline" {
		t.Errorf("statusLine after --install: %v", after["statusLine"])
	}
	delete(after, "statusLine")
	delete(before, "statusLine")
	if !reflect.DeepEqual(after, before) {
		t.Errorf("--install changed more than statusLine:\n%s", got)
	}
	if !bytes.Contains(got, []byte(`"allow": ["Bash(go test:*)", "Read(~/src/**)"]`)) {
		t.Errorf("the rest of the file was rewritten:\n%s", got)
	}
	if backup, err := os.ReadFile(path + ".cco-backup"); err != nil || !bytes.Equal(backup, original) {
		t.Errorf("backup: %v\n%s", err, backup)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("the file's mode: %v %v", st.Mode(), err)
	}
	if out := run("--install"); !strings.Contains(out, "already") {
		t.Errorf("a second --install: %s", out)
	}

	run("--uninstall")
	got, _ = os.ReadFile(path)
	if !reflect.DeepEqual(parseJSON(t, got), parseJSON(t, original)) {
		t.Errorf("--uninstall did not restore the file:\n%s", got)
	}
	if out := run("--uninstall"); !strings.Contains(out, "nothing to do") {
		t.Errorf("a second --uninstall: %s", out)
	}

	// No settings file: --install makes one, --uninstall leaves it empty.
	home2 := t.TempDir()
	home, path = home2, filepath.Join(home2, ".claude", "settings.json")
	run("--install")
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), `"cco statusline"`) {
		t.Errorf("a new settings file: %s", got)
	}
	run("--uninstall")
	if got, _ := os.ReadFile(path); len(parseJSON(t, got)) != 0 {
		t.Errorf("after --uninstall: %s", got)
	}

	// A file that is not JSON is left alone.
	if err := os.WriteFile(path, []byte("{ not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	sys, _, stderr := statusLineSys(t, home, "")
	if code := Run(context.Background(), testInfo, sys, []string{"statusline", "--install"}); code != 1 || !strings.Contains(stderr.String(), "not JSON") {
		t.Errorf("not JSON: exit %d, %s", code, stderr)
	}
	if got, _ := os.ReadFile(path); string(got) != "{ not json" {
		t.Errorf("the file was changed: %s", got)
	}
}

// With no instance running, one plain line and exit 0; the line's form.
func TestStatusLineFallback(t *testing.T) {
	sys, stdout, _ := statusLineSys(t, t.TempDir(), `{"session_id":"abc"}`)
	if code := Run(context.Background(), testInfo, sys, []string{"statusline"}); code != 0 || stdout.String() != "cco: not running\n" {
		t.Errorf("exit %d, %q", code, stdout)
	}
	line := formatStatusLine(control.StatusLine{SessionRequests: 3, SessionCostNanoUSD: 420_000_000, TodayCostNanoUSD: 3_100_000_000,
		BlockActive: true, BlockCostNanoUSD: 2_050_000_000, BlockRemainingMinutes: 133.2, TodaySavedNanoUSD: 800_000_000, UpdateAvailable: true})
	if want := "cco session $0.42 · today $3.10 · block $2.05 (2h13m left) · saved $0.80 · update available"; line != want {
		t.Errorf("line\n got %q\nwant %q", line, want)
	}
	if got := readSession(strings.NewReader("not json")); got != "" {
		t.Errorf("session from garbage: %q", got)
	}
}

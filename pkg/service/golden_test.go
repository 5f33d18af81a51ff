package service

import (
	"bytes"
	"encoding/xml"
	"github.com/visiquate/cco/pkg/golden"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

var (
	macHost = &Host{GOOS: "darwin", UID: 501, Home: "/Users/ada"}
	adaMac  = Definition{
		Scope: User, Exe: "/opt/homebrew/bin/cco", Port: 3456,
		Env:     []string{"CCO_LOG_LEVEL=debug", "HTTPS_PROXY=http://proxy.internal:3128", "PATH=/opt/homebrew/bin:/usr/bin:/bin"},
		Folders: Folders{ConfigFile: "/Users/ada/.config/cco/config.toml", Data: "/Users/ada/.local/share/cco", Cache: "/Users/ada/.cache/cco"},
	}
	adaLinux = Definition{
		Scope: User, Exe: "/home/ada/.local/bin/cco", Port: 3456,
		Env: []string{"CCO_UPSTREAM_URL=http://127.0.0.1:9999", "NO_PROXY=localhost,127.0.0.1", "XDG_DATA_HOME=/home/ada/My Data"},
	}
	machineLinux = Definition{Scope: System, Exe: "/usr/local/bin/cco"}
)

func TestGoldenDefinitions(t *testing.T) {
	sys := adaMac
	sys.Scope, sys.Exe, sys.Port, sys.Env = System, "/usr/local/bin/cco", 0, []string{"CCO_LOG_FORMAT=json"}
	checkGolden(t, "launchagent.plist", macHost.RenderPlist(adaMac))
	checkGolden(t, "launchdaemon.plist", macHost.RenderPlist(sys))
	for name, d := range map[string]Definition{"user.service": adaLinux, "system.service": machineLinux} {
		unit, err := RenderUnit(d)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, name, unit)
	}
}

// plistDoc is a property list read back with encoding/xml: a dict is a
// sequence of key and value elements.
type plistValue struct {
	XMLName xml.Name
	Text    string       `xml:",chardata"`
	Items   []plistValue `xml:",any"`
}

// dict turns a <dict> into a map from key to value.
func (v plistValue) dict(t *testing.T) map[string]plistValue {
	t.Helper()
	if v.XMLName.Local != "dict" || len(v.Items)%2 != 0 {
		t.Fatalf("not a dict: %+v", v)
	}
	m := map[string]plistValue{}
	for i := 0; i < len(v.Items); i += 2 {
		if v.Items[i].XMLName.Local != "key" {
			t.Fatalf("dict entry %d is a %s, not a key", i, v.Items[i].XMLName.Local)
		}
		m[v.Items[i].Text] = v.Items[i+1]
	}
	return m
}

func parsePlist(t *testing.T, data []byte) map[string]plistValue {
	t.Helper()
	var doc struct {
		XMLName xml.Name   `xml:"plist"`
		Version string     `xml:"version,attr"`
		Dict    plistValue `xml:"dict"`
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("plist does not parse: %v\n%s", err, data)
	}
	if doc.Version != "1.0" {
		t.Errorf("plist version %q", doc.Version)
	}
	doc.Dict.XMLName.Local = "dict"
	return doc.Dict.dict(t)
}

func TestPlistParsesBack(t *testing.T) {
	hostile := adaMac
	hostile.Exe = "/Users/ada/bin/c&o <x>/cco"
	for _, tt := range []struct {
		d                      Definition
		service, exe, logFile  string
		wantEnv, wantNoEnvKeys []string
	}{
		{adaMac, "launchd:com.visiquate.cco", "/opt/homebrew/bin/cco", "/Users/ada/.local/share/cco/logs/launchd.err.log",
			[]string{"CCO_LOG_LEVEL=debug", "HTTPS_PROXY=http://proxy.internal:3128", "PATH=/opt/homebrew/bin:/usr/bin:/bin"}, []string{"ANTHROPIC_API_KEY", "XDG_DATA_HOME"}},
		{hostile, "launchd:com.visiquate.cco", "/Users/ada/bin/c&o <x>/cco", "/Users/ada/.local/share/cco/logs/launchd.err.log", nil, nil},
		{Definition{Scope: System, Exe: "/usr/local/bin/cco", Port: 4000}, "launchd-system:com.visiquate.cco", "/usr/local/bin/cco",
			"/Library/Application Support/cco/logs/launchd.err.log", []string{"XDG_DATA_HOME=/Library/Application Support", "XDG_CACHE_HOME=/Library/Caches"}, []string{"PATH"}},
	} {
		p := parsePlist(t, macHost.RenderPlist(tt.d))
		if got := p["Label"]; got.XMLName.Local != "string" || got.Text != Label {
			t.Errorf("Label = %+v", got)
		}
		var args []string
		for _, a := range p["ProgramArguments"].Items {
			args = append(args, a.Text)
		}
		wantArgs := []string{tt.exe, "run", "--no-browser", "--port", strconv.Itoa(tt.d.Port)}
		if strings.Join(args, "\x00") != strings.Join(wantArgs, "\x00") {
			t.Errorf("ProgramArguments = %q, want %q", args, wantArgs)
		}
		if p["RunAtLoad"].XMLName.Local != "true" {
			t.Errorf("RunAtLoad = %s", p["RunAtLoad"].XMLName.Local)
		}
		if ka := p["KeepAlive"].dict(t); len(ka) != 1 || ka["SuccessfulExit"].XMLName.Local != "false" {
			t.Errorf("KeepAlive = %+v, want {SuccessfulExit: false}", ka)
		}
		if p["ProcessType"].Text != "Background" {
			t.Errorf("ProcessType = %q", p["ProcessType"].Text)
		}
		if p["StandardErrorPath"].Text != tt.logFile || p["StandardOutPath"].Text != strings.Replace(tt.logFile, ".err.", ".out.", 1) {
			t.Errorf("StandardErrorPath = %q, StandardOutPath = %q", p["StandardErrorPath"].Text, p["StandardOutPath"].Text)
		}
		env := p["EnvironmentVariables"].dict(t)
		if env["CCO_SERVICE"].Text != tt.service {
			t.Errorf("CCO_SERVICE = %q, want %q", env["CCO_SERVICE"].Text, tt.service)
		}
		for _, kv := range tt.wantEnv {
			k, v, _ := strings.Cut(kv, "=")
			if env[k].Text != v {
				t.Errorf("%s = %q, want %q", k, env[k].Text, v)
			}
		}
		for _, k := range tt.wantNoEnvKeys {
			if _, ok := env[k]; ok {
				t.Errorf("%s is in the environment", k)
			}
		}
	}
}

func TestUnitKeepsThePackagedUnit(t *testing.T) {
	for _, tt := range []struct {
		d    Definition
		tmpl []byte
		exec string
	}{
		{adaLinux, userUnit, "ExecStart=/home/ada/.local/bin/cco run --no-browser --port 3456"},
		{machineLinux, systemUnit, "ExecStart=/usr/local/bin/cco run --config /etc/cco/config.toml --no-browser"},
		{Definition{Scope: System, Exe: "/opt/my tools/cco%1", Port: 80}, systemUnit, `ExecStart="/opt/my tools/cco%%1" run --config /etc/cco/config.toml --no-browser --port 80`},
	} {
		unit, err := RenderUnit(tt.d)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(unit), "\n")
		if !slicesContains(lines, tt.exec) {
			t.Errorf("no %q in\n%s", tt.exec, unit)
		}
		if !slicesContains(lines, "Restart=on-failure") {
			t.Errorf("no Restart=on-failure")
		}
		// Every setting of the packaged unit is there, unchanged but for
		// ExecStart: one source for both.
		for _, l := range strings.Split(string(tt.tmpl), "\n") {
			if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "ExecStart=") {
				continue
			}
			if !slicesContains(lines, l) {
				t.Errorf("packaged line %q missing from the installed unit", l)
			}
		}
		for _, kv := range tt.d.Env {
			if !slicesContains(lines, "Environment="+unitQuote(kv)) {
				t.Errorf("no Environment= line for %s", kv)
			}
		}
	}
}

func slicesContains(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}

// systemdAnalyze finds systemd-analyze; on CI its absence fails the test.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("systemd-analyze is Linux's")
	}
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is needed on CI (apt-get install systemd): %v", err)
		}
		t.Skip("no systemd-analyze")
	}
	return p
}

// realUnit renders d with the test binary as ExecStart (verify needs it
// to exist) into dir/cco.service.
func realUnit(t *testing.T, d Definition, dir string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d.Exe = exe
	unit, err := RenderUnit(d)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, Unit)
	if err := os.WriteFile(p, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnitsVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	rt := filepath.Join(t.TempDir(), "runtime")
	if err := os.Mkdir(rt, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		d    Definition
		args []string
	}{
		{"user", adaLinux, []string{"--user"}},
		{"system", machineLinux, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := realUnit(t, tt.d, t.TempDir())
			cmd := exec.Command(sa, append(append([]string{"verify", "--man=no"}, tt.args...), p)...)
			cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+rt, "SYSTEMD_LOG_LEVEL=notice")
			out, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", p, err, out)
			}
		})
	}
	t.Run("missing binary fails", func(t *testing.T) {
		// The check above could pass by not checking: a unit whose binary
		// does not exist must fail it.
		unit, err := RenderUnit(Definition{Scope: System, Exe: "/nonexistent/cco"})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), Unit)
		os.WriteFile(p, unit, 0o644)
		if out, err := exec.Command(sa, "verify", "--man=no", p).CombinedOutput(); err == nil {
			t.Errorf("verify passed a unit with a missing binary:\n%s", out)
		}
	})
}

var exposure = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+) (\S+)`)

// TestSystemUnitSecurity scores the hardened system unit; the figure is
// recorded in the test log (go test -v) and must stay "OK" (2.0 or lower).
func TestSystemUnitSecurity(t *testing.T) {
	sa := systemdAnalyze(t)
	p := realUnit(t, machineLinux, t.TempDir())
	out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", p).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposure.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("systemd-analyze security: exposure %.1f %s", score, m[2])
	if score > 2.0 {
		t.Errorf("exposure %.1f %s, want 2.0 or lower:\n%s", score, m[2], out)
	}
}

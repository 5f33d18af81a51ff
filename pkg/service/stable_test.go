package service

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestStablePath(t *testing.T) {
	for _, tt := range []struct {
		goos          string
		scope         Scope
		exe, resolved string
		want          string // the path to run, or "!" and the path to use instead
	}{
		{"linux", User, "/home/ada/.local/bin/cco", "/home/ada/.local/bin/cco", "/home/ada/.local/bin/cco"},
		{"linux", System, "/usr/local/bin/cco", "/usr/local/bin/cco", "/usr/local/bin/cco"},
		// Homebrew: its bin/cco link is what survives upgrades.
		{"darwin", User, "/opt/homebrew/bin/cco", "/opt/homebrew/Cellar/cco/2025.11.2/bin/cco", "/opt/homebrew/bin/cco"},
		{"darwin", User, "/opt/homebrew/Cellar/cco/2025.11.2/bin/cco", "/opt/homebrew/Cellar/cco/2025.11.2/bin/cco", "!/opt/homebrew/bin/cco"},
		{"linux", User, "/home/linuxbrew/.linuxbrew/Cellar/cco/2025.11.2/bin/cco", "", "!/home/linuxbrew/.linuxbrew/bin/cco"},
		// A link of one's own to a manual install is fine; so is where it points.
		{"darwin", User, "/Users/ada/bin/cco", "/Users/ada/Downloads/cco_2025.11.2/cco", "/Users/ada/bin/cco"},
		// Scoop: the current junction, never a version folder.
		{"windows", System, `C:\Users\ada\scoop\apps\cco\current\cco.exe`, `C:\Users\ada\scoop\apps\cco\2025.11.2\cco.exe`, `C:\Users\ada\scoop\apps\cco\current\cco.exe`},
		{"windows", System, `C:\Users\ada\scoop\apps\cco\2025.11.2\cco.exe`, `C:\Users\ada\scoop\apps\cco\2025.11.2\cco.exe`, `!C:\Users\ada\scoop\apps\cco\current\cco.exe`},
		{"windows", System, `D:\Scoop\Apps\CCO\2025.11.2\cco.exe`, "", `!D:\Scoop\Apps\CCO\current\cco.exe`},
		{"windows", System, `C:\Program Files\cco\cco.exe`, `C:\Program Files\cco\cco.exe`, `C:\Program Files\cco\cco.exe`},
		// go run and go test binaries.
		{"linux", User, "/tmp/go-build3456/b001/exe/cco", "/tmp/go-build3456/b001/exe/cco", "!go install"},
		{"darwin", User, "/var/folders/xy/T/go-build123/b001/exe/cco", "/private/var/folders/xy/T/go-build123/b001/exe/cco", "!go install"},
		{"windows", System, `C:\Users\ada\AppData\Local\Temp\go-build99\b001\exe\cco.exe`, "", "!go install"},
		// The hardened system unit cannot see home folders.
		{"linux", System, "/home/ada/.local/bin/cco", "/home/ada/.local/bin/cco", "!/usr/local/bin/cco"},
		{"linux", System, "/root/bin/cco", "/root/bin/cco", "!/usr/local/bin/cco"},
		{"darwin", System, "/Users/ada/bin/cco", "/Users/ada/bin/cco", "/Users/ada/bin/cco"},
	} {
		got, err := StablePath(tt.goos, tt.scope, tt.exe, tt.resolved)
		if use, refuse := strings.CutPrefix(tt.want, "!"); refuse {
			var ue *UnstableError
			if !errors.As(err, &ue) || !strings.Contains(ue.Use, use) {
				t.Errorf("StablePath(%s, %s, %q) = %q, %v; want a refusal naming %q", tt.goos, tt.scope, tt.exe, got, err, use)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("StablePath(%s, %s, %q, %q) = %q, %v; want %q", tt.goos, tt.scope, tt.exe, tt.resolved, got, err, tt.want)
		}
	}
}

func TestCarriedEnv(t *testing.T) {
	environ := []string{
		"ANTHROPIC_API_KEY=sk-ant-secret", "ANTHROPIC_AUTH_TOKEN=tok", "ANTHROPIC_BASE_URL=http://127.0.0.1:3000",
		"CCO_UPSTREAM_URL=http://127.0.0.1:9", "CCO_GITHUB_TOKEN=ghp_x", "CCO_SERVICE=launchd:x", "CCO_CONFIG=/home/ada/c.toml",
		"HTTPS_PROXY=http://proxy:3128", "http_proxy=http://user:pw@proxy:3128", "NO_PROXY=localhost",
		"PATH=/usr/bin:/bin", "HOME=/home/ada", "XDG_DATA_HOME=/data", "AWS_SECRET_ACCESS_KEY=x", "TERM=xterm",
	}
	for _, tt := range []struct {
		goos         string
		scope        Scope
		carry, drops []string
	}{
		{"linux", User, []string{"CCO_CONFIG=/home/ada/c.toml", "CCO_UPSTREAM_URL=http://127.0.0.1:9", "HTTPS_PROXY=http://proxy:3128", "NO_PROXY=localhost", "XDG_DATA_HOME=/data"},
			[]string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CCO_GITHUB_TOKEN", "http_proxy"}},
		{"darwin", User, []string{"CCO_CONFIG=/home/ada/c.toml", "CCO_UPSTREAM_URL=http://127.0.0.1:9", "HTTPS_PROXY=http://proxy:3128", "NO_PROXY=localhost", "PATH=/usr/bin:/bin", "XDG_DATA_HOME=/data"},
			[]string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CCO_GITHUB_TOKEN", "http_proxy"}},
		{"darwin", System, []string{"CCO_UPSTREAM_URL=http://127.0.0.1:9", "HTTPS_PROXY=http://proxy:3128", "NO_PROXY=localhost"},
			[]string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CCO_GITHUB_TOKEN", "http_proxy"}},
		{"windows", System, []string{"CCO_UPSTREAM_URL=http://127.0.0.1:9", "HTTPS_PROXY=http://proxy:3128", "NO_PROXY=localhost"},
			[]string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CCO_GITHUB_TOKEN", "HTTP_PROXY"}},
	} {
		carry, drops := CarriedEnv(environ, tt.goos, tt.scope)
		if !slices.Equal(carry, tt.carry) || !slices.Equal(drops, tt.drops) {
			t.Errorf("%s %s: carry %q drop %q\nwant carry %q drop %q", tt.goos, tt.scope, carry, drops, tt.carry, tt.drops)
		}
		for _, kv := range carry {
			if strings.Contains(kv, "secret") || strings.Contains(kv, "pw@") {
				t.Errorf("a secret is carried: %s", kv)
			}
		}
	}
}

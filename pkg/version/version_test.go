package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Version
	}{
		{"2025.11.2", Version{Year: 2025, Month: 11, N: 2}},
		{"v2025.11.2", Version{Year: 2025, Month: 11, N: 2}},
		{"2025.12.1-beta.1", Version{Year: 2025, Month: 12, N: 1, Prerelease: "beta.1"}},
		{"2026.1.0", Version{Year: 2026, Month: 1, N: 0}},
		{"2026.1.1+linux.amd64", Version{Year: 2026, Month: 1, N: 1, Build: "linux.amd64"}},
		{"v2026.3.10-rc.2+001", Version{Year: 2026, Month: 3, N: 10, Prerelease: "rc.2", Build: "001"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"", "want YYYY.MM.N"},
		{"2025.11", "want YYYY.MM.N"},
		{"2025.11.2.1", "want YYYY.MM.N"},
		{"25.11.2", "year must be four digits"},
		{"2025.13.1", "month must be 1-12"},
		{"2025.0.1", "month must be 1-12"},
		{"2025.01.1", "month must be 1-12"},
		{"2025.11.02", "leading zero"},
		{"2025.11.x", "not a number"},
		{"2025.11.-1", "release number: empty"},
		{"2025.11.1-", "prerelease: empty"},
		{"2025.11.1-beta..1", "empty identifier"},
		{"2025.11.1-beta.01", "leading zero"},
		{"2025.11.1+", "build metadata: empty"},
		{"2025.11.1-beta_1", "invalid character"},
		{"dev", "want YYYY.MM.N"},
		{"v0.0.0-20251127000000-abcdef123456", "year must be four digits"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", tt.in, tt.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Parse(%q) error %q, want it to contain %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		newer, older string
	}{
		{"2026.1.1", "2025.12.99"},
		{"2025.12.1", "2025.11.99"},
		{"2025.11.2", "2025.11.1"},
		{"2025.12.1", "2025.12.1-beta.1"},
		{"2025.12.1-beta.2", "2025.12.1-beta.1"},
		{"2025.12.1-beta.10", "2025.12.1-beta.9"},
		{"2025.12.1-rc.1", "2025.12.1-beta.9"},
		{"2025.12.1-beta.1", "2025.12.1-beta"},
		{"2025.12.1-beta", "2025.12.1-1"},
		{"2025.12.1-beta.1", "2025.11.99"},
		{"2025.12.2-beta.1", "2025.12.1"},
		{"2025.10.1", "2025.9.30"},
		{"2025.12.1-1.100000000000000000000", "2025.12.1-1.99999999999999999999"},
	}
	for _, tt := range tests {
		n, o := MustParse(tt.newer), MustParse(tt.older)
		if got := n.Compare(o); got != 1 {
			t.Errorf("Compare(%s, %s) = %d, want 1", tt.newer, tt.older, got)
		}
		if got := o.Compare(n); got != -1 {
			t.Errorf("Compare(%s, %s) = %d, want -1", tt.older, tt.newer, got)
		}
		if !o.Less(n) || n.Less(o) {
			t.Errorf("Less disagrees with Compare for %s and %s", tt.newer, tt.older)
		}
	}
}

func TestCompareEqual(t *testing.T) {
	for _, pair := range [][2]string{
		{"2025.11.2", "v2025.11.2"},
		{"2025.11.2+a", "2025.11.2+b"},
		{"2025.12.1-beta.1+x", "2025.12.1-beta.1"},
	} {
		if c := MustParse(pair[0]).Compare(MustParse(pair[1])); c != 0 {
			t.Errorf("Compare(%s, %s) = %d, want 0", pair[0], pair[1], c)
		}
	}
}

func TestStringAndTag(t *testing.T) {
	v := MustParse("v2025.12.1-beta.1+meta")
	if got := v.String(); got != "2025.12.1-beta.1+meta" {
		t.Errorf("String() = %q", got)
	}
	if got := v.Tag(); got != "v2025.12.1-beta.1+meta" {
		t.Errorf("Tag() = %q", got)
	}
	if !v.IsPrerelease() || MustParse("2025.12.1").IsPrerelease() {
		t.Error("IsPrerelease wrong")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2025.11.2", "v2025.12.1-beta.1", "2026.1.1+build.7", "2025.12.1-rc.1.x-y", "9999.12.0", "2025.1.1-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		// The canonical form parses back to the same value.
		w, err := Parse(v.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but its String %q does not parse: %v", s, v.String(), err)
		}
		if w != v {
			t.Fatalf("round trip of %q: %+v != %+v", s, w, v)
		}
		if v.Compare(w) != 0 || v.Compare(v) != 0 {
			t.Fatalf("%q does not compare equal to itself", s)
		}
		if v.Month < 1 || v.Month > 12 || v.Year < 1000 || v.Year > 9999 || v.N < 0 {
			t.Fatalf("Parse(%q) accepted out-of-range fields %+v", s, v)
		}
		// A prerelease is always older than its release.
		if v.IsPrerelease() {
			rel := v
			rel.Prerelease = ""
			if v.Compare(rel) != -1 || rel.Compare(v) != 1 {
				t.Fatalf("prerelease %q not older than its release", s)
			}
		}
	})
}

func TestNewInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		Main: debug.Module{Version: "v2025.11.2"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2025-11-20T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	// ldflags win over build info.
	got := newInfo("v2026.1.1", "feed", "2026-01-01T00:00:00Z", bi)
	if got.Version != "2026.1.1" || got.Commit != "feed" || got.Date != "2026-01-01T00:00:00Z" {
		t.Errorf("ldflags not preferred: %+v", got)
	}
	// Build info fills the gaps for `go install` builds.
	got = newInfo("", "", "", bi)
	if got.Version != "2025.11.2" || got.Commit != "abc123" || got.Date != "2025-11-20T10:00:00Z" || !got.Modified {
		t.Errorf("build info not used: %+v", got)
	}
	// `go run` in a checkout reports (devel): that is a dev build.
	got = newInfo("", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}})
	if got.Version != DevVersion || got.Commit != "unknown" || got.Date != "unknown" {
		t.Errorf("devel build: %+v", got)
	}
	if got.GoVersion == "" || got.OS == "" || got.Arch == "" {
		t.Errorf("runtime fields missing: %+v", got)
	}
}

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/visiquate/cco/pkg/control"
	"github.com/visiquate/cco/pkg/golden"
)

// statsCLI runs `cco stats ARGS` over the statsFixture database, with no
// instance running, at statsNow in statsZone, with env added.
func statsCLI(t *testing.T, db string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	e := map[string]string{"CCO_DATABASE_URL": "sqlite:///" + strings.TrimPrefix(filepath.ToSlash(db), "/")}
	for k, v := range env {
		e[k] = v
	}
	var stdout, stderr bytes.Buffer
	sys := &System{
		Stdout: &stdout, Stderr: &stderr, Home: t.TempDir(), GOOS: "linux",
		LookupEnv: func(k string) (string, bool) { v, ok := e[k]; return v, ok },
		Environ:   func() []string { return nil },
		Now:       func() time.Time { return statsNow },
		Location:  statsZone,
	}
	code := Run(context.Background(), testInfo, sys, append([]string{"stats"}, args...))
	return code, stdout.String(), stderr.String()
}

// The reports' tables from a real database, at 80 columns and narrower:
// the golden files hold them (go test ./pkg/cli -update rewrites them),
// and no line is wider than the terminal.
func TestReportsGolden(t *testing.T) {
	db := statsFixture(t)
	for _, tc := range []struct {
		name    string
		columns string
		args    []string
	}{
		{"daily", "80", []string{"daily"}},
		{"daily-breakdown", "80", []string{"daily", "--breakdown"}},
		{"daily-40", "40", []string{"daily"}},
		{"daily-compact", "80", []string{"daily", "--compact", "--order", "desc"}},
		{"daily-utc", "80", []string{"daily", "--timezone", "UTC", "--since", "2026-01-14"}},
		{"weekly", "80", []string{"weekly"}},
		{"weekly-monday", "80", []string{"weekly", "--start-of-week", "mon", "--breakdown"}},
		{"monthly", "80", []string{"monthly", "-b"}},
		{"session", "80", []string{"session", "--breakdown"}},
		{"session-60", "60", []string{"session"}},
		{"blocks-breakdown", "80", []string{"blocks", "--since", "2026-01-15", "--breakdown"}},
		{"blocks-50", "50", []string{"blocks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := statsCLI(t, db, map[string]string{"COLUMNS": tc.columns}, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Check(t, filepath.Join("testdata", "stats", "report-"+tc.name+".golden"), []byte(out))
			width, _ := strconv.Atoi(tc.columns)
			for _, line := range strings.Split(out, "\n") {
				if n := utf8.RuneCountInString(line); n > width && !strings.HasPrefix(line, "cco stats") && !strings.HasPrefix(line, "  burning") {
					t.Errorf("a line of %d columns in %d:\n%s", n, width, line)
				}
			}
		})
	}
}

// What the tables say, checked apart from the golden files.
func TestReportsContent(t *testing.T) {
	db := statsFixture(t)
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := statsCLI(t, db, map[string]string{"COLUMNS": "80"}, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	// In UTC-5 the request at 03:00 UTC on the 15th (800 tokens in) is on
	// the 14th; in UTC it is on the 15th, and the count_tokens call at
	// 23:59 on the 13th in UTC-5 (300 in) on the 14th.
	if out := run("daily"); !regexp.MustCompile(`(?m)^2026-01-14 +1 +800 `).MatchString(out) {
		t.Errorf("daily in UTC-5: not 1 request on the 14th:\n%s", out)
	}
	if out := run("daily", "--timezone", "UTC"); !regexp.MustCompile(`(?m)^2026-01-14 +1 +300 `).MatchString(out) ||
		!regexp.MustCompile(`(?m)^2026-01-15 +6 `).MatchString(out) {
		t.Errorf("daily in UTC:\n%s", out)
	}
	// The JSON is the report: its rows' costs add up to its total, to the
	// nano-dollar, and the total is the fixture's.
	for _, name := range control.Reports {
		var r control.Report
		if err := json.Unmarshal([]byte(run(name, "--json")), &r); err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, row := range r.Rows {
			sum += row.CostNanoUSD
		}
		want := int64(19_662_000 + 288_888_000 + 1_400_000 + 186_000_000 + 180_000)
		if name == "session" {
			want = 19_662_000 + 288_888_000
		}
		if sum != r.Totals.CostNanoUSD || sum != want {
			t.Errorf("%s: rows %d, total %d, want %d", name, sum, r.Totals.CostNanoUSD, want)
		}
	}
	// Sessions: s-1 (two requests, one a cache hit) and s-2.
	out := run("session")
	if !regexp.MustCompile(`(?m)^s-1 +01-15 09:00-09:01 +2 `).MatchString(out) || !strings.Contains(out, "s-2 ") {
		t.Errorf("session:\n%s", out)
	}
}

func TestReportsRefuseBadFlags(t *testing.T) {
	db := statsFixture(t)
	for _, args := range [][]string{
		{"daily", "--timezone", "Mars/Olympus"},
		{"daily", "--since", "01/02/2026"},
		{"weekly", "--start-of-week", "someday"},
		{"monthly", "--order", "sideways"},
		{"session", "extra"},
		{"blocks", "--until", "2026-01-01", "--since", "2026-01-02"},
	} {
		code, _, errOut := statsCLI(t, db, nil, args...)
		if code != 2 || !strings.HasPrefix(errOut, "cco: ") {
			t.Errorf("%v: exit %d, %q; want 2 and a message", args, code, errOut)
		}
	}
}

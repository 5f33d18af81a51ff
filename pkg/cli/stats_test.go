package cli

import (
	"bytes"
	"context"
	"github.com/visiquate/cco/pkg/golden"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/visiquate/cco/pkg/store"
)

// statsZone is where the golden stats are counted: five hours behind UTC,
// so a request at 03:00 UTC belongs to the day before.
var statsZone = time.FixedZone("UTC-5", -5*3600)

// statsNow is the fixed "now" of the golden stats: 15 January 2026, 14:30
// in statsZone.
var statsNow = time.Date(2026, 1, 15, 14, 30, 0, 0, statsZone)

// statsFixture writes a few days of requests into a real analytics
// database and returns its path.
func statsFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "analytics.db")
	db, err := store.Open(context.Background(), store.Options{Path: path, Now: func() time.Time { return statsNow }})
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 1, day, hour, minute, 0, 0, statsZone) }
	for _, r := range []store.Record{
		// Today.
		{Time: at(15, 9, 0), Model: "claude-sonnet-4-5-20250929", Path: "/v1/messages", Status: 200, Stream: true,
			Input: 1200, Output: 350, CacheWrite5m: 2048, CacheRead: 10240, CostNano: 19_662_000, CostKnown: true, PromptCacheSavedNano: 27_648_000, SessionID: "s-1", User: "ana", Replica: "a:3000"},
		{Time: at(15, 9, 1), Model: "claude-sonnet-4-5-20250929", Path: "/v1/messages", Status: 200,
			Input: 1200, Output: 350, CacheHit: true, CostKnown: true, SavedNano: 8_850_000, SessionID: "s-1", User: "ana", Replica: "b:3000"},
		{Time: at(15, 11, 45), Model: "claude-opus-4-1-20250805", Path: "/v1/messages", Status: 200, Stream: true,
			Input: 5000, Output: 1200, CacheWrite1h: 4096, CostNano: 288_888_000, CostKnown: true, SessionID: "s-2", Credential: "0123456789abcdef", Replica: "a:3000"},
		{Time: at(15, 12, 0), Model: "claude-opus-4-1-20250805", Path: "/v1/messages", Status: 529, ErrorType: "overloaded_error", CostKnown: true},
		{Time: at(15, 14, 29), Model: "claude-future-9", Path: "/v1/messages", Status: 200, Input: 100, Output: 10},
		// Earlier days; the first is today's 03:00 UTC, still yesterday here.
		{Time: time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC), Model: "claude-haiku-4-5-20251001", Path: "/v1/messages", Status: 200,
			Input: 800, Output: 120, CostNano: 1_400_000, CostKnown: true},
		{Time: at(13, 23, 59), Model: "claude-haiku-4-5-20251001", Path: "/v1/messages/count_tokens", Status: 200,
			Input: 300, CostKnown: true},
		{Time: at(10, 8, 0), Model: "claude-sonnet-4-5-20250929", Path: "/v1/messages", Status: 200,
			Input: 40000, Output: 2000, CacheRead: 120000, CostNano: 186_000_000, CostKnown: true, PromptCacheSavedNano: 324_000_000},
		// Out of the 7-day range, in the 30-day one.
		{Time: at(2, 12, 0), Model: "claude-sonnet-4-5-20250929", Path: "/v1/messages", Status: 200,
			Input: 10, Output: 10, CostNano: 180_000, CostKnown: true},
	} {
		if !db.Record(r) {
			t.Fatal("the store refused a record")
		}
	}
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// `cco stats --by`: the range's groups, from a real database; a grouping
// cco does not know is a usage error.
func TestStatsByGolden(t *testing.T) {
	db := statsFixture(t)
	env := map[string]string{"CCO_DATABASE_URL": "sqlite:///" + strings.TrimPrefix(filepath.ToSlash(db), "/")}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		sys := &System{
			Stdout: &stdout, Stderr: &stderr, Home: t.TempDir(), GOOS: "linux",
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Environ:   func() []string { return nil },
			Now:       func() time.Time { return statsNow },
			Location:  statsZone,
		}
		code := Run(context.Background(), testInfo, sys, append([]string{"stats"}, args...))
		return code, stdout.String(), stderr.String()
	}
	for _, by := range []string{"user", "replica"} {
		t.Run(by, func(t *testing.T) {
			code, out, errOut := run("--range", "today", "--by", by)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Check(t, filepath.Join("testdata", "stats", "today-by-"+by+".golden"), []byte(out))
			want := map[string][]string{
				"user":    {"ana ", "key:0123456789abcdef ", "(none) "},
				"replica": {"a:3000 ", "b:3000 ", "(none) "},
			}[by]
			for _, w := range want {
				if !strings.Contains(out, "\n"+w) {
					t.Errorf("no row for %q:\n%s", w, out)
				}
			}
		})
	}
	if code, _, errOut := run("--by", "team"); code != 2 || !strings.Contains(errOut, "--by") {
		t.Errorf("--by team: exit %d, %s; want 2 naming the flag", code, errOut)
	}
}

// `cco stats` without a running instance, from a real database, in a fixed
// zone at a fixed time: the table is the golden file's. The golden files
// are rewritten with go test ./pkg/cli -update.
func TestStatsTableGolden(t *testing.T) {
	db := statsFixture(t)
	env := map[string]string{"CCO_DATABASE_URL": "sqlite://" + filepath.ToSlash(db)}
	if !strings.HasPrefix(filepath.ToSlash(db), "/") {
		env["CCO_DATABASE_URL"] = "sqlite:///" + filepath.ToSlash(db)
	}
	for _, rng := range []string{"today", "7d", "30d", "all"} {
		t.Run(rng, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			sys := &System{
				Stdout: &stdout, Stderr: &stderr, Home: t.TempDir(), GOOS: "linux",
				LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				Environ:   func() []string { return nil },
				Now:       func() time.Time { return statsNow },
				Location:  statsZone,
			}
			if code := Run(context.Background(), testInfo, sys, []string{"stats", "--range", rng}); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			golden.Check(t, filepath.Join("testdata", "stats", rng+".golden"), stdout.Bytes())

			// The properties the table must have, whatever its layout.
			out := stdout.String()
			if !strings.HasPrefix(out, "cco stats: "+rng+" (") {
				t.Errorf("first line: %q", out)
			}
			if rng != "all" && !regexp.MustCompile(`since \d{4}-\d\d-\d\d 00:00:00-05:00\)`).MatchString(out) {
				t.Errorf("the range does not start at a midnight in the zone given:\n%s", out)
			}
			if rng == "today" && !strings.Contains(out, "requests      5 (1 errors; 1 from cco's cache, 20.0%; 1 with unknown cost)") {
				t.Errorf("today's totals:\n%s", out)
			}
			if rng == "7d" && !regexp.MustCompile(`(?m)^2026-01-14 +1 +0 `).MatchString(out) {
				t.Errorf("03:00 UTC on the 15th is not counted on the 14th in UTC-5:\n%s", out)
			}
		})
	}
}

// `cco stats blocks` from a real database at a fixed time: the fixture's
// today holds one block from 14:00 UTC (four requests) and, with its last
// request a minute before now, the active block from 19:00 UTC.
func TestStatsBlocksGolden(t *testing.T) {
	db := statsFixture(t)
	env := map[string]string{"CCO_DATABASE_URL": "sqlite:///" + strings.TrimPrefix(filepath.ToSlash(db), "/")}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		sys := &System{
			Stdout: &stdout, Stderr: &stderr, Home: t.TempDir(), GOOS: "linux",
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Environ:   func() []string { return nil },
			Now:       func() time.Time { return statsNow },
			Location:  statsZone,
		}
		code := Run(context.Background(), testInfo, sys, append([]string{"stats", "blocks"}, args...))
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run("--since", "2026-01-15")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Check(t, filepath.Join("testdata", "stats", "blocks-today.golden"), []byte(out))
	for _, want := range []string{
		`\n2026-01-15 09:00 +4 +25\.7k +\$0\.3086 `, // 14:00 UTC in UTC-5
		`\n2026-01-15 14:00 \* +1 +110 `,
		`\* active: 30m elapsed, 4h30m left \(ends 19:00\)\n  burning 110 tokens and \$0\.00 a minute`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if code, _, errOut := run("--since", "15/01/2026"); code != 2 || !strings.Contains(errOut, "not a date") {
		t.Errorf("a bad date: exit %d, %s", code, errOut)
	}
	if code, out, _ := run("--since", "20251201", "--until", "20251202"); code != 0 || !strings.Contains(out, "no requests") {
		t.Errorf("an empty range: exit %d, %s", code, out)
	}
}

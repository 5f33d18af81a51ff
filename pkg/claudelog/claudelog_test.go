package claudelog

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The fixtures (testdata/claude/README.md): Claude Code 1.0.3, 1.0.60,
// 2.0.14 and 2.0.20 logs with repeated lines, a resumed session, a
// sub-agent, malformed and synthetic lines.
func TestFixtures(t *testing.T) {
	var l Log
	if err := l.ReadDir(filepath.Join("testdata", "claude", "projects")); err != nil {
		t.Fatal(err)
	}
	want := Counts{Files: 5, Lines: 26, Assistant: 14, Messages: 8, Repeated: 5, Synthetic: 1, Malformed: 6,
		Versions: map[string]int{"1.0.3": 2, "1.0.60": 1, "2.0.14": 4, "2.0.20": 1}}
	if !reflect.DeepEqual(l.Counts, want) {
		t.Errorf("counts %+v\nwant   %+v", l.Counts, want)
	}
	reasons := map[string]string{}
	for _, p := range l.Problems {
		reasons[fmt.Sprintf("%s:%d", filepath.Base(p.File)[:13], p.Line)] = p.Reason
	}
	for place, reason := range map[string]string{
		"0a1b2c3d-1111:7": "not JSON: unexpected end of JSON input",
		"0a1b2c3d-2222:7": `timestamp "yesterday" is not RFC 3339`,
		"0a1b2c3d-2222:8": "assistant line without message.usage",
		"0a1b2c3d-3333:5": "negative token count",
		"0a1b2c3d-3333:6": "not JSON: invalid character 'g' looking for beginning of value",
		"5e6f7a8b-4444:3": "message.usage.input_tokens is a JSON string",
	} {
		if reasons[place] != reason {
			t.Errorf("%s: reason %q, want %q", place, reasons[place], reason)
		}
	}
	if len(l.Problems) != 6 {
		t.Errorf("problems: %v", l.Problems)
	}

	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	s1, s2, s3, s4 := "0a1b2c3d-1111-4000-8000-000000000001", "0a1b2c3d-2222-4000-8000-000000000002",
		"0a1b2c3d-3333-4000-8000-000000000003", "5e6f7a8b-4444-4000-8000-000000000004"
	type tok struct{ in, out, w5, w1, r int64 }
	wantMsgs := []struct {
		at, id, req, session, model, version string
		tok
	}{
		{"2025-06-01T10:00:02Z", "msg_01A1", "", s1, "claude-sonnet-4-20250514", "1.0.3", tok{100, 50, 2000, 0, 0}},
		{"2025-06-01T10:00:06Z", "msg_01A2", "", s1, "claude-sonnet-4-20250514", "1.0.3", tok{10, 200, 300, 0, 2000}},
		{"2025-07-15T12:00:00Z", "msg_01E1", "req_011E1", s4, "claude-3-5-haiku-20241022", "1.0.60", tok{1000, 1000, 1000, 0, 1000}},
		// The repeats in the resumed session (s3) keep the first session.
		{"2025-10-10T09:00:01.5Z", "msg_01B1", "req_011B1", s2, "claude-haiku-4-5-20251001", "2.0.14", tok{5, 120, 500, 1000, 10000}},
		{"2025-10-10T09:00:10Z", "msg_01B2", "req_011B2", s2, "claude-sonnet-4-5-20250929", "2.0.14", tok{8, 300, 0, 700, 11500}},
		{"2025-10-10T09:00:20Z", "msg_01C1", "req_011C1", s2, "claude-haiku-4-5-20251001", "2.0.14", tok{2000, 400, 0, 0, 0}},
		{"2025-10-10T09:01:00Z", "msg_01B5", "req_011B5", s2, "claude-future-9", "2.0.14", tok{100, 10, 0, 0, 0}},
		{"2025-10-11T08:00:00Z", "msg_01D1", "req_011D1", s3, "claude-opus-4-1-20250805", "2.0.20", tok{3, 500, 0, 0, 20000}},
	}
	got := l.All()
	if len(got) != len(wantMsgs) {
		t.Fatalf("%d messages, want %d: %+v", len(got), len(wantMsgs), got)
	}
	var sum tok
	for i, w := range wantMsgs {
		m := got[i]
		g := tok{m.Input, m.Output, m.CacheWrite5m, m.CacheWrite1h, m.CacheRead}
		if !m.Time.Equal(at(w.at)) || m.MessageID != w.id || m.RequestID != w.req || m.SessionID != w.session ||
			m.Model != w.model || m.Version != w.version || g != w.tok {
			t.Errorf("message %d: %+v\nwant %+v", i, m, w)
		}
		sum = tok{sum.in + g.in, sum.out + g.out, sum.w5 + g.w5, sum.w1 + g.w1, sum.r + g.r}
	}
	// The README's totals.
	if sum != (tok{3226, 2580, 3800, 1700, 44500}) {
		t.Errorf("totals %+v", sum)
	}
	if m := got[3]; !strings.HasSuffix(m.File, "0002.jsonl") || m.Line != 2 || m.CWD != "/home/ana/app" {
		t.Errorf("msg_01B1 placed at %s:%d (cwd %s), want its first line", m.File, m.Line, m.CWD)
	}
}

// Lines one at a time: what counts as what.
func TestLines(t *testing.T) {
	const ok = `{"type":"assistant","timestamp":"2026-01-02T03:04:05.678+01:00","sessionId":"s","requestId":"r","version":"2.1.0",` +
		`"message":{"id":"m","model":"claude-haiku-4-5","usage":{"input_tokens":1,"output_tokens":2,%s}}}`
	for _, tc := range []struct {
		name, line    string
		messages, bad int
		w5, w1        int64
	}{
		{"total only", fmt.Sprintf(ok, `"cache_creation_input_tokens":30`), 1, 0, 30, 0},
		{"split", fmt.Sprintf(ok, `"cache_creation_input_tokens":30,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20}`), 1, 0, 10, 20},
		{"half a split", fmt.Sprintf(ok, `"cache_creation_input_tokens":30,"cache_creation":{"ephemeral_1h_input_tokens":25}`), 1, 0, 5, 25},
		{"empty split", fmt.Sprintf(ok, `"cache_creation_input_tokens":30,"cache_creation":{}`), 1, 0, 30, 0},
		{"no cache fields", fmt.Sprintf(ok, `"service_tier":"standard"`), 1, 0, 0, 0},
		{"fraction", fmt.Sprintf(ok, `"cache_read_input_tokens":1.5`), 0, 1, 0, 0},
		{"no output", `{"type":"assistant","timestamp":"2026-01-02T03:04:05Z","message":{"id":"m","model":"x","usage":{"input_tokens":1}}}`, 0, 1, 0, 0},
		{"no id", `{"type":"assistant","timestamp":"2026-01-02T03:04:05Z","message":{"model":"x","usage":{"input_tokens":1,"output_tokens":1}}}`, 0, 1, 0, 0},
		{"no model", `{"type":"assistant","timestamp":"2026-01-02T03:04:05Z","message":{"id":"m","usage":{"input_tokens":1,"output_tokens":1}}}`, 0, 1, 0, 0},
		{"no timestamp", `{"type":"assistant","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":1}}}`, 0, 1, 0, 0},
		{"no message", `{"type":"assistant","timestamp":"2026-01-02T03:04:05Z"}`, 0, 1, 0, 0},
		{"message of another type", `{"type":"assistant","timestamp":"2026-01-02T03:04:05Z","message":"hi"}`, 0, 1, 0, 0},
		{"user", `{"type":"user","message":{"role":"user","content":"hi"}}`, 0, 0, 0, 0},
		{"a JSON array", `[1,2]`, 0, 1, 0, 0},
		{"blank", "   \t", 0, 0, 0, 0},
		{"not JSON", `{"type":"assistant"`, 0, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Log
			if err := l.Read("f.jsonl", strings.NewReader(tc.line)); err != nil {
				t.Fatal(err)
			}
			if l.Messages != tc.messages || l.Malformed != tc.bad {
				t.Fatalf("messages %d, malformed %d (%v); want %d, %d", l.Messages, l.Malformed, l.Problems, tc.messages, tc.bad)
			}
			if tc.messages == 1 {
				m := l.All()[0]
				if m.CacheWrite5m != tc.w5 || m.CacheWrite1h != tc.w1 || m.Input != 1 || m.Output != 2 ||
					!m.Time.Equal(time.Date(2026, 1, 2, 2, 4, 5, 678e6, time.UTC)) || m.SessionID != "s" || m.RequestID != "r" || m.Version != "2.1.0" {
					t.Errorf("message %+v", m)
				}
			}
		})
	}
}

// A line longer than MaxLine is counted and skipped without being kept
// whole, and the lines after it are read; so is the last line without a
// line end, and a file that ends in CRLF lines.
func TestLongLines(t *testing.T) {
	line := `{"type":"assistant","timestamp":"2026-01-02T03:04:05Z","message":{"id":"m%d","model":"x","usage":{"input_tokens":1,"output_tokens":1}}}`
	long := `{"type":"user","message":{"content":"` + strings.Repeat("a", 200_000) + `"}}`
	in := fmt.Sprintf(line, 1) + "\r\n" + long + "\n" + fmt.Sprintf(line, 2) + "\n" + long + "\n" + fmt.Sprintf(line, 3)
	l := Log{MaxLine: 100_000, KeepProblems: 1}
	if err := l.Read("f.jsonl", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if l.Lines != 5 || l.Messages != 3 || l.Malformed != 2 || len(l.Problems) != 1 ||
		l.Problems[0] != (Problem{File: "f.jsonl", Line: 2, Reason: "longer than 100000 bytes"}) {
		t.Errorf("counts %+v, problems %v", l.Counts, l.Problems)
	}
	// With the default bound the long lines are read (and skipped as user
	// lines).
	l = Log{}
	if err := l.Read("f.jsonl", strings.NewReader(in)); err != nil || l.Malformed != 0 || l.Messages != 3 {
		t.Errorf("default bound: %v, %+v", err, l.Counts)
	}
}

func TestDirs(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	home := filepath.FromSlash("/home/ana")
	for _, tc := range []struct {
		env  func(string) (string, bool)
		want []string
	}{
		{env(), []string{filepath.Join(home, ".claude"), filepath.Join(home, ".config", "claude")}},
		{env("XDG_CONFIG_HOME", filepath.FromSlash("/xdg")), []string{filepath.Join(home, ".claude"), filepath.FromSlash("/xdg/claude")}},
		{env("XDG_CONFIG_HOME", "relative"), []string{filepath.Join(home, ".claude"), filepath.Join(home, ".config", "claude")}},
		{env("CLAUDE_CONFIG_DIR", filepath.FromSlash("/cfg")), []string{filepath.FromSlash("/cfg")}},
	} {
		if got := DefaultDirs(tc.env, home); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DefaultDirs = %v, want %v", got, tc.want)
		}
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "projects"), 0o755); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		filepath.Join(dir, "a"):             filepath.Join(dir, "a", "projects"),
		filepath.Join(dir, "a", "projects"): filepath.Join(dir, "a", "projects"),
		dir:                                 "",
		filepath.Join(dir, "missing"):       "",
	} {
		if got, ok := ProjectsDir(in); got != want || ok != (want != "") {
			t.Errorf("ProjectsDir(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
}

// A file that cannot be read is counted; the others are still read.
func TestUnreadable(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads any file")
	}
	dir := t.TempDir()
	good := `{"type":"assistant","timestamp":"2026-01-02T03:04:05Z","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":1}}}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "a.jsonl"), []byte(good), 0o000); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.jsonl"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	var l Log
	if err := l.ReadDir(dir); err != nil {
		t.Fatal(err)
	}
	if l.Unreadable != 1 || l.Messages != 1 || len(l.Problems) != 1 {
		t.Errorf("counts %+v, problems %v", l.Counts, l.Problems)
	}
	if err := new(Log).ReadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing folder read without error")
	}
}

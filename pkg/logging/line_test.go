package logging

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// accessFields are the access log's fields as the proxy writes them.
func accessFields(path, model string, status int) []Field {
	return []Field{
		String("method", "POST"), String("path", path), Int("status", status),
		String("duration", "1.234ms"), String("cache", "MISS"), String("model", model),
		String("request_id", "req_011CUm2xyz"),
	}
}

// Log's own formatting is byte for byte what logrus writes for the same
// entry, in both formats, for values that need quoting or escaping too.
func TestLogFormatsAsLogrus(t *testing.T) {
	at := time.Date(2026, 12, 4, 18, 30, 1, 123456789, time.FixedZone("X", 3600))
	cases := [][]Field{
		nil,
		accessFields("/v1/messages", "claude-haiku-4-5", 200),
		{String("duration", "523µs"), Int("status", -1), String("path", "")},
		{String("error", `read tcp 127.0.0.1:1->127.0.0.1:2: "reset" <&> \ done`), String("a", "tab\there\nnew line")},
		{String("path", "/v1/caf\xc3\xa9"), String("bad", "\xff\xfe"), String("ctl", "\x01\x7f"), Int("big", 1<<40)},
		{String("zz", "last"), String("aa", "first"), String("mm", "msg-like"), String("tt", "t")},
	}
	for _, format := range []string{"text", "json"} {
		l, err := New(Options{Level: "debug", Format: format, Out: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		r := l.Formatter.(*redactor)
		for i, fs := range cases {
			for _, msg := range []string{"proxy request done", "", `odd "msg" <here>`} {
				for _, level := range []logrus.Level{logrus.InfoLevel, logrus.WarnLevel, logrus.DebugLevel} {
					data := logrus.Fields{}
					for _, f := range fs {
						if f.isNum {
							data[f.Key] = int(f.num)
						} else {
							data[f.Key] = f.str
						}
					}
					want, err := r.next.Format(&logrus.Entry{Logger: l, Data: data, Time: at, Level: level, Message: msg})
					if err != nil {
						t.Fatal(err)
					}
					sorted := append([]Field(nil), fs...)
					sortFields(sorted)
					var got []byte
					if format == "json" {
						got = appendJSONLine(nil, at, level, msg, sorted)
					} else {
						got = appendTextLine(nil, at, level, msg, sorted)
					}
					if !bytes.Equal(got, want) {
						t.Errorf("%s case %d msg %q level %s:\n got %s\nwant %s", format, i, msg, level, got, want)
					}
				}
			}
		}
	}
}

func sortFields(fs []Field) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Key < fs[j-1].Key; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// Log through a logger that is not New's with an Output goes through
// logrus and writes the same fields.
func TestLogFallsBackToLogrus(t *testing.T) {
	var buf bytes.Buffer
	l := logrus.New()
	l.Out = &buf
	l.Formatter = &logrus.JSONFormatter{}
	Log(l, logrus.InfoLevel, "proxy request done", accessFields("/v1/messages", "m", 200)...)
	Log(l, logrus.DebugLevel, "not shown")
	got := buf.String()
	for _, want := range []string{`"method":"POST"`, `"status":200`, `"request_id":"req_011CUm2xyz"`, `"msg":"proxy request done"`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
	if strings.Count(got, "\n") != 1 {
		t.Errorf("want one line: %s", got)
	}
}

// The fast path redacts as the formatter does.
func TestLogRedacts(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		out := NewOutput(&buf, time.Hour)
		l, err := New(Options{Level: "info", Format: format, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		Log(l, logrus.InfoLevel, "proxy request done", String("path", "/v1/"+apiKey), String("model", "x"))
		Log(l, logrus.WarnLevel, "proxy request failed", String("error", "bad x-api-key: "+oauthKey))
		out.Close()
		if got := buf.String(); strings.Contains(got, "AbCdEf") || strings.Contains(got, "ZyXw") || strings.Count(got, Redacted) != 2 {
			t.Errorf("%s: not redacted:\n%s", format, got)
		}
	}
}

// The prefilter never skips a line the patterns would change.
func TestRedactPrefilter(t *testing.T) {
	full := func(b []byte) []byte {
		for _, p := range secretPatterns {
			b = p.re.ReplaceAll(b, p.repl)
		}
		return b
	}
	words := []string{"bearer ", "Bearer\t", "x-api-key=", "API_KEY: ", "apikey=", "Authorization: ", "access-token=", "refresh_token:",
		"TOKEN=", "secret=", "PassWord: ", "sk-ant-", "\u212aey=", "\u017fecret=", "api\u212aey: ", "to\u212aen=", "pa\u017f\u017fword=", "plain ", "µs ", `"`, "'", "\\"}
	values := []string{"abcdefgh1234", "Bearer abcdefgh1234", "xy", "api03-AbCdEfGh", "[REDACTED]"}
	n := 0
	for _, a := range words {
		for _, b := range words {
			for _, v := range values {
				line := []byte(`time="2026" level=info msg="x" ` + a + v + " " + b + v + "\n")
				if got, want := Redact(bytes.Clone(line)), full(bytes.Clone(line)); !bytes.Equal(got, want) {
					t.Errorf("%q:\n got %q\nwant %q", line, got, want)
				}
				n++
			}
		}
	}
	if maySecret([]byte(`time="2026-12-04T18:30:01+01:00" level=info msg="proxy request done" cache=MISS duration="523µs" method=POST model=claude-haiku-4-5 path=/v1/messages request_id=req_011CUm2xyz status=200`)) {
		t.Error("an ordinary access line should skip the patterns")
	}
}

// Buffered lines wait for the interval, a Write goes out at once after
// them, and Close writes the rest.
func TestOutput(t *testing.T) {
	var mu sync.Mutex
	var writes []string
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		writes = append(writes, string(p))
		return len(p), nil
	})
	got := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), writes...)
	}
	o := NewOutput(w, 50*time.Millisecond)
	o.Buffer([]byte("a\n"))
	o.Buffer([]byte("b\n"))
	if len(got()) != 0 {
		t.Fatal("buffered lines were written at once")
	}
	waitFor(t, "the interval's flush", func() bool { return len(got()) == 1 })
	if g := got(); g[0] != "a\nb\n" {
		t.Fatalf("want one write of both lines, got %q", g)
	}
	o.Buffer([]byte("c\n"))
	o.Write([]byte("warn\n"))
	if g := got(); len(g) != 2 || g[1] != "c\nwarn\n" {
		t.Fatalf("a Write goes out with what was buffered before it: %q", g)
	}
	o.Buffer([]byte("d\n"))
	o.Close()
	o.Buffer([]byte("e\n"))
	if g := got(); len(g) != 4 || g[2] != "d\n" || g[3] != "e\n" {
		t.Fatalf("Close writes the rest, later lines go out at once: %q", g)
	}
	// A full buffer is written without waiting.
	var big bytes.Buffer
	o = NewOutput(&big, time.Hour)
	line := []byte(strings.Repeat("x", 99) + "\n")
	for range outputLimit/len(line) + 1 {
		o.Buffer(line)
	}
	if big.Len() < outputLimit {
		t.Fatalf("a full buffer was not written: %d bytes", big.Len())
	}
}

// Concurrent lines all arrive whole (run with -race).
func TestOutputConcurrent(t *testing.T) {
	var buf bytes.Buffer
	o := NewOutput(&buf, time.Millisecond)
	l, err := New(Options{Level: "info", Out: o})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				Log(l, logrus.InfoLevel, "proxy request done", accessFields(fmt.Sprintf("/v1/%d/%d", g, i), "m", 200)...)
				if i%100 == 0 {
					l.WithField("g", g).Warn("a warning")
				}
			}
		})
	}
	wg.Wait()
	o.Close()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 8*505 {
		t.Fatalf("want %d lines, got %d", 8*505, len(lines))
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, `time="`) || !(strings.HasSuffix(line, "status=200") || strings.HasSuffix(line, `msg="a warning" g=`+line[len(line)-1:])) {
			t.Fatalf("torn line: %q", line)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// BenchmarkAccessLine compares one access line through logrus (a map of
// fields, the formatter, the redaction patterns, a write per line) with
// Log into an Output, on 1 and 2 goroutines.
func BenchmarkAccessLine(b *testing.B) {
	for _, format := range []string{"text", "json"} {
		b.Run(format+"/logrus", func(b *testing.B) {
			l, _ := New(Options{Level: "info", Format: format, Out: io.Discard})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.WithFields(logrus.Fields{"method": "POST", "path": "/v1/messages", "status": 200, "duration": (1234 * time.Microsecond).String(),
						"cache": "MISS", "model": "claude-haiku-4-5", "request_id": "req_011CUm2xyz"}).Info("proxy request done")
				}
			})
		})
		b.Run(format+"/Log", func(b *testing.B) {
			o := NewOutput(io.Discard, FlushInterval)
			defer o.Close()
			l, _ := New(Options{Level: "info", Format: format, Out: o})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					Log(l, logrus.InfoLevel, "proxy request done", String("method", "POST"), String("path", "/v1/messages"), Int("status", 200),
						String("duration", (1234*time.Microsecond).String()), String("cache", "MISS"), String("model", "claude-haiku-4-5"),
						String("request_id", "req_011CUm2xyz"))
				}
			})
		})
	}
}

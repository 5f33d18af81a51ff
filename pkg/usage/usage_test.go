package usage

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/visiquate/cco/pkg/fakeapi"
	"github.com/visiquate/cco/pkg/pricing"
)

const (
	ctSSE  = "text/event-stream; charset=utf-8"
	ctJSON = "application/json"
)

// fixtures are the bodies in testdata, in the API's wire format, and what
// the Tap must read from them. A transform makes a variant of a file.
var fixtures = []struct {
	name, file, contentType string
	transform               func([]byte) []byte
	want                    Usage
}{
	{name: "text", file: "text.sse", contentType: ctSSE, want: Usage{MessageID: "msg_01XFDUDYJgAACzvnptvVoYEL",
		Model: "claude-sonnet-4-5-20250929", Tokens: pricing.Tokens{Input: 25, Output: 15},
		StopReason: "end_turn", Stream: true, Complete: true}},
	{name: "tool_use", file: "tool_use.sse", contentType: ctSSE, want: Usage{MessageID: "msg_014p7gG3wDgGV9EUtLvnow3U",
		Model: "claude-haiku-4-5-20251001", Tokens: pricing.Tokens{Input: 472, Output: 89},
		StopReason: "tool_use", Stream: true, Complete: true}},
	{name: "thinking", file: "thinking.sse", contentType: ctSSE, want: Usage{MessageID: "msg_01Ap4wZuRdXMq8yqQC8oWNF3",
		Model: "claude-opus-4-5-20251101", Tokens: pricing.Tokens{Input: 36, Output: 218},
		StopReason: "end_turn", Stream: true, Complete: true}},
	{name: "cache_split", file: "cache_split.sse", contentType: ctSSE, want: Usage{MessageID: "msg_01KfwtyoXnHL9xTRgvDmuYMc",
		Model:      "claude-sonnet-4-5-20250929",
		Tokens:     pricing.Tokens{Input: 6, Output: 321, CacheWrite5m: 1000, CacheWrite1h: 2000, CacheRead: 41250},
		StopReason: "end_turn", Stream: true, Complete: true}},
	{name: "delta_overwrite", file: "delta_overwrite.sse", contentType: ctSSE, want: Usage{MessageID: "msg_01Q8Faay6S7QPTvEUUQARt7h",
		// message_delta's total 560 keeps message_start's 1h part (60).
		Model:      "claude-opus-4-1-20250805",
		Tokens:     pricing.Tokens{Input: 2048, Output: 77, CacheWrite5m: 500, CacheWrite1h: 60, CacheRead: 1500},
		StopReason: "max_tokens", Stream: true, Complete: true}},
	{name: "pings", file: "pings.sse", contentType: ctSSE, want: Usage{MessageID: "msg_01PingPingPingPingPingPing",
		Model: "claude-3-5-haiku-20241022", Tokens: pricing.Tokens{Input: 12, Output: 4},
		StopReason: "end_turn", Stream: true, Complete: true}},
	{name: "truncated", file: "truncated.sse", contentType: ctSSE, want: Usage{MessageID: "msg_01TruncTruncTruncTruncTrun",
		Model: "claude-sonnet-4-5-20250929", Tokens: pricing.Tokens{Input: 1200, Output: 1, CacheRead: 800},
		Stream: true}},
	{name: "truncated_midline", file: "text.sse", contentType: ctSSE,
		transform: func(b []byte) []byte { return b[:bytes.Index(b, []byte(`"usage":{"output_tokens":15`))+10] },
		want:      Usage{MessageID: "msg_01XFDUDYJgAACzvnptvVoYEL", Model: "claude-sonnet-4-5-20250929", Tokens: pricing.Tokens{Input: 25, Output: 1}, Stream: true}},
	{name: "error_midstream", file: "error_midstream.sse", contentType: ctSSE, want: Usage{MessageID: "msg_01ErrErrErrErrErrErrErrErr",
		Model: "claude-opus-4-5-20251101", Tokens: pricing.Tokens{Input: 310, Output: 1},
		ErrorType: "overloaded_error", Stream: true}},
	{name: "no_final_blank", file: "no_final_blank.sse", contentType: ctSSE, want: Usage{MessageID: "msg_01NoBlankNoBlankNoBlankNo",
		Model: "claude-haiku-4-5-20251001", Tokens: pricing.Tokens{Input: 9, Output: 3},
		StopReason: "end_turn", Stream: true}},
	{name: "crlf", file: "cache_split.sse", contentType: ctSSE,
		transform: func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) },
		want: Usage{MessageID: "msg_01KfwtyoXnHL9xTRgvDmuYMc", Model: "claude-sonnet-4-5-20250929",
			Tokens:     pricing.Tokens{Input: 6, Output: 321, CacheWrite5m: 1000, CacheWrite1h: 2000, CacheRead: 41250},
			StopReason: "end_turn", Stream: true, Complete: true}},
	{name: "cr", file: "tool_use.sse", contentType: ctSSE,
		transform: func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r")) },
		want: Usage{MessageID: "msg_014p7gG3wDgGV9EUtLvnow3U", Model: "claude-haiku-4-5-20251001", Tokens: pricing.Tokens{Input: 472, Output: 89},
			StopReason: "tool_use", Stream: true, Complete: true}},
	{name: "no_space", file: "delta_overwrite.sse", contentType: ctSSE,
		transform: func(b []byte) []byte {
			b = bytes.ReplaceAll(b, []byte("data: "), []byte("data:"))
			return bytes.ReplaceAll(b, []byte("event: "), []byte("event:"))
		},
		want: Usage{MessageID: "msg_01Q8Faay6S7QPTvEUUQARt7h", Model: "claude-opus-4-1-20250805",
			Tokens:     pricing.Tokens{Input: 2048, Output: 77, CacheWrite5m: 500, CacheWrite1h: 60, CacheRead: 1500},
			StopReason: "max_tokens", Stream: true, Complete: true}},
	{name: "unnamed", file: "thinking.sse", contentType: ctSSE,
		// Without event lines the Tap goes by the data's type.
		transform: func(b []byte) []byte {
			var out []byte
			for line := range bytes.Lines(b) {
				if !bytes.HasPrefix(line, []byte("event:")) {
					out = append(out, line...)
				}
			}
			return out
		},
		want: Usage{MessageID: "msg_01Ap4wZuRdXMq8yqQC8oWNF3", Model: "claude-opus-4-5-20251101", Tokens: pricing.Tokens{Input: 36, Output: 218},
			StopReason: "end_turn", Stream: true, Complete: true}},
	{name: "message", file: "message.json", contentType: "application/json", want: Usage{MessageID: "msg_01EcyWo6m4hyW8KHs2y2pei5",
		Model:      "claude-haiku-4-5-20251001",
		Tokens:     pricing.Tokens{Input: 2095, Output: 503, CacheWrite5m: 500, CacheWrite1h: 2000, CacheRead: 12000},
		StopReason: "tool_use", Complete: true}},
	{name: "message_truncated", file: "message.json", contentType: "application/json; charset=utf-8",
		transform: func(b []byte) []byte { return b[:len(b)-10] }, want: Usage{}},
	{name: "error_envelope", file: "error.json", contentType: ctJSON, want: Usage{ErrorType: "rate_limit_error"}},
	{name: "other_type", file: "message.json", contentType: "text/plain", want: Usage{}},
}

// encoding is a Content-Encoding and how to apply it.
type encoding struct {
	name, header string
	encode       func(t testing.TB, b []byte) []byte
}

func encodings() []encoding {
	gz := func(t testing.TB, b []byte) []byte {
		var out bytes.Buffer
		w := gzip.NewWriter(&out)
		mustWrite(t, w, b)
		return out.Bytes()
	}
	br := func(t testing.TB, b []byte) []byte {
		var out bytes.Buffer
		w := brotli.NewWriter(&out)
		mustWrite(t, w, b)
		return out.Bytes()
	}
	return []encoding{
		{"identity", "", func(_ testing.TB, b []byte) []byte { return b }},
		{"identity_named", "Identity", func(_ testing.TB, b []byte) []byte { return b }},
		{"gzip", "gzip", gz},
		{"x-gzip", "X-Gzip", gz},
		{"deflate_zlib", "deflate", func(t testing.TB, b []byte) []byte {
			var out bytes.Buffer
			w := zlib.NewWriter(&out)
			mustWrite(t, w, b)
			return out.Bytes()
		}},
		{"deflate_raw", "deflate", func(t testing.TB, b []byte) []byte {
			var out bytes.Buffer
			w, err := flate.NewWriter(&out, flate.BestCompression)
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, w, b)
			return out.Bytes()
		}},
		{"br", "br", br},
		{"zstd", "zstd", func(t testing.TB, b []byte) []byte {
			w, err := zstd.NewWriter(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			return w.EncodeAll(b, nil)
		}},
		{"gzip_then_br", "gzip, br", func(t testing.TB, b []byte) []byte { return br(t, gz(t, b)) }},
		{"identity_gzip", "identity, gzip", gz},
	}
}

func mustWrite(t testing.TB, w io.WriteCloser, b []byte) {
	t.Helper()
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// chunkings cut a body into the Writes a Tap gets.
var chunkings = []struct {
	name string
	cut  func(n int) []int // chunk sizes summing to n
}{
	{"whole", func(n int) []int { return []int{n} }},
	{"bytes", func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = 1
		}
		return s
	}},
	{"random1", randomCut(1)},
	{"random2", randomCut(2)},
	{"random3", randomCut(3)},
}

func randomCut(seed uint64) func(n int) []int {
	return func(n int) []int {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		var s []int
		for n > 0 {
			k := min(n, 1+r.IntN(64))
			if r.IntN(8) == 0 {
				k = min(n, 1+r.IntN(2048))
			}
			s = append(s, k)
			n -= k
		}
		return s
	}
}

// feed writes body to tap in chunks of the given sizes, through one
// scratch buffer that is scribbled over after each Write, so that a Tap
// that kept p would read garbage.
func feed(t testing.TB, tap *Tap, body []byte, sizes []int) {
	t.Helper()
	scratch := make([]byte, 0, 4096)
	for _, k := range sizes {
		scratch = append(scratch[:0], body[:k]...)
		body = body[k:]
		n, err := tap.Write(scratch)
		if n != k || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", k, n, err)
		}
		for i := range scratch {
			scratch[i] = 'X'
		}
	}
}

func readFixture(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		plain := readFixture(t, fx.file)
		if fx.transform != nil {
			plain = fx.transform(plain)
		}
		for _, enc := range encodings() {
			body := enc.encode(t, plain)
			t.Run(fx.name+"/"+enc.name, func(t *testing.T) {
				for _, ch := range chunkings {
					tap := NewTap(fx.contentType, enc.header, len(plain))
					feed(t, tap, body, ch.cut(len(body)))
					if got := tap.Finish(); got != fx.want {
						t.Errorf("%s: got  %+v\nwant %+v", ch.name, got, fx.want)
					}
					if got, ok := tap.Captured(); !ok || !bytes.Equal(got, plain) {
						t.Errorf("%s: Captured = %d bytes, %v; want the %d decoded bytes", ch.name, len(got), ok, len(plain))
					}
					if enc.header == "" && tap.dec != nil {
						t.Errorf("%s: an identity body started a decoder", ch.name)
					}
				}
				// One byte short of the capture size: no capture, same usage.
				tap := NewTap(fx.contentType, enc.header, len(plain)-1)
				feed(t, tap, body, randomCut(9)(len(body)))
				if got := tap.Finish(); got != fx.want {
					t.Errorf("small capture: got %+v, want %+v", got, fx.want)
				}
				if got, ok := tap.Captured(); ok {
					t.Errorf("small capture: Captured = %d bytes, true", len(got))
				}
			})
		}
	}
}

// TestFakeUpstream records streams from fakeapi's fake upstream through
// the Tap, as the proxy sees them, and compares them with the scenario.
func TestFakeUpstream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sc     fakeapi.Scenario
		stream bool
		model  string
		gzip   bool
	}{
		{"thinking_tool_use", fakeapi.Scenario{Thinking: true, ToolUse: true, Pings: 3, Text: "Let me look that up.",
			Usage: fakeapi.Usage{Input: 1234, Output: 567, CacheWrite5m: 100, CacheWrite1h: 200, CacheRead: 3000}},
			true, "claude-opus-4-5", false},
		{"thinking_tool_use_gzip", fakeapi.Scenario{Thinking: true, ToolUse: true, Gzip: true, Deltas: 9,
			Usage: fakeapi.Usage{Input: 7, Output: 4321, CacheWrite1h: 65536, CacheRead: 1}},
			true, "claude-haiku-4-5-20251001", true},
		{"error_after", fakeapi.Scenario{ErrorAfter: 4, Usage: fakeapi.Usage{Input: 50, CacheWrite5m: 10}},
			true, "claude-sonnet-4-5", false},
		{"json_gzip", fakeapi.Scenario{Thinking: true, ToolUse: true, Gzip: true,
			Usage: fakeapi.Usage{Input: 99, Output: 98, CacheWrite5m: 97, CacheWrite1h: 96, CacheRead: 95}},
			false, "claude-3-5-haiku-20241022", true},
		{"status_529", fakeapi.Scenario{Status: 529}, true, "claude-sonnet-4-5", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := tc.sc
			up := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario { return sc }})
			reqBody := fmt.Sprintf(`{"model":%q,"max_tokens":1024,"stream":%v,"messages":[{"role":"user","content":"Hi"}]}`, tc.model, tc.stream)
			req, err := http.NewRequest(http.MethodPost, up.URL+"/v1/messages", strings.NewReader(reqBody))
			if err != nil {
				t.Fatal(err)
			}
			if tc.gzip {
				req.Header.Set("Accept-Encoding", "gzip") // so the client leaves the body compressed
			}
			res, err := up.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if got := res.Header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
				t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
			}
			tap := NewTap(res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"), 1<<20)
			var raw bytes.Buffer
			if _, err := io.Copy(io.MultiWriter(tap, &raw), res.Body); err != nil {
				t.Fatal(err)
			}
			got := tap.Finish()

			u := sc.Usage.Resolved()
			want := Usage{
				Model: tc.model, MessageID: fakeapi.MessageID([]byte(reqBody)),
				Tokens: pricing.Tokens{Input: int64(u.Input), Output: int64(u.Output),
					CacheWrite5m: int64(u.CacheWrite5m), CacheWrite1h: int64(u.CacheWrite1h), CacheRead: int64(u.CacheRead)},
				StopReason: "tool_use",
				Stream:     tc.stream,
				Complete:   true,
			}
			switch {
			case sc.Status != 0:
				want = Usage{ErrorType: "overloaded_error"} // an error envelope, as JSON
			case sc.ErrorAfter > 0:
				want.Tokens.Output = 1 // message_start's; message_delta never came
				want.StopReason, want.ErrorType, want.Complete = "", "overloaded_error", false
			}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if _, ok := tap.Captured(); !ok {
				t.Error("nothing captured")
			}
			// The same bytes in other chunkings read the same.
			for _, ch := range chunkings {
				tap := NewTap(res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"), 0)
				feed(t, tap, raw.Bytes(), ch.cut(raw.Len()))
				if again := tap.Finish(); again != got {
					t.Errorf("%s: %+v, in one piece %+v", ch.name, again, got)
				}
			}
		})
	}
}

func TestApplyUsage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		start  pricing.Tokens
		usage  string
		want   pricing.Tokens
		isNull bool
	}{
		{name: "all fields", usage: `{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":7,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":4}}`,
			want: pricing.Tokens{Input: 1, Output: 2, CacheWrite5m: 3, CacheWrite1h: 4, CacheRead: 4}},
		{name: "total only counts as 5m", usage: `{"cache_creation_input_tokens":70}`,
			want: pricing.Tokens{CacheWrite5m: 70}},
		{name: "absent fields keep their values", start: pricing.Tokens{Input: 5, Output: 6, CacheWrite5m: 7, CacheWrite1h: 8, CacheRead: 9},
			usage: `{"output_tokens":60}`, want: pricing.Tokens{Input: 5, Output: 60, CacheWrite5m: 7, CacheWrite1h: 8, CacheRead: 9}},
		{name: "null is absent", start: pricing.Tokens{Input: 5, CacheRead: 9},
			usage: `{"input_tokens":null,"cache_read_input_tokens":null,"cache_creation":null,"output_tokens":3}`,
			want:  pricing.Tokens{Input: 5, Output: 3, CacheRead: 9}},
		{name: "overwrite, never add", start: pricing.Tokens{Input: 5, Output: 6, CacheRead: 9},
			usage: `{"input_tokens":5,"output_tokens":6,"cache_read_input_tokens":9}`, want: pricing.Tokens{Input: 5, Output: 6, CacheRead: 9}},
		{name: "new total keeps 1h", start: pricing.Tokens{CacheWrite5m: 40, CacheWrite1h: 60},
			usage: `{"cache_creation_input_tokens":500}`, want: pricing.Tokens{CacheWrite5m: 440, CacheWrite1h: 60}},
		{name: "total below 1h: 5m is 0", start: pricing.Tokens{CacheWrite5m: 40, CacheWrite1h: 60},
			usage: `{"cache_creation_input_tokens":50}`, want: pricing.Tokens{CacheWrite1h: 60}},
		{name: "split wins over total", usage: `{"cache_creation_input_tokens":999,"cache_creation":{"ephemeral_5m_input_tokens":1,"ephemeral_1h_input_tokens":2}}`,
			want: pricing.Tokens{CacheWrite5m: 1, CacheWrite1h: 2}},
		{name: "half a split and a total", usage: `{"cache_creation_input_tokens":10,"cache_creation":{"ephemeral_1h_input_tokens":4}}`,
			want: pricing.Tokens{CacheWrite5m: 6, CacheWrite1h: 4}},
		{name: "half a split alone", start: pricing.Tokens{CacheWrite5m: 3, CacheWrite1h: 4},
			usage: `{"cache_creation":{"ephemeral_5m_input_tokens":8}}`, want: pricing.Tokens{CacheWrite5m: 8, CacheWrite1h: 4}},
		{name: "empty split is no split", start: pricing.Tokens{CacheWrite1h: 4},
			usage: `{"cache_creation_input_tokens":10,"cache_creation":{}}`, want: pricing.Tokens{CacheWrite5m: 6, CacheWrite1h: 4}},
		{name: "odd numbers", usage: `{"input_tokens":-5,"output_tokens":12.9,"cache_read_input_tokens":"7","cache_creation_input_tokens":1e400}`,
			want: pricing.Tokens{Output: 12, CacheWrite5m: 1<<63 - 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev wireEvent
			if err := json.Unmarshal([]byte(`{"usage":`+tc.usage+`}`), &ev); err != nil {
				t.Fatal(err)
			}
			got := tc.start
			applyUsage(&got, ev.Usage)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestSSEEdges feeds small hand-made streams, each in one piece and byte
// by byte.
func TestSSEEdges(t *testing.T) {
	const (
		start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
		delta = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}\n\n"
		stop  = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	)
	base := Usage{Model: "claude-haiku-4-5", Tokens: pricing.Tokens{Input: 3, Output: 9}, StopReason: "end_turn", Stream: true, Complete: true}
	with := func(f func(*Usage)) Usage { u := base; f(&u); return u }
	big := strings.Repeat("x", maxEventData+10)
	for _, tc := range []struct {
		name, body string
		want       Usage
	}{
		{"plain", start + delta + stop, base},
		{"comments and unknown fields", ": hello\n" + start + "id: 7\nretry: 100\n: keep-alive\n\n" + delta + stop, base},
		{"data before event", "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9},\"delta\":{\"stop_reason\":\"end_turn\"}}\nevent: message_delta\n\n" + start + stop,
			with(func(u *Usage) { u.Tokens.Output = 1 })}, // start came after the delta
		{"multi-line data", start + "event: message_delta\ndata: {\"type\":\"message_delta\",\ndata: \"usage\":{\"output_tokens\":9},\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n" + stop, base},
		{"event without data is not dispatched", start + delta + "event: message_stop\n\n", with(func(u *Usage) { u.Complete = false })},
		{"unknown events with huge data", start + "event: future_event\ndata: " + big + "\n\n" + delta + stop, base},
		{"huge unnamed data", start + "data: " + big + "\n\n" + delta + stop, base},
		{"huge message_delta is lost", start + "event: message_delta\ndata: {\"usage\":{\"output_tokens\":7},\"pad\":\"" + big + "\"}\n\n" + stop,
			with(func(u *Usage) { u.Tokens.Output, u.StopReason, u.Complete = 1, "", false })},
		{"broken message_delta is lost", start + "event: message_delta\ndata: {\"usage\":\n\n" + stop,
			with(func(u *Usage) { u.Tokens.Output, u.StopReason, u.Complete = 1, "", false })},
		{"error without a type", start + "event: error\ndata: oops\n\n" + stop,
			with(func(u *Usage) { u.Tokens.Output, u.StopReason, u.ErrorType, u.Complete = 1, "", unknownError, false })},
		{"error after stop", start + delta + stop + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}\n\n",
			with(func(u *Usage) { u.ErrorType, u.Complete = "api_error", false })},
		{"no message_start", delta + stop, Usage{Tokens: pricing.Tokens{Output: 9}, StopReason: "end_turn", Stream: true}},
		{"null stop_reason", start + "event: message_delta\ndata: {\"delta\":{\"stop_reason\":null},\"usage\":{\"output_tokens\":9}}\n\n" + stop,
			with(func(u *Usage) { u.StopReason = "" })},
		{"trailing blank lines", start + delta + stop + "\n\n\r\n", base},
		{"unterminated ping after stop", start + delta + stop + "event: ping", with(func(u *Usage) { u.Complete = false })},
		{"mixed line ends", strings.ReplaceAll(start, "\n", "\r") + strings.ReplaceAll(delta, "\n", "\r\n") + stop, base},
		// A "\r\n" cut between writes is one line end: the event keeps its name
		// even when its data does not say its type.
		{"crlf with untyped data", start + delta + "event: message_stop\r\ndata: {}\r\n\r\n", base},
		{"event named twice", "event: ping\nevent: message_start\n" + start[len("event: message_start\n"):] + delta + stop, base},
		{"empty", "", Usage{Stream: true}},
		{"garbage", "\x00\xff\r\r\n:data\nevent\ndata\n\n", Usage{Stream: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ch := range chunkings {
				tap := NewTap("text/event-stream", "", 0)
				feed(t, tap, []byte(tc.body), ch.cut(len(tc.body)))
				if got := tap.Finish(); got != tc.want {
					t.Errorf("%s: got  %+v\nwant %+v", ch.name, got, tc.want)
				}
			}
		})
	}
}

func TestKindAndCodings(t *testing.T) {
	for _, tc := range []struct {
		ct   string
		want bodyKind
	}{
		{"text/event-stream", kindSSE},
		{"Text/Event-Stream; charset=utf-8", kindSSE},
		{"application/json", kindJSON},
		{"application/json;charset=UTF-8", kindJSON},
		{"application/problem+json", kindJSON},
		{"text/plain", kindOther},
		{"", kindOther},
		{"text/event-stream; bad", kindSSE},
	} {
		if got := kindOf(tc.ct); got != tc.want {
			t.Errorf("kindOf(%q) = %d, want %d", tc.ct, got, tc.want)
		}
	}
	for _, tc := range []struct {
		header string
		want   string // the codings joined by "+", or "!" for unusable
	}{
		{"", ""}, {"identity", ""}, {"gzip", "gzip"}, {" GZIP ", "gzip"}, {"gzip, br", "gzip+br"},
		{"identity,zstd", "zstd"}, {"compress", "!"}, {"gzip, unknown", "!"}, {"br,br,br,br", "br+br+br+br"},
		{"br,br,br,br,br", "!"},
	} {
		codings, ok := parseCodings(tc.header)
		got := strings.Join(codings, "+")
		if !ok {
			got = "!"
		}
		if got != tc.want {
			t.Errorf("parseCodings(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

// TestUndecodable checks that bodies the Tap cannot decode give an
// incomplete Usage and no capture, without failing a Write.
func TestUndecodable(t *testing.T) {
	plain := readFixture(t, "text.sse")
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	mustWrite(t, w, plain)
	whole := gz.Bytes()
	corrupt := bytes.Clone(whole)
	for i := 20; i < len(corrupt)-20; i += 7 {
		corrupt[i] ^= 0x55
	}
	for _, tc := range []struct {
		name, enc string
		body      []byte
	}{
		{"unsupported encoding", "compress", plain},
		{"garbage gzip", "gzip", []byte("this is not gzip at all")},
		{"garbage br", "br", bytes.Repeat([]byte{0xff}, 100)},
		{"garbage zstd", "zstd", []byte("(\xb5/\xfd garbage")},
		{"garbage deflate", "deflate", bytes.Repeat([]byte{0xff}, 100)},
		{"corrupt gzip", "gzip", corrupt},
		{"gzip without its trailer", "gzip", whole[:len(whole)-8]},
		{"gzip cut short", "gzip", whole[:len(whole)/2]},
		{"gzip with trailing garbage", "gzip", append(bytes.Clone(whole), "garbage"...)},
		{"plain text called gzip", "gzip", plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tap := NewTap(ctSSE, tc.enc, 1<<20)
			feed(t, tap, tc.body, randomCut(4)(len(tc.body)))
			if got := tap.Finish(); got.Complete {
				t.Errorf("Complete: %+v", got)
			}
			if _, ok := tap.Captured(); ok {
				t.Error("Captured ok")
			}
		})
	}
}

// TestTooFarBehind checks that a compressed body that gets more than
// MaxPending bytes ahead of its decoder is given up, not buffered.
func TestTooFarBehind(t *testing.T) {
	tap := NewTap(ctSSE, "gzip", 0)
	tap.Write(make([]byte, MaxPending+1))
	if got := tap.Finish(); got.Complete || got != (Usage{Stream: true}) {
		t.Errorf("got %+v", got)
	}
}

func TestCaptureAndLimits(t *testing.T) {
	msg := readFixture(t, "message.json")
	// A capture smaller than the JSON body still lets the usage be read.
	tap := NewTap(ctJSON, "", 10)
	tap.Write(msg)
	if u := tap.Finish(); !u.Complete || u.Tokens.Input != 2095 {
		t.Errorf("usage with a small capture: %+v", u)
	}
	if _, ok := tap.Captured(); ok {
		t.Error("captured past the limit")
	}
	// A JSON body past MaxJSONBody is not read.
	tap = NewTap(ctJSON, "", 0)
	tap.Write(msg[:len(msg)-1])
	tap.Write(bytes.Repeat([]byte(" "), MaxJSONBody))
	tap.Write(msg[len(msg)-1:])
	if u := tap.Finish(); u != (Usage{}) {
		t.Errorf("huge JSON: %+v", u)
	}
	// Any content type is captured; no usage is read from it.
	tap = NewTap("text/plain", "", 100)
	tap.Write([]byte("hello"))
	if u := tap.Finish(); u != (Usage{}) {
		t.Errorf("text/plain: %+v", u)
	}
	if b, ok := tap.Captured(); !ok || string(b) != "hello" {
		t.Errorf("text/plain: Captured = %q, %v", b, ok)
	}
	// Without capture or anything to parse, Write ignores the body.
	tap = NewTap("image/png", "gzip", 0)
	tap.Write([]byte("not even gzip"))
	if tap.dec != nil {
		t.Error("a decoder started for a body nobody needs")
	}
	tap.Finish()
	// Captured before Finish says nothing.
	tap = NewTap(ctJSON, "", 100)
	tap.Write(msg[:10])
	if _, ok := tap.Captured(); ok {
		t.Error("Captured before Finish")
	}
	tap.Finish()
}

func TestFinishWithoutWrite(t *testing.T) {
	for _, enc := range []string{"", "gzip", "zstd", "compress"} {
		for _, ct := range []string{ctSSE, ctJSON, "text/plain"} {
			tap := NewTap(ct, enc, 0)
			got := tap.Finish()
			if want := (Usage{Stream: ct == ctSSE}); got != want {
				t.Errorf("%s %q: %+v", ct, enc, got)
			}
			if again := tap.Finish(); again != got {
				t.Errorf("%s %q: second Finish %+v", ct, enc, again)
			}
			tap.Write([]byte("late")) // ignored
		}
	}
}

// FuzzTap checks that no input or chunking makes the Tap panic, and that
// the chunking never changes what it reads.
func FuzzTap(f *testing.F) {
	modes := []struct{ ct, enc string }{
		{ctSSE, ""}, {ctJSON, ""}, {ctSSE, "gzip"}, {ctJSON, "deflate"}, {ctSSE, "br"}, {ctSSE, "zstd"}, {"text/plain", ""},
	}
	for _, fx := range fixtures {
		b, err := os.ReadFile(filepath.Join("testdata", fx.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0), uint64(1))
		f.Add(b, uint8(1), uint64(2))
	}
	for i, enc := range encodings() {
		if i > 0 && i < len(modes) {
			f.Add(enc.encode(f, readFixture(f, "text.sse")), uint8(i), uint64(i))
		}
	}
	f.Add([]byte("event: message_start\r\ndata:{\"message\":{\"usage\":{\"input_tokens\":1}}}\r\r\n"), uint8(0), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, seed uint64) {
		m := modes[int(mode)%len(modes)]
		one := NewTap(m.ct, m.enc, 4096)
		one.Write(data)
		want := one.Finish()
		wantBody, wantOK := one.Captured()

		tap := NewTap(m.ct, m.enc, 4096)
		r := rand.New(rand.NewPCG(seed, 0))
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 1+r.IntN(16))
			tap.Write(rest[:k])
			rest = rest[k:]
		}
		got := tap.Finish()
		body, ok := tap.Captured()
		if got != want || ok != wantOK || !bytes.Equal(body, wantBody) {
			t.Errorf("chunked: %+v %v; whole: %+v %v", got, ok, want, wantOK)
		}
	})
}

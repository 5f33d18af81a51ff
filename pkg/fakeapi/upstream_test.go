package fakeapi_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/visiquate/cco/pkg/fakeapi"
)

const model = "claude-sonnet-4-5-20250929"

// deadline bounds waits for things that should happen at once; it only
// turns a hang into a failure and is never a performance assertion.
const deadline = 10 * time.Second

// event is one parsed server-sent event.
type event struct {
	name string
	data string
}

// typ returns the "type" of the event's JSON data.
func (e event) typ(t *testing.T) string {
	t.Helper()
	var v struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal([]byte(e.data), &v); err != nil {
		t.Fatalf("event %s: data is not JSON: %v: %s", e.name, err, e.data)
	}
	return v.Type
}

// readEvents parses a stream strictly in the API's shape: each event is
// exactly "event: NAME", "data: JSON" and an empty line.
func readEvents(t *testing.T, r io.Reader) []event {
	t.Helper()
	var events []event
	br := bufio.NewReader(r)
	for {
		ev, err := nextEvent(br)
		if errors.Is(err, io.EOF) {
			return events
		}
		if err != nil {
			t.Fatalf("read event %d: %v", len(events), err)
		}
		events = append(events, ev)
	}
}

// nextEvent reads one event; io.EOF means a clean end between events.
func nextEvent(br *bufio.Reader) (event, error) {
	var lines [3]string
	for i := range lines {
		line, err := br.ReadString('\n')
		if err != nil {
			if i == 0 && line == "" && errors.Is(err, io.EOF) {
				return event{}, io.EOF
			}
			return event{}, fmt.Errorf("line %d %q: %w", i, line, err)
		}
		lines[i] = strings.TrimSuffix(line, "\n")
	}
	name, ok1 := strings.CutPrefix(lines[0], "event: ")
	data, ok2 := strings.CutPrefix(lines[1], "data: ")
	if !ok1 || !ok2 || lines[2] != "" {
		return event{}, fmt.Errorf("malformed event %q", lines)
	}
	return event{name: name, data: data}, nil
}

func names(events []event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.name
	}
	return out
}

func messageBody(stream bool, text string) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":256,"stream":%t,"messages":[{"role":"user","content":%q}]}`, model, stream, text)
}

// post sends body to the fake and returns the response, closed at test end.
func post(t *testing.T, client *http.Client, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", "sk-ant-test")
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

func sdkClient(u *fakeapi.Upstream, opts ...option.RequestOption) *anthropic.Client {
	base := []option.RequestOption{
		option.WithBaseURL(u.URL),
		option.WithAPIKey("sk-ant-test"),
		option.WithMaxRetries(0),
	}
	c := anthropic.NewClient(append(base, opts...)...)
	return &c
}

func sdkParams(text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     model,
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

// accumulate drains a stream into a message, returning the number of
// events the SDK yielded and the stream's error.
func accumulate(t *testing.T, stream interface {
	Next() bool
	Current() anthropic.MessageStreamEventUnion
	Err() error
	Close() error
}) (anthropic.Message, int, error) {
	t.Helper()
	defer stream.Close()
	var msg anthropic.Message
	n := 0
	for stream.Next() {
		n++
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatalf("accumulate event %d: %v", n, err)
		}
	}
	return msg, n, stream.Err()
}

func TestStreamingTextWire(t *testing.T) {
	t.Parallel()
	usage := fakeapi.Usage{Input: 10, Output: 7, CacheWrite5m: 100, CacheWrite1h: 200, CacheRead: 300}
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Text: "Hello, <proxy> & world!", Deltas: 3, Usage: usage}
	}})
	body := messageBody(true, "hi")
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages?beta=true", body)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	for h, want := range map[string]string{
		"Content-Type":  "text/event-stream; charset=utf-8",
		"Cache-Control": "no-cache",
		"request-id":    "req_1",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	for _, kind := range []string{"requests", "tokens"} {
		for _, field := range []string{"limit", "remaining", "reset"} {
			h := "anthropic-ratelimit-" + kind + "-" + field
			if resp.Header.Get(h) == "" {
				t.Errorf("header %s missing", h)
			}
		}
	}

	events := readEvents(t, resp.Body)
	want := []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if got := names(events); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v, want %v", got, want)
	}
	for _, e := range events {
		if typ := e.typ(t); typ != e.name {
			t.Errorf("event %s carries type %q", e.name, typ)
		}
	}

	var start struct {
		Message struct {
			ID           string            `json:"id"`
			Type         string            `json:"type"`
			Role         string            `json:"role"`
			Model        string            `json:"model"`
			Content      []json.RawMessage `json:"content"`
			StopReason   *string           `json:"stop_reason"`
			StopSequence *string           `json:"stop_sequence"`
			Usage        map[string]any    `json:"usage"`
		} `json:"message"`
	}
	if err := json.Unmarshal([]byte(events[0].data), &start); err != nil {
		t.Fatal(err)
	}
	m := start.Message
	if m.ID != fakeapi.MessageID([]byte(body)) || m.Type != "message" || m.Role != "assistant" || m.Model != model {
		t.Errorf("message_start.message = %+v", m)
	}
	if m.Content == nil || len(m.Content) != 0 || m.StopReason != nil || m.StopSequence != nil {
		t.Errorf("message_start content/stop = %s", events[0].data)
	}
	wantUsage := map[string]any{
		"input_tokens": 10.0, "cache_creation_input_tokens": 300.0, "cache_read_input_tokens": 300.0,
		"cache_creation": map[string]any{"ephemeral_5m_input_tokens": 100.0, "ephemeral_1h_input_tokens": 200.0},
		"output_tokens":  1.0, "service_tier": "standard",
	}
	if fmt.Sprint(m.Usage) != fmt.Sprint(wantUsage) {
		t.Errorf("message_start usage = %v, want %v", m.Usage, wantUsage)
	}
	if !strings.Contains(events[3].data, `"text":"<proxy> "`) || !strings.Contains(events[4].data, `"text":"& world!"`) {
		t.Errorf("text is HTML-escaped or split oddly: %s %s", events[3].data, events[4].data)
	}

	var text strings.Builder
	for _, e := range events {
		if e.name != "content_block_delta" {
			continue
		}
		var d struct {
			Index int `json:"index"`
			Delta struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(e.data), &d); err != nil {
			t.Fatal(err)
		}
		if d.Index != 0 || d.Delta.Type != "text_delta" {
			t.Errorf("delta = %s", e.data)
		}
		text.WriteString(d.Delta.Text)
	}
	if text.String() != "Hello, <proxy> & world!" {
		t.Errorf("text = %q", text.String())
	}
	wantDelta := `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},` +
		`"usage":{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":300,"output_tokens":7}}`
	if events[6].data != wantDelta {
		t.Errorf("message_delta = %s\nwant %s", events[6].data, wantDelta)
	}

	reqs := u.Requests()
	if len(reqs) != 1 {
		t.Fatalf("recorded %d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/messages" || r.RawQuery != "beta=true" || string(r.Body) != body ||
		r.Proto != "HTTP/1.1" || r.Header.Get("x-api-key") != "sk-ant-test" {
		t.Errorf("recorded %+v", r)
	}
	select {
	case id := <-u.Canceled():
		t.Errorf("completed stream reported canceled: %s", id)
	default:
	}
}

func TestStreamingSDK(t *testing.T) {
	t.Parallel()
	usage := fakeapi.Usage{Input: 11, Output: 42, CacheWrite5m: 5, CacheWrite1h: 6, CacheRead: 700}
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Usage: usage, Pings: 2}
	}})
	c := sdkClient(u)
	msg, n, err := accumulate(t, c.Messages.NewStreaming(context.Background(), sdkParams("hi")))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if n != 9 { // start, block start, 4 deltas, block stop, message_delta, message_stop; pings skipped
		t.Errorf("SDK yielded %d events", n)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != fakeapi.DefaultText {
		t.Errorf("content = %+v", msg.Content)
	}
	if msg.StopReason != anthropic.StopReasonEndTurn || msg.Model != model || msg.Role != "assistant" {
		t.Errorf("message = %s", msg.RawJSON())
	}
	got := msg.Usage
	if got.OutputTokens != 42 || got.InputTokens != 11 || got.CacheCreationInputTokens != 11 || got.CacheReadInputTokens != 700 ||
		got.CacheCreation.Ephemeral5mInputTokens != 5 || got.CacheCreation.Ephemeral1hInputTokens != 6 {
		t.Errorf("usage = %s", got.RawJSON())
	}
	reqs := u.Requests()
	if len(reqs) != 1 {
		t.Fatalf("recorded %d requests", len(reqs))
	}
	if msg.ID != fakeapi.MessageID(reqs[0].Body) {
		t.Errorf("id = %s, want %s", msg.ID, fakeapi.MessageID(reqs[0].Body))
	}
	var sent struct {
		Stream bool `json:"stream"`
	}
	if err := json.Unmarshal(reqs[0].Body, &sent); err != nil || !sent.Stream {
		t.Errorf("SDK body has no stream:true: %s", reqs[0].Body)
	}
	h := reqs[0].Header
	t.Logf("SDK request headers: %v", h)
	// Facts a proxy relies on: v2 sends API keys as a bearer token, asks
	// for JSON even when streaming (only the body says stream:true), and
	// sends no timeout hint for streams.
	if h.Get("Authorization") != "Bearer sk-ant-test" || h.Get("x-api-key") != "" ||
		h.Get("anthropic-version") != "2026-10-21" || h.Get("Accept") != "application/json" ||
		h.Get("X-Stainless-Timeout") != "" || h.Get("X-Stainless-Retry-Count") != "0" {
		t.Errorf("SDK headers = %v", h)
	}
}

// TestSDKSkipsUnnamedEvents pins the SDK behaviour that makes a proxy keep
// the event: lines: events without a name are dropped silently, so a
// stream stripped of them yields nothing and no error.
func TestSDKSkipsUnnamedEvents(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(true, "strip"))
	var stripped strings.Builder
	for _, e := range readEvents(t, resp.Body) {
		fmt.Fprintf(&stripped, "data: %s\n\n", e.data)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		io.WriteString(w, stripped.String())
	}))
	defer srv.Close()
	c := anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-ant-test"), option.WithMaxRetries(0))
	msg, n, err := accumulate(t, c.Messages.NewStreaming(context.Background(), sdkParams("strip")))
	if n != 0 || err != nil || msg.ID != "" {
		t.Errorf("SDK on unnamed events: %d events, err %v, message %s", n, err, msg.RawJSON())
	}
}

func TestNonStreamingSDK(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Text: "Plain answer.", Usage: fakeapi.Usage{Output: 3, CacheRead: 9}}
	}})
	msg, err := sdkClient(u).Messages.New(context.Background(), sdkParams("hi"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "Plain answer." || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("message = %s", msg.RawJSON())
	}
	if msg.Usage.InputTokens != fakeapi.DefaultInputTokens || msg.Usage.OutputTokens != 3 || msg.Usage.CacheReadInputTokens != 9 {
		t.Errorf("usage = %s", msg.Usage.RawJSON())
	}
	if !msg.JSON.StopSequence.Valid() && msg.JSON.StopSequence.Raw() != "null" {
		t.Errorf("stop_sequence missing: %s", msg.RawJSON())
	}
	req := u.Requests()[0]
	if msg.ID != fakeapi.MessageID(req.Body) {
		t.Errorf("id = %s", msg.ID)
	}
	// Non-streaming calls carry the SDK's 10-minute attempt timeout.
	if got := req.Header.Get("X-Stainless-Timeout"); got != "600" {
		t.Errorf("X-Stainless-Timeout = %q", got)
	}
}

func TestNonStreamingWire(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Thinking: true, ToolUse: true, Text: "Let me check."}
	}})
	body := messageBody(false, "weather?")
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages", body)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/json" {
		t.Fatalf("status %d, content-type %q", resp.StatusCode, ct)
	}
	got := string(readAll(t, resp.Body))
	id := fakeapi.MessageID([]byte(body))
	for _, want := range []string{
		`{"id":"` + id + `","type":"message","role":"assistant","model":"` + model + `","content":[{"type":"thinking","thinking":`,
		`{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_`,
		`"name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,` +
			`"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,` +
			`"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":12,"service_tier":"standard"}}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("body lacks %s\nbody: %s", want, got)
		}
	}
}

func TestToolUse(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{ToolUse: true}
	}})

	resp := post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(true, "weather?"))
	events := readEvents(t, resp.Body)
	var start struct {
		ContentBlock map[string]any `json:"content_block"`
	}
	if err := json.Unmarshal([]byte(events[1].data), &start); err != nil {
		t.Fatal(err)
	}
	if start.ContentBlock["type"] != "tool_use" || start.ContentBlock["name"] != fakeapi.ToolName ||
		fmt.Sprint(start.ContentBlock["input"]) != "map[]" {
		t.Errorf("content_block_start = %s", events[1].data)
	}
	chunks := 0
	for _, e := range events {
		if strings.Contains(e.data, `"input_json_delta"`) {
			chunks++
		}
	}
	if chunks < 2 {
		t.Errorf("%d input_json_delta chunks, want several", chunks)
	}

	msg, _, err := accumulate(t, sdkClient(u).Messages.NewStreaming(context.Background(), sdkParams("weather?")))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 {
		t.Fatalf("content = %s", msg.RawJSON())
	}
	tool := msg.Content[0].AsToolUse()
	if tool.Name != fakeapi.ToolName || string(tool.Input) != fakeapi.ToolInput || !strings.HasPrefix(tool.ID, "toolu_") {
		t.Errorf("tool_use = %+v (input %s)", tool, tool.Input)
	}
	if msg.StopReason != anthropic.StopReasonToolUse {
		t.Errorf("stop_reason = %s", msg.StopReason)
	}

	nonStream, err := sdkClient(u).Messages.New(context.Background(), sdkParams("weather?"))
	if err != nil {
		t.Fatal(err)
	}
	if in := nonStream.Content[0].AsToolUse().Input; string(in) != fakeapi.ToolInput {
		t.Errorf("non-streaming input = %s", in)
	}
}

func TestThinking(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Thinking: true, Text: "Done.", Deltas: 1}
	}})
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(true, "think"))
	var deltaTypes []string
	for _, e := range readEvents(t, resp.Body) {
		if e.name != "content_block_delta" {
			continue
		}
		var d struct {
			Index int `json:"index"`
			Delta struct {
				Type string `json:"type"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(e.data), &d); err != nil {
			t.Fatal(err)
		}
		deltaTypes = append(deltaTypes, fmt.Sprintf("%d:%s", d.Index, d.Delta.Type))
	}
	want := "0:thinking_delta 0:thinking_delta 0:signature_delta 1:text_delta"
	if got := strings.Join(deltaTypes, " "); got != want {
		t.Errorf("deltas = %s, want %s", got, want)
	}

	msg, _, err := accumulate(t, sdkClient(u).Messages.NewStreaming(context.Background(), sdkParams("think")))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 2 {
		t.Fatalf("content = %s", msg.RawJSON())
	}
	th := msg.Content[0].AsThinking()
	if th.Thinking != fakeapi.ThinkingText || th.Signature == "" || msg.Content[1].Text != "Done." {
		t.Errorf("content = %s", msg.RawJSON())
	}
}

func TestPings(t *testing.T) {
	t.Parallel()
	for _, pings := range []int{1, 3, 7} {
		t.Run(fmt.Sprint(pings), func(t *testing.T) {
			t.Parallel()
			u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
				return fakeapi.Scenario{Pings: pings, Deltas: 4}
			}})
			resp := post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(true, "hi"))
			events := readEvents(t, resp.Body)
			got := 0
			for i, e := range events {
				if e.name != "ping" {
					continue
				}
				got++
				if e.data != `{"type": "ping"}` {
					t.Errorf("ping data = %s", e.data)
				}
				if i == 0 {
					t.Error("ping before message_start")
				}
			}
			if got != pings {
				t.Errorf("%d pings, want %d: %v", got, pings, names(events))
			}
			if events[1].name != "ping" {
				t.Errorf("no ping right after message_start: %v", names(events))
			}
			if pings > 1 && events[2].name == "ping" && pings <= 4 {
				t.Errorf("pings not spread: %v", names(events))
			}

			msg, _, err := accumulate(t, sdkClient(u).Messages.NewStreaming(context.Background(), sdkParams("hi")))
			if err != nil || msg.Content[0].Text != fakeapi.DefaultText {
				t.Errorf("SDK with pings: %v, %s", err, msg.RawJSON())
			}
		})
	}
}

func TestErrorAfter(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{ErrorAfter: 3}
	}})
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(true, "hi"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	events := readEvents(t, resp.Body)
	if got := strings.Join(names(events), ","); got != "message_start,content_block_start,content_block_delta,error" {
		t.Fatalf("events = %s", got)
	}
	if want := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`; events[3].data != want {
		t.Errorf("error event = %s", events[3].data)
	}

	msg, n, err := accumulate(t, sdkClient(u).Messages.NewStreaming(context.Background(), sdkParams("hi")))
	if n != 3 {
		t.Errorf("SDK yielded %d events before the error", n)
	}
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("stream error = %T %v, want *anthropic.Error", err, err)
	}
	if apiErr.Type() != "overloaded_error" || apiErr.Message != "Overloaded" || apiErr.StatusCode != http.StatusOK ||
		!strings.HasPrefix(apiErr.RequestID, "req_") {
		t.Errorf("error = %+v", apiErr)
	}
	if msg.Content[0].Text == fakeapi.DefaultText {
		t.Error("the whole text arrived despite the error")
	}
}

func TestHangAndCancel(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Hang: true}
	}})
	for _, client := range []struct {
		name string
		c    *http.Client
	}{{"fresh transport", &http.Client{Transport: &http.Transport{}}}, {"upstream client", u.Client()}} {
		defer client.c.CloseIdleConnections()
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.URL+"/v1/messages", strings.NewReader(messageBody(true, "hang")))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := nextEvent(bufio.NewReader(resp.Body))
		if err != nil || ev.name != "message_start" {
			t.Fatalf("%s: first event %v, %v", client.name, ev, err)
		}
		cancel()
		resp.Body.Close()
		select {
		case id := <-u.Canceled():
			if id != resp.Header.Get("request-id") {
				t.Errorf("%s: canceled %s, want %s", client.name, id, resp.Header.Get("request-id"))
			}
		case <-time.After(deadline):
			t.Fatalf("%s: cancellation not reported", client.name)
		}
	}
}

func TestCancelDuringEventGap(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{EventGap: time.Hour}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u.URL+"/v1/messages", strings.NewReader(messageBody(true, "slow")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := nextEvent(bufio.NewReader(resp.Body)); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case id := <-u.Canceled():
		if id != resp.Header.Get("request-id") {
			t.Errorf("canceled %s", id)
		}
	case <-time.After(deadline):
		t.Fatal("cancellation during an event gap not reported")
	}
}

func TestCloseEndsHungStreams(t *testing.T) {
	t.Parallel()
	for _, useTLS := range []bool{false, true} {
		u, err := fakeapi.Start(fakeapi.Options{TLS: useTLS, Scenario: func(r *fakeapi.Request) fakeapi.Scenario {
			if strings.Contains(string(r.Body), "header") {
				return fakeapi.Scenario{HeaderDelay: time.Hour}
			}
			return fakeapi.Scenario{Hang: true}
		}})
		if err != nil {
			t.Fatal(err)
		}
		client := u.Client()
		resp := post(t, client, u.URL+"/v1/messages", messageBody(true, "hang"))
		if _, err := nextEvent(bufio.NewReader(resp.Body)); err != nil {
			t.Fatal(err)
		}
		slowDone := make(chan error, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, u.URL+"/v1/messages", strings.NewReader(messageBody(true, "header")))
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			slowDone <- err
		}()
		for len(u.Requests()) < 2 {
			time.Sleep(time.Millisecond)
		}

		closed := make(chan struct{})
		go func() {
			u.Close()
			u.Close() // idempotent
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(deadline):
			t.Fatalf("TLS %t: Close blocked on a hung stream", useTLS)
		}
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Errorf("TLS %t: hung stream ended cleanly after Close, want a cut connection", useTLS)
		}
		select {
		case <-slowDone:
		case <-time.After(deadline):
			t.Fatalf("TLS %t: request waiting for headers not ended by Close", useTLS)
		}
		select {
		case id := <-u.Canceled():
			t.Errorf("TLS %t: Close reported as client cancel: %s", useTLS, id)
		default:
		}
	}
}

func TestErrorStatuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		typ    string
	}{
		{400, "invalid_request_error"},
		{401, "authentication_error"},
		{402, "billing_error"},
		{403, "permission_error"},
		{404, "not_found_error"},
		{409, "conflict_error"},
		{413, "request_too_large"},
		{429, "rate_limit_error"},
		{500, "api_error"},
		{503, "api_error"},
		{504, "timeout_error"},
		{529, "overloaded_error"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
				return fakeapi.Scenario{Status: tc.status}
			}})
			for _, stream := range []bool{false, true} {
				resp := post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(stream, "hi"))
				checkEnvelope(t, resp, tc.status, tc.typ)
			}
			resp := post(t, http.DefaultClient, u.URL+"/v1/messages/count_tokens", `{"model":"x","messages":[]}`)
			checkEnvelope(t, resp, tc.status, tc.typ)

			c := sdkClient(u)
			_, err := c.Messages.New(context.Background(), sdkParams("hi"))
			checkSDKError(t, "New", err, tc.status, tc.typ)
			_, _, err = accumulate(t, c.Messages.NewStreaming(context.Background(), sdkParams("hi")))
			checkSDKError(t, "NewStreaming", err, tc.status, tc.typ)
			_, err = c.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
				Model:    model,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			})
			checkSDKError(t, "CountTokens", err, tc.status, tc.typ)
			if n := len(u.Requests()); n != 6 {
				t.Errorf("recorded %d requests, want 6 (SDK must not retry with WithMaxRetries(0))", n)
			}
		})
	}
}

func checkEnvelope(t *testing.T, resp *http.Response, status int, typ string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d", resp.StatusCode, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q", ct)
	}
	var env struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	body := readAll(t, resp.Body)
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("envelope %s: %v", body, err)
	}
	id := resp.Header.Get("request-id")
	if env.Type != "error" || env.Error.Type != typ || env.Error.Message == "" || env.RequestID != id || !strings.HasPrefix(id, "req_") {
		t.Errorf("envelope = %s (request-id %q), want type %s", body, id, typ)
	}
	if got, want := resp.Header.Get("retry-after"), map[bool]string{true: "7"}[status == 429]; got != want {
		t.Errorf("retry-after = %q, want %q", got, want)
	}
}

func checkSDKError(t *testing.T, call string, err error, status int, typ string) {
	t.Helper()
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Errorf("%s: error = %T %v, want *anthropic.Error", call, err, err)
		return
	}
	if apiErr.StatusCode != status || string(apiErr.Type()) != typ || !strings.HasPrefix(apiErr.RequestID, "req_") {
		t.Errorf("%s: error = status %d type %s request %s", call, apiErr.StatusCode, apiErr.Type(), apiErr.RequestID)
	}
}

func TestBadJSON(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	for _, body := range []string{`{"model":`, `{"model":"m","stream":"yes"}`, ``} {
		resp := post(t, http.DefaultClient, u.URL+"/v1/messages", body)
		checkEnvelope(t, resp, 400, "invalid_request_error")
	}
	reqs := u.Requests()
	if len(reqs) != 3 || string(reqs[0].Body) != `{"model":` {
		t.Errorf("bad bodies not recorded as received: %+v", reqs)
	}
}

func TestTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 32 MiB")
	}
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{NoRecord: true})
	body := `{"model":"m","pad":"` + strings.Repeat("x", fakeapi.MaxBodyBytes) + `"}`
	t.Logf("body of %d bytes", len(body))
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages", body)
	checkEnvelope(t, resp, 413, "request_too_large")
	if u.Requests() != nil {
		t.Error("NoRecord recorded requests")
	}
}

func TestCountTokens(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	res, err := sdkClient(u).Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model:    model,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat("count me ", 50)))},
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := u.Requests()
	if want := int64(len(reqs[0].Body) / 4); res.InputTokens != want || reqs[0].Path != "/v1/messages/count_tokens" {
		t.Errorf("input_tokens = %d, want %d", res.InputTokens, want)
	}
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages/count_tokens", `{}`)
	if got := string(readAll(t, resp.Body)); got != `{"input_tokens":1}` {
		t.Errorf("tiny body: %s", got)
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	c := sdkClient(u)
	page, err := c.Models.List(context.Background(), anthropic.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	ids := fakeapi.ModelIDs()
	if len(page.Data) != len(ids) || len(ids) < 3 || page.HasMore || page.FirstID != ids[0] || page.LastID != ids[len(ids)-1] {
		t.Fatalf("page = %s", page.RawJSON())
	}
	first := page.Data[0]
	if first.ID != model || first.DisplayName != "Claude Sonnet 4.5" || first.Type != "model" ||
		!first.CreatedAt.Equal(time.Date(2025, 9, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first model = %s", first.RawJSON())
	}
	one, err := c.Models.Get(context.Background(), ids[1], anthropic.ModelGetParams{})
	if err != nil || one.ID != ids[1] {
		t.Errorf("Get = %v, %v", one, err)
	}
	_, err = c.Models.Get(context.Background(), "claude-nope", anthropic.ModelGetParams{})
	checkSDKError(t, "Get unknown", err, 404, "not_found_error")
}

func TestRoot(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req, _ := http.NewRequest(method, u.URL+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("request-id") == "" {
			t.Errorf("%s / = %d %q", method, resp.StatusCode, body)
		}
	}
	if reqs := u.Requests(); len(reqs) != 2 || reqs[0].Method != http.MethodHead {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	for _, path := range []string{"/v1/nope", "/v2/messages", "/v1/messages/batches"} {
		resp := post(t, http.DefaultClient, u.URL+path, `{}`)
		checkEnvelope(t, resp, 404, "not_found_error")
	}
	resp, err := http.Get(u.URL + "/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	checkEnvelope(t, resp, 404, "not_found_error")
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Thinking: true, ToolUse: true, Text: "ok", Pings: 2}
	}})
	for _, stream := range []bool{true, false} {
		body := messageBody(stream, "same")
		a := post(t, http.DefaultClient, u.URL+"/v1/messages", body)
		b := post(t, http.DefaultClient, u.URL+"/v1/messages", body)
		ab, bb := readAll(t, a.Body), readAll(t, b.Body)
		if !bytes.Equal(ab, bb) {
			t.Errorf("stream %t: bodies differ:\n%s\n%s", stream, ab, bb)
		}
		if a.Header.Get("request-id") == b.Header.Get("request-id") {
			t.Errorf("stream %t: request-id repeated", stream)
		}
		other := post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(stream, "different"))
		if bytes.Equal(ab, readAll(t, other.Body)) {
			t.Errorf("stream %t: different requests got the same body", stream)
		}
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{TLS: true})
	if !strings.HasPrefix(u.URL, "https://127.0.0.1:") {
		t.Fatalf("URL = %s", u.URL)
	}
	pool := u.CertPool()
	if pool == nil || len(u.CAPEM()) == 0 {
		t.Fatal("no CA")
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	resp := post(t, client, u.URL+"/v1/messages", messageBody(true, "tls"))
	if resp.ProtoMajor != 2 {
		t.Errorf("negotiated %s, want HTTP/2", resp.Proto)
	}
	if events := readEvents(t, resp.Body); len(events) != 9 {
		t.Errorf("events over h2 = %v", names(events))
	}
	if reqs := u.Requests(); len(reqs) != 1 || reqs[0].Proto != "HTTP/2.0" {
		t.Errorf("recorded proto %+v", reqs)
	}

	fromPEM := x509.NewCertPool()
	if !fromPEM.AppendCertsFromPEM(u.CAPEM()) {
		t.Fatal("CAPEM does not parse")
	}
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: fromPEM}}}
	resp = post(t, h1, u.URL+"/v1/messages/count_tokens", `{}`)
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 {
		t.Errorf("HTTP/1.1 over TLS: %d %s", resp.StatusCode, resp.Proto)
	}

	_, err := (&http.Client{Transport: &http.Transport{}}).Get(u.URL + "/v1/models")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("client without the pool: err = %v, want unknown authority", err)
	}

	msg, _, err := accumulate(t, sdkClient(u, option.WithHTTPClient(u.Client())).Messages.NewStreaming(context.Background(), sdkParams("tls")))
	if err != nil || msg.Content[0].Text != fakeapi.DefaultText {
		t.Errorf("SDK over TLS: %v %s", err, msg.RawJSON())
	}
	if reqs := u.Requests(); reqs[len(reqs)-1].Proto != "HTTP/2.0" {
		t.Errorf("SDK over Client() used %s", reqs[len(reqs)-1].Proto)
	}
	if plain := fakeapi.NewUpstream(t, fakeapi.Options{}); plain.CertPool() != nil || plain.CAPEM() != nil {
		t.Error("plain upstream has a CA")
	}
}

func TestRecordingAndScenarioSwitch(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages?beta=true", messageBody(false, "one"))
	if !strings.Contains(string(readAll(t, resp.Body)), fakeapi.DefaultText) {
		t.Error("default scenario not used")
	}
	reqs := u.Requests()
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("x-api-key", "changed")
	again := u.Requests()
	if again[0].Body[0] != '{' || again[0].Header.Get("x-api-key") != "sk-ant-test" || again[0].RawQuery != "beta=true" {
		t.Errorf("Requests does not return copies: %+v", again[0])
	}

	var seen []string
	var mu sync.Mutex
	u.SetScenario(func(r *fakeapi.Request) fakeapi.Scenario {
		mu.Lock()
		seen = append(seen, r.Path)
		mu.Unlock()
		r.Body[0] = 'X' // must not reach the record
		return fakeapi.Scenario{Text: "switched"}
	})
	resp = post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(false, "two"))
	if !strings.Contains(string(readAll(t, resp.Body)), `"text":"switched"`) {
		t.Error("SetScenario not applied")
	}
	if _, err := http.Get(u.URL + "/v1/models"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0] != "/v1/messages" {
		t.Errorf("scenario consulted for %v", seen)
	}
	mu.Unlock()
	if r := u.Requests(); len(r) != 3 || r[1].Body[0] != '{' {
		t.Errorf("records = %d, scenario mutated the record", len(r))
	}
	u.Reset()
	if r := u.Requests(); r != nil {
		t.Errorf("after Reset: %d requests", len(r))
	}
	u.SetScenario(nil)
	resp = post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(false, "three"))
	if resp.Header.Get("request-id") != "req_4" || len(u.Requests()) != 1 {
		t.Errorf("after Reset: request-id %s", resp.Header.Get("request-id"))
	}
}

func TestOnFlushAndDelays(t *testing.T) {
	t.Parallel()
	type flush struct {
		id    string
		index int
		at    time.Time
	}
	var mu sync.Mutex
	var flushes []flush
	u := fakeapi.NewUpstream(t, fakeapi.Options{
		Scenario: func(*fakeapi.Request) fakeapi.Scenario {
			return fakeapi.Scenario{EventGap: 2 * time.Millisecond, HeaderDelay: 5 * time.Millisecond, Pings: 2}
		},
		OnFlush: func(id string, index int, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			flushes = append(flushes, flush{id, index, at})
		},
	})
	resp := post(t, http.DefaultClient, u.URL+"/v1/messages", messageBody(true, "flush"))
	events := readEvents(t, resp.Body)
	mu.Lock()
	defer mu.Unlock()
	if len(flushes) != len(events) {
		t.Fatalf("%d flushes for %d events", len(flushes), len(events))
	}
	for i, f := range flushes {
		if f.index != i || f.id != resp.Header.Get("request-id") || (i > 0 && f.at.Before(flushes[i-1].at)) {
			t.Errorf("flush %d = %+v", i, f)
		}
	}
}

func TestGzip(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{Gzip: true}
	}})
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, stream := range []bool{true, false} {
		req, _ := http.NewRequest(http.MethodPost, u.URL+"/v1/messages", strings.NewReader(messageBody(stream, "zip")))
		req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("stream %t: content-encoding %q", stream, resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if stream {
			if events := readEvents(t, zr); len(events) != 9 {
				t.Errorf("gzipped events = %v", names(events))
			}
		} else if body := readAll(t, zr); !json.Valid(body) {
			t.Errorf("gzipped JSON = %s", body)
		}
	}
	// Without Accept-Encoding: identity.
	resp := post(t, raw, u.URL+"/v1/messages", messageBody(true, "plain"))
	if resp.Header.Get("Content-Encoding") != "" || len(readEvents(t, resp.Body)) != 9 {
		t.Error("gzip without Accept-Encoding")
	}
	// The SDK (through Go's transport) decompresses transparently.
	msg, _, err := accumulate(t, sdkClient(u).Messages.NewStreaming(context.Background(), sdkParams("zip")))
	if err != nil || msg.Content[0].Text != fakeapi.DefaultText {
		t.Errorf("SDK with gzip: %v", err)
	}
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	u := fakeapi.NewUpstream(t, fakeapi.Options{Scenario: func(*fakeapi.Request) fakeapi.Scenario {
		return fakeapi.Scenario{EventGap: time.Millisecond}
	}})
	const n = 20
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, u.URL+"/v1/messages", strings.NewReader(messageBody(true, fmt.Sprint(i))))
			resp, err := u.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Error(err)
			}
			ids <- resp.Header.Get("request-id")
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("request-id %s repeated", id)
		}
		seen[id] = true
	}
	if len(u.Requests()) != n {
		t.Errorf("recorded %d", len(u.Requests()))
	}
}

func TestDeadURL(t *testing.T) {
	t.Parallel()
	url := fakeapi.DeadURL(t)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("DeadURL = %s", url)
	}
	if resp, err := http.Get(url + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("something answers at the dead URL")
	}
	c := anthropic.NewClient(option.WithBaseURL(url), option.WithAPIKey("sk-ant-test"), option.WithMaxRetries(0))
	_, err := c.Messages.New(context.Background(), sdkParams("hi"))
	var apiErr *anthropic.Error
	if err == nil || errors.As(err, &apiErr) {
		t.Errorf("SDK against a dead URL: %v", err)
	}
}

func TestStartOutsideTesting(t *testing.T) {
	t.Parallel()
	u, err := fakeapi.Start(fakeapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := u.Client().Get(u.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u.Close()
	u.Close()
	if _, err := u.Client().Get(u.URL + "/"); err == nil {
		t.Error("upstream still answers after Close")
	}
}

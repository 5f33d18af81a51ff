// Package usage reads what a Messages API response says about its usage
// (model, token counts, stop reason, error type) from the response body
// while the body passes through the proxy. It never holds a body back: the
// relay hands each chunk to a [Tap] after (or while) writing it to the
// client, and the Tap keeps only what it needs.
//
// Server-sent events (text/event-stream) are parsed as they arrive, line by
// line, across any chunking. Only the data of message_start, message_delta
// and error events is decoded as JSON; message_stop counts by its name, and
// everything else (ping, content_block_*, events cco does not know) is
// recognised by its event name and skipped without copying its data; an
// event without a name goes by its data's "type". A JSON body
// (application/json) is kept, up to a limit, and decoded when it ends.
//
// A compressed body (Content-Encoding gzip, x-gzip, deflate, br, zstd, or
// a list of them) is relayed as it is; the Tap decodes its own copy on a
// goroutine fed through a buffer that Write appends to and never waits on.
// Identity bodies are parsed inline in Write, with no goroutine.
//
// The token rules follow the API: message_start.message.usage first, then
// each field present in a message_delta's usage overwrites (never adds to)
// the value so far. See [Usage] for what Complete promises.
//
// JSON is read with gjson, not encoding/json (scan.go says why and how the
// two are kept in step).
//
// It imports pricing (for [pricing.Tokens]), the standard library,
// github.com/tidwall/gjson, github.com/andybalholm/brotli and
// github.com/klauspost/compress/zstd.
package usage

import (
	"mime"
	"strings"

	"github.com/visiquate/cco/pkg/pricing"
)

// Limits on what a Tap keeps. Past them it gives up rather than grow.
const (
	// MaxJSONBody is the largest JSON body decoded for usage; a larger one
	// yields an incomplete Usage.
	MaxJSONBody = 16 << 20
	// MaxPending is the most compressed bytes that may wait for the decoder
	// goroutine; past it the Tap stops decoding (Usage incomplete) rather
	// than slow the relay or grow further.
	MaxPending = 64 << 20
	// maxEventData is the most data kept for one SSE event that is decoded
	// (message_start and the like are a few hundred bytes); an event with
	// more is lost and makes the Usage incomplete.
	maxEventData = 1 << 20
	// maxCodings is the most content codings a body may be wrapped in.
	maxCodings = 4
	// unknownError is the ErrorType of an error whose type cannot be read.
	unknownError = "unknown_error"
)

// Usage is what a response said about itself.
type Usage struct {
	Model      string         // from the response (message.model); "" if none
	MessageID  string         // the message's id (message.id, msg_...); "" if none
	Tokens     pricing.Tokens // input, output and prompt-cache token counts
	StopReason string         // e.g. "end_turn", "tool_use", "max_tokens"; "" if none
	ErrorType  string         // e.g. "overloaded_error": from an SSE error event or a JSON error envelope
	Stream     bool           // the body was text/event-stream
	// Complete is true for a JSON body that held a whole message object, and
	// for a stream that had message_start and message_stop, no error event,
	// no event whose usage could not be read, and ended at an event boundary.
	// It is false for anything cut short, undecodable or over a limit; the
	// token counts are then the best that was read.
	Complete bool
}

// bodyKind is what a Tap parses.
type bodyKind uint8

const (
	kindOther bodyKind = iota // neither SSE nor JSON: nothing to parse
	kindSSE
	kindJSON
)

// kindOf returns the kind of body a Content-Type names.
func kindOf(contentType string) bodyKind {
	switch contentType { // the API's own, without parsing a map of parameters
	case "text/event-stream", "text/event-stream; charset=utf-8":
		return kindSSE
	case "application/json", "application/json; charset=utf-8":
		return kindJSON
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	switch {
	case mt == "text/event-stream":
		return kindSSE
	case mt == "application/json", strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
		return kindJSON
	}
	return kindOther
}

// Tap reads the usage of one response body. The relay calls Write with each
// chunk of the body as it passes (exactly the bytes it relays, still
// compressed if they are), then Finish once, whatever happened to the body:
// a compressed body's decoder goroutine ends only in Finish. A Tap is not
// safe for concurrent use: Write and Finish are called from one goroutine,
// or in sequence.
type Tap struct {
	sink     sink
	codings  []string // content codings in the order they were applied; nil: identity
	unusable bool     // an encoding the Tap cannot decode: Write ignores the body
	needless bool     // nothing to parse and nothing to capture: Write ignores the body
	capture  int

	dec *decoder // the decoder goroutine of a compressed body; nil until the first Write

	finished bool
	result   Usage
	captured bool // Captured's answer
}

// NewTap returns a Tap for a body of the given Content-Type and
// Content-Encoding (header values, "" if absent). If capture is positive
// the Tap also keeps the decoded body, up to capture bytes, for Captured.
func NewTap(contentType, contentEncoding string, capture int) *Tap {
	t := &Tap{capture: max(capture, 0)}
	t.sink.kind = kindOf(contentType)
	t.sink.keepLimit = t.capture
	if t.sink.kind == kindJSON {
		t.sink.keepLimit = max(t.capture, MaxJSONBody)
	}
	t.needless = t.sink.kind == kindOther && t.capture == 0
	codings, ok := parseCodings(contentEncoding)
	t.codings, t.unusable = codings, !ok
	return t
}

// Write hands the Tap the next chunk of the body as relayed. It always
// returns len(p), nil, whatever the body holds; it does not keep p. For a
// compressed body it copies p to the decoder's buffer and returns at once.
func (t *Tap) Write(p []byte) (int, error) {
	if t.finished || t.unusable || t.needless || len(p) == 0 {
		return len(p), nil
	}
	if t.codings == nil {
		if !t.sink.write(p) {
			t.needless = true // nothing more to learn from this body
		}
		return len(p), nil
	}
	if t.dec == nil {
		t.dec = startDecoder(t.codings, &t.sink)
	}
	t.dec.write(p)
	return len(p), nil
}

// Finish ends the body (cleanly or not) and returns its Usage. It waits for
// the decoder goroutine, if there is one. It may be called without any
// Write; later calls return the same Usage.
func (t *Tap) Finish() Usage {
	if t.finished {
		return t.result
	}
	t.finished = true
	decoded := !t.unusable
	if t.dec != nil {
		decoded = t.dec.finish()
	}
	u := t.sink.usage()
	if !decoded {
		u.Complete = false
	}
	t.result = u
	t.captured = decoded && t.capture > 0 && !t.sink.over && t.sink.total <= int64(t.capture)
	return u
}

// Captured returns the decoded body, after Finish, if the Tap was asked to
// capture it and all of it fit within the capture size; otherwise, or if
// the body could not be decoded, it returns nil, false. It says nothing of
// whether the response was complete: check Usage.Complete (and the status)
// before storing it. The slice is not modified afterwards.
func (t *Tap) Captured() ([]byte, bool) {
	if !t.finished || !t.captured {
		return nil, false
	}
	if t.sink.body == nil {
		return []byte{}, true
	}
	return t.sink.body, true
}

// sink receives the decoded body: it parses it and keeps what must be kept.
type sink struct {
	kind      bodyKind
	sse       sseParser
	keepLimit int    // the most decoded bytes to keep (JSON body, capture)
	body      []byte // the decoded body so far, while it fits keepLimit
	over      bool   // the body outgrew keepLimit and was dropped
	total     int64  // decoded bytes seen
}

// write takes the next decoded bytes and reports whether more are of any
// use.
func (s *sink) write(p []byte) bool {
	s.total += int64(len(p))
	if !s.over && s.keepLimit > 0 {
		if len(s.body)+len(p) > s.keepLimit {
			s.over, s.body = true, nil
		} else {
			s.body = append(s.body, p...)
		}
	}
	if s.kind == kindSSE {
		s.sse.write(p)
		return true
	}
	return s.keepLimit > 0 && !s.over
}

// usage returns what the body said, as far as it went.
func (s *sink) usage() Usage {
	switch s.kind {
	case kindSSE:
		return s.sse.usage()
	case kindJSON:
		if s.over || s.total > MaxJSONBody {
			return Usage{}
		}
		return jsonUsage(s.body)
	}
	return Usage{}
}

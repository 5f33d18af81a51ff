package usage

import (
	"bytes"

	"github.com/visiquate/cco/pkg/pricing"
)

// event is what the Tap makes of an SSE event, from its name or, for an
// event without one, from the "type" of its data.
type event uint8

const (
	evUnnamed event = iota // no event field (yet): decided by the data's type
	evStart                // message_start
	evDelta                // message_delta
	evStop                 // message_stop
	evError                // error
	evIgnored              // anything else: ping, content_block_*, unknown names
)

// eventOf returns the event a name stands for.
func eventOf(name []byte) event {
	switch string(name) { // no allocation: the compiler compares in place
	case "":
		return evUnnamed
	case "message_start":
		return evStart
	case "message_delta":
		return evDelta
	case "message_stop":
		return evStop
	case "error":
		return evError
	}
	return evIgnored
}

// dropReason says why the rest of a line that spans writes is not kept.
// Whatever the reason, the line has the same effect as if it had been kept
// and read whole: the Tap's results never depend on how the body was cut
// into writes.
type dropReason uint8

const (
	keepLine    dropReason = iota
	dropComment            // a comment line
	dropData               // a data line not worth keeping (ignored event, or too long)
	dropEvent              // an event line too long to name any event the Tap decodes
	dropOther              // any other field: no use to the Tap
)

// sseParser reads server-sent events incrementally (the WHATWG
// EventSource rules: lines end in "\n", "\r\n" or "\r"; "field: value" or
// "field:value"; a blank line ends an event; ":" starts a comment).
type sseParser struct {
	// Assembly of a line that spans writes.
	line   []byte     // the part of the current line seen so far, when kept
	inLine bool       // a line has begun and not ended
	drop   dropReason // why the rest of the current line is not kept
	skipLF bool       // the last write ended in '\r': a '\n' starting the next one is its pair

	// The event being read.
	ev       event
	data     []byte // its data lines, joined by '\n' (not for ignored events)
	hasData  bool
	pending  bool // it has had a field line: the stream is mid-event
	overflow bool // its data did not fit maxEventData

	// What the stream has said.
	model, stop, errType      string
	messageID                 string
	tokens                    pricing.Tokens
	started, stopped, errored bool
	lost                      bool // an event that mattered could not be read
}

// write parses the next bytes of the stream.
func (s *sseParser) write(p []byte) {
	if s.skipLF && len(p) > 0 {
		s.skipLF = false
		if p[0] == '\n' {
			p = p[1:]
		}
	}
	for len(p) > 0 {
		end, next := lineEnd(p)
		if end < 0 {
			s.partial(p)
			return
		}
		if s.inLine {
			s.partial(p[:end])
			s.endLine()
		} else {
			s.handleLine(p[:end])
		}
		if p[end] == '\r' && next == len(p) {
			s.skipLF = true
		}
		p = p[next:]
	}
}

// lineEnd returns where the first line of p ends and where the next one
// starts, or -1, -1 if p holds no line end. A '\r' at the very end of p is
// taken as a line end on its own; write drops a '\n' that follows it.
func lineEnd(p []byte) (end, next int) {
	lf := bytes.IndexByte(p, '\n')
	scan := p
	if lf >= 0 {
		scan = p[:lf]
	}
	if cr := bytes.IndexByte(scan, '\r'); cr >= 0 {
		if cr+1 < len(p) && p[cr+1] == '\n' {
			return cr, cr + 2
		}
		return cr, cr + 1
	}
	if lf >= 0 {
		return lf, lf + 1
	}
	return -1, -1
}

// partial takes a piece of a line that continues in a later write. It keeps
// the piece only while the line may matter, so the data of a long ignored
// event is never copied.
func (s *sseParser) partial(b []byte) {
	s.inLine = true
	if s.drop != keepLine {
		return
	}
	s.line = append(s.line, b...)
	switch {
	case len(s.line) == 0:
		return
	case s.line[0] == ':':
		s.drop = dropComment
	case s.ev == evIgnored && len(s.line) >= len("event:") && !bytes.HasPrefix(s.line, []byte("event:")),
		len(s.line) > maxEventData+len("data: "):
		// Only an event field could make an ignored event matter, and
		// no line this long is worth keeping.
		switch {
		case bytes.HasPrefix(s.line, []byte("data:")):
			s.drop = dropData
		case bytes.HasPrefix(s.line, []byte("event:")):
			s.drop = dropEvent
		default:
			s.drop = dropOther
		}
	default:
		return
	}
	s.line = s.line[:0]
}

// endLine ends a line assembled by partial.
func (s *sseParser) endLine() {
	switch s.drop {
	case keepLine:
		s.handleLine(s.line)
	case dropData: // as handleLine does with a data line it cannot keep
		s.pending, s.hasData = true, true
		if s.ev != evIgnored {
			s.overflow, s.data = true, s.data[:0]
		}
	case dropEvent:
		s.pending, s.ev = true, evIgnored
	case dropOther:
		s.pending = true
	}
	s.line, s.inLine, s.drop = s.line[:0], false, keepLine
}

// handleLine handles one whole line, without its end.
func (s *sseParser) handleLine(line []byte) {
	if len(line) == 0 {
		s.dispatch()
		return
	}
	if line[0] == ':' {
		return
	}
	s.pending = true
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		s.ev = eventOf(value)
	case "data":
		joined := s.hasData
		s.hasData = true
		if s.ev == evIgnored || s.overflow {
			return
		}
		if len(s.data)+1+len(value) > maxEventData {
			s.overflow, s.data = true, s.data[:0]
			return
		}
		if joined {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
	}
}

// dispatch ends the current event and acts on it.
func (s *sseParser) dispatch() {
	ev, data, hasData, overflow := s.ev, s.data, s.hasData, s.overflow
	s.ev, s.data, s.hasData, s.pending, s.overflow = evUnnamed, s.data[:0], false, false, false
	switch {
	case !hasData || ev == evIgnored:
		// Without data an event is not dispatched (EventSource rules).
		return
	case overflow:
		if ev != evUnnamed {
			s.lost = true
		}
		return
	case ev == evStop:
		s.stopped = true
		return
	case ev == evUnnamed && skippable(data):
		return
	}
	w, err := decodeEvent(data)
	if err != nil {
		switch ev {
		case evError:
			s.errored, s.errType = true, unknownError
		case evStart, evDelta:
			s.lost = true
		}
		return
	}
	if ev == evUnnamed {
		ev = eventOf([]byte(w.Type))
	}
	switch ev {
	case evStart:
		s.started = true
		if m := w.Message; m != nil {
			if m.Model != "" {
				s.model = m.Model
			}
			if m.ID != "" {
				s.messageID = m.ID
			}
			if m.StopReason != nil && *m.StopReason != "" {
				s.stop = *m.StopReason
			}
			applyUsage(&s.tokens, m.Usage)
		}
	case evDelta:
		if w.Delta != nil && w.Delta.StopReason != nil && *w.Delta.StopReason != "" {
			s.stop = *w.Delta.StopReason
		}
		applyUsage(&s.tokens, w.Usage)
	case evStop:
		s.stopped = true
	case evError:
		s.errored, s.errType = true, errorType(w.Error)
	}
}

// skippable reports whether the data of an unnamed event is certainly one
// the Tap ignores, from its start alone: the API writes "type" first.
func skippable(data []byte) bool {
	for _, prefix := range [...]string{`{"type":"content_block_`, `{"type":"ping"`, `{"type": "ping"`} {
		if bytes.HasPrefix(data, []byte(prefix)) {
			return true
		}
	}
	return false
}

// usage returns what the stream said. A line or event left open at the end
// is read for what it holds, but the stream is then incomplete.
func (s *sseParser) usage() Usage {
	clean := !s.inLine && !s.pending
	if s.inLine {
		s.endLine()
	}
	if s.pending {
		s.dispatch()
	}
	return Usage{
		Model:      s.model,
		MessageID:  s.messageID,
		Tokens:     s.tokens,
		StopReason: s.stop,
		ErrorType:  s.errType,
		Stream:     true,
		Complete:   clean && s.started && s.stopped && !s.errored && !s.lost,
	}
}

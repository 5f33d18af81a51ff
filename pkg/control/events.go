package control

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Types of the Events a client of EventsPath sees.
const (
	EventOpen      = "open"      // the stream is open
	EventRequest   = "request"   // a request finished: Event.Request
	EventDropped   = "dropped"   // the stream fell behind: Event.Dropped requests were left out
	EventKeepalive = "keepalive" // a comment line (the server's ping)
)

// Event is one message of the /api/events stream.
type Event struct {
	Type    string
	Request Request // for EventRequest
	Dropped int64   // for EventDropped
}

// maxEventLine bounds one line of the stream; a request event is well
// under a kilobyte.
const maxEventLine = 1 << 20

// Events reads /api/events and calls on with each event, EventOpen first,
// until ctx ends (it then returns ctx's error) or the stream does (nil when
// the instance closed it, as it does when stopping). c.HTTP must have no
// Timeout: the stream stays open for as long as the caller wants. Unknown
// event types are skipped, as EventSource does.
func (c Client) Events(ctx context.Context, on func(Event)) error {
	resp, err := c.do(ctx, http.MethodGet, EventsPath, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", EventsPath, statusText(resp))
	}
	on(Event{Type: EventOpen})
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), maxEventLine)
	var typ string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if ev, ok := decodeEvent(typ, strings.Join(data, "\n")); ok && len(data) > 0 {
				on(ev)
			}
			typ, data = "", data[:0]
		case field == "":
			on(Event{Type: EventKeepalive})
		case field == "event":
			typ = value
		case field == "data":
			data = append(data, value)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", EventsPath, err)
	}
	return nil
}

// decodeEvent turns one dispatched SSE message into an Event; ok is false
// for types Events does not know or data that does not decode.
func decodeEvent(typ, data string) (Event, bool) {
	switch typ {
	case EventRequest:
		var r Request
		if json.Unmarshal([]byte(data), &r) != nil {
			return Event{}, false
		}
		return Event{Type: EventRequest, Request: r}, true
	case EventDropped:
		var d Dropped
		if json.Unmarshal([]byte(data), &d) != nil {
			return Event{}, false
		}
		return Event{Type: EventDropped, Dropped: d.Dropped}, true
	}
	return Event{}, false
}

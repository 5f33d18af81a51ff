package usage

import (
	"math"
	"strconv"

	"github.com/visiquate/cco/pkg/pricing"
)

// count is a token count that may be absent. A null, a string or anything
// else that is not a number counts as absent; a negative number as 0; a
// fraction is cut to its whole part.
type count struct {
	v  int64
	ok bool
}

// UnmarshalJSON reads a count; it never fails, so that one odd field does
// not lose the others.
func (c *count) UnmarshalJSON(b []byte) error {
	s := string(b)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil && !isRangeErr(ferr) || math.IsNaN(f) {
			return nil
		}
		switch {
		case f >= math.MaxInt64:
			n = math.MaxInt64
		case f <= 0:
			n = 0
		default:
			n = int64(f)
		}
	}
	c.v, c.ok = max(n, 0), true
	return nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// wireUsage is the usage object of a message or a message_delta.
type wireUsage struct {
	Input         count       `json:"input_tokens"`
	Output        count       `json:"output_tokens"`
	CacheCreation count       `json:"cache_creation_input_tokens"`
	CacheRead     count       `json:"cache_read_input_tokens"`
	Split         *splitUsage `json:"cache_creation"`
}

// splitUsage is the 5m/1h split of the cache writes.
type splitUsage struct {
	Ephemeral5m count `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h count `json:"ephemeral_1h_input_tokens"`
}

// wireError is the error object of an error envelope.
type wireError struct {
	Type string `json:"type"`
}

// wireMessage is a message object (a JSON body, message_start.message) or
// an error envelope; content is skipped.
type wireMessage struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Model      string     `json:"model"`
	StopReason *string    `json:"stop_reason"`
	Usage      *wireUsage `json:"usage"`
	Error      *wireError `json:"error"`
}

// wireEvent is the data of a message_start, message_delta or error event.
type wireEvent struct {
	Type    string       `json:"type"`
	Message *wireMessage `json:"message"`
	Delta   *wireDelta   `json:"delta"`
	Usage   *wireUsage   `json:"usage"`
	Error   *wireError   `json:"error"`
}

// wireDelta is the delta of a message_delta.
type wireDelta struct {
	StopReason *string `json:"stop_reason"`
}

// errorType returns e's type, or unknownError.
func errorType(e *wireError) string {
	if e == nil || e.Type == "" {
		return unknownError
	}
	return e.Type
}

// applyUsage overwrites the counts in t with each field present in u.
// Cache writes: a 5m/1h split, where given, is used as it is (half a split
// with a total gets the other half from the total); a total alone keeps the
// 1h part and makes the rest 5m, never below 0.
func applyUsage(t *pricing.Tokens, u *wireUsage) {
	if u == nil {
		return
	}
	set := func(dst *int64, c count) {
		if c.ok {
			*dst = c.v
		}
	}
	set(&t.Input, u.Input)
	set(&t.Output, u.Output)
	set(&t.CacheRead, u.CacheRead)
	total := u.CacheCreation
	if s := u.Split; s != nil && (s.Ephemeral5m.ok || s.Ephemeral1h.ok) {
		set(&t.CacheWrite5m, s.Ephemeral5m)
		set(&t.CacheWrite1h, s.Ephemeral1h)
		switch {
		case !total.ok || s.Ephemeral5m.ok == s.Ephemeral1h.ok:
		case s.Ephemeral5m.ok:
			t.CacheWrite1h = max(total.v-s.Ephemeral5m.v, 0)
		default:
			t.CacheWrite5m = max(total.v-s.Ephemeral1h.v, 0)
		}
		return
	}
	if total.ok {
		t.CacheWrite5m = max(total.v-t.CacheWrite1h, 0)
	}
}

// jsonUsage reads a whole JSON body: a message, an error envelope, or
// something else (nothing to read).
func jsonUsage(body []byte) Usage {
	m, err := decodeMessage(body) // a type error still fills the other fields
	var u Usage
	u.Model, u.MessageID = m.Model, m.ID
	applyUsage(&u.Tokens, m.Usage)
	if m.StopReason != nil {
		u.StopReason = *m.StopReason
	}
	switch m.Type {
	case "error":
		u.ErrorType = errorType(m.Error)
	case "message":
		u.Complete = err == nil
	}
	return u
}

package usage

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Reading the wire objects.
//
// A Messages answer is read once per request on the proxy's hot path, so
// the wire objects are read with gjson rather than encoding/json: one
// validating pass and one pass over the top-level keys, no reflection, and
// the content array, usually most of the body, skipped without being
// decoded. The result is what json.Unmarshal into the wire types would
// give (TestScanMatchesEncodingJSON and FuzzScan compare the two):
//
//   - a body that is not valid JSON yields nothing and errSyntax;
//   - a field of the wrong JSON type is left empty and the decoding yields
//     errType, every other field still being read;
//   - keys match case-insensitively and, when repeated, the last wins;
//   - null leaves a field as it is; strings are unescaped, and invalid
//     UTF-8 in them becomes U+FFFD (a string with escapes, which the
//     fields read here never have, is unquoted by encoding/json).

var (
	errSyntax = errors.New("not valid JSON")
	errType   = errors.New("a field of the wrong JSON type")
)

// scanner reads objects into the wire types, noting type errors.
type scanner struct{ typeErr bool }

// object calls f for each key of v, an object; null does nothing; any
// other type is a type error.
func (s *scanner) object(v gjson.Result, f func(key string, v gjson.Result)) bool {
	switch {
	case v.IsObject():
		v.ForEach(func(k, v gjson.Result) bool {
			f(k.Str, v)
			return true
		})
		return true
	case v.Type != gjson.Null:
		s.typeErr = true
	}
	return false
}

// str sets *dst to v, a string; null leaves it; any other type is a type
// error.
func (s *scanner) str(dst *string, v gjson.Result) {
	switch v.Type {
	case gjson.String:
		*dst = unquote(v)
	case gjson.Null:
	default:
		s.typeErr = true
	}
}

// strPtr is str for an optional string, which null sets to nil.
func (s *scanner) strPtr(dst **string, v gjson.Result) {
	switch v.Type {
	case gjson.String:
		str := unquote(v)
		*dst = &str
	case gjson.Null:
		*dst = nil
	default:
		s.typeErr = true
	}
}

// unquote returns the string v holds. One with escapes goes through
// encoding/json, whose way with odd escapes (lone surrogates) gjson does
// not share; the names and types read here have none.
func unquote(v gjson.Result) string {
	if strings.IndexByte(v.Raw, '\\') < 0 {
		return validUTF8(strings.Clone(v.Str)) // v.Str is in the body's buffer, which is reused
	}
	var s string
	json.Unmarshal([]byte(v.Raw), &s) //nolint:errcheck // valid: scan checked the whole text
	return s
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 with
// U+FFFD, as encoding/json does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// into reads the object v into *dst, allocating it when nil, with fields
// reading each key; null sets *dst to nil, as encoding/json does with a
// pointer field.
func into[T any](s *scanner, dst **T, v gjson.Result, fields func(x *T, key string, v gjson.Result)) {
	if v.Type == gjson.Null {
		*dst = nil
		return
	}
	x := *dst
	if x == nil {
		x = new(T)
	}
	if s.object(v, func(k string, v gjson.Result) { fields(x, k, v) }) {
		*dst = x
	}
}

func (s *scanner) usage(dst **wireUsage, v gjson.Result) {
	into(s, dst, v, func(u *wireUsage, k string, v gjson.Result) {
		switch {
		case strings.EqualFold(k, "input_tokens"):
			u.Input.set(v)
		case strings.EqualFold(k, "output_tokens"):
			u.Output.set(v)
		case strings.EqualFold(k, "cache_creation_input_tokens"):
			u.CacheCreation.set(v)
		case strings.EqualFold(k, "cache_read_input_tokens"):
			u.CacheRead.set(v)
		case strings.EqualFold(k, "cache_creation"):
			into(s, &u.Split, v, func(sp *splitUsage, k string, v gjson.Result) {
				switch {
				case strings.EqualFold(k, "ephemeral_5m_input_tokens"):
					sp.Ephemeral5m.set(v)
				case strings.EqualFold(k, "ephemeral_1h_input_tokens"):
					sp.Ephemeral1h.set(v)
				}
			})
		}
	})
}

func (s *scanner) errorObject(dst **wireError, v gjson.Result) {
	into(s, dst, v, func(e *wireError, k string, v gjson.Result) {
		if strings.EqualFold(k, "type") {
			s.str(&e.Type, v)
		}
	})
}

// message reads the fields of a message object (or an error envelope).
func (s *scanner) message(m *wireMessage, k string, v gjson.Result) {
	switch {
	case strings.EqualFold(k, "id"):
		s.str(&m.ID, v)
	case strings.EqualFold(k, "type"):
		s.str(&m.Type, v)
	case strings.EqualFold(k, "model"):
		s.str(&m.Model, v)
	case strings.EqualFold(k, "stop_reason"):
		s.strPtr(&m.StopReason, v)
	case strings.EqualFold(k, "usage"):
		s.usage(&m.Usage, v)
	case strings.EqualFold(k, "error"):
		s.errorObject(&m.Error, v)
	}
}

// event reads the fields of an event's data.
func (s *scanner) event(w *wireEvent, k string, v gjson.Result) {
	switch {
	case strings.EqualFold(k, "type"):
		s.str(&w.Type, v)
	case strings.EqualFold(k, "message"):
		into(s, &w.Message, v, s.message)
	case strings.EqualFold(k, "delta"):
		into(s, &w.Delta, v, func(d *wireDelta, k string, v gjson.Result) {
			if strings.EqualFold(k, "stop_reason") {
				s.strPtr(&d.StopReason, v)
			}
		})
	case strings.EqualFold(k, "usage"):
		s.usage(&w.Usage, v)
	case strings.EqualFold(k, "error"):
		s.errorObject(&w.Error, v)
	}
}

// set reads a count from v as UnmarshalJSON would from its text.
func (c *count) set(v gjson.Result) {
	c.UnmarshalJSON([]byte(v.Raw)) //nolint:errcheck // it never fails
}

// scan reads data, a JSON object, with read.
func scan(data []byte, read func(*scanner, gjson.Result) bool) error {
	if !gjson.ValidBytes(data) {
		return errSyntax
	}
	var s scanner
	// Read in place: what is kept is cloned (unquote), nothing is changed.
	if v := gjson.Parse(unsafe.String(unsafe.SliceData(data), len(data))); v.Type != gjson.Null && !read(&s, v) {
		return errType // not an object
	}
	if s.typeErr {
		return errType
	}
	return nil
}

// decodeMessage reads a JSON body: a message, an error envelope, or
// anything else.
func decodeMessage(data []byte) (m wireMessage, err error) {
	err = scan(data, func(s *scanner, v gjson.Result) bool {
		return s.object(v, func(k string, v gjson.Result) { s.message(&m, k, v) })
	})
	return m, err
}

// decodeEvent reads the data of an event.
func decodeEvent(data []byte) (w wireEvent, err error) {
	err = scan(data, func(s *scanner, v gjson.Result) bool {
		return s.object(v, func(k string, v gjson.Result) { s.event(&w, k, v) })
	})
	return w, err
}

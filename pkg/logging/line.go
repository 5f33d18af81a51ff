package logging

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

// Field is one key and value of a line written with Log: a string or an
// integer, kept without a map or an interface.
type Field struct {
	Key   string
	str   string
	num   int64
	isNum bool
}

// String is a field with a string value.
func String(key, value string) Field { return Field{Key: key, str: value} }

// Int is a field with an integer value.
func Int(key string, value int) Field { return Field{Key: key, num: int64(value), isNum: true} }

// maxFields bounds the fields of one Log call; more are dropped.
const maxFields = 12

// Log writes msg with fields at level, the line a logrus
// logger.WithFields(...).Log(level, msg) would write, byte for byte,
// redaction included.
//
// For a logger made by New writing to an Output, and without hooks or
// caller reports, it formats the line itself into a pooled buffer, without
// a map, without boxing the values and without a lock, and hands it to the
// Output: lines at info and below are buffered (see Output), warnings and
// errors are written at once. For any other logger it goes through logrus.
// Fields are sorted by key, as logrus sorts them; keys must differ from
// each other and from time, level and msg.
func Log(l *logrus.Logger, level logrus.Level, msg string, fields ...Field) {
	if !l.IsLevelEnabled(level) {
		return
	}
	r, fast := l.Formatter.(*redactor)
	out, ok := l.Out.(*Output)
	if !fast || r.format == "" || !ok || l.ReportCaller || len(l.Hooks[level]) > 0 {
		data := make(logrus.Fields, len(fields))
		for _, f := range fields {
			if f.isNum {
				data[f.Key] = int(f.num)
			} else {
				data[f.Key] = f.str
			}
		}
		l.WithFields(data).Log(level, msg)
		return
	}
	var sorted [maxFields]Field
	n := copy(sorted[:], fields)
	fs := sorted[:n]
	for i := 1; i < len(fs); i++ { // a handful of fields: insertion sort
		for j := i; j > 0 && fs[j].Key < fs[j-1].Key; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
	bp := linePool.Get().(*[]byte)
	b := (*bp)[:0]
	if r.format == "json" {
		b = appendJSONLine(b, time.Now(), level, msg, fs)
	} else {
		b = appendTextLine(b, time.Now(), level, msg, fs)
	}
	b = Redact(b) // the same slice unless something looked like a secret
	if level <= logrus.WarnLevel {
		out.Write(b) //nolint:errcheck // as logrus, which prints to stderr: nowhere better to say it
	} else {
		out.Buffer(b) //nolint:errcheck
	}
	if cap(b) <= 4<<10 {
		*bp = b[:0]
		linePool.Put(bp)
	}
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendTextLine formats as logrus.TextFormatter{FullTimestamp: true}
// does for a writer that is not a terminal: time, level and msg, then the
// fields in key order, key=value, a value quoted when it holds anything
// but letters, digits and -._/@^+.
func appendTextLine(b []byte, t time.Time, level logrus.Level, msg string, fs []Field) []byte {
	var ts [64]byte
	b = append(b, `time="`...) // an RFC 3339 time always holds ':', so it is quoted
	b = append(b, t.AppendFormat(ts[:0], time.RFC3339)...)
	b = append(b, `" level=`...)
	b = append(b, level.String()...)
	if msg != "" {
		b = append(b, " msg="...)
		b = appendTextString(b, msg)
	}
	for _, f := range fs {
		b = append(b, ' ')
		b = append(b, f.Key...)
		b = append(b, '=')
		if f.isNum {
			b = strconv.AppendInt(b, f.num, 10)
		} else {
			b = appendTextString(b, f.str)
		}
	}
	return append(b, '\n')
}

func appendTextString(b []byte, s string) []byte {
	for i := range len(s) {
		if !textSafe(s[i]) {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...) // "" too: logrus leaves an empty value bare
}

// textSafe is logrus's set of bytes a text value may hold unquoted.
func textSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '/', '@', '^', '+':
		return true
	}
	return false
}

// appendJSONLine formats as logrus.JSONFormatter{} does: one object, its
// keys (fields, level, msg and time) in order, HTML characters escaped,
// then a newline.
func appendJSONLine(b []byte, t time.Time, level logrus.Level, msg string, fs []Field) []byte {
	var ts [64]byte
	fixed := [3]struct{ key, val string }{{"level", level.String()}, {"msg", msg}, {"time", ""}}
	stamp := t.AppendFormat(ts[:0], time.RFC3339)
	b = append(b, '{')
	i, first := 0, true
	put := func(key string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, key)
		b = append(b, ':')
	}
	for _, f := range fs {
		for ; i < len(fixed) && fixed[i].key < f.Key; i++ {
			put(fixed[i].key)
			if fixed[i].key == "time" {
				b = append(append(append(b, '"'), stamp...), '"')
			} else {
				b = appendJSONString(b, fixed[i].val)
			}
		}
		put(f.Key)
		if f.isNum {
			b = strconv.AppendInt(b, f.num, 10)
		} else {
			b = appendJSONString(b, f.str)
		}
	}
	for ; i < len(fixed); i++ {
		put(fixed[i].key)
		if fixed[i].key == "time" {
			b = append(append(append(b, '"'), stamp...), '"')
		} else {
			b = appendJSONString(b, fixed[i].val)
		}
	}
	return append(b, "}\n"...)
}

// appendJSONString quotes s as encoding/json does with HTML escaping on.
// Plain ASCII is copied; anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil {
				return strconv.AppendQuote(b, s) // cannot happen for a string
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

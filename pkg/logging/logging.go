// Package logging builds cco's logrus loggers, keeps secrets out of every
// line they write, writes instance log files with size-based rotation
// (lumberjack), and reads those files back for `cco logs`.
//
// It imports the standard library, logrus and lumberjack.
package logging

import (
	"fmt"
	"io"
	"regexp"

	"github.com/sirupsen/logrus"
	"gopkg.in/natefinch/lumberjack.v2"
)

// Options configure a logger.
type Options struct {
	Level  string // trace, debug, info, warn, error
	Format string // text or json
	Out    io.Writer
}

// New returns a logger writing to opts.Out whose every line has secrets
// redacted.
func New(opts Options) (*logrus.Logger, error) {
	level, err := logrus.ParseLevel(opts.Level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var f logrus.Formatter
	format := opts.Format
	switch format {
	case "json":
		f = &logrus.JSONFormatter{}
	case "text", "":
		f, format = &logrus.TextFormatter{FullTimestamp: true}, "text"
	default:
		return nil, fmt.Errorf("log format %q is not text or json", opts.Format)
	}
	return &logrus.Logger{
		Out:       opts.Out,
		Formatter: &redactor{next: f, format: format},
		Hooks:     make(logrus.LevelHooks),
		Level:     level,
		ExitFunc:  func(int) { panic("logging: Fatal is not used in cco; return an error instead") },
	}, nil
}

// redactor formats with next, then masks anything that looks like a secret,
// so a key cannot leak through a message, a field or an error's text.
// format ("text" or "json") names next's format for Log's own formatting.
type redactor struct {
	next   logrus.Formatter
	format string
}

func (r *redactor) Format(e *logrus.Entry) ([]byte, error) {
	b, err := r.next.Format(e)
	if err != nil {
		return nil, err
	}
	return Redact(b), nil
}

// Redacted replaces the secret part of a match.
const Redacted = "[REDACTED]"

// secretPatterns are applied in order: bearer credentials first, so that a
// name=value match sees "Bearer [REDACTED]" and leaves it alone.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl []byte
}{
	// Bearer credentials in any header dump or message.
	{regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]{6,}`), []byte("${1}" + Redacted)},
	// key=value, key: value and "key":"value" (also JSON-escaped inside a
	// message) for names that hold secrets.
	{
		regexp.MustCompile(`(?i)((?:x-api-key|api[_-]?key|authorization|access[_-]?token|refresh[_-]?token|token|secret|password)\\?["']?\s*[:=]\s*\\?["']?)((?i:bearer\s+)\[REDACTED\]|(?i:bearer\s+)?[^\s"'\\,;}\][]{6,})`),
		[]byte("${1}" + Redacted),
	},
	// Anthropic API keys and OAuth tokens anywhere: sk-ant-api03-..., sk-ant-oat01-...
	{regexp.MustCompile(`sk-ant-[A-Za-z0-9_\-]{6,}`), []byte("sk-ant-" + Redacted)},
}

// Redact masks API keys, bearer tokens and values of secret-named fields in
// b. A line with nothing any pattern could match (most lines) comes back
// as it is, without running the patterns.
func Redact(b []byte) []byte {
	if !maySecret(b) {
		return b
	}
	for _, p := range secretPatterns {
		b = p.re.ReplaceAll(b, p.repl)
	}
	return b
}

// RotatingFile opens path for appending and rotates it when it would grow
// past maxSize bytes, keeping at most maxBackups old files, gzipped when
// compress is set. Files are created with mode 0600.
func RotatingFile(path string, maxSize int64, maxBackups int, compress bool) io.WriteCloser {
	mb := int(maxSize >> 20)
	if mb < 1 {
		mb = 1 // lumberjack's unit is the megabyte
	}
	return &lumberjack.Logger{
		Filename:   path,
		MaxSize:    mb,
		MaxBackups: maxBackups,
		Compress:   compress,
	}
}

// maySecret reports whether any of secretPatterns could match in b: every
// match holds one of the words below, in any case. The patterns fold case
// the Unicode way, where K (U+212A) matches k and ſ (U+017F) matches s, so
// either of those sends b to the patterns too.
func maySecret(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] | 0x20 { // ASCII letters to lower case (other bytes do not matter here)
		case 'b':
			if hasFold(b[i:], "bearer") {
				return true
			}
		case 'k':
			if hasFold(b[i:], "key") {
				return true
			}
		case 'a':
			if hasFold(b[i:], "authorization") {
				return true
			}
		case 't':
			if hasFold(b[i:], "token") {
				return true
			}
		case 's':
			if hasFold(b[i:], "secret") || hasFold(b[i:], "sk-ant-") {
				return true
			}
		case 'p':
			if hasFold(b[i:], "password") {
				return true
			}
		}
		if b[i] == 0xe2 || b[i] == 0xc5 { // first bytes of K and ſ
			if i+2 < len(b) && b[i] == 0xe2 && b[i+1] == 0x84 && b[i+2] == 0xaa || i+1 < len(b) && b[i] == 0xc5 && b[i+1] == 0xbf {
				return true
			}
		}
	}
	return false
}

// hasFold reports whether b starts with word (lower-case ASCII), ignoring
// ASCII case.
func hasFold(b []byte, word string) bool {
	if len(b) < len(word) {
		return false
	}
	for i := range len(word) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

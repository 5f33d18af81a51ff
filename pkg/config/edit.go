package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SetValue returns config.toml's contents with key set to value, leaving
// every other byte (comments, order, formatting) as it was. The value is
// validated first; data may be nil for a file that does not exist yet.
func SetValue(path string, data []byte, key, value string) ([]byte, error) {
	s, ok := lookup(key)
	if !ok {
		return nil, unknownKey(key)
	}
	var scratch Config
	if err := s.parse(value, &scratch); err != nil {
		return nil, &Error{Key: key, Msg: err.Error()}
	}
	literal, err := tomlLiteral(s.kind, value)
	if err != nil {
		return nil, &Error{Key: key, Msg: err.Error()}
	}
	doc, err := parseDocument(path, data)
	if err != nil {
		return nil, err
	}
	out := splice(data, doc, key, literal)
	// Whatever the file looked like, the result must read back as intended.
	check, err := parseDocument(path, out)
	if err != nil {
		return nil, fmt.Errorf("cannot set %s in %s automatically (%v); edit the file by hand", key, path, err)
	}
	if e, ok := check.find(key); !ok || e.problem != "" {
		return nil, fmt.Errorf("cannot set %s in %s automatically; edit the file by hand", key, path)
	}
	return out, nil
}

// splice puts key = literal into data: over the old value when there is
// one, else next to the keys of its section, else in a new [section].
func splice(data []byte, doc *document, key, literal string) []byte {
	if e, ok := doc.find(key); ok {
		return replace(data, e.valueStart, e.valueEnd, literal)
	}
	section, name, _ := strings.Cut(key, ".")
	// Next to the last key of the same section, written relative to the
	// table it sits in (which may be [section] or the top level).
	for i := len(doc.entries) - 1; i >= 0; i-- {
		e := doc.entries[i]
		if e.inline || !strings.HasPrefix(e.key, section+".") || (e.table != "" && e.table != section) {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(key, e.table), ".")
		indent := leadingSpace(data[e.lineStart:])
		return replace(data, e.lineEnd, e.lineEnd, withNewline(data[:e.lineEnd])+indent+rel+" = "+literal+"\n")
	}
	for _, t := range doc.tables {
		if t.name == section {
			return replace(data, t.lineEnd, t.lineEnd, withNewline(data[:t.lineEnd])+name+" = "+literal+"\n")
		}
	}
	var b strings.Builder
	b.Write(data)
	if len(data) > 0 {
		b.WriteString(withNewline(data))
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "[%s]\n%s = %s\n", section, name, literal)
	return []byte(b.String())
}

func replace(data []byte, start, end int, with string) []byte {
	out := make([]byte, 0, len(data)+len(with))
	out = append(out, data[:start]...)
	out = append(out, with...)
	return append(out, data[end:]...)
}

// withNewline returns "\n" when before does not already end a line.
func withNewline(before []byte) string {
	if len(before) == 0 || before[len(before)-1] == '\n' {
		return ""
	}
	return "\n"
}

func leadingSpace(line []byte) string {
	n := len(line) - len(bytes.TrimLeft(line, " \t"))
	return string(line[:n])
}

// tomlLiteral renders value as TOML of the key's kind. Sizes and durations
// given as bare integers stay integers.
func tomlLiteral(kind valueKind, value string) (string, error) {
	switch kind {
	case kindInt:
		n, err := strconv.ParseInt(strings.ReplaceAll(value, "_", ""), 0, 64)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(n, 10), nil
	case kindBool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", err
		}
		return strconv.FormatBool(b), nil
	case kindSize, kindDuration:
		if n, err := strconv.ParseInt(value, 10, 64); err == nil {
			return strconv.FormatInt(n, 10), nil
		}
	case kindUSD: // a TOML number: 10 or 12.5
		v, err := ParseUSD(value)
		if err != nil {
			return "", err
		}
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return basicString(value), nil
}

// basicString quotes s as a TOML basic string.
func basicString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ReadFile reads config.toml. A missing file is not an error: it returns
// nil data, and Resolve then uses the other layers.
func ReadFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, &Error{Path: path, Msg: "cannot read: " + msg}
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// WriteFile replaces path with data atomically (a crash leaves the old or
// the new file, never half of one), keeping the old file's permissions. A
// new file and its folder are private to the user.
func WriteFile(path string, data []byte) error {
	mode := fs.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.toml")
	if err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// document is what cco needs to know of a config.toml: every key-value with
// its position, and the tables, so values can be reported by line and
// replaced in place.
type document struct {
	entries []entry
	tables  []tableHeader
}

// entry is one key-value, with byte offsets into the file.
type entry struct {
	key        string // full dotted key
	table      string // enclosing [table], "" at the top level
	line       int
	raw        string // scalar value as text; strings unquoted and unescaped
	problem    string // set when the value is not a scalar cco can read
	inline     bool   // inside an inline table
	valueStart int
	valueEnd   int
	lineStart  int
	lineEnd    int // just past the newline ending the entry's last line
}

type tableHeader struct {
	name    string
	line    int
	lineEnd int
}

// parseDocument reads config.toml. Syntax errors come back as *Error with
// the path and line.
func parseDocument(path string, data []byte) (*document, error) {
	// The decoder checks all of TOML's rules (duplicate keys, redefined
	// tables, ...) and reports the line of the first mistake.
	var probe map[string]any
	if err := toml.Unmarshal(data, &probe); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			return nil, &Error{Path: path, Line: line, Msg: strings.TrimPrefix(de.Error(), "toml: ")}
		}
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	// The parser then gives the positions the decoder does not expose.
	doc := &document{}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			name, last := keyOf(e.Key())
			table = name
			end := int(last.Raw.Offset + last.Raw.Length)
			doc.tables = append(doc.tables, tableHeader{
				name:    name,
				line:    p.Shape(last.Raw).Start.Line,
				lineEnd: endOfLine(data, end),
			})
			if e.Kind == unstable.ArrayTable {
				doc.entries = append(doc.entries, entry{key: name, line: p.Shape(last.Raw).Start.Line, problem: "expected a table of settings, not an array of tables"})
			}
		case unstable.KeyValue:
			doc.addKeyValue(&p, data, e, table, table, false)
		}
	}
	if err := p.Error(); err != nil { // unreachable after a successful decode; kept for safety
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	return doc, nil
}

// addKeyValue records kv, found under table (the [header]) with full-key
// prefix prefix, descending into inline tables.
func (d *document) addKeyValue(p *unstable.Parser, data []byte, kv *unstable.Node, table, prefix string, inline bool) {
	name, last := keyOf(kv.Key())
	key := join(prefix, name)
	v := kv.Value()
	if v.Kind == unstable.InlineTable {
		for it := v.Children(); it.Next(); {
			d.addKeyValue(p, data, it.Node(), table, key, true)
		}
		return
	}
	keyEnd := int(last.Raw.Offset + last.Raw.Length)
	valueEnd := int(kv.Raw.Offset + kv.Raw.Length)
	valueStart := keyEnd
	if i := bytes.IndexByte(data[keyEnd:valueEnd], '='); i >= 0 {
		valueStart = keyEnd + i + 1
	}
	for valueStart < valueEnd && (data[valueStart] == ' ' || data[valueStart] == '\t') {
		valueStart++
	}
	lineStart := bytes.LastIndexByte(data[:kv.Raw.Offset], '\n') + 1
	e := entry{
		key:        key,
		table:      table,
		line:       p.Shape(last.Raw).Start.Line,
		inline:     inline,
		valueStart: valueStart,
		valueEnd:   valueEnd,
		lineStart:  lineStart,
		lineEnd:    endOfLine(data, valueEnd),
	}
	e.raw, e.problem = scalarText(v)
	d.entries = append(d.entries, e)
}

// scalarText returns a scalar's text for the settings' parsers, or a problem.
func scalarText(v *unstable.Node) (raw, problem string) {
	switch v.Kind {
	case unstable.String, unstable.Bool, unstable.Float:
		return string(v.Data), ""
	case unstable.Integer:
		// TOML allows 1_000, 0x1F, 0o17, 0b101 and +5; base 0 reads them all.
		n, err := strconv.ParseInt(string(v.Data), 0, 64)
		if err != nil {
			return "", fmt.Sprintf("%s is out of range", v.Data)
		}
		return strconv.FormatInt(n, 10), ""
	case unstable.Array:
		return "", "expected a single value, not an array"
	default:
		return "", fmt.Sprintf("expected a string, number or boolean, not a %s", strings.ToLower(v.Kind.String()))
	}
}

func keyOf(it unstable.Iterator) (string, *unstable.Node) {
	var parts []string
	var last *unstable.Node
	for it.Next() {
		last = it.Node()
		parts = append(parts, string(last.Data))
	}
	return strings.Join(parts, "."), last
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func endOfLine(data []byte, from int) int {
	if i := bytes.IndexByte(data[from:], '\n'); i >= 0 {
		return from + i + 1
	}
	return len(data)
}

func (d *document) find(key string) (entry, bool) {
	for _, e := range d.entries {
		if e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

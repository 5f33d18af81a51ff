// Package claudelog reads Claude Code's session logs: the JSONL files it
// writes under its config folder's projects/ (one file per session,
// projects/<cwd with / as ->/<session id>.jsonl, sub-agents' files in
// folders below), so that `cco stats import` can count usage from before
// cco was in the path.
//
// Only assistant lines with usage matter. Claude Code writes one line per
// content block of a message, each with the message's id, the request's id
// and the usage so far, and copies earlier lines into the file of a resumed
// session: a message is counted once, by its message id and request id,
// with the largest count of each kind of token among its lines (a stream's
// counts only grow) and the time, session and version of its earliest line.
//
// Versions understood (the fields read are the same since 1.0):
//
//   - required on an assistant line: "type": "assistant", "timestamp" (RFC
//     3339), "message.id", "message.model", "message.usage.input_tokens"
//     and "message.usage.output_tokens";
//   - optional: "requestId" (absent in early 1.0.x logs), "sessionId",
//     "version", "cwd", "message.usage.cache_creation_input_tokens",
//     "message.usage.cache_read_input_tokens" and the 5m/1h split of cache
//     writes in "message.usage.cache_creation" (2.x logs; without it every
//     cache write counts as a 5-minute one, as cco's own rows do).
//
// A line that is not JSON, an assistant line without the required fields
// or with a negative count, and a line longer than MaxLine are counted as
// malformed and skipped; they never stop the reading. Lines of other types
// (user, summary, system, ...) are counted and skipped. Messages of the
// model "<synthetic>" (Claude Code's own, never sent to the API) are counted
// apart and skipped.
//
// It imports the standard library only.
package claudelog

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults of a Log's limits.
const (
	// DefaultMaxLine is the longest line read. Assistant lines are a few
	// kilobytes; the long lines are tool results and pasted images, which
	// are skipped anyway.
	DefaultMaxLine = 32 << 20
	// DefaultKeepProblems is how many problems are kept with their place.
	DefaultKeepProblems = 20
)

// Synthetic is the model of the messages Claude Code makes up itself
// (errors, interruptions): no request reached the API.
const Synthetic = "<synthetic>"

// Message is one assistant message, counted once however many lines it had.
type Message struct {
	Time      time.Time // of its earliest line
	MessageID string
	RequestID string // the upstream's request-id; "" in early 1.0.x logs
	SessionID string
	Model     string
	Version   string // of Claude Code
	CWD       string

	Input, Output, CacheWrite5m, CacheWrite1h, CacheRead int64 // tokens

	File string // where its earliest line was read
	Line int
}

// Problem is a line (or a file, Line 0) that could not be read.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
}

// Counts say what a Log read.
type Counts struct {
	Files      int `json:"files"`
	Lines      int `json:"lines"`           // non-blank lines
	Assistant  int `json:"assistant_lines"` // well-formed assistant lines, synthetic ones included
	Messages   int `json:"messages"`        // distinct messages, synthetic ones not included
	Repeated   int `json:"repeated_lines"`  // assistant lines of a message read before
	Synthetic  int `json:"synthetic"`       // lines of Claude Code's own messages
	Malformed  int `json:"malformed"`
	Unreadable int `json:"unreadable_files"`
	// Versions counts the messages per version of Claude Code ("" when the
	// line did not say).
	Versions map[string]int `json:"versions"`
}

type key struct{ message, request string }

// Log gathers the messages of any number of files. The zero Log is ready
// to use, with the default limits.
type Log struct {
	MaxLine      int // 0: DefaultMaxLine
	KeepProblems int // 0: DefaultKeepProblems

	Counts
	// Problems are the first KeepProblems problems, in the order read;
	// Counts.Malformed and Counts.Unreadable count them all.
	Problems []Problem

	msgs map[key]*Message
}

// ReadDir reads every *.jsonl file under dir, in lexical order. A file or
// folder that cannot be read is counted as unreadable; an error is
// returned only when dir itself cannot be read.
func (l *Log) ReadDir(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			l.problem(path, 0, err.Error())
			l.Unreadable++
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".jsonl") {
			if err := l.ReadFile(path); err != nil {
				l.problem(path, 0, err.Error())
				l.Unreadable++
			}
		}
		return nil
	})
}

// ReadFile reads one file; only failing to open or read it is an error.
func (l *Log) ReadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return l.Read(path, f)
}

// Read reads the lines of one file, named name in Messages and Problems.
// Only a failing reader is an error; malformed lines are counted.
func (l *Log) Read(name string, r io.Reader) error {
	maxLine := cmp.Or(l.MaxLine, DefaultMaxLine)
	l.Files++
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		line, long, err := readLine(br, &buf, maxLine)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		switch {
		case long:
			l.Lines++
			l.malformed(name, n, fmt.Sprintf("longer than %d bytes", maxLine))
		case len(bytes.TrimSpace(line)) > 0:
			l.Lines++
			l.line(name, n, line)
		}
		if err != nil {
			return nil
		}
	}
}

// readLine reads the next line without its end into *buf (reused), or
// skips it and reports long when it is longer than max. err is io.EOF
// after the last line.
func readLine(br *bufio.Reader, buf *[]byte, max int) (line []byte, long bool, err error) {
	*buf = (*buf)[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			if len(*buf)+len(chunk) > max+1 { // +1: the '\n'
				long, *buf = true, (*buf)[:0]
			} else {
				*buf = append(*buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return *buf, long, err
		}
		return bytes.TrimSuffix(*buf, []byte("\n")), long, nil
	}
}

// wireLine is the part of a line that is read.
type wireLine struct {
	Type      string       `json:"type"`
	Timestamp string       `json:"timestamp"`
	SessionID string       `json:"sessionId"`
	RequestID string       `json:"requestId"`
	Version   string       `json:"version"`
	CWD       string       `json:"cwd"`
	Message   *wireMessage `json:"message"`
}

type wireMessage struct {
	ID    string     `json:"id"`
	Model string     `json:"model"`
	Usage *wireUsage `json:"usage"`
}

type wireUsage struct {
	Input         *int64 `json:"input_tokens"`
	Output        *int64 `json:"output_tokens"`
	CacheCreation *int64 `json:"cache_creation_input_tokens"`
	CacheRead     *int64 `json:"cache_read_input_tokens"`
	Split         *struct {
		Ephemeral5m *int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h *int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
}

// line handles one non-blank line.
func (l *Log) line(name string, n int, data []byte) {
	var w wireLine
	err := json.Unmarshal(data, &w)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "" && w.Type != "assistant":
		return // another kind of line, with fields of its own shape
	case typeErr != nil && typeErr.Field != "":
		l.malformed(name, n, fmt.Sprintf("%s is a JSON %s", typeErr.Field, typeErr.Value))
		return
	case typeErr != nil:
		l.malformed(name, n, "not a JSON object")
		return
	case err != nil:
		l.malformed(name, n, "not JSON: "+err.Error())
		return
	case w.Type != "assistant":
		return
	}
	m, err := w.message()
	if err != nil {
		l.malformed(name, n, err.Error())
		return
	}
	l.Assistant++
	if m.Model == Synthetic {
		l.Synthetic++
		return
	}
	m.File, m.Line = name, n
	l.add(m)
}

// message checks an assistant line and makes its Message.
func (w *wireLine) message() (Message, error) {
	var m Message
	switch {
	case w.Message == nil:
		return m, errors.New("assistant line without message")
	case w.Message.ID == "":
		return m, errors.New("assistant line without message.id")
	case w.Message.Model == "":
		return m, errors.New("assistant line without message.model")
	case w.Message.Usage == nil:
		return m, errors.New("assistant line without message.usage")
	case w.Message.Usage.Input == nil || w.Message.Usage.Output == nil:
		return m, errors.New("assistant line without message.usage.input_tokens or output_tokens")
	case w.Timestamp == "":
		return m, errors.New("assistant line without timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, w.Timestamp)
	if err != nil {
		return m, fmt.Errorf("timestamp %q is not RFC 3339", w.Timestamp)
	}
	u := w.Message.Usage
	m = Message{
		Time: t, MessageID: w.Message.ID, RequestID: w.RequestID, SessionID: w.SessionID,
		Model: w.Message.Model, Version: w.Version, CWD: w.CWD,
		Input: val(u.Input), Output: val(u.Output), CacheRead: val(u.CacheRead),
	}
	// Cache writes as cco's own rows count them: the split where given,
	// one half of it from the total when only the other is; a total alone
	// is all 5-minute writes.
	total := u.CacheCreation
	switch s := u.Split; {
	case s != nil && (s.Ephemeral5m != nil || s.Ephemeral1h != nil):
		m.CacheWrite5m, m.CacheWrite1h = val(s.Ephemeral5m), val(s.Ephemeral1h)
		switch {
		case total == nil || (s.Ephemeral5m != nil) == (s.Ephemeral1h != nil):
		case s.Ephemeral5m != nil:
			m.CacheWrite1h = max(*total-m.CacheWrite5m, 0)
		default:
			m.CacheWrite5m = max(*total-m.CacheWrite1h, 0)
		}
	case total != nil:
		m.CacheWrite5m = *total
	}
	if min(m.Input, m.Output, m.CacheWrite5m, m.CacheWrite1h, m.CacheRead) < 0 {
		return Message{}, errors.New("negative token count")
	}
	return m, nil
}

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// add counts m, or merges it into the message it repeats.
func (l *Log) add(m Message) {
	if l.msgs == nil {
		l.msgs = map[key]*Message{}
	}
	k := key{m.MessageID, m.RequestID}
	old := l.msgs[k]
	if old == nil {
		l.msgs[k] = &m
		l.Messages++
		if l.Versions == nil {
			l.Versions = map[string]int{}
		}
		l.Versions[m.Version]++
		return
	}
	l.Repeated++
	old.Input, old.Output = max(old.Input, m.Input), max(old.Output, m.Output)
	old.CacheWrite5m, old.CacheWrite1h = max(old.CacheWrite5m, m.CacheWrite5m), max(old.CacheWrite1h, m.CacheWrite1h)
	old.CacheRead = max(old.CacheRead, m.CacheRead)
	if m.Time.Before(old.Time) {
		l.Versions[old.Version]--
		l.Versions[m.Version]++
		old.Time, old.SessionID, old.Version, old.CWD, old.File, old.Line = m.Time, m.SessionID, m.Version, m.CWD, m.File, m.Line
	}
}

func (l *Log) malformed(name string, n int, reason string) {
	l.Malformed++
	l.problem(name, n, reason)
}

func (l *Log) problem(name string, n int, reason string) {
	if len(l.Problems) < cmp.Or(l.KeepProblems, DefaultKeepProblems) {
		l.Problems = append(l.Problems, Problem{File: name, Line: n, Reason: reason})
	}
}

// All returns the distinct messages read, oldest first (then by message
// id and request id).
func (l *Log) All() []Message {
	out := make([]Message, 0, len(l.msgs))
	for _, m := range l.msgs {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Message) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.MessageID, b.MessageID), strings.Compare(a.RequestID, b.RequestID))
	})
	return out
}

// DefaultDirs are the folders Claude Code keeps its config in, where a
// projects/ folder is looked for: $CLAUDE_CONFIG_DIR when it is set, else
// ~/.claude and the XDG one ($XDG_CONFIG_HOME/claude, ~/.config/claude),
// which newer versions use.
func DefaultDirs(lookupEnv func(string) (string, bool), home string) []string {
	if d, ok := lookupEnv("CLAUDE_CONFIG_DIR"); ok && d != "" {
		return []string{d}
	}
	xdg := filepath.Join(home, ".config")
	if d, ok := lookupEnv("XDG_CONFIG_HOME"); ok && filepath.IsAbs(d) {
		xdg = d
	}
	return []string{filepath.Join(home, ".claude"), filepath.Join(xdg, "claude")}
}

// ProjectsDir is where the session logs of the config folder dir are: its
// projects/ folder, or dir itself when it is a projects folder. ok is
// false when there is neither.
func ProjectsDir(dir string) (string, bool) {
	if fi, err := os.Stat(filepath.Join(dir, "projects")); err == nil && fi.IsDir() {
		return filepath.Join(dir, "projects"), true
	}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() && filepath.Base(filepath.Clean(dir)) == "projects" {
		return dir, true
	}
	return "", false
}

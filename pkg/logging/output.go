package logging

import (
	"io"
	"sync"
	"time"
)

// FlushInterval is how long a buffered log line may wait before it is
// written: what a crash (kill -9) can lose at most.
const FlushInterval = 100 * time.Millisecond

// outputLimit is the buffered size that triggers a write at once.
const outputLimit = 64 << 10

// Output is a log destination for the lines of a busy path. Lines given
// to Buffer are kept in memory and written together: FlushInterval after
// the first of them, when 64 KiB have gathered, before any line given to
// Write, and on Flush and Close. Write (what logrus calls) writes at once,
// after whatever is buffered, so the rare lines (start, stop, warnings)
// are never late and the order of lines is kept.
//
// Formatting happens before a line reaches Output; Buffer holds a lock
// only to copy the line. Only whole lines reach the underlying writer, one
// write per flush. Its methods are safe for concurrent use.
type Output struct {
	w     io.Writer
	every time.Duration
	timer *time.Timer

	mu     sync.Mutex // guards buf, armed, closed
	buf    []byte
	armed  bool // the timer will flush buf
	closed bool

	wmu   sync.Mutex // held while writing to w, so writes keep their order
	spare []byte     // the last written buffer, reused; guarded by wmu
}

// NewOutput returns an Output writing to w. Close it to write what is
// left and stop its timer; it does not close w.
func NewOutput(w io.Writer, every time.Duration) *Output {
	o := &Output{w: w, every: every}
	o.timer = time.AfterFunc(time.Hour, func() { o.Flush() }) //nolint:errcheck // nowhere to report it
	o.timer.Stop()
	return o
}

// Buffer adds p, one or more whole lines, to the buffer. After Close it
// writes at once.
func (o *Output) Buffer(p []byte) error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		_, err := o.Write(p)
		return err
	}
	o.buf = append(o.buf, p...)
	full := len(o.buf) >= outputLimit
	if !full && !o.armed {
		o.armed = true
		o.timer.Reset(o.every)
	}
	o.mu.Unlock()
	if full {
		return o.Flush()
	}
	return nil
}

// Write writes what is buffered, then p, in one write.
func (o *Output) Write(p []byte) (int, error) {
	o.wmu.Lock()
	defer o.wmu.Unlock()
	b := o.take()
	if len(b) == 0 {
		return o.w.Write(p)
	}
	b = append(b, p...)
	_, err := o.w.Write(b)
	o.spare = b[:0]
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (o *Output) Flush() error {
	o.wmu.Lock()
	defer o.wmu.Unlock()
	b := o.take()
	if len(b) == 0 {
		return nil
	}
	_, err := o.w.Write(b)
	o.spare = b[:0]
	return err
}

// take swaps the buffer for the spare one and returns what was buffered.
// The caller holds wmu.
func (o *Output) take() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf
	if cap(o.spare) > 4*outputLimit {
		o.spare = nil // one burst grew it; let it go
	}
	o.buf, o.spare, o.armed = o.spare, nil, false
	return b
}

// Close writes what is buffered and makes later lines go out at once.
func (o *Output) Close() error {
	o.timer.Stop()
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	return o.Flush()
}

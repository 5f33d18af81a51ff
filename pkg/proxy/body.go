package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Reading request bodies.
//
// A client may declare a body and then send it slowly, or not at all; a
// proxy that trusts the declaration is easy to exhaust. So:
//
//   - Reading a body has a deadline, BodyTimeout (server.body_timeout), set
//     on the connection with http.ResponseController; a body that misses it
//     gets 408 and never reaches the upstream.
//   - The buffer grows as bytes arrive, from at most firstChunk to twice
//     what has arrived, never past the declared length (or MaxBodyBytes+1
//     for a chunked body): the declared Content-Length reserves nothing.
//   - Bodies still arriving hold at most MaxArrivingBytes together
//     (by default the larger of 256 MiB and 4 x MaxBodyBytes). A body whose
//     next step would pass it gets 503 overloaded_error, to be retried;
//     the bytes of a body that has arrived in full no longer count.
//
// The held bytes are the capacity of the buffers, which is what the
// process holds; Stats().ArrivingBodyBytes reports them.

const (
	// firstChunk bounds the buffer a body gets before its bytes arrive.
	// Claude Code's bodies (50-80 KB) fit in it or in its first doubling.
	firstChunk = 64 << 10
	// ownedBody is the largest declared length read into a buffer of the
	// body's own rather than a pooled one.
	ownedBody = 16 << 10
	// minArrivingBytes is the least MaxArrivingBytes defaults to.
	minArrivingBytes = 256 << 20
)

var (
	errBodyTimeout = errors.New("request body not received within the body timeout")
	errBodiesFull  = errors.New("request bodies still arriving hold the most cco allows")
)

// readBody reads the whole request body under the deadline, refusing more
// than MaxBodyBytes (errTooLarge), a body slower than BodyTimeout
// (errBodyTimeout) and one that would pass MaxArrivingBytes (errBodiesFull).
func (p *Proxy) readBody(w http.ResponseWriter, r *http.Request) (*body, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, nil
	}
	limit := p.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	if p.opts.BodyTimeout > 0 {
		rc := http.NewResponseController(w)
		// A socket deadline is wall-clock time, whatever Options.Now says.
		// Without deadline support (a test's recorder) the body is read
		// without one.
		if rc.SetReadDeadline(time.Now().Add(p.opts.BodyTimeout)) == nil {
			defer rc.SetReadDeadline(time.Time{}) //nolint:errcheck // it was set a moment ago
		}
	}
	ceiling := limit + 1 // a chunked body is read one byte past the limit to tell it is over
	if r.ContentLength > 0 {
		ceiling = r.ContentLength
	}
	// A small body of known length gets a buffer of its own, and is then
	// no one's worry once the handler is done; the rest share pooled ones.
	a := arrival{p: p, own: r.ContentLength > 0 && r.ContentLength <= ownedBody}
	defer a.settle()
	if err := a.grow(min(ceiling, firstChunk)); err != nil {
		return nil, err
	}
	for {
		end := int(min(int64(cap(a.buf)), ceiling)) // a pooled buffer may be larger than the body
		if len(a.buf) == end {
			if int64(end) == ceiling {
				break // the declared length, or one byte past the limit
			}
			if err := a.grow(min(ceiling, 2*int64(cap(a.buf)))); err != nil {
				return nil, err
			}
			continue
		}
		n, err := r.Body.Read(a.buf[len(a.buf):end])
		a.buf = a.buf[:len(a.buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, errBodyTimeout
			}
			return nil, err
		}
	}
	if int64(len(a.buf)) > limit {
		return nil, errTooLarge
	}
	b := &body{data: a.take()}
	if !a.own {
		b.pool = p.buffers
	}
	return b, nil
}

// arrival is a body being read: its buffer and the bytes it has reserved
// against MaxArrivingBytes.
type arrival struct {
	p        *Proxy
	own      bool // the buffer is the body's own, the size declared, not pooled
	buf      []byte
	reserved int64
}

// grow moves the buffer to one of at least n bytes' capacity, reserving
// the difference first.
func (a *arrival) grow(n int64) error {
	var next []byte
	if a.own {
		next = make([]byte, 0, n)
	} else {
		next = a.p.buffers.get(int(n))
	}
	extra := int64(cap(next)) - a.reserved
	if !a.p.reserveArriving(extra) {
		a.put(next)
		return errBodiesFull
	}
	a.reserved += extra
	next = next[:copy(next[:cap(next)], a.buf)]
	if a.buf != nil {
		a.put(a.buf)
	}
	a.buf = next
	return nil
}

// take hands the buffer over: it no longer counts as arriving.
func (a *arrival) take() []byte {
	b := a.buf
	a.buf = nil
	return b
}

// settle returns the reservation, and a buffer not taken to the pool.
func (a *arrival) settle() {
	a.p.arriving.Add(-a.reserved)
	if a.buf != nil {
		a.put(a.buf)
	}
}

// put returns a pooled buffer to the pool; an own one is left to the
// collector.
func (a *arrival) put(b []byte) {
	if !a.own {
		a.p.buffers.put(b)
	}
}

// reserveArriving counts n more bytes as held by bodies still arriving,
// unless that would pass MaxArrivingBytes.
func (p *Proxy) reserveArriving(n int64) bool {
	for {
		cur := p.arriving.Load()
		if cur+n > p.maxArriving {
			return false
		}
		if p.arriving.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// body is a request body read into memory. The Transport reads it through
// a plain bytes.Reader, which it knows to be in memory and so writes with
// the request's headers rather than after a write of the headers alone.
//
// A pooled buffer returns to the pool only once the Transport has said
// (httptrace's WroteRequest) that it finished writing every copy of the
// body it asked for: a Transport may go on writing after the response is
// done (when the upstream answered early), and may ask for the body again
// to retry on another connection. When that is not so by the time the
// handler is done, the buffer is left to the collector. A body's own
// buffer (pool nil) is the collector's in any case.
type body struct {
	data    []byte
	pool    *bodyPool // nil: the buffer is the body's own
	readers atomic.Int32
	wrote   atomic.Int32
}

func (b *body) reader() io.ReadCloser {
	b.readers.Add(1)
	return io.NopCloser(bytes.NewReader(b.data))
}

// trace returns ctx with the hook that counts finished writes, for a
// pooled body.
func (b *body) trace(ctx context.Context) context.Context {
	if b.pool == nil {
		return ctx
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { b.wrote.Add(1) },
	})
}

func (b *body) release() {
	if b.pool != nil && b.readers.Load() == b.wrote.Load() {
		b.pool.put(b.data)
	}
	b.data = nil
}

// bodyPool recycles buffers in four size classes, 4, 16, 64 and 256 KiB
// (Claude Code sends 50-80 KB bodies; a count_tokens or a short request a
// few KB). A buffer is taken from the smallest class that holds what is
// asked: a 1 KB body never holds a 64 KiB buffer, which, each time the
// collector empties the pools, would be allocated again. Larger buffers
// are allocated each time.
type bodyPool struct{ classes [len(bufferClasses)]sync.Pool }

var bufferClasses = [...]int{4 << 10, 16 << 10, 64 << 10, 256 << 10}

// get returns an empty-length buffer of at least n bytes' capacity.
func (p *bodyPool) get(n int) []byte {
	for i, size := range bufferClasses {
		if n <= size {
			if b, ok := p.classes[i].Get().(*[]byte); ok {
				return (*b)[:0]
			}
			return make([]byte, 0, size)
		}
	}
	return make([]byte, 0, n)
}

// put returns a buffer get made to its class.
func (p *bodyPool) put(b []byte) {
	for i, size := range bufferClasses {
		if cap(b) == size {
			b = b[:0]
			p.classes[i].Put(&b)
			return
		}
	}
}
